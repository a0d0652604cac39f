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
	"log/slog"
	"net/url"
	"regexp"
	"strings"
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

	// syncLoads makes Load commit synchronously, as it did before
	// synchronous_commit=off (the baseline of BenchmarkLoadCommit).
	syncLoads bool
}

// Open connects to the PostgreSQL database at url (a postgres:// URL or a
// keyword/value string) and checks that it answers. Errors never contain
// the password.
func Open(ctx context.Context, url string) (*Target, error) {
	pool, err := OpenPool(ctx, url)
	if err != nil {
		return nil, err
	}
	return New(pool), nil
}

// OpenPool connects to the PostgreSQL database at url (a postgres:// URL
// or a keyword/value string) and checks that it answers: the pool every
// role of the adapter (target, source, admin database) runs on.
// Statements are sent with the extended protocol and no server-side
// prepared statements (they survive poolers such as RDS Proxy); the
// session's application_name is "ferry" unless url sets one. Errors never
// contain the password.
func OpenPool(ctx context.Context, url string) (*pgxpool.Pool, error) {
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
	return pool, nil
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
	pwKV = regexp.MustCompile(`(?i)(password\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s&]*)`)
	kv   = regexp.MustCompile(`([a-z_]+)\s*=\s*('(?:[^'\\]|\\.)*'|\S*)`)
)

// Redact returns a connection string fit for logs and errors
// (ferry.SafeDSN): scheme, user, host, port and database only, rebuilt
// from a postgres:// URL or a keyword/value string; nothing of its query
// string or other keywords (password=..., sslkey=...) is kept. A string
// that is neither gives "<malformed connection string>".
func Redact(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.Scheme != "" && u.Host != "" {
		return ferry.SafeDSN(u.Scheme, u.User.Username(), u.Hostname(), u.Port(), strings.TrimPrefix(u.Path, "/"))
	}
	if strings.Contains(dsn, "://") || !kv.MatchString(dsn) {
		return "<malformed connection string>"
	}
	words := map[string]string{}
	for _, m := range kv.FindAllStringSubmatch(dsn, -1) {
		words[strings.ToLower(m[1])] = strings.Trim(m[2], "'")
	}
	return ferry.SafeDSN("postgres", words["user"], words["host"], words["port"], words["dbname"])
}

// redactErr renders err without dsn's password or anything else of it
// but what Redact keeps, should a driver message echo it (pgx quotes the
// whole connection string, only its password masked, when it cannot
// parse it).
func redactErr(err error, dsn string) string {
	msg := err.Error()
	var pce *pgconn.ParseConfigError
	if errors.As(err, &pce) {
		if rest, ok := strings.CutPrefix(msg, "cannot parse `"); ok {
			if i := strings.LastIndex(rest, "`: "); i >= 0 {
				msg = "cannot parse " + Redact(dsn) + ": " + rest[i+3:]
			}
		}
	}
	if u, perr := url.Parse(dsn); perr == nil {
		if pw, ok := u.User.Password(); ok && pw != "" {
			msg = strings.ReplaceAll(msg, pw, "xxxxx")
		}
		for k, vs := range u.Query() {
			for _, v := range vs {
				if strings.Contains(strings.ToLower(k), "pass") && v != "" {
					msg = strings.ReplaceAll(msg, v, "xxxxx")
				}
			}
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
