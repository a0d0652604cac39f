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
// migrate; see RequireSchema and Migrate.
func OpenAdmin(ctx context.Context, raw string) (*sql.DB, string, error) {
	db, dsn, err := openMySQL(ctx, AdminDB, raw)
	return db, dsn.Safe, err
}

// Source is the production database: the ferry.Source and its pool.
type Source struct {
	*mysql.Source
	DB   *sql.DB
	Addr string
}

// Close closes the pool.
func (s *Source) Close() { s.DB.Close() }

// OpenSource opens the source database at raw (a mysql:// URL).
func OpenSource(ctx context.Context, raw string) (*Source, error) {
	db, dsn, err := openMySQL(ctx, SourceDB, raw)
	if err != nil {
		return nil, err
	}
	return &Source{Source: mysql.NewSource(db), DB: db, Addr: dsn.Safe}, nil
}

// Target is the reporting database: the ferry.Target and, for the checks
// that run their own statements, its MySQL pool or PostgreSQL target.
type Target struct {
	ferry.Target
	Addr string
	// MySQL is set for a MySQL target, PG for a PostgreSQL one.
	MySQL *sql.DB
	PG    *postgres.Target
}

// Close closes the pool.
func (t *Target) Close() {
	if t.MySQL != nil {
		t.MySQL.Close()
	}
	if t.PG != nil {
		t.PG.Close()
	}
}

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
		return &Target{Target: mysql.NewTarget(db), Addr: dsn.Safe, MySQL: db}, nil
	}
	cctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	pg, err := postgres.Open(cctx, dsn.Driver)
	if err != nil {
		return nil, unreachable(TargetDB, dsn, err)
	}
	return &Target{Target: pg, Addr: dsn.Safe, PG: pg}, nil
}

// IsConnect reports whether err is a *ConnectError.
func IsConnect(err error) bool {
	var ce *ConnectError
	return errors.As(err, &ce)
}
