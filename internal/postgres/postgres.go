// Package postgres is Ferry's PostgreSQL / Aurora PostgreSQL target: it
// creates a company's schema and staging tables, loads CSV chunks with
// COPY, counts rows and swaps staging and live tables in one transaction.
//
// A company's ferry.Company.Schema is a PostgreSQL schema. Every statement
// runs with a statement_timeout under the context's deadline, so no
// statement outlives the Lambda that issued it. Transient failures
// (connection loss, serialization failures, deadlocks, lock timeouts,
// statement timeouts) are returned as ferry.RetryableError; bad data as
// *ferry.DataError; configuration problems as *ferry.ConfigError.
//
// Privileges the target role needs: CREATE on the database (for CREATE
// SCHEMA; or create the schema beforehand and grant CREATE on it), and
// ownership of the tables it swaps (Ferry creates them, so it owns them;
// a live table created by hand must be owned by Ferry's role or a role it
// is a member of, since ALTER TABLE ... RENAME requires ownership). To give
// the new live table the previous live table's owner, Ferry's role must be
// a member of that owner role; otherwise the grants are copied and a
// warning is logged.
//
// What a swap keeps: the table's grants (table level) and owner, its
// indexes, defaults and constraints (staging is CREATE TABLE ... LIKE live
// INCLUDING ALL). What it refuses: views and foreign keys bound to the live
// table (see Target.Swap).
package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/ferrydata/ferry"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

var _ ferry.Target = (*Target)(nil)

// Target is a PostgreSQL reporting database. It is safe for concurrent use;
// set the exported fields before the first call.
type Target struct {
	pool *pgxpool.Pool

	// Logger receives structured logs; nil means slog.Default().
	Logger *slog.Logger
	// LockTimeout is the lock_timeout of a swap transaction (default 5s).
	LockTimeout time.Duration
	// SwapAttempts is how often a swap transaction is tried when it times
	// out on a lock or deadlocks (default 5).
	SwapAttempts int
	// Sleep waits between swap attempts; nil is retry.Sleep (a timer that
	// ends early with ctx). Tests inject their own.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Open connects to the PostgreSQL database at url (a postgres:// URL or a
// keyword/value string) and checks that it answers. Errors never contain
// the password.
func Open(ctx context.Context, url string) (*Target, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx redacts the password in its parse errors; Redact anyway.
		return nil, &ferry.ConfigError{Msg: "postgres: bad connection string " + Redact(url) + ": " + redactErr(err, url),
			Fix: "use postgres://user:password@host:5432/db?sslmode=require"}
	}
	cfg.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeExec
	if cfg.ConnConfig.RuntimeParams == nil {
		cfg.ConnConfig.RuntimeParams = map[string]string{}
	}
	if _, ok := cfg.ConnConfig.RuntimeParams["application_name"]; !ok {
		cfg.ConnConfig.RuntimeParams["application_name"] = "ferry"
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: open %s: %s", Redact(url), redactErr(err, url))
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		op, cause := "postgres: connect to "+Redact(url), errors.New(redactErr(err, url))
		if isTransient(ctx, err) {
			return nil, ferry.Retryable(op, cause)
		}
		return nil, fmt.Errorf("%s: %w", op, cause)
	}
	return New(pool), nil
}

// New wraps an existing pool.
func New(pool *pgxpool.Pool) *Target { return &Target{pool: pool} }

// Pool returns the underlying pool.
func (t *Target) Pool() *pgxpool.Pool { return t.pool }

// Close closes the pool.
func (t *Target) Close() { t.pool.Close() }

// Engine returns ferry.EnginePostgres.
func (t *Target) Engine() ferry.Engine { return ferry.EnginePostgres }

func (t *Target) log() *slog.Logger {
	if t.Logger != nil {
		return t.Logger
	}
	return slog.Default()
}

