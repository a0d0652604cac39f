// Package ops is the logic behind Ferry's day-2 commands (ferry admin,
// company, table, plan, check, runs): opening the three databases from
// their URLs (through internal/wire) with errors that say how to fix them,
// validating a company or a table before it is written, the preflight
// check, and the views over the run history.
//
// Nothing here prints: cmd/ferry formats what these functions return.
package ops

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/admin"
	"github.com/ferrydata/ferry/internal/mysql"
	"github.com/ferrydata/ferry/internal/postgres"
	"github.com/ferrydata/ferry/internal/wire"
)

// Engines are the database engines the CLI links: all of them.
var Engines = wire.Engines{mysql.Engine{}, postgres.Engine{}}

// Database names one of the three databases, as flags and messages call it.
type Database = wire.Role

// The three databases.
const (
	AdminDB  = wire.Admin
	SourceDB = wire.Source
	TargetDB = wire.Target
)

// Flag is the command-line flag that sets d; its environment variable is
// d.DSNVar().
func Flag(d Database) string { return "--" + string(d) + "-dsn" }

func example(d Database) string {
	switch d {
	case AdminDB:
		return "mysql://ferry:PASSWORD@db-host:3306/ferry_admin (or postgres://...)"
	case SourceDB:
		return "mysql://ferry_ro:PASSWORD@prod-replica:3306/app (or postgres://...)"
	default:
		return "postgres://ferry:PASSWORD@bi-host:5432/bi (or mysql://...)"
	}
}

// ConnectError is a database that is not set, malformed or unreachable.
// Its message never holds a password.
type ConnectError struct {
	DB   Database
	Addr string // redacted address; empty when not set or malformed
	Msg  string
	Fix  string
}

func (e *ConnectError) Error() string {
	s := "the " + string(e.DB) + " database"
	if e.Addr != "" {
		s += " (" + e.Addr + ")"
	}
	return s + ": " + e.Msg + " (fix: " + e.Fix + ")"
}

func where(d Database) string { return Flag(d) + " / " + d.DSNVar() }

// parse resolves d's URL raw with the CLI's engines.
func parse(d Database, raw string) (wire.DSN, error) {
	if raw == "" {
		return wire.DSN{}, &ConnectError{DB: d, Msg: "is not set",
			Fix: fmt.Sprintf("pass %s %s or set %s", Flag(d), example(d), d.DSNVar())}
	}
	dsn, err := Engines.ParseURL(raw)
	if err != nil {
		return wire.DSN{}, &ConnectError{DB: d, Msg: err.Error(), Fix: fmt.Sprintf("correct %s, e.g. %s", where(d), example(d))}
	}
	return dsn, nil
}

// connectTimeout bounds a connection attempt, so that an unreachable host
// does not stall a command.
const connectTimeout = 10 * time.Second

// open parses d's URL and opens it with openDSN under connectTimeout. An
// engine that cannot be d, or a database that does not answer, is a
// *ConnectError saying which flag to correct.
func open[T any](ctx context.Context, d Database, raw string, openDSN func(context.Context, wire.DSN) (T, error)) (T, wire.DSN, error) {
	var zero T
	dsn, err := parse(d, raw)
	if err != nil {
		return zero, dsn, err
	}
	cctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	v, err := openDSN(cctx, dsn)
	var ue *wire.UnsupportedError
	switch {
	case errors.As(err, &ue):
		return zero, dsn, &ConnectError{DB: d, Addr: dsn.Safe, Msg: fmt.Sprintf("is %s, but the %s database must be %s", dsn.Engine, d, ue.Supported()),
			Fix: fmt.Sprintf("use a URL of a supported engine in %s", where(d))}
	case err != nil:
		return zero, dsn, &ConnectError{DB: d, Addr: dsn.Safe, Msg: "cannot connect: " + err.Error(),
			Fix: fmt.Sprintf("check the host, port, user and password in %s, that the server is running and that this machine may reach it", where(d))}
	}
	return v, dsn, nil
}

