package mysql

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"strconv"
	"strings"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/jobs"
	"github.com/ferrydata/ferry/internal/sqlparams"
)

var _ ferry.JobDB = (*Jobs)(nil)

// Jobs is a MySQL, MariaDB or Aurora MySQL database jobs run on (the source
// or a target). It is safe for concurrent use.
//
// Every job statement runs on a session of its own (USE of the job's
// schema, session time limits), which is closed afterwards rather than
// returned to the pool with those settings. DML (DELETE, UPDATE, INSERT,
// REPLACE, SELECT) runs in a transaction; DDL, ANALYZE/OPTIMIZE/CHECK/REPAIR
// TABLE and CALL commit by themselves (or manage their own transactions)
// and run in autocommit. MariaDB bounds every statement with
// max_statement_time; MySQL has no server-side limit for writes, so there
// the context's deadline bounds them.
type Jobs struct {
	db   *sql.DB
	opts options
	srv  flavourCache
}

// NewJobs returns the jobs side of db (from Open). Options: WithLogger.
func NewJobs(db *sql.DB, opts ...Option) *Jobs { return &Jobs{db: db, opts: newOptions(opts)} }

// Engine is ferry.EngineMySQL.
func (j *Jobs) Engine() ferry.Engine { return ferry.EngineMySQL }

// inTransaction reports the statements that run in a transaction.
func inTransaction(verb string) bool {
	switch verb {
	case "DELETE", "UPDATE", "INSERT INTO", "INSERT", "REPLACE INTO", "REPLACE", "SELECT", "WITH":
		return true
	}
	return false
}

// session is a connection set up for one job statement: its schema and
// time limits. done closes it (it is never reused with those settings).
func (j *Jobs) session(ctx context.Context, q ferry.JobSQL, lockWait, isolation string) (*sql.Conn, func(), error) {
	conn, err := j.db.Conn(ctx)
	if err != nil {
		return nil, nil, err
	}
	done := func() {
		conn.Raw(func(any) error { return driver.ErrBadConn })
		conn.Close()
	}
	var sets []string
	if q.Timeout > 0 && j.srv.mariaDB(ctx, j.db) {
		sets = append(sets, fmt.Sprintf("max_statement_time = %.3f", q.Timeout.Seconds()))
	}
	if lockWait != "" {
		sets = append(sets, "innodb_lock_wait_timeout = "+lockWait)
	}
	stmts := []string{}
	if isolation != "" {
		stmts = append(stmts, "SET SESSION TRANSACTION ISOLATION LEVEL "+isolation)
	}
	if len(sets) > 0 {
		stmts = append(stmts, "SET SESSION "+strings.Join(sets, ", "))
	}
	if q.Schema != "" {
		if err := validIdents("mysql: job", q.Schema); err != nil {
			done()
			return nil, nil, err
		}
		stmts = append(stmts, "USE "+quoteIdent(q.Schema))
	}
	for _, s := range stmts {
		if _, err := conn.ExecContext(ctx, s); err != nil {
			done()
			return nil, nil, err
		}
	}
	return conn, done, nil
}

func parseJob(q ferry.JobSQL) (*jobs.Statement, string, []any, error) {
	s, err := jobs.Analyze(ferry.Job{Name: "statement", Kind: ferry.JobStatement, SQL: q.SQL}, sqlparams.MySQL)
	if err != nil {
		return nil, "", nil, err
	}
	sql, args, err := s.Bind(q.Params)
	if err != nil {
		return nil, "", nil, &ferry.ConfigError{Msg: "mysql: job statement: " + err.Error(), Fix: "correct the job's parameters"}
	}
	return s, sql, args, nil
}

// ExecJob runs one statement: DML in a transaction, the rest in autocommit.
func (j *Jobs) ExecJob(ctx context.Context, q ferry.JobSQL) (int64, error) {
	op := "mysql: job"
	s, text, args, err := parseJob(q)
	if err != nil {
		return 0, err
	}
	ctx, cancel, _ := statementBudget(ctx, j.opts)
	defer cancel()
	conn, done, err := j.session(ctx, q, "", "")
	if err != nil {
		return 0, jobError(op, err, false)
	}
	defer done()
	if !inTransaction(s.Verb) {
		res, err := conn.ExecContext(ctx, text, args...)
		if err != nil {
			return 0, jobError(op, err, true)
		}
		n, _ := res.RowsAffected()
		return n, nil
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return 0, jobError(op, err, false)
	}
	res, err := tx.ExecContext(ctx, text, args...)
	if err != nil {
		tx.Rollback()
		return 0, jobError(op, err, false)
	}
	n, _ := res.RowsAffected()
	if err := tx.Commit(); err != nil {
		return 0, jobError(op, err, true)
	}
	return n, nil
}

// jobError classifies a job statement's error. sent says the statement
// (or COMMIT) was sent with autocommit: a broken connection then leaves
// its outcome unknown (ferry.ErrOutcomeUnknown). Inside a transaction that
// was not committed, a broken connection rolls it back.
func jobError(op string, err error, sent bool) error {
	if err == nil {
		return nil
	}
	if sent && mysqlErrNo(err) == 0 && isTransient(err) && !errors.Is(err, driver.ErrBadConn) {
		err = errors.Join(ferry.ErrOutcomeUnknown, err)
	}
	switch mysqlErrNo(err) {
	case erBadNull, erDataTooLong, erTruncatedWrongValue, erIncorrectValue, erWarnDataOutOfRange, 1062, 1451, 1452:
		return &ferry.DataError{Msg: op + ": " + err.Error(), Fix: "correct the data or the job's SQL"}
	}
	if c := classify(op, err); c != nil {
		var ce *ferry.ConfigError
		if errors.As(c, &ce) {
			ce.Fix = "correct the job's SQL, or grant the job's database user what the server names"
		}
		return c
	}
	return nil
}

