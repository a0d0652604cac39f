package mysql

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/csvcodec"
	"github.com/go-sql-driver/mysql"
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

// PrepareStaging drops staging if it exists and creates it empty: CREATE
// TABLE staging LIKE table when the live table exists (same types,
// indexes and charset, so the swap exchanges like for like), else from cols
// with the MySQL types as given (validated), utf8mb4, and an index on the
// chunk column. Idempotent. Grants are by name, so none are lost.
//
// Derived columns keep NOT NULL, except DATE, DATETIME and TIMESTAMP ones:
// the zero-date policy "null" writes NULL for a zero date, also from a
// source column that is NOT NULL (as the PostgreSQL target does).
func (t *Target) PrepareStaging(ctx context.Context, schema, table, staging string, cols []ferry.Column, chunkColumn string) error {
	op := fmt.Sprintf("mysql: prepare staging %s.%s for table %s", schema, staging, table)
	if err := validIdents(op, schema, table, staging, chunkColumn); err != nil {
		return err
	}
	live, err := tableExists(ctx, t.db, schema, table)
	if err != nil {
		return classify(op, err)
	}
	var create string
	if live {
		create = "CREATE TABLE " + qualified(schema, staging) + " LIKE " + qualified(schema, table)
	} else {
		if len(cols) == 0 {
			return &ferry.ConfigError{Msg: op + ": no columns to create the table from", Fix: "check the table's query returns columns"}
		}
		var defs []string
		hasChunk := false
		for _, c := range cols {
			if err := ferry.ValidIdent(c.Name); err != nil {
				return &ferry.ConfigError{Msg: op + ": column: " + err.Error(), Fix: "alias the column in the query (AS name)"}
			}
			if err := validType(c.Type); err != nil {
				return &ferry.ConfigError{Msg: op + ": column " + c.Name + ": " + err.Error(), Fix: "cast the column in the query to a plain MySQL type"}
			}
			null := " NOT NULL"
			if c.Nullable || zeroDateType(c.Type) {
				null = " NULL"
				if strings.HasPrefix(c.Type, "timestamp") {
					null = " NULL DEFAULT NULL"
				}
			}
			defs = append(defs, quoteIdent(c.Name)+" "+c.Type+null)
			if strings.EqualFold(c.Name, chunkColumn) {
				hasChunk = true
			}
		}
		if !hasChunk {
			return &ferry.ConfigError{Msg: op + ": chunk column " + chunkColumn + " is not among the query's columns", Fix: "set chunk_column to a column of the query's result"}
		}
		defs = append(defs, "KEY `ferry_chunk` ("+quoteIdent(chunkColumn)+")")
		create = "CREATE TABLE " + qualified(schema, staging) + " (\n  " + strings.Join(defs, ",\n  ") + "\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"
	}
	if _, err := t.db.ExecContext(ctx, "DROP TABLE IF EXISTS "+qualified(schema, staging)); err != nil {
		return classify(op, err)
	}
	if _, err := t.db.ExecContext(ctx, create); err != nil {
		return classify(op, err)
	}
	if live {
		// A live table made by hand may have no index led by the chunk
		// column; every load's range DELETE would then scan the whole
		// staging table. Staging gets one (live is not changed).
		var n int
		err := t.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND SEQ_IN_INDEX = 1 AND COLUMN_NAME = ?",
			schema, staging, chunkColumn).Scan(&n)
		if err != nil {
			return classify(op+": indexes", err)
		}
		if n == 0 {
			if _, err := t.db.ExecContext(ctx, "ALTER TABLE "+qualified(schema, staging)+" ADD KEY `ferry_chunk` ("+quoteIdent(chunkColumn)+")"); err != nil {
				return classify(op+": index the chunk column", err)
			}
		}
	}
	return nil
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

type loadCol struct {
	name string
	kind kind
}

// stagingColumns reads the staging table's columns by name (lower case).
func stagingColumns(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, schema, table string) (map[string]loadCol, error) {
	rows, err := q.QueryContext(ctx, "SELECT COLUMN_NAME, DATA_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?", schema, table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]loadCol{}
	for rows.Next() {
		var name, typ string
		if err := rows.Scan(&name, &typ); err != nil {
			return nil, err
		}
		out[strings.ToLower(name)] = loadCol{name: name, kind: loadKind(typ)}
	}
	return out, rows.Err()
}