var (
	pwKV    = regexp.MustCompile(`(?i)(password\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s&]*)`)
	pwQuery = regexp.MustCompile(`(?i)([?&]password=)[^&]*`)
)

// Redact returns a connection string with its password replaced by
// "xxxxx", for logs and errors. It handles postgres:// URLs (user info and
// a password query parameter) and keyword/value strings (password=...).
func Redact(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.Scheme != "" && u.Host != "" {
		if u.User != nil {
			if _, has := u.User.Password(); has {
				u.User = url.UserPassword(u.User.Username(), "xxxxx")
			}
		}
		s := u.String()
		return pwQuery.ReplaceAllString(s, "${1}xxxxx")
	}
	s := pwKV.ReplaceAllString(dsn, "${1}xxxxx")
	return pwQuery.ReplaceAllString(s, "${1}xxxxx")
}

// redactErr renders err without the password of dsn, should a driver
// message ever echo it.
func redactErr(err error, dsn string) string {
	msg := err.Error()
	if u, perr := url.Parse(dsn); perr == nil && u.User != nil {
		if pw, ok := u.User.Password(); ok && pw != "" {
			msg = strings.ReplaceAll(msg, pw, "xxxxx")
		}
	}
	if m := pwKV.FindStringSubmatch(dsn); m != nil {
		if pw := strings.Trim(m[2], "'"); pw != "" {
			msg = strings.ReplaceAll(msg, pw, "xxxxx")
		}
	}
	return msg
}

// quoteIdent double-quotes a PostgreSQL identifier, doubling embedded
// quotes. Callers validate identifiers with ferry.ValidIdent first.
func quoteIdent(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// qualified is "schema"."name".
func qualified(schema, name string) string { return quoteIdent(schema) + "." + quoteIdent(name) }

func validIdents(op string, names ...string) error {
	for _, n := range names {
		if err := ferry.ValidIdent(n); err != nil {
			return &ferry.ConfigError{Msg: op + ": " + err.Error(), Fix: "use ASCII letters, digits, _ and $ only"}
		}
	}
	return nil
}

// minStatementTime is the least time left under a deadline for which a
// statement is still started.
const minStatementTime = 50 * time.Millisecond

// statementTimeout is the statement_timeout that keeps a statement within
// ctx's deadline (with a margin for the round trip), or 0 without one.
func statementTimeout(ctx context.Context) (time.Duration, error) {
	dl, ok := ctx.Deadline()
	if !ok {
		return 0, nil
	}
	left := time.Until(dl)
	margin := left / 10
	if margin > time.Second {
		margin = time.Second
	}
	left -= margin
	if left < minStatementTime {
		return 0, fmt.Errorf("only %s left before the deadline: %w", time.Until(dl).Round(time.Millisecond), context.DeadlineExceeded)
	}
	return left, nil
}

// begin starts a transaction whose statements end before ctx's deadline.
func (t *Target) begin(ctx context.Context, q interface {
	Begin(context.Context) (pgx.Tx, error)
}) (pgx.Tx, error) {
	st, err := statementTimeout(ctx)
	if err != nil {
		return nil, err
	}
	tx, err := q.Begin(ctx)
	if err != nil {
		return nil, err
	}
	if st > 0 {
		ms := fmt.Sprintf("%dms", st.Milliseconds())
		if _, err := tx.Exec(ctx, `SELECT set_config('statement_timeout', $1, true)`, ms); err != nil {
			rollback(tx)
			return nil, err
		}
	}
	return tx, nil
}

func rollback(tx pgx.Tx) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = tx.Rollback(ctx)
}

// SQLSTATEs Ferry treats as transient.
var transientCodes = map[string]bool{
	"40001": true, // serialization_failure
	"40P01": true, // deadlock_detected
	"55P03": true, // lock_not_available (lock_timeout)
	"57P01": true, // admin_shutdown (pg_terminate_backend, failover)
	"57P02": true, // crash_shutdown
	"57P03": true, // cannot_connect_now
	"53300": true, // too_many_connections
	"53400": true, // configuration_limit_exceeded
}