// BatchJob runs one batch: DELETE/UPDATE ... WHERE (pred) LIMIT n in
// autocommit (one short transaction) under READ COMMITTED (no gap locks;
// rows that do not match are unlocked as they are scanned) and a lock wait
// timeout of LockTimeout (at least 1s: MySQL counts whole seconds).
func (j *Jobs) BatchJob(ctx context.Context, b ferry.JobBatch) (int64, error) {
	op := "mysql: batch"
	text, args, err := batchSQL(b.Parts, b.Rows, b.Params)
	if err != nil {
		return 0, err
	}
	ctx, cancel, _ := statementBudget(ctx, j.opts)
	defer cancel()
	wait := strconv.Itoa(max(1, int(math.Ceil(b.LockTimeout.Seconds()))))
	conn, done, err := j.session(ctx, b.JobSQL, wait, "READ COMMITTED")
	if err != nil {
		return 0, jobError(op, err, false)
	}
	defer done()
	res, err := conn.ExecContext(ctx, text, args...)
	if err != nil {
		return 0, jobError(op, err, true)
	}
	return res.RowsAffected()
}

// batchSQL is the user's DELETE or UPDATE with the batch limit, bound.
func batchSQL(p ferry.BatchParts, rows int, params map[string]ferry.Param) (string, []any, error) {
	text := "DELETE FROM " + p.Table
	if p.Update {
		text = "UPDATE " + p.Table + " SET " + p.Set
	}
	if p.Where != "" {
		text += " WHERE (\n" + p.Where + "\n)"
	}
	text += " LIMIT " + strconv.Itoa(rows)
	st, err := sqlparams.ParseStatement(sqlparams.MySQL, text)
	if err != nil {
		return "", nil, &ferry.ConfigError{Msg: "mysql: batch: " + err.Error(), Fix: "correct the job's SQL"}
	}
	sql, args, err := st.Bind(params)
	if err != nil {
		return "", nil, &ferry.ConfigError{Msg: "mysql: batch: " + err.Error(), Fix: "correct the job's parameters"}
	}
	return sql, args, nil
}

// CheckJob validates a job's statement without running it: bound, and
// EXPLAINed (the batch statement for a batched job) when MySQL can EXPLAIN
// it (SELECT, DELETE, UPDATE, INSERT, REPLACE); otherwise only the schema
// is checked.
func (j *Jobs) CheckJob(ctx context.Context, q ferry.JobSQL, parts *ferry.BatchParts) error {
	op := "mysql: check job"
	s, text, args, err := parseJob(q)
	if err != nil {
		return err
	}
	if parts != nil {
		if text, args, err = batchSQL(*parts, 1, q.Params); err != nil {
			return err
		}
	} else if !inTransaction(s.Verb) {
		text = ""
	}
	conn, done, err := j.session(ctx, ferry.JobSQL{Schema: q.Schema}, "", "")
	if err != nil {
		return jobError(op, err, false)
	}
	defer done()
	if text == "" {
		return nil
	}
	rows, err := conn.QueryContext(ctx, "EXPLAIN "+text, args...)
	if err != nil {
		return jobError(op, err, false)
	}
	return jobError(op, rows.Close(), false)
}

// ExtractJob streams a read-only SELECT's rows as the csvcodec dialect,
// encoded as Source.Export encodes a chunk (zero dates are written as the
// server gives them: no target has to hold them), on a session with the
// job's schema and time limit. A value the server replaced with NULL for
// exceeding its max_allowed_packet (warning 1301) fails the extract.
func (j *Jobs) ExtractJob(ctx context.Context, q ferry.JobSQL, w io.Writer) (ferry.ExportStats, error) {
	op := "mysql: extract"
	inner, args, err := bind(op, q.SQL, q.Params)
	if err != nil {
		return ferry.ExportStats{}, err
	}
	ctx, cancel, _ := statementBudget(ctx, j.opts)
	defer cancel()
	conn, done, err := j.session(ctx, q, "", "")
	if err != nil {
		return ferry.ExportStats{}, jobError(op, err, false)
	}
	defer done()
	src := &Source{db: j.db, opts: j.opts}
	req := ferry.ExportRequest{Query: q.SQL, Params: q.Params}
	st, err := src.exportRows(ctx, op, conn, rowsQuery{ctx, inner, args}, req, zeroDateKeep, w)
	if err != nil {
		return st, err
	}
	return st, packetWarning(ctx, conn, op)
}

// OpenJobs opens a database jobs run on at dsn (its own pool).
func (Engine) OpenJobs(ctx context.Context, dsn string, log *slog.Logger) (ferry.JobDB, func(), error) {
	db, err := Open(ctx, dsn)
	if err != nil {
		return nil, nil, err
	}
	return NewJobs(db, WithLogger(orDefault(log))), func() { db.Close() }, nil
}
