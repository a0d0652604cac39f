package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/jobs"
	"github.com/ferrydata/ferry/internal/sqlparams"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

var _ ferry.JobDB = (*Jobs)(nil)

// Jobs is a PostgreSQL database jobs run on (a source or a target). It is
// safe for concurrent use.
//
// A statement runs in a transaction with SET LOCAL statement_timeout,
// lock_timeout and search_path (the job's schema), unless PostgreSQL
// refuses to run it in one: VACUUM, the CONCURRENTLY forms of REFRESH
// MATERIALIZED VIEW, CREATE/DROP INDEX and REINDEX, CREATE/DROP DATABASE
// and TABLESPACE, ALTER SYSTEM, CLUSTER without a table, and CALL (a
// procedure may COMMIT). Those run on their own session with the same
// settings at session level, reset before the connection is reused.
type Jobs struct {
	pool *pgxpool.Pool
}

// NewJobs returns the jobs side of the database behind pool.
func NewJobs(pool *pgxpool.Pool) *Jobs { return &Jobs{pool: pool} }

// Engine is ferry.EnginePostgres.
func (j *Jobs) Engine() ferry.Engine { return ferry.EnginePostgres }

// noTransaction reports the statements PostgreSQL refuses to run inside a
// transaction block (or that manage their own transactions).
func noTransaction(s *jobs.Statement) bool {
	switch s.Verb {
	case "VACUUM", "CREATE DATABASE", "DROP DATABASE", "ALTER SYSTEM", "CREATE TABLESPACE", "DROP TABLESPACE", "CALL":
		return true
	case "REFRESH MATERIALIZED VIEW", "CREATE INDEX", "CREATE UNIQUE INDEX", "DROP INDEX", "REINDEX":
		return s.Concurrently()
	case "CLUSTER":
		return len(s.Keywords(3)) == 1
	}
	return false
}

func (j *Jobs) parse(q ferry.JobSQL) (*jobs.Statement, string, []any, error) {
	st, err := sqlparams.ParseStatement(sqlparams.Postgres, q.SQL)
	if err != nil {
		return nil, "", nil, &ferry.ConfigError{Msg: "postgres: job statement: " + err.Error(), Fix: "write one statement with named parameters"}
	}
	sql, args, err := st.Bind(q.Params)
	if err != nil {
		return nil, "", nil, &ferry.ConfigError{Msg: "postgres: job statement: " + err.Error(), Fix: "correct the job's parameters"}
	}
	s, _ := jobs.Analyze(ferry.Job{Name: "statement", Kind: ferry.JobStatement, SQL: q.SQL}, sqlparams.Postgres)
	return s, sql, args, nil
}

// jobSettings are the values set (locally in a transaction, or on the session)
// before a job statement: set_config with bound values, no SQL pasted.
func jobSettings(q ferry.JobSQL, lock time.Duration) (string, []any) {
	var parts []string
	var args []any
	add := func(name, v string) {
		args = append(args, name, v)
		parts = append(parts, fmt.Sprintf("set_config($%d, $%d, $%d)", len(args)-1, len(args), len(args)+1))
		args = append(args, true)
	}
	if q.Timeout > 0 {
		add("statement_timeout", strconv.FormatInt(q.Timeout.Milliseconds(), 10)+"ms")
	}
	if lock > 0 {
		add("lock_timeout", strconv.FormatInt(lock.Milliseconds(), 10)+"ms")
	}
	if q.Schema != "" {
		add("search_path", quoteIdent(q.Schema))
	}
	if len(parts) == 0 {
		return "", nil
	}
	return "SELECT " + strings.Join(parts, ", "), args
}

// sessionArgs turns the is_local arguments of settings into session ones.
func sessionArgs(args []any) []any {
	out := append([]any(nil), args...)
	for i := 2; i < len(out); i += 3 {
		out[i] = false
	}
	return out
}

// jobTimeout caps the job's statement timeout with the context's deadline.
func jobTimeout(ctx context.Context, q ferry.JobSQL) (ferry.JobSQL, error) {
	st, err := statementTimeout(ctx)
	if err != nil {
		return q, err
	}
	if st > 0 && (q.Timeout == 0 || st < q.Timeout) {
		q.Timeout = st
	}
	if q.Schema != "" {
		if err := validIdents("postgres: job", q.Schema); err != nil {
			return q, err
		}
	}
	return q, nil
}

