// Package mysql is Ferry's adapter for MySQL, MariaDB and Aurora MySQL: the
// Source that exports a configured query's chunk as the csvcodec dialect,
// and the Target that loads chunks into staging tables and swaps them live.
//
// Connections come from Open, which forces the session settings Ferry's
// fidelity depends on (utf8mb4, no client-side interpolation, no
// multi-statements, UTC session time zone, datetimes read as text).
//
// Deadlines: every statement runs under the caller's context, and those
// that can run long (the export and planning SELECTs, the loader's DELETE
// and LOAD DATA, counts) also carry a server-side limit just under the
// context's deadline (MariaDB max_statement_time for any statement, MySQL's
// MAX_EXECUTION_TIME hint for SELECTs), so the server stops work the client
// gave up on. A limit that fires is a retryable error.
//
// Server requirements:
//   - Source: SELECT on the queried tables. Columns also uses CREATE
//     TEMPORARY TABLES (to read exact column types such as tinyint(1), enum
//     values and bit widths) and falls back to the driver's result metadata
//     without it.
//   - Target: CREATE, DROP, ALTER, INSERT, DELETE, SELECT on the company's
//     database, and local_infile=ON on the server for LOAD DATA LOCAL (the
//     driver streams the chunk from memory through a Reader:: handler, so
//     allowAllFiles stays off). Without local_infile the loader falls back
//     to batched INSERTs by itself; WithInsertLoader forces that mode.
package mysql

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/go-sql-driver/mysql"
)

// DefaultConnectTimeout is the dial timeout Open uses when the DSN has none.
const DefaultConnectTimeout = 10 * time.Second

// Config parses dsn and returns the driver configuration Open uses: the
// caller's address, credentials, database, TLS and other parameters, with
// Ferry's required settings forced:
//
//	charset utf8mb4 (collation utf8mb4_general_ci)   text arrives as UTF-8 whatever the column charset
//	parseTime=false            DATE/DATETIME/TIMESTAMP/TIME are read as the server's text
//	interpolateParams=false    values are bound server-side (binary protocol)
//	multiStatements=false      one statement per call
//	allowAllFiles=false        LOAD DATA LOCAL only reads registered Reader:: handlers
//	time_zone='+00:00'         TIMESTAMP values are neither shifted on read nor on write
//	timeout                    DefaultConnectTimeout unless the DSN sets one
func Config(dsn string) (*mysql.Config, error) {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		// The driver's message may quote the DSN: do not pass it on.
		return nil, fmt.Errorf("mysql: the DSN is malformed (expected user:password@tcp(host:port)/dbname?param=value)")
	}
	if err := cfg.Apply(mysql.Charset("utf8mb4", "utf8mb4_general_ci")); err != nil {
		return nil, fmt.Errorf("mysql: configure charset: %w", err)
	}
	cfg.ParseTime = false
	cfg.InterpolateParams = false
	cfg.MultiStatements = false
	cfg.AllowAllFiles = false
	cfg.Loc = time.UTC
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultConnectTimeout
	}
	if cfg.Params == nil {
		cfg.Params = map[string]string{}
	}
	for k := range cfg.Params {
		switch k {
		case "time_zone", "charset", "collation":
			delete(cfg.Params, k)
		}
	}
	cfg.Params["time_zone"] = "'+00:00'"
	return cfg, nil
}

// SourceSQLMode is the sql_mode OpenSource forces on the source's sessions
// (whatever the server's default or the DSN's sql_mode parameter), so a
// configured query parses and evaluates the same everywhere, and exactly as
// sqlparams scans it: no ANSI_QUOTES ("..." is a string), no
// NO_BACKSLASH_ESCAPES, no PIPES_AS_CONCAT, no PAD_CHAR_TO_FULL_LENGTH. A
// query that only parses under another sql_mode is refused by the checks.
const SourceSQLMode = "STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION"

// withSourceMode forces SourceSQLMode (see Open's opts).
func withSourceMode(cfg *mysql.Config) { cfg.Params["sql_mode"] = "'" + SourceSQLMode + "'" }

// Open opens a connection pool with Config(dsn), each opt applied to it,
// and pings the server. The DSN never appears in errors or logs; see Redact.
func Open(ctx context.Context, dsn string, opts ...func(*mysql.Config)) (*sql.DB, error) {
	cfg, err := Config(dsn)
	if err != nil {
		return nil, err
	}
	for _, o := range opts {
		o(cfg)
	}
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("mysql: open %s: %w", redactConfig(cfg), err)
	}
	db := sql.OpenDB(conn)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		if mysqlErrNo(err) == erBadDB {
			// Not the query's fault (classify's fix): the URL's database.
			return nil, fmt.Errorf("mysql: connect to %s: %w (fix: the database named in the URL does not exist on the server: correct it or create it; a MySQL target needs none, each company has a database of its own)", redactConfig(cfg), err)
		}
		return nil, classify("mysql: connect to "+redactConfig(cfg), err)
	}
	return db, nil
}

// OpenMetadata opens a small pool on dsn for a Source's result metadata
// (WithMetadataPool): the same session settings as the source's Open
// (SourceSQLMode included), and the driver's
// ColumnsWithAlias, which keeps each result column's table name.
func OpenMetadata(ctx context.Context, dsn string) (*sql.DB, error) {
	cfg, err := Config(dsn)
	if err != nil {
		return nil, err
	}
	withSourceMode(cfg)
	cfg.ColumnsWithAlias = true
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("mysql: open %s: %w", redactConfig(cfg), err)
	}
	db := sql.OpenDB(conn)
	db.SetMaxOpenConns(2)
	db.SetConnMaxIdleTime(time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, classify("mysql: connect to "+redactConfig(cfg), err)
	}
	return db, nil
}

// Redact returns dsn fit for a message (ferry.SafeDSN): user, host, port
// and database only; no password, no parameters. An unparsable DSN gives
// "<malformed DSN>".
func Redact(dsn string) string {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return "<malformed DSN>"
	}
	return redactConfig(cfg)
}

func redactConfig(cfg *mysql.Config) string { return safeMySQL(cfg) }