// classify wraps err with op and marks transient errors retryable. Data
// errors are mapped by the callers that know the chunk.
func classify(ctx context.Context, op string, err error) error {
	if err == nil {
		return nil
	}
	if isTransient(ctx, err) {
		return ferry.Retryable(op, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

func isTransient(ctx context.Context, err error) bool {
	if errors.Is(err, context.Canceled) && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		if transientCodes[pe.Code] || strings.HasPrefix(pe.Code, "08") {
			return true
		}
		if pe.Code == "57014" { // query_canceled: statement_timeout or our deadline
			return ctx.Err() == nil || errors.Is(ctx.Err(), context.DeadlineExceeded)
		}
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err) {
		return true
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	if errors.As(err, &ce) || errors.As(err, &ne) {
		return true
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EPIPE) {
		return true
	}
	if pgconn.SafeToRetry(err) {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "conn closed") || strings.Contains(msg, "connection reset") ||
		strings.Contains(msg, "broken pipe") || strings.Contains(msg, "unexpected EOF")
}

func asPgError(err error) *pgconn.PgError {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe
	}
	return nil
}

func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// EnsureSchema creates schema and its freshness table if they do not
// exist. Idempotent; safe to call concurrently.
func (t *Target) EnsureSchema(ctx context.Context, schema string) error {
	op := "postgres: ensure schema " + schema
	if err := validIdents(op, schema); err != nil {
		return err
	}
	return t.ensureFreshness(ctx, op, schema, true)
}

func (t *Target) ensureFreshness(ctx context.Context, op, schema string, createSchema bool) error {
	stmts := []string{
		`CREATE TABLE IF NOT EXISTS ` + qualified(schema, ferry.FreshnessTable) +
			` (table_name text PRIMARY KEY, run_id text NOT NULL, rows bigint NOT NULL, swapped_at timestamptz NOT NULL)`,
	}
	if createSchema {
		stmts = append([]string{`CREATE SCHEMA IF NOT EXISTS ` + quoteIdent(schema)}, stmts...)
	}
	for _, s := range stmts {
		for attempt := 0; ; attempt++ {
			err := t.execTx(ctx, s)
			// Concurrent IF NOT EXISTS can still collide in the catalogs.
			if c := pgCode(err); (c == "23505" || c == "42P06" || c == "42P07") && attempt < 3 {
				continue
			}
			if err != nil {
				return wrapOp(ctx, op, err)
			}
			break
		}
	}
	return nil
}

func (t *Target) execTx(ctx context.Context, sql string, args ...any) error {
	tx, err := t.begin(ctx, t.pool)
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, sql, args...); err != nil {
		rollback(tx)
		return err
	}
	return tx.Commit(ctx)
}

// Count returns the number of rows of schema.table. A missing table returns
// an error wrapping ferry.ErrNotFound.
func (t *Target) Count(ctx context.Context, schema, table string) (int64, error) {
	op := "postgres: count " + schema + "." + table
	if err := validIdents(op, schema, table); err != nil {
		return 0, err
	}
	tx, err := t.begin(ctx, t.pool)
	if err != nil {
		return 0, classify(ctx, op, err)
	}
	defer rollback(tx)
	n, err := count(ctx, tx, schema, table)
	if pgCode(err) == "42P01" {
		return 0, fmt.Errorf("%s: %w", op, ferry.ErrNotFound)
	}
	if err != nil {
		return 0, classify(ctx, op, err)
	}
	return n, nil
}

func count(ctx context.Context, q pgx.Tx, schema, table string) (int64, error) {
	var n int64
	err := q.QueryRow(ctx, `SELECT count(*) FROM `+qualified(schema, table)).Scan(&n)
	return n, err
}

// relation describes a table found in the catalogs.
type relation struct {
	oid   uint32
	kind  string
	owner string
}

// lookup finds schema.name; ok is false when it does not exist.
func lookup(ctx context.Context, q pgx.Tx, schema, name string) (relation, bool, error) {
	var r relation
	err := q.QueryRow(ctx, `SELECT c.oid, c.relkind::text, pg_get_userbyid(c.relowner)
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = $1 AND c.relname = $2`, schema, name).Scan(&r.oid, &r.kind, &r.owner)
	if errors.Is(err, pgx.ErrNoRows) {
		return relation{}, false, nil
	}
	if err != nil {
		return relation{}, false, err
	}
	return r, true, nil
}

// liveTable finds the live table schema.table; a relation of that name
// that is not a table is a ConfigError.
func liveTable(ctx context.Context, q pgx.Tx, schema, table string) (relation, bool, error) {
	r, ok, err := lookup(ctx, q, schema, table)
	if err != nil || !ok {
		return r, ok, err
	}
	if r.kind != "r" && r.kind != "p" {
		return r, false, &ferry.ConfigError{Where: ferry.Where{Table: table},
			Msg: fmt.Sprintf("%s.%s exists but is not a table (relkind %q)", schema, table, r.kind),
			Fix: "drop or rename it so that Ferry can manage the table " + table}
	}
	return r, true, nil
}

// checkDependents refuses a live table that other objects bind to by OID:
// views and materialized views (pg_depend → pg_rewrite) and foreign keys
// from other tables. After a swap they would follow the old table, which
// becomes the next run's (truncated) staging table.
func checkDependents(ctx context.Context, q pgx.Tx, schema, table string, oid uint32) error {
	rows, err := q.Query(ctx, `SELECT DISTINCT vn.nspname, v.relname, v.relkind::text
		FROM pg_depend d
		JOIN pg_rewrite rw ON rw.oid = d.objid
		JOIN pg_class v ON v.oid = rw.ev_class
		JOIN pg_namespace vn ON vn.oid = v.relnamespace
		WHERE d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass
		  AND d.refobjid = $1 AND rw.ev_class <> $1
		ORDER BY 1, 2`, oid)
	if err != nil {
		return err
	}
	var views []string
	for rows.Next() {
		var s, n, k string
		if err := rows.Scan(&s, &n, &k); err != nil {
			rows.Close()
			return err
		}
		kind := "view"
		if k == "m" {
			kind = "materialized view"
		}
		views = append(views, kind+" "+s+"."+n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if len(views) > 0 {
		return &ferry.ConfigError{Where: ferry.Where{Table: table},
			Msg: fmt.Sprintf("%s depends on %s.%s; PostgreSQL binds views to the table itself, not its name, so after a swap it would keep reading the previous (then truncated) table; swap refused, live left unchanged",
				strings.Join(views, ", "), schema, table),
			Fix: "drop the view and point BI tools at the table, or replace the view with a SQL function (CREATE FUNCTION ... RETURNS SETOF ... LANGUAGE sql AS 'SELECT ... FROM " +
				schema + "." + table + "'), whose body resolves the table name at each call"}
	}
	var fks []string
	rows, err = q.Query(ctx, `SELECT conname, conrelid::regclass::text FROM pg_constraint
		WHERE contype = 'f' AND confrelid = $1 AND conrelid <> $1 ORDER BY 1`, oid)
	if err != nil {
		return err
	}
	for rows.Next() {
		var c, r string
		if err := rows.Scan(&c, &r); err != nil {
			rows.Close()
			return err
		}
		fks = append(fks, "foreign key "+c+" on "+r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if len(fks) > 0 {
		return &ferry.ConfigError{Where: ferry.Where{Table: table},
			Msg: fmt.Sprintf("%s references %s.%s; a foreign key binds to the table itself and would follow it to staging after a swap; swap refused, live left unchanged",
				strings.Join(fks, ", "), schema, table),
			Fix: "drop the foreign key: Ferry replaces the whole table on every run"}
	}
	return nil
}
