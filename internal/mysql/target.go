package mysql

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"

	"github.com/ferrydata/ferry"
)

// Target is a MySQL, MariaDB or Aurora MySQL reporting database; a
// company's schema is a MySQL database. It is safe for concurrent use.
type Target struct {
	db   *sql.DB
	opts options
	srv  flavourCache

	hookMu sync.Mutex
	hooks  map[swapHookPoint]func() // tests only (setHook); nil in production
}

var _ ferry.Target = (*Target)(nil)

// NewTarget returns a Target on db (from Open). Options: WithLogger,
// WithClock, WithSleep, WithInsertLoader, WithSwapAttempts,
// WithStatementTimeout.
func NewTarget(db *sql.DB, opts ...Option) *Target {
	return &Target{db: db, opts: newOptions(opts)}
}

// limit returns the context for one statement (capped by
// WithStatementTimeout) and stmt with a server-side time limit just under
// the context's deadline, so that the server stops work the client gave up
// on: on MariaDB SET STATEMENT max_statement_time=N FOR stmt (any
// statement), on MySQL the MAX_EXECUTION_TIME hint (SELECT only). MySQL
// has no server-side limit for DELETE or LOAD DATA: there the deadline
// alone bounds them (the driver gives up and closes the connection, and the
// server rolls the transaction back). A limit that fires is a retryable
// error, like the deadline itself.
func (t *Target) limit(ctx context.Context, stmt string) (context.Context, context.CancelFunc, string) {
	ctx, cancel, rem := statementBudget(ctx, t.opts)
	switch {
	case rem == 0:
	case t.srv.mariaDB(ctx, t.db):
		stmt = fmt.Sprintf("SET STATEMENT max_statement_time=%.3f FOR %s", rem.Seconds(), stmt)
	case strings.HasPrefix(stmt, "SELECT "):
		stmt = fmt.Sprintf("SELECT /*+ MAX_EXECUTION_TIME(%d) */ %s", rem.Milliseconds(), strings.TrimPrefix(stmt, "SELECT "))
	}
	return ctx, cancel, stmt
}

// Engine is ferry.EngineMySQL.
func (t *Target) Engine() ferry.Engine { return ferry.EngineMySQL }

func validIdents(op string, names ...string) error {
	for _, n := range names {
		if err := ferry.ValidIdent(n); err != nil {
			return &ferry.ConfigError{Msg: op + ": " + err.Error(), Fix: "use names of ASCII letters, digits and _"}
		}
	}
	return nil
}

// EnsureSchema creates the database schema (utf8mb4) if it does not exist.
// Idempotent; an existing database is left as it is.
func (t *Target) EnsureSchema(ctx context.Context, schema string) error {
	op := "mysql: ensure schema " + schema
	if err := validIdents(op, schema); err != nil {
		return err
	}
	_, err := t.db.ExecContext(ctx, "CREATE DATABASE IF NOT EXISTS "+quoteIdent(schema)+" CHARACTER SET utf8mb4")
	return classify(op, err)
}

// tableExists reports whether schema.table exists.
func tableExists(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, schema, table string) (bool, error) {
	var n int
	err := q.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?", schema, table).Scan(&n)
	return n > 0, err
}

// zeroDateType reports a type whose values the zero-date policy may turn
// into NULL: date, datetime(n), timestamp(n).
func zeroDateType(t string) bool {
	t = strings.ToLower(t)
	return t == "date" || strings.HasPrefix(t, "datetime") || strings.HasPrefix(t, "timestamp")
}

// Count counts a table's rows. A missing table is an error wrapping
// ferry.ErrNotFound.
func (t *Target) Count(ctx context.Context, schema, table string) (int64, error) {
	op := "mysql: count " + schema + "." + table
	if err := validIdents(op, schema, table); err != nil {
		return 0, err
	}
	var n int64
	qctx, cancel, q := t.limit(ctx, "SELECT COUNT(*) FROM "+qualified(schema, table))
	defer cancel()
	err := t.db.QueryRowContext(qctx, q).Scan(&n)
	if mysqlErrNo(err) == erNoSuchTable {
		return 0, fmt.Errorf("%s: %w", op, ferry.ErrNotFound)
	}
	return n, classify(op, err)
}
