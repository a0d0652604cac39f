package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/sqlparams"
	"github.com/jackc/pgx/v5"
)

// BatchJob runs one batch of a batched DELETE or UPDATE in its own
// transaction (SET LOCAL lock_timeout and statement_timeout): the rows are
// chosen by a subselect with LIMIT, by ctid (a TID scan) on a plain table,
// by primary key on a partitioned table or one with inheritance children
// (whose ctids are not unique). A row updated concurrently between the
// subselect and the change is skipped and found by a later batch: when a
// batch changes nothing while rows still match, it is retryable, so 0 is
// returned only when no row matches.
func (j *Jobs) BatchJob(ctx context.Context, b ferry.JobBatch) (int64, error) {
	op := "postgres: batch"
	q, err := jobTimeout(ctx, b.JobSQL)
	if err != nil {
		return 0, classify(ctx, op, err)
	}
	set, setArgs := jobSettings(q, b.LockTimeout)
	var n int64
	err = j.inTx(ctx, func(tx pgx.Tx) error {
		if set != "" {
			if _, err := tx.Exec(ctx, set, setArgs...); err != nil {
				return err
			}
		}
		sql, args, err := batchSQL(ctx, tx, b.Parts, b.Rows, q.Params)
		if err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, sql, args...)
		if err != nil {
			return err
		}
		if n = tag.RowsAffected(); n == 0 {
			return stillMatching(ctx, tx, b.Parts, q.Params)
		}
		return nil
	})
	return n, jobErr(ctx, op, err)
}

// batchSQL builds the batch statement from the user's parts (parameters
// still named), then binds it.
func batchSQL(ctx context.Context, tx pgx.Tx, p ferry.BatchParts, rows int, params map[string]ferry.Param) (string, []any, error) {
	key, err := rowKey(ctx, tx, p)
	if err != nil {
		return "", nil, err
	}
	ref := ""
	if p.Alias != "" {
		ref = quoteIdent(p.Alias) + "."
	}
	cols := make([]string, len(key))
	for i, k := range key {
		cols[i] = ref + k
	}
	list := strings.Join(cols, ", ")
	pick := "SELECT " + list + " FROM " + p.Table + whereClause(p.Where) + " LIMIT " + strconv.Itoa(rows)
	cond := "(" + list + ") IN (" + pick + ")"
	if len(key) == 1 && key[0] == "ctid" {
		cond = ref + "ctid = ANY(ARRAY(" + pick + "))"
	}
	text := "DELETE FROM " + p.Table + " WHERE " + cond
	if p.Update {
		text = "UPDATE " + p.Table + " SET " + p.Set + " WHERE " + cond
	}
	return bindBatch(text, params)
}

func whereClause(w string) string {
	if w == "" {
		return ""
	}
	return " WHERE (\n" + w + "\n)"
}

func bindBatch(text string, params map[string]ferry.Param) (string, []any, error) {
	st, err := sqlparams.ParseStatement(sqlparams.Postgres, text)
	if err != nil {
		return "", nil, &ferry.ConfigError{Msg: "postgres: batch: " + err.Error(), Fix: "correct the job's SQL"}
	}
	sql, args, err := st.Bind(params)
	if err != nil {
		return "", nil, &ferry.ConfigError{Msg: "postgres: batch: " + err.Error(), Fix: "correct the job's parameters"}
	}
	return sql, args, nil
}

// rowKey is how a batch names its rows: ctid for a plain table, the
// primary key's columns for a partitioned table or one with children.
func rowKey(ctx context.Context, tx pgx.Tx, p ferry.BatchParts) ([]string, error) {
	name := make([]string, len(p.Name))
	for i, n := range p.Name {
		name[i] = quoteIdent(n)
	}
	var oid uint32
	var kind string
	var children bool
	err := tx.QueryRow(ctx, "SELECT c.oid, c.relkind::text, c.relhassubclass FROM pg_class c WHERE c.oid = to_regclass($1)", strings.Join(name, ".")).Scan(&oid, &kind, &children)
	if err == pgx.ErrNoRows {
		return nil, &ferry.ConfigError{Msg: fmt.Sprintf("postgres: batch: table %s does not exist", p.Table), Fix: "correct the job's table (and its --db)"}
	}
	if err != nil {
		return nil, err
	}
	if kind != "p" && !children {
		return []string{"ctid"}, nil
	}
	rows, err := tx.Query(ctx, "SELECT quote_ident(a.attname) FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) WHERE i.indrelid = $1 AND i.indisprimary ORDER BY array_position(i.indkey, a.attnum)", oid)
	if err != nil {
		return nil, err
	}
	key, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	if len(key) == 0 {
		return nil, &ferry.ConfigError{Msg: fmt.Sprintf("postgres: batch: %s is partitioned or has inheritance children, and has no primary key: its rows cannot be named across partitions", p.Table),
			Fix: "give the table a primary key, or write DELETE FROM ONLY ... for one table"}
	}
	return key, nil
}

// stillMatching is retryable when rows still match after a batch changed
// none (they were updated concurrently between the subselect and the
// change), so the job does not end early.
func stillMatching(ctx context.Context, tx pgx.Tx, p ferry.BatchParts, params map[string]ferry.Param) error {
	sql, args, err := bindBatch("SELECT EXISTS (SELECT 1 FROM "+p.Table+whereClause(p.Where)+")", params)
	if err != nil {
		return err
	}
	var more bool
	if err := tx.QueryRow(ctx, sql, args...).Scan(&more); err != nil {
		return err
	}
	if more {
		return ferry.Retryable("postgres: batch", fmt.Errorf("a batch of %s changed no row while rows still match (they changed meanwhile)", p.Table))
	}
	return nil
}

// CheckJob validates a job's statement without running it: bound, and
// EXPLAINed (the batch statement for a batched job) when PostgreSQL can
// EXPLAIN it, in a transaction that is rolled back.
func (j *Jobs) CheckJob(ctx context.Context, q ferry.JobSQL, parts *ferry.BatchParts) error {
	op := "postgres: check job"
	q, err := jobTimeout(ctx, q)
	if err != nil {
		return classify(ctx, op, err)
	}
	s, sql, args, err := j.parse(q)
	if err != nil {
		return err
	}
	set, setArgs := jobSettings(q, 0)
	tx, err := j.pool.Begin(ctx)
	if err != nil {
		return classify(ctx, op, err)
	}
	defer rollback(tx)
	if set != "" {
		if _, err := tx.Exec(ctx, set, setArgs...); err != nil {
			return jobErr(ctx, op, err)
		}
	}
	if parts != nil {
		if sql, args, err = batchSQL(ctx, tx, *parts, 1, q.Params); err != nil {
			return jobErr(ctx, op, err)
		}
	} else if s == nil || !pgExplainable(s.Verb) {
		return nil
	}
	_, err = tx.Exec(ctx, "EXPLAIN "+sql, args...)
	return jobErr(ctx, op, err)
}

func pgExplainable(verb string) bool {
	switch verb {
	case "SELECT", "WITH", "INSERT INTO", "UPDATE", "DELETE", "MERGE", "VALUES", "TABLE":
		return true
	}
	return false
}
