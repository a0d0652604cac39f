package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/sqlparams"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Source reads configured queries from a PostgreSQL or Aurora PostgreSQL
// database (a primary or a hot standby). It is safe for concurrent use;
// set Logger before the first call.
//
// Every statement runs in its own READ ONLY transaction that first sets,
// for that transaction only (set_config(..., true), values bound):
//
//	statement_timeout            the context's deadline less a margin (0 without one)
//	TimeZone = UTC               timestamptz values are written in UTC
//	DateStyle = ISO, YMD         dates as 2024-02-29, 0044-03-15 BC
//	IntervalStyle = postgres     what every PostgreSQL reads back
//	extra_float_digits = 3       shortest text that round-trips (PostgreSQL 12+)
//	bytea_output = hex           \x + hex: csvcodec's binary form
//	standard_conforming_strings  on: what sqlparams.BindPostgres assumes
//
// so a configured query cannot write (even through a data-modifying CTE or
// a volatile function), no statement outlives the step, and the exported
// text does not depend on the role's or database's defaults. Because the
// settings are transaction-local they never leak into a pooled session
// (RDS Proxy, PgBouncer in transaction mode).
//
// The configured query's :name parameters are bound by the protocol
// (sqlparams.BindPostgres turns them into $n, the server infers each one's
// type from its context, the value travels in the Bind message as text):
// no value is ever part of the SQL text. Each method wraps the bound query
// as the derived table ferry_q, which PostgreSQL pulls up into the outer
// query, so the chunk range uses an index on the chunk column.
//
// The role needs only SELECT on the queried tables (and USAGE on their
// schemas); column types are read from the system catalogs, which every
// role may read.
type Source struct {
	pool *pgxpool.Pool

	// Logger receives structured logs; nil means slog.Default().
	Logger *slog.Logger
}

var _ ferry.Source = (*Source)(nil)

// NewSource returns a Source on pool.
func NewSource(pool *pgxpool.Pool) *Source { return &Source{pool: pool} }

// Engine is ferry.EnginePostgres: configured queries are PostgreSQL's SQL
// (sqlparams.Postgres).
func (s *Source) Engine() ferry.Engine { return ferry.EnginePostgres }

// sessionSQL sets the transaction-local settings described on Source.
const sessionSQL = `SELECT set_config('statement_timeout', $1, true), set_config('TimeZone', 'UTC', true),
	set_config('DateStyle', 'ISO, YMD', true), set_config('IntervalStyle', 'postgres', true),
	set_config('extra_float_digits', '3', true), set_config('bytea_output', 'hex', true),
	set_config('standard_conforming_strings', 'on', true)`

// read runs fn on a connection inside a READ ONLY transaction with the
// session settings of Source, and rolls the transaction back after it
// (nothing was written). Errors are classified with op.
func (s *Source) read(ctx context.Context, op string, fn func(pc *pgconn.PgConn) error) error {
	return s.readIn(ctx, op, "", fn)
}

// readIn is read with schema (when not empty) as the transaction's
// search_path, for unqualified names.
func (s *Source) readIn(ctx context.Context, op, schema string, fn func(pc *pgconn.PgConn) error) error {
	st, err := statementTimeout(ctx)
	if err != nil {
		return classify(ctx, op, err)
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return classify(ctx, op, err)
	}
	defer conn.Release()
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		return classify(ctx, op, err)
	}
	defer rollback(tx)
	if _, err := tx.Exec(ctx, sessionSQL, strconv.FormatInt(st.Milliseconds(), 10)+"ms"); err != nil {
		return classify(ctx, op, err)
	}
	if schema != "" {
		if _, err := tx.Exec(ctx, `SELECT set_config('search_path', quote_ident($1), true)`, schema); err != nil {
			return classify(ctx, op, err)
		}
	}
	return fn(conn.Conn().PgConn())
}

// bound is a configured query with its parameters bound: SQL with $1..$n
// and the values as protocol text.
type bound struct {
	sql  string
	args [][]byte
}

// bindQuery checks and binds the configured query for op.
func bindQuery(op, query string, params map[string]ferry.Param) (bound, error) {
	sql, args, _, err := sqlparams.BindPostgres(query, params)
	if err != nil {
		return bound{}, queryError(op, err)
	}
	b := bound{sql: sql, args: make([][]byte, len(args))}
	for i, a := range args {
		if b.args[i], err = paramText(a); err != nil {
			return bound{}, &ferry.ConfigError{Msg: fmt.Sprintf("%s: parameter $%d: %v", op, i+1, err),
				Fix: "give the parameter a string or integer value"}
		}
	}
	return b, nil
}

// queryError turns sqlparams' refusals into ConfigErrors.
func queryError(op string, err error) error {
	var fix string
	switch err.(type) {
	case *sqlparams.QueryError:
		fix = "write the table's query as one read-only SELECT with :name parameters"
	case *sqlparams.UnknownParamError:
		fix = "add the configuration to the company, or correct the query"
	default:
		return fmt.Errorf("%s: %w", op, err)
	}
	return &ferry.ConfigError{Msg: op + ": " + err.Error(), Fix: fix}
}

// paramText renders a parameter value as the text the server parses with
// the parameter's inferred type; nil is NULL.
func paramText(v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case string:
		return []byte(x), nil
	case int64:
		return strconv.AppendInt(nil, x, 10), nil
	case int32:
		return strconv.AppendInt(nil, int64(x), 10), nil
	case float64:
		return strconv.AppendFloat(nil, x, 'g', -1, 64), nil
	case bool:
		return []byte(strconv.FormatBool(x)), nil
	case json.Number:
		return []byte(x), nil
	case []byte:
		return x, nil
	}
	return nil, fmt.Errorf("unsupported value type %T", v)
}

