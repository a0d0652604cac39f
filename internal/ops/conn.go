// Package ops is the logic behind Ferry's day-2 commands (ferry admin,
// company, table, plan, check, runs): opening the three databases from
// their URLs with errors that say how to fix them, the admin schema's
// version, validating a company or a table before it is written, the
// preflight check, and the queries over the run history that
// internal/admin does not offer.
//
// Nothing here prints: cmd/ferry formats what these functions return.
package ops

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/admin"
	"github.com/ferrydata/ferry/internal/awswire"
	"github.com/ferrydata/ferry/internal/mysql"
	"github.com/ferrydata/ferry/internal/postgres"
)

// Database names one of the three databases, as flags and messages call it.
type Database string

// The three databases.
const (
	AdminDB  Database = "admin"
	SourceDB Database = "source"
	TargetDB Database = "target"
)

// Flag is the command-line flag that sets d; Env the environment variable.
func (d Database) Flag() string { return "--" + string(d) + "-dsn" }

// Env is the environment variable that sets d.
func (d Database) Env() string {
	switch d {
	case AdminDB:
		return "FERRY_ADMIN_DSN"
	case SourceDB:
		return "FERRY_SOURCE_DSN"
	default:
		return "FERRY_TARGET_DSN"
	}
}

func (d Database) example() string {
	switch d {
	case AdminDB:
		return "mysql://ferry:PASSWORD@db-host:3306/ferry_admin"
	case SourceDB:
		return "mysql://ferry_ro:PASSWORD@prod-replica:3306/app"
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

func parse(d Database, raw string) (awswire.DSN, error) {
	if raw == "" {
		return awswire.DSN{}, &ConnectError{DB: d, Msg: "is not set",
			Fix: fmt.Sprintf("pass %s %s or set %s", d.Flag(), d.example(), d.Env())}
	}
	dsn, err := awswire.ParseURL(raw)
	if err != nil {
		return awswire.DSN{}, &ConnectError{DB: d, Msg: err.Error(),
			Fix: fmt.Sprintf("correct %s / %s, e.g. %s", d.Flag(), d.Env(), d.example())}
	}
	return dsn, nil
}

func unreachable(d Database, dsn awswire.DSN, err error) error {
	return &ConnectError{DB: d, Addr: dsn.Safe, Msg: "cannot connect: " + err.Error(),
		Fix: fmt.Sprintf("check the host, port, user and password in %s / %s, that the server is running and that this machine may reach it", d.Flag(), d.Env())}
}

// connectTimeout bounds a connection attempt, so that an unreachable host
// does not stall a command.
const connectTimeout = 10 * time.Second

func openMySQL(ctx context.Context, d Database, raw string) (*sql.DB, awswire.DSN, error) {
	dsn, err := parse(d, raw)
	if err != nil {
		return nil, dsn, err
	}
	if dsn.Engine != ferry.EngineMySQL {
		return nil, dsn, &ConnectError{DB: d, Addr: dsn.Safe, Msg: fmt.Sprintf("is %s, but the %s database must be MySQL or MariaDB", dsn.Engine, d),
			Fix: fmt.Sprintf("use a mysql:// URL in %s / %s", d.Flag(), d.Env())}
	}
	cctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	db, err := mysql.Open(cctx, dsn.Driver)
	if err != nil {
		return nil, dsn, unreachable(d, dsn, err)
	}
	return db, dsn, nil
}

// OpenAdmin opens the admin database at raw (a mysql:// URL). It does not
// migrate; see admin.DB's RequireSchema and Migrate.
func OpenAdmin(ctx context.Context, raw string) (*admin.DB, string, error) {
	db, dsn, err := openMySQL(ctx, AdminDB, raw)
	if err != nil {
		return nil, dsn.Safe, err
	}
	return mysql.NewAdmin(db), dsn.Safe, nil
}

// Source is the production database: the ferry.Source and its pool.
type Source struct {
	*mysql.Source
	db   *sql.DB
	Addr string
}

// Close closes the pool.
func (s *Source) Close() { s.db.Close() }

// OpenSource opens the source database at raw (a mysql:// URL).
func OpenSource(ctx context.Context, raw string) (*Source, error) {
	db, dsn, err := openMySQL(ctx, SourceDB, raw)
	if err != nil {
		return nil, err
	}
	return &Source{Source: mysql.NewSource(db), db: db, Addr: dsn.Safe}, nil
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
	dsn, err := parse(TargetDB, raw)
	if err != nil {
		return nil, err
	}
	if dsn.Engine == ferry.EngineMySQL {
		db, _, err := openMySQL(ctx, TargetDB, raw)
		if err != nil {
			return nil, err
		}
		return &Target{TargetChecks: mysql.NewTarget(db), Addr: dsn.Safe, close: func() { db.Close() }}, nil
	}
	cctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	pg, err := postgres.Open(cctx, dsn.Driver)
	if err != nil {
		return nil, unreachable(TargetDB, dsn, err)
	}
	return &Target{TargetChecks: pg, Addr: dsn.Safe, close: pg.Close}, nil
}

// IsConnect reports whether err is a *ConnectError.
func IsConnect(err error) bool {
	var ce *ConnectError
	return errors.As(err, &ce)
}