// Load replaces the rows of [req.Lo, req.Hi) in the staging table with the
// CSV in r: it reads and checks the header, then in one transaction on one
// connection deletes the range and streams the rest of r to LOAD DATA
// LOCAL INFILE 'Reader::<unique name>' (csvcodec.MySQLLoadOptions). Binary
// columns go through a user variable and UNHEX, BIT columns through CONV
// from base 2; an unenclosed NULL reaches the column as NULL through the
// variable too. Any warning the load raised (truncation, a bad value, a
// NULL into NOT NULL) rolls it back and is a *ferry.DataError quoting it.
// A failed or interrupted load leaves staging as it was. Running Load
// twice with the same input leaves the same rows. Returns the rows loaded.
//
// LOAD DATA LOCAL needs local_infile=ON on the server; the driver's
// allowAllFiles is not needed for Reader:: handlers. When the server
// refuses it, or with WithInsertLoader, rows are inserted in batches of
// bound multi-row INSERTs in the same transaction instead.
func (t *Target) Load(ctx context.Context, req ferry.LoadRequest, r io.Reader) (int64, error) {
	op := fmt.Sprintf("mysql: load %s.%s [%d,%d)", req.Schema, req.Staging, req.Lo, req.Hi)
	if err := validIdents(op, req.Schema, req.Staging, req.ChunkColumn); err != nil {
		return 0, err
	}
	cr := csvcodec.NewReader(r)
	cols, err := t.loadColumns(ctx, op, req, cr)
	if err != nil {
		return 0, err
	}

	conn, err := t.db.Conn(ctx)
	if err != nil {
		return 0, classify(op, err)
	}
	defer conn.Close()
	// One load of a chunk at a time: a retry racing its first attempt (Step
	// Functions may start one while the other still runs) waits here, then
	// replaces what the first committed. Released before the connection
	// goes back to the pool.
	release, err := chunkLock(ctx, conn, req)
	if err != nil {
		return 0, classify(op+": chunk lock", err)
	}
	defer release()
	// READ COMMITTED: the range DELETE then locks only the rows it finds,
	// not the gaps around them, so loads of neighbouring chunks into one
	// staging table (disjoint ranges) do not deadlock each other, as they do
	// under REPEATABLE READ's next-key locks.
	tx, err := conn.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
	if err != nil {
		return 0, classify(op, err)
	}
	defer tx.Rollback()
	c := quoteIdent(req.ChunkColumn)
	dctx, cancel, del := t.limit(ctx, "DELETE FROM "+qualified(req.Schema, req.Staging)+" WHERE "+c+" >= ? AND "+c+" < ?")
	_, err = tx.ExecContext(dctx, del, req.Lo, req.Hi)
	cancel()
	if err != nil {
		return 0, classify(op+": delete range", err)
	}
	var n int64
	if t.opts.insertLoader {
		n, err = t.loadInsert(ctx, tx, cr, req, cols)
	} else {
		n, err = t.loadData(ctx, tx, cr, req, cols)
		if errors.Is(err, errLocalInfileRefused) {
			t.opts.log.WarnContext(ctx, "mysql: server refuses LOAD DATA LOCAL (local_infile=OFF); loading with batched INSERTs", "schema", req.Schema, "table", req.Staging)
			n, err = t.loadInsert(ctx, tx, cr, req, cols)
		}
	}
	if err != nil {
		return 0, err
	}
	// Every loaded row must fall in [Lo, Hi): a row outside it would not be
	// removed by a retry's range DELETE and could be doubled.
	var inRange int64
	cctx, ccancel, cq := t.limit(ctx, "SELECT COUNT(*) FROM "+qualified(req.Schema, req.Staging)+" WHERE "+c+" >= ? AND "+c+" < ?")
	err = tx.QueryRowContext(cctx, cq, req.Lo, req.Hi).Scan(&inRange)
	ccancel()
	if err != nil {
		return 0, classify(op+": count the range", err)
	}
	if inRange != n {
		return 0, &ferry.DataError{Msg: fmt.Sprintf("%s: %d of the %d loaded rows fall outside the chunk's range [%d,%d) of %s; nothing was committed", op, n-inRange, n, req.Lo, req.Hi, req.ChunkColumn),
			Fix: "the export and the plan disagree on the chunk column: rerun the workflow"}
	}
	if err := tx.Commit(); err != nil {
		return 0, classify(op+": commit", err)
	}
	return n, nil
}

