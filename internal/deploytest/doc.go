// Package deploytest holds the tests that keep the deployable parts
// consistent with the code: statemachine/ferry.asl.json against
// template.yaml (every ${X} substituted, every function wired), the ASL's
// error names against the root package's error types, the fields the ASL
// reads and writes against the step types' JSON names, and sam/events/*.json
// against the step inputs. TestSAMEventsInvoke, TestSAMEventsInvokePostgres
// and TestSAMEventsRunJob invoke every sam/events file through
// lambda.NewHandler(fn).Invoke, with the handlers the mains start, against
// real MariaDB, PostgreSQL and the in-process S3 (the *-postgres.json
// events with a PostgreSQL admin database, source and target), and
// TestSAMEventsInvoke runs start-execution.json through the whole state
// machine. It has no code of its own.
package deploytest
