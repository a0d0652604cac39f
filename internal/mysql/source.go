package mysql

import (
	"context"
	"crypto/rand"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/keyset"
	"github.com/ferrydata/ferry/internal/mysql/mysqltype"
	"github.com/ferrydata/ferry/internal/sqlparams"
)

// Source reads configured queries from a MySQL, MariaDB or Aurora MySQL
// database opened with Open. It is safe for concurrent use.
//
// Every method wraps the configured query (after sqlparams.Bind turned its
// :name parameters into driver-bound placeholders) as a derived table:
//
//	SELECT * FROM (<query>) AS ferry_q WHERE ferry_q.`col` >= ? AND ferry_q.`col` < ?
//
// MySQL and MariaDB merge a simple derived table into the outer query, so the
// chunk range uses the index on the chunk column. A query with GROUP BY,
// DISTINCT, LIMIT, UNION or aggregates cannot be merged and is materialised
// once per statement (per chunk, and per boundary probe while planning):
// give such tables a larger chunk_rows, or a query the server can merge.
//
// Because the statement always has bound values it runs as a prepared
// statement (binary protocol): DATETIME/TIME values arrive as the exact
// text the server stores, FLOAT and DOUBLE as their IEEE values. The text
// protocol (client-side interpolation) is not used: it carries FLOAT as the
// server's 6-digit text (0.142857 for 0.14285715) and was measured no
// faster (BenchmarkExportProtocols, docs/performance.md).
type Source struct {
	db   *sql.DB
	opts options
	srv  flavourCache
}

var _ ferry.Source = (*Source)(nil)

// NewSource returns a Source on db (from Open). Options: WithLogger,
// WithStatementTimeout.
func NewSource(db *sql.DB, opts ...Option) *Source {
	return &Source{db: db, opts: newOptions(opts)}
}

// Engine is ferry.EngineMySQL: configured queries are MySQL's SQL.
func (s *Source) Engine() ferry.Engine { return ferry.EngineMySQL }

// flavourCache remembers whether the server is MariaDB.
type flavourCache struct {
	mu      sync.Mutex
	flavour string // "mariadb" or "mysql" once known
}

// mariaDB reports whether the server is MariaDB (cached once known; an
// unanswered probe says no and is retried next time).
func (f *flavourCache) mariaDB(ctx context.Context, db *sql.DB) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.flavour == "" {
		var v string
		if err := db.QueryRowContext(ctx, "SELECT VERSION()").Scan(&v); err != nil {
			return false
		}
		f.flavour = "mysql"
		if strings.Contains(strings.ToLower(v), "mariadb") {
			f.flavour = "mariadb"
		}
	}
	return f.flavour == "mariadb"
}

// mariaDB reports whether the server is MariaDB (cached once known).
func (s *Source) mariaDB(ctx context.Context) bool { return s.srv.mariaDB(ctx, s.db) }

// statementBudget caps ctx with the statement timeout (if any) and returns
// the server-side limit to set: the time left before the deadline, less
// the margin; 0 when there is no deadline or too little time for a limit.
func statementBudget(ctx context.Context, o options) (context.Context, context.CancelFunc, time.Duration) {
	cancel := context.CancelFunc(func() {})
	if o.stmtTimeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, o.stmtTimeout)
	}
	dl, ok := ctx.Deadline()
	if !ok {
		return ctx, cancel, 0
	}
	rem := time.Until(dl) - o.margin
	if rem < 10*time.Millisecond {
		return ctx, cancel, 0
	}
	return ctx, cancel, rem
}

// withTimeout returns the statement's context (capped by
// WithStatementTimeout) and the SELECT text with a server-side limit just
// under the deadline: MariaDB's SET STATEMENT max_statement_time=N FOR, or
// MySQL's MAX_EXECUTION_TIME hint. sel must start with "SELECT ".
func (s *Source) withTimeout(ctx context.Context, sel string) (context.Context, context.CancelFunc, string) {
	ctx, cancel, rem := statementBudget(ctx, s.opts)
	if rem == 0 {
		return ctx, cancel, sel
	}
	if s.mariaDB(ctx) {
		return ctx, cancel, fmt.Sprintf("SET STATEMENT max_statement_time=%.3f FOR %s", rem.Seconds(), sel)
	}
	return ctx, cancel, fmt.Sprintf("SELECT /*+ MAX_EXECUTION_TIME(%d) */ %s", rem.Milliseconds(), strings.TrimPrefix(sel, "SELECT "))
}

// bind checks and binds the configured query.
func bind(op, query string, params map[string]ferry.Param) (string, []any, error) {
	inner, args, _, err := sqlparams.Bind(query, params)
	if err != nil {
		return "", nil, classify(op, err)
	}
	return inner, args, nil
}