var errLocalInfileRefused = errors.New("server refuses LOAD DATA LOCAL")

// loadColumns reads the CSV header and matches it to the staging table's
// columns: a column staging lacks is a ConfigError (the live table differs
// from the query), a bad or repeated name a DataError, a missing staging
// table an error wrapping ferry.ErrNotFound.
func (t *Target) loadColumns(ctx context.Context, op string, req ferry.LoadRequest, cr *csvcodec.Reader) ([]loadCol, error) {
	header, err := cr.ReadHeader()
	if err != nil {
		return nil, &ferry.DataError{Msg: op + ": CSV header: " + err.Error(), Fix: "re-export the chunk"}
	}
	tcols, err := stagingColumns(ctx, t.db, req.Schema, req.Staging)
	if err != nil {
		return nil, classify(op, err)
	}
	if len(tcols) == 0 {
		return nil, fmt.Errorf("%s: staging table does not exist (fix: rerun the run's planning step, which prepares staging): %w", op, ferry.ErrNotFound)
	}
	cols := make([]loadCol, len(header))
	seen := map[string]bool{}
	for i, h := range header {
		if err := ferry.ValidIdent(h); err != nil {
			return nil, &ferry.DataError{Column: h, Msg: op + ": CSV header: " + err.Error(), Fix: "alias the column in the query (AS name)"}
		}
		lc, ok := tcols[strings.ToLower(h)]
		if !ok {
			return nil, &ferry.ConfigError{Msg: fmt.Sprintf("%s: column %s of the export is not in the staging table (the live table's columns differ from the query's)", op, h),
				Fix: "ALTER the live table to match the query, or drop it so Ferry recreates it from the query"}
		}
		if seen[strings.ToLower(h)] {
			return nil, &ferry.DataError{Column: h, Msg: op + ": column appears twice in the CSV header", Fix: "alias the columns in the query so names are unique"}
		}
		seen[strings.ToLower(h)] = true
		cols[i] = lc
	}
	return cols, nil
}

// chunkLock takes a named lock (GET_LOCK) for req's staging table and chunk
// on conn, waiting until ctx's deadline (at most 15 minutes). The returned
// func releases it.
func chunkLock(ctx context.Context, conn *sql.Conn, req ferry.LoadRequest) (func(), error) {
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s\x00%s\x00%d", req.Schema, req.Staging, req.Lo)))
	name := "ferry_load_" + hex.EncodeToString(sum[:16])
	wait := 15 * time.Minute
	if dl, ok := ctx.Deadline(); ok {
		wait = time.Until(dl)
	}
	var got sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK(?, ?)", name, int64(wait.Seconds())+1).Scan(&got); err != nil {
		return nil, err
	}
	if !got.Valid || got.Int64 != 1 {
		return nil, ferry.Retryable("mysql: chunk lock", fmt.Errorf("another load of chunk [%d,%d) of %s.%s still holds it", req.Lo, req.Hi, req.Schema, req.Staging))
	}
	return func() {
		conn.ExecContext(context.WithoutCancel(ctx), "DO RELEASE_LOCK(?)", name)
	}, nil
}

// localInfileRefused recognises the server refusing LOAD DATA LOCAL before
// reading any data: MariaDB 1148, MySQL 3948, and servers (such as the
// embedded go-mysql-server) that say so with a generic error number.
func localInfileRefused(err error) bool {
	var me *mysql.MySQLError
	if !errors.As(err, &me) {
		return false
	}
	switch me.Number {
	case erLocalInfileDisabled, erLocalInfileMySQL:
		return true
	}
	return strings.Contains(strings.ToLower(me.Message), "local_infile")
}

