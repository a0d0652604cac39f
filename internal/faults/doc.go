// Package faults is issue 9's fault matrix: each test runs the real
// statemachine/ferry.asl.json on Ferry's engine (internal/local) against
// the real MariaDB and PostgreSQL and an in-process S3 (gofakes3 behind a
// fault-injecting HTTP layer), injects one fault, and checks the outcome
// the first promise asks for: the live tables equal to the source value by
// value after a run that succeeds, or exactly as they were after a run
// that is refused, with nothing lost or duplicated. docs/reliability.md
// lists each case and the test that proves it.
//
// The package holds tests only; this file is its documentation.
package faults