func checkChunkColumn(op, col string) error {
	if err := ferry.ValidIdent(col); err != nil {
		return &ferry.ConfigError{Msg: op + ": chunk column: " + err.Error(), Fix: "set the table's chunk_column to an integer column of the query's result"}
	}
	return nil
}

// derived wraps the bound query as the derived table ferry_q. The newlines
// keep a trailing line comment from swallowing the closing parenthesis.
func derived(inner string) string {
	return "(\n" + inner + "\n) AS ferry_q"
}

// Columns returns the result columns of query without reading rows, as
// ferry.Columns with every attribute the server tells (mysqltype).
//
// It first reads the result's protocol metadata on one session with
// sql_select_limit = 0 (resultFields): that needs nothing beyond SELECT,
// gives each column's origin (a table's column or computed) and key flags,
// and a type corrected from the protocol's lengths (decimal(10,2) unsigned,
// bit(8), varchar(40), tinyint(1) ...). Then, when the account may create a
// temporary table, it reads the exact type text from CREATE TEMPORARY
// TABLE ... AS SELECT * FROM (query) LIMIT 0 and SHOW FULL COLUMNS: enum
// and set labels, MariaDB's uuid/inet4/inet6 and JSON alias (longtext), and
// the collation. Without that privilege, enum and set become varchar of
// their longest label and uuid/inet char(n): a type that holds every value.
func (s *Source) Columns(ctx context.Context, query string, params map[string]ferry.Param) ([]ferry.Column, error) {
	const op = "mysql: columns of query"
	inner, args, err := bind(op, query, params)
	if err != nil {
		return nil, err
	}
	meta, merr := s.resultColumns(ctx, inner, args)
	if merr != nil && (ctx.Err() != nil || isConfigProblem(merr)) {
		return nil, classify(op, merr)
	}
	exact, err := s.columnsByTempTable(ctx, "SELECT * FROM "+derived(inner)+" LIMIT 0", args)
	var unknownType *ferry.ConfigError
	switch {
	case errors.As(err, &unknownType):
		return nil, err
	case err == nil && len(exact) == len(meta):
		for i := range exact {
			exact[i].Origin, exact[i].Table, exact[i].Key = meta[i].Origin, meta[i].Table, meta[i].Key
		}
		return exact, nil
	case err == nil:
		return exact, nil
	case ctx.Err() != nil:
		return nil, classify(op, err)
	case merr == nil:
		s.opts.log.DebugContext(ctx, "mysql: exact column types unavailable (no CREATE TEMPORARY TABLES?), using the result metadata", "error", err)
		s.refineFromCatalog(ctx, meta)
		return meta, nil
	}
	s.opts.log.DebugContext(ctx, "mysql: result metadata unavailable, using database/sql's", "error", merr)
	return s.driverColumns(ctx, op, inner, args)
}

// resultColumns reads the result metadata of the bound query (on the
// metadata pool when there is one: it names each column's table).
func (s *Source) resultColumns(ctx context.Context, inner string, args []any) ([]ferry.Column, error) {
	db, tables := s.db, false
	if s.opts.metaDB != nil {
		db, tables = s.opts.metaDB, true
	}
	return resultFields(ctx, db, inner, args, tables)
}

// driverColumns is the last resort: database/sql's column types, in which
// lengths become the widest type of the family.
func (s *Source) driverColumns(ctx context.Context, op, inner string, args []any) ([]ferry.Column, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT * FROM "+derived(inner)+" LIMIT 0", args...)
	if err != nil {
		return nil, classify(op, err)
	}
	defer rows.Close()
	cts, err := rows.ColumnTypes()
	if err != nil {
		return nil, classify(op, err)
	}
	out := make([]ferry.Column, len(cts))
	for i, ct := range cts {
		nullable, ok := ct.Nullable()
		out[i], _ = mysqltype.Parse(ct.Name(), driverType(ct), nullable || !ok)
	}
	return out, classify(op, rows.Err())
}