// errReader records the error of the stream it reads, so a failed upstream
// (S3, gzip) is told apart from a server error.
type errReader struct {
	r   io.Reader
	err error
}

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF {
		e.err = err
	}
	return n, err
}

func (t *Target) loadData(ctx context.Context, tx *sql.Tx, cr *csvcodec.Reader, req ferry.LoadRequest, cols []loadCol) (int64, error) {
	op := fmt.Sprintf("mysql: load %s.%s [%d,%d)", req.Schema, req.Staging, req.Lo, req.Hi)
	var list, sets []string
	for i, col := range cols {
		switch col.kind {
		case kindBinary:
			v := "@ferry_v" + strconv.Itoa(i)
			list = append(list, v)
			sets = append(sets, quoteIdent(col.name)+" = UNHEX(SUBSTRING("+v+", 3))")
		case kindBit:
			v := "@ferry_v" + strconv.Itoa(i)
			list = append(list, v)
			sets = append(sets, quoteIdent(col.name)+" = CAST(CONV("+v+", 2, 10) AS UNSIGNED)")
		default:
			list = append(list, quoteIdent(col.name))
		}
	}
	b := make([]byte, 12)
	rand.Read(b)
	name := "ferry_" + hex.EncodeToString(b)
	src := &errReader{r: cr.Buffered()}
	mysql.RegisterReaderHandler(name, func() io.Reader { return src })
	defer mysql.DeregisterReaderHandler(name)
	stmt := "LOAD DATA LOCAL INFILE 'Reader::" + name + "' INTO TABLE " + qualified(req.Schema, req.Staging) + " " +
		csvcodec.MySQLLoadOptions + " (" + strings.Join(list, ", ") + ")"
	if len(sets) > 0 {
		stmt += " SET " + strings.Join(sets, ", ")
	}
	lctx, cancel, stmt := t.limit(ctx, stmt)
	defer cancel()
	res, err := tx.ExecContext(lctx, stmt)
	if src.err != nil {
		return 0, fmt.Errorf("%s: reading the chunk: %w", op, src.err)
	}
	if err != nil {
		if localInfileRefused(err) {
			return 0, errLocalInfileRefused
		}
		return 0, classify(op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, classify(op, err)
	}
	if err := checkWarnings(ctx, tx, op); err != nil {
		return 0, err
	}
	if len(sets) > 0 {
		// Do not keep the last row's values alive in the session.
		var clear []string
		for _, v := range list {
			if strings.HasPrefix(v, "@") {
				clear = append(clear, v+" = NULL")
			}
		}
		if _, err := tx.ExecContext(ctx, "SET "+strings.Join(clear, ", ")); err != nil {
			return 0, classify(op, err)
		}
	}
	return n, nil
}

// checkWarnings turns any Warning or Error the last statement left into a
// *ferry.DataError quoting the first few.
func checkWarnings(ctx context.Context, tx *sql.Tx, op string) error {
	rows, err := tx.QueryContext(ctx, "SHOW WARNINGS")
	if err != nil {
		return classify(op+": show warnings", err)
	}
	defer rows.Close()
	var msgs []string
	total := 0
	for rows.Next() {
		var level, msg string
		var code int
		if err := rows.Scan(&level, &code, &msg); err != nil {
			return classify(op+": show warnings", err)
		}
		if strings.EqualFold(level, "Note") {
			continue
		}
		total++
		if len(msgs) < 3 {
			msgs = append(msgs, fmt.Sprintf("%s %d: %s", level, code, msg))
		}
	}
	if err := rows.Err(); err != nil {
		return classify(op+": show warnings", err)
	}
	if total > 0 {
		return &ferry.DataError{Msg: fmt.Sprintf("%s: the server reported %d warning(s), nothing was loaded: %s", op, total, strings.Join(msgs, "; ")),
			Fix: "make the staging column types hold the source values (or cast them in the query), then rerun"}
	}
	return nil
}

// loadInsert loads the remaining records of cr with batched multi-row
// INSERTs with bound values.
func (t *Target) loadInsert(ctx context.Context, tx *sql.Tx, cr *csvcodec.Reader, req ferry.LoadRequest, cols []loadCol) (int64, error) {
	b := newInsertBatch(tx, req, cols, t.opts.batchRows)
	defer b.close()
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, fmt.Errorf("%s: reading the chunk at record %d: %w", b.op, cr.Records()+1, err)
		}
		if len(rec) != len(cols) {
			return 0, &ferry.DataError{Msg: fmt.Sprintf("%s: record %d has %d fields, the header %d", b.op, cr.Records(), len(rec), len(cols)), Fix: "re-export the chunk"}
		}
		for i, f := range rec {
			v, err := insertValue(f, cols[i])
			if err != nil {
				return 0, &ferry.DataError{Column: cols[i].name, Msg: fmt.Sprintf("%s: record %d: %v", b.op, cr.Records(), err), Fix: "re-export the chunk"}
			}
			b.args = append(b.args, v)
		}
		if b.rows++; b.rows == b.size {
			if err := b.flush(ctx); err != nil {
				return 0, err
			}
		}
	}
	if err := b.flush(ctx); err != nil {
		return 0, err
	}
	return b.total, nil
}