// ExecJob runs one statement; see Jobs for when it is in a transaction.
func (j *Jobs) ExecJob(ctx context.Context, q ferry.JobSQL) (int64, error) {
	op := "postgres: job"
	q, err := jobTimeout(ctx, q)
	if err != nil {
		return 0, classify(ctx, op, err)
	}
	s, sql, args, err := j.parse(q)
	if err != nil {
		return 0, err
	}
	if s != nil && noTransaction(s) {
		return j.execSession(ctx, op, q, sql, args)
	}
	set, setArgs := jobSettings(q, 0)
	var n int64
	err = j.inTx(ctx, func(tx pgx.Tx) error {
		if set != "" {
			if _, err := tx.Exec(ctx, set, setArgs...); err != nil {
				return err
			}
		}
		tag, err := jobExec(ctx, tx, sql, args)
		n = tag.RowsAffected()
		return err
	})
	return n, jobErr(ctx, op, err)
}

// execSession runs a statement that cannot run in a transaction, on its
// own session: settings at session level, reset after (or the connection
// dropped when the reset fails).
func (j *Jobs) execSession(ctx context.Context, op string, q ferry.JobSQL, sql string, args []any) (int64, error) {
	conn, err := j.pool.Acquire(ctx)
	if err != nil {
		return 0, classify(ctx, op, err)
	}
	defer conn.Release()
	set, setArgs := jobSettings(q, 0)
	if set != "" {
		if _, err := conn.Exec(ctx, set, sessionArgs(setArgs)...); err != nil {
			return 0, jobErr(ctx, op, err)
		}
	}
	tag, err := jobExec(ctx, conn, sql, args)
	if _, rerr := conn.Exec(context.WithoutCancel(ctx), "RESET ALL"); rerr != nil {
		conn.Conn().Close(context.WithoutCancel(ctx))
	}
	if err != nil {
		return 0, jobErr(ctx, op, errors.Join(unknownIfConnection(err), err))
	}
	return tag.RowsAffected(), nil
}

type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// jobExec runs sql: with no argument through the simple protocol (utility
// statements cannot be prepared), else bound by the extended protocol.
func jobExec(ctx context.Context, q execer, sql string, args []any) (pgconn.CommandTag, error) {
	if len(args) == 0 {
		return q.Exec(ctx, sql, pgx.QueryExecModeSimpleProtocol)
	}
	return q.Exec(ctx, sql, args...)
}

// inTx runs fn in a transaction. A failure to commit whose outcome is
// unknown (the connection broke) wraps ferry.ErrOutcomeUnknown.
func (j *Jobs) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	tx, err := j.pool.Begin(ctx)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		rollback(tx)
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return errors.Join(unknownIfConnection(err), err)
	}
	return nil
}

// unknownIfConnection is ferry.ErrOutcomeUnknown when err is a broken
// connection rather than the server's answer.
func unknownIfConnection(err error) error {
	if err == nil || asPgError(err) != nil || pgconn.SafeToRetry(err) {
		return nil
	}
	return ferry.ErrOutcomeUnknown
}

// jobErr classifies a job statement's error: transient ones retryable,
// the statement's or the account's faults a ConfigError, bad data a
// DataError.
func jobErr(ctx context.Context, op string, err error) error {
	if err == nil {
		return nil
	}
	if isTransient(ctx, err) || errors.Is(err, ferry.ErrOutcomeUnknown) {
		return ferry.Retryable(op, err)
	}
	if pe := asPgError(err); pe != nil {
		switch pe.Code[:2] {
		case "42", "3F", "0A", "28": // syntax, undefined object, privilege; no schema; feature; authorization
			return &ferry.ConfigError{Msg: fmt.Sprintf("%s: %s", op, err), Fix: "correct the job's SQL, or grant the job's database user what the server names"}
		case "22", "23": // data exception, integrity constraint
			return &ferry.DataError{Msg: fmt.Sprintf("%s: %s", op, err), Fix: "correct the data or the job's SQL"}
		}
	}
	return fmt.Errorf("%s: %w", op, err)
}

// OpenJobs opens a database jobs run on at dsn (its own pool).
func (Engine) OpenJobs(ctx context.Context, dsn string, log *slog.Logger) (ferry.JobDB, func(), error) {
	t, err := Open(ctx, dsn)
	if err != nil {
		return nil, nil, err
	}
	return NewJobs(t.Pool()), t.Close, nil
}