func (s *Source) columnsByTempTable(ctx context.Context, sel string, args []any) ([]ferry.Column, error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	b := make([]byte, 8)
	rand.Read(b)
	tmp := "_ferry_cols_" + hex.EncodeToString(b)
	if _, err := conn.ExecContext(ctx, "CREATE TEMPORARY TABLE "+quoteIdent(tmp)+" AS "+sel, args...); err != nil {
		return nil, err
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if _, err := conn.ExecContext(dctx, "DROP TEMPORARY TABLE IF EXISTS "+quoteIdent(tmp)); err != nil {
			// A temporary table dies with its session: make sure the
			// session is not reused.
			conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()
	cols, err := showFullColumns(ctx, conn, quoteIdent(tmp))
	if err != nil {
		return nil, err
	}
	out := make([]ferry.Column, 0, len(cols))
	for _, fc := range cols {
		c, err := mysqltype.Parse(fc.field, fc.typ, strings.EqualFold(fc.null, "YES"))
		if err != nil {
			return nil, &ferry.ConfigError{Msg: "mysql: columns of query: " + err.Error(), Fix: "cast the column in the query to a type Ferry copies (see docs/types.md)"}
		}
		if fc.collation.Valid {
			c.Collation, c.Charset = fc.collation.String, mysqltype.Charset(fc.collation.String)
		}
		out = append(out, c)
	}
	return out, nil
}

// Bounds counts the query's rows and the min/max of its chunk column with
// one aggregate statement. An empty result gives Bounds{}. A chunk column
// that is not an integer, or that is NULL in some rows (such rows would be
// in no chunk), is a *ferry.ConfigError.
func (s *Source) Bounds(ctx context.Context, query string, params map[string]ferry.Param, chunkColumn string) (ferry.Bounds, error) {
	op := "mysql: bounds of chunk column " + chunkColumn
	if err := checkChunkColumn(op, chunkColumn); err != nil {
		return ferry.Bounds{}, err
	}
	inner, args, err := bind(op, query, params)
	if err != nil {
		return ferry.Bounds{}, err
	}
	c := "ferry_q." + quoteIdent(chunkColumn)
	sel := "SELECT COUNT(*), COUNT(" + c + "), MIN(" + c + "), MAX(" + c + ") FROM " + derived(inner)
	ctx, cancel, sel := s.withTimeout(ctx, sel)
	defer cancel()
	var rows, nonNull int64
	var lo, hi sql.NullString
	if err := s.db.QueryRowContext(ctx, sel, args...).Scan(&rows, &nonNull, &lo, &hi); err != nil {
		return ferry.Bounds{}, classify(op, err)
	}
	if rows != nonNull {
		return ferry.Bounds{}, &ferry.ConfigError{Msg: fmt.Sprintf("%s: %d rows have a NULL chunk column and would be copied by no chunk", op, rows-nonNull),
			Fix: "choose a NOT NULL integer chunk column, or filter NULLs out in the query"}
	}
	if rows == 0 {
		return ferry.Bounds{}, nil
	}
	b := ferry.Bounds{Rows: rows}
	var errLo, errHi error
	b.Min, errLo = strconv.ParseInt(lo.String, 10, 64)
	b.Max, errHi = strconv.ParseInt(hi.String, 10, 64)
	if errLo != nil || errHi != nil || b.Max == math.MaxInt64 {
		return ferry.Bounds{}, &ferry.ConfigError{Msg: fmt.Sprintf("%s: values %q..%q are not integers below 2^63-1", op, lo.String, hi.String),
			Fix: "choose an integer chunk column (BIGINT UNSIGNED values must stay below 2^63-1)"}
	}
	return b, nil
}

// Boundaries walks the chunk column in [lo, hi) by keyset (keyset.Walk:
// SELECT col ... WHERE col >= cur AND col < hi ORDER BY col LIMIT 1 OFFSET
// every, moving to the next distinct value when a value repeats more than
// every times), so it never loops and returns at most rows/every+1 strictly
// increasing values. An empty range returns nil.
func (s *Source) Boundaries(ctx context.Context, query string, params map[string]ferry.Param, chunkColumn string, lo, hi int64, every int64) ([]int64, error) {
	op := "mysql: chunk boundaries of " + chunkColumn
	if err := checkChunkColumn(op, chunkColumn); err != nil {
		return nil, err
	}
	inner, args, err := bind(op, query, params)
	if err != nil {
		return nil, err
	}
	c := "ferry_q." + quoteIdent(chunkColumn)
	from := " FROM " + derived(inner) + " WHERE " + c + " >= ? AND " + c + " < ?"
	sqls := map[keyset.Probe]string{
		keyset.First: "SELECT MIN(" + c + ")" + from,
		keyset.Step:  "SELECT " + c + from + " ORDER BY " + c + " LIMIT 1 OFFSET ?",
		keyset.Next:  "SELECT MIN(" + c + ") FROM " + derived(inner) + " WHERE " + c + " > ? AND " + c + " < ?",
	}
	return keyset.Walk(op, lo, hi, every, func(p keyset.Probe, cur int64) (int64, bool, error) {
		extra := []any{cur, hi}
		if p == keyset.Step {
			extra = append(extra, every)
		}
		qctx, cancel, q := s.withTimeout(ctx, sqls[p])
		defer cancel()
		var v sql.NullInt64
		err := s.db.QueryRowContext(qctx, q, append(append([]any{}, args...), extra...)...).Scan(&v)
		if errors.Is(err, sql.ErrNoRows) {
			return 0, false, nil
		}
		if err != nil {
			return 0, false, classify(op, err)
		}
		return v.Int64, v.Valid, nil
	})
}