// insertValue is one CSV field as the value an INSERT binds for col.
func insertValue(f csvcodec.Field, col loadCol) (any, error) {
	switch {
	case f.Null:
		return nil, nil
	case col.kind == kindBinary:
		return csvcodec.DecodeBinary(f.Data)
	case col.kind == kindBit:
		u, err := strconv.ParseUint(string(f.Data), 2, 64)
		if err != nil {
			return nil, fmt.Errorf("bit value %q is not binary digits", f.Data)
		}
		return u, nil
	}
	return string(f.Data), nil
}

// insertBatch is the rows of one multi-row INSERT being gathered: at most
// size rows (and 65535 placeholders); the full-size statement is prepared
// once.
type insertBatch struct {
	tx     *sql.Tx
	op     string
	prefix string // INSERT INTO ... VALUES
	row    string // (?,?,...)
	size   int
	full   *sql.Stmt
	args   []any
	rows   int
	total  int64
}

func newInsertBatch(tx *sql.Tx, req ferry.LoadRequest, cols []loadCol, batchRows int) *insertBatch {
	b := &insertBatch{tx: tx, op: fmt.Sprintf("mysql: load %s.%s [%d,%d) with INSERT", req.Schema, req.Staging, req.Lo, req.Hi),
		size: max(min(batchRows, 65535/len(cols)), 1)}
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = quoteIdent(c.name)
	}
	b.row = "(" + strings.TrimSuffix(strings.Repeat("?,", len(cols)), ",") + ")"
	b.prefix = "INSERT INTO " + qualified(req.Schema, req.Staging) + " (" + strings.Join(names, ", ") + ") VALUES "
	b.args = make([]any, 0, b.size*len(cols))
	return b
}

func (b *insertBatch) stmt(n int) string {
	return b.prefix + strings.TrimSuffix(strings.Repeat(b.row+",", n), ",")
}

func (b *insertBatch) close() {
	if b.full != nil {
		b.full.Close()
	}
}

// flush inserts the gathered rows; a value the column cannot hold is a
// *ferry.DataError, as is any warning the statement left.
func (b *insertBatch) flush(ctx context.Context) error {
	if b.rows == 0 {
		return nil
	}
	var res sql.Result
	var err error
	if b.rows == b.size {
		if b.full == nil {
			if b.full, err = b.tx.PrepareContext(ctx, b.stmt(b.size)); err != nil {
				return classify(b.op, err)
			}
		}
		res, err = b.full.ExecContext(ctx, b.args...)
	} else {
		res, err = b.tx.ExecContext(ctx, b.stmt(b.rows), b.args...)
	}
	if err != nil {
		switch mysqlErrNo(err) {
		case erTruncated, erWarnDataOutOfRange, erTruncatedWrongValue, erIncorrectValue, erDataTooLong, erBadNull:
			return &ferry.DataError{Msg: b.op + ": " + err.Error(), Fix: "make the staging column types hold the source values (or cast them in the query), then rerun"}
		}
		return classify(b.op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return classify(b.op, err)
	}
	b.total += n
	if err := checkWarnings(ctx, b.tx, b.op); err != nil {
		return err
	}
	b.args, b.rows = b.args[:0], 0
	return nil
}