// OpenAdmin opens the admin database at raw (a mysql:// or postgres:// URL). It does not
// migrate; see admin.DB's RequireSchema and Migrate.
func OpenAdmin(ctx context.Context, raw string) (*admin.DB, string, error) {
	db, dsn, err := open(ctx, AdminDB, raw, func(ctx context.Context, d wire.DSN) (*admin.DB, error) {
		return Engines.OpenAdmin(ctx, d, nil)
	})
	return db, dsn.Safe, err
}

// Source is the production database.
type Source struct {
	SourceChecks
	Addr  string
	close func()
}

// SourceChecks is what the day-2 commands ask of a source beyond
// ferry.Source; internal/mysql's and internal/postgres's Source implement it.
type SourceChecks interface {
	ferry.Source
	// CheckRead checks that the account may read its database and returns
	// the database's name; a missing privilege is a *ferry.ConfigError
	// whose Fix is the GRANT for grantee.
	CheckRead(ctx context.Context, grantee string) (string, error)
}

// Close closes the pool.
func (s *Source) Close() { s.close() }

// OpenSource opens the source database at raw (a mysql:// or postgres:// URL).
func OpenSource(ctx context.Context, raw string) (*Source, error) {
	s, dsn, err := open(ctx, SourceDB, raw, func(ctx context.Context, d wire.DSN) (*Source, error) {
		src, done, err := Engines.OpenSource(ctx, d, nil)
		checks, err := withChecks[SourceChecks](src, done, err, d, "source")
		if err != nil {
			return nil, err
		}
		return &Source{SourceChecks: checks, close: done}, nil
	})
	if err != nil {
		return nil, err
	}
	s.Addr = dsn.Safe
	return s, nil
}

// Target is the reporting database: the ferry.Target with the preflight
// and freshness reads every target adapter offers.
type Target struct {
	TargetChecks
	Addr  string
	close func()
}

// TargetChecks is what the day-2 commands ask of a target beyond
// ferry.Target; internal/mysql's and internal/postgres's Target implement
// it.
type TargetChecks interface {
	ferry.Target
	// CheckSchema tries in schema everything a run does, leaving nothing
	// behind; willCreate when the schema does not exist yet (and may be
	// created). A missing privilege is a *ferry.ConfigError whose Fix is
	// the GRANT for grantee.
	CheckSchema(ctx context.Context, schema, grantee string) (willCreate bool, err error)
	// Freshness reads schema's ferry.FreshnessTable (empty when missing).
	Freshness(ctx context.Context, schema string) (map[string]ferry.TableFreshness, error)
}

// Close closes the pool.
func (t *Target) Close() { t.close() }

// TargetEngine returns the engine of the target URL raw without
// connecting; an empty or malformed URL is a *ConnectError.
func TargetEngine(raw string) (ferry.Engine, error) {
	dsn, err := parse(TargetDB, raw)
	return dsn.Engine, err
}

// OpenTarget opens the target database at raw (mysql:// or postgres://).
func OpenTarget(ctx context.Context, raw string) (*Target, error) {
	t, dsn, err := open(ctx, TargetDB, raw, func(ctx context.Context, d wire.DSN) (*Target, error) {
		tgt, done, err := Engines.OpenTarget(ctx, d, nil)
		checks, err := withChecks[TargetChecks](tgt, done, err, d, "target")
		if err != nil {
			return nil, err
		}
		return &Target{TargetChecks: checks, close: done}, nil
	})
	if err != nil {
		return nil, err
	}
	t.Addr = dsn.Safe
	return t, nil
}

// withChecks is an opened database as the interface C of the checks the
// day-2 commands run on it; an adapter without them is closed again.
func withChecks[C any](v any, done func(), err error, d wire.DSN, role string) (C, error) {
	var zero C
	if err != nil {
		return zero, err
	}
	c, ok := v.(C)
	if !ok {
		done()
		return zero, fmt.Errorf("the %s %s has no preflight checks", d.Engine, role)
	}
	return c, nil
}

// IsConnect reports whether err is a *ConnectError.
func IsConnect(err error) bool {
	var ce *ConnectError
	return errors.As(err, &ce)
}