// with appends more bound values (the chunk range) to b, returning the SQL
// placeholder of the first one.
func (b bound) with(vals ...int64) (bound, int) {
	out := bound{sql: b.sql, args: make([][]byte, len(b.args), len(b.args)+len(vals))}
	copy(out.args, b.args)
	for _, v := range vals {
		out.args = append(out.args, strconv.AppendInt(nil, v, 10))
	}
	return out, len(b.args) + 1
}

// derivedPG wraps a bound query as the derived table ferry_q; the newlines
// keep a trailing line comment from swallowing the parenthesis.
func derivedPG(sql string) string { return "(\n" + sql + "\n) AS ferry_q" }

// placeholder is "$n".
func placeholder(n int) string { return "$" + strconv.Itoa(n) }

// chunkRef is ferry_q."col".
func chunkRef(col string) string { return "ferry_q." + quoteIdent(col) }

func checkChunkColumn(op, col string) error {
	if err := ferry.ValidIdent(col); err != nil {
		return &ferry.ConfigError{Msg: op + ": chunk column: " + err.Error(), Fix: "set the table's chunk_column to an integer column of the query's result"}
	}
	return nil
}

// exec runs a bound statement and returns its result reader; every value
// is sent and received as text.
func exec(ctx context.Context, pc *pgconn.PgConn, b bound) *pgconn.ResultReader {
	return pc.ExecParams(ctx, b.sql, b.args, nil, nil, nil)
}

// columnNames checks that the result's columns have unique names that can
// be target column names.
func columnNames(op string, fields []pgconn.FieldDescription) ([]string, error) {
	names := make([]string, len(fields))
	seen := make(map[string]bool, len(fields))
	for i, f := range fields {
		if err := ferry.ValidIdent(f.Name); err != nil {
			return nil, &ferry.ConfigError{Msg: fmt.Sprintf("%s: result column %d: %v", op, i+1, err),
				Fix: "give the column a name in the query (expression AS name)"}
		}
		if seen[f.Name] {
			return nil, &ferry.ConfigError{Msg: fmt.Sprintf("%s: the result has two columns named %s", op, f.Name),
				Fix: "alias the columns in the query so that names are unique"}
		}
		seen[f.Name] = true
		names[i] = f.Name
	}
	return names, nil
}

// chunkIndex finds the chunk column in the result and checks it is an
// integer.
func chunkIndex(op, col string, fields []pgconn.FieldDescription, names []string) (int, error) {
	for i, f := range fields {
		if f.Name != col {
			continue
		}
		switch f.DataTypeOID {
		case pgtype.Int2OID, pgtype.Int4OID, pgtype.Int8OID:
			return i, nil
		}
		return 0, &ferry.ConfigError{Msg: fmt.Sprintf("%s: chunk column %s is not an integer (type oid %d)", op, col, f.DataTypeOID),
			Fix: "choose a smallint, integer or bigint column as chunk_column, or cast it in the query (col::bigint AS " + col + ")"}
	}
	return 0, &ferry.ConfigError{Msg: fmt.Sprintf("%s: chunk column %s is not a column of the query's result", op, col),
		Fix: "set chunk_column to one of: " + strings.Join(names, ", ")}
}

// OpenSource opens the source database at dsn (a postgres:// URL) and
// returns the Source with the func that closes its pool.
func (Engine) OpenSource(ctx context.Context, dsn string, log *slog.Logger) (ferry.Source, func(), error) {
	pool, err := OpenPool(ctx, dsn)
	if err != nil {
		return nil, nil, err
	}
	s := NewSource(pool)
	s.Logger = log
	return s, pool.Close, nil
}

// CheckRead is the source's preflight: the role sees a table it may SELECT
// from outside the system schemas, and reads it in a read-only transaction
// (LIMIT 0: no row is read). It returns the database's name. grantee is
// how a fix names the role. A problem the operator fixes is a
// *ferry.ConfigError whose Fix is the GRANT; a failing server is another
// error. The configured queries are checked separately (plan.Validate).
func (s *Source) CheckRead(ctx context.Context, grantee string) (string, error) {
	var db, schema, table string
	err := s.pool.QueryRow(ctx, `SELECT current_database(), coalesce(min(n.nspname || '.' || c.relname), '') FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
		AND n.nspname NOT LIKE 'pg\_%' AND has_schema_privilege(n.oid, 'USAGE') AND has_table_privilege(c.oid, 'SELECT')`).Scan(&db, &table)
	if err != nil {
		return "", fmt.Errorf("read the source's tables: %w", err)
	}
	grant := fmt.Sprintf("GRANT USAGE ON SCHEMA public TO %[1]s; GRANT SELECT ON ALL TABLES IN SCHEMA public TO %[1]s (for every schema the queries read; or GRANT pg_read_all_data TO %[1]s on PostgreSQL 14+); read-only is enough", grantee)
	if table == "" {
		return db, &ferry.ConfigError{Msg: fmt.Sprintf("the source role may read no table in database %s: it has no privilege there, or the database is empty", db),
			Fix: grant + "; or point the source URL at the database the queries read"}
	}
	schema, table, _ = strings.Cut(table, ".")
	err = s.read(ctx, "postgres: check read", func(pc *pgconn.PgConn) error {
		return scanOne(exec(ctx, pc, bound{sql: "SELECT * FROM " + qualified(schema, table) + " LIMIT 0"}), nil)
	})
	if err != nil {
		return db, &ferry.ConfigError{Msg: fmt.Sprintf("the source role may not read %s.%s in database %s: %v", schema, table, db, err), Fix: grant}
	}
	return db, nil
}
