package mysql

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"strings"

	"github.com/ferrydata/ferry"
)

// liveTrigger is one trigger of a live table, as information_schema
// describes it.
type liveTrigger struct {
	name, timing, event, body, definer, sqlMode string
}

// keeper carries what defines a live table to its staging table in
// Swap's session: MySQL's RENAME moves a table's triggers with it, and a
// staging table derived from the query's columns (or prepared before a
// comment changed) lacks live's comments.
type keeper struct {
	conn        *sql.Conn
	schema      string
	mode        string // the session's sql_mode
	noBackslash bool   // it has NO_BACKSLASH_ESCAPES
}

// newKeeper is a keeper for conn's session, which it asks for its
// sql_mode.
func newKeeper(ctx context.Context, conn *sql.Conn, schema string) (keeper, error) {
	k := keeper{conn: conn, schema: schema}
	if err := conn.QueryRowContext(ctx, "SELECT @@SESSION.sql_mode").Scan(&k.mode); err != nil {
		return k, err
	}
	k.noBackslash = strings.Contains(strings.ToUpper(k.mode), "NO_BACKSLASH_ESCAPES")
	return k, nil
}

// moved is a trigger keepDefinition moved from live to staging: restore
// moves it back when the RENAME does not happen.
type moved struct {
	tbl ferry.SwapTable
	tr  liveTrigger
}

// keepDefinition runs before the RENAME, after the counts: for every table
// of infos that has a live table it gives staging live's table comment and
// the comment of each column staging still has, then moves live's
// triggers to staging in their order (DROP TRIGGER on live, CREATE TRIGGER
// with the same name, timing, event, body, definer and sql_mode on
// staging; trigger names are unique per schema, so they cannot exist
// twice). Every trigger is first created on staging under a scratch name
// and dropped again, so one that cannot be carried (its definer needs a
// privilege Ferry's account lacks, it names a column staging lacks) is a
// ConfigError before anything of live changed. Triggers already on staging
// (an earlier attempt moved them) stay. From the first moved trigger to
// the RENAME, writes to the outgoing live table fire none of its triggers:
// that table is being replaced. What was moved is returned for restore.
func (t *Target) keepDefinition(ctx context.Context, conn *sql.Conn, schema string, infos []swapInfo) ([]moved, error) {
	k, err := newKeeper(ctx, conn, schema)
	if err != nil {
		return nil, err
	}
	mode := k.mode
	var done []moved
	for _, in := range infos {
		if !in.live || !in.staging {
			continue
		}
		if err := k.comments(ctx, in.tbl); err != nil {
			return done, err
		}
		trs, err := k.triggers(ctx, in.tbl.Table)
		if err != nil {
			return done, err
		}
		for i, tr := range trs {
			if err := k.check(ctx, in.tbl, tr, i, mode); err != nil {
				return done, err
			}
		}
		for _, tr := range trs {
			if err := k.move(ctx, in.tbl, tr, in.tbl.Table, in.tbl.Staging, mode); err != nil {
				return done, err
			}
			done = append(done, moved{in.tbl, tr})
		}
	}
	return done, nil
}

// restore moves triggers keepDefinition moved back to their live tables
// (best effort: failures are logged; a retry of the swap carries a
// trigger left on staging).
func (t *Target) restore(ctx context.Context, conn *sql.Conn, schema string, ms []moved) {
	k := keeper{conn: conn, schema: schema}
	var mode string
	if err := conn.QueryRowContext(ctx, "SELECT @@SESSION.sql_mode").Scan(&mode); err != nil {
		t.opts.log.WarnContext(ctx, "mysql: swap failed, and its triggers stay on the staging tables", "schema", schema, "error", err.Error())
		return
	}
	for _, m := range ms {
		if err := k.move(ctx, m.tbl, m.tr, m.tbl.Staging, m.tbl.Table, mode); err != nil {
			t.opts.log.WarnContext(ctx, "mysql: swap failed, and a trigger could not be given back to the live table; a retry of the swap carries it",
				"schema", schema, "table", m.tbl.Table, "trigger", m.tr.name, "error", err.Error())
		}
	}
}

func (k keeper) refuse(tb ferry.SwapTable, what string, err error, fix string) error {
	return &ferry.ConfigError{Where: ferry.Where{Table: tb.Table},
		Msg: fmt.Sprintf("the swap cannot carry %s of the live table %s.%s to the new table: %v; nothing was swapped", what, k.schema, tb.Table, err),
		Fix: fix}
}

// literal quotes s as a string literal for the session's sql_mode.
func (k keeper) literal(s string) string {
	if !k.noBackslash {
		s = strings.ReplaceAll(s, `\`, `\\`)
	}
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// triggers lists table's triggers in the order they fire.
func (k keeper) triggers(ctx context.Context, table string) ([]liveTrigger, error) {
	rows, err := k.conn.QueryContext(ctx, `SELECT TRIGGER_NAME, ACTION_TIMING, EVENT_MANIPULATION, ACTION_STATEMENT, DEFINER, SQL_MODE
		FROM information_schema.TRIGGERS WHERE EVENT_OBJECT_SCHEMA = ? AND EVENT_OBJECT_TABLE = ?
		ORDER BY ACTION_TIMING, EVENT_MANIPULATION, ACTION_ORDER`, k.schema, table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []liveTrigger
	for rows.Next() {
		var tr liveTrigger
		if err := rows.Scan(&tr.name, &tr.timing, &tr.event, &tr.body, &tr.definer, &tr.sqlMode); err != nil {
			return nil, err
		}
		out = append(out, tr)
	}
	return out, rows.Err()
}

// create is the CREATE TRIGGER of tr named name on table.
func (k keeper) create(tr liveTrigger, name, table string) string {
	definer := ""
	if user, host, ok := strings.Cut(tr.definer, "@"); ok {
		definer = "DEFINER = " + quoteIdent(user) + "@" + quoteIdent(host) + " "
	}
	return "CREATE " + definer + "TRIGGER " + qualified(k.schema, name) + " " + tr.timing + " " + tr.event +
		" ON " + qualified(k.schema, table) + " FOR EACH ROW " + tr.body
}

// withMode runs stmt under tr's sql_mode (a trigger keeps the sql_mode it
// was created with), then puts the session's back.
func (k keeper) withMode(ctx context.Context, tr liveTrigger, session, stmt string) error {
	if _, err := k.conn.ExecContext(ctx, "SET SESSION sql_mode = ?", tr.sqlMode); err != nil {
		return err
	}
	_, err := k.conn.ExecContext(ctx, stmt)
	if _, rerr := k.conn.ExecContext(ctx, "SET SESSION sql_mode = ?", session); rerr != nil && err == nil {
		err = rerr
	}
	return err
}

const triggerFix = "the trigger's definer must be Ferry's account (or Ferry's account needs the privilege to set another definer), and its body may only name columns the query still returns: recreate or drop the trigger, then run again"

// check creates tr on tb's staging table under a scratch name and drops it.
func (k keeper) check(ctx context.Context, tb ferry.SwapTable, tr liveTrigger, i int, mode string) error {
	scratch := fmt.Sprintf("_ferry_check_trigger_%d", i)
	if _, err := k.conn.ExecContext(ctx, "DROP TRIGGER IF EXISTS "+qualified(k.schema, scratch)); err != nil {
		return err
	}
	if err := k.withMode(ctx, tr, mode, k.create(tr, scratch, tb.Staging)); err != nil {
		return k.refuse(tb, "trigger "+tr.name, err, triggerFix)
	}
	_, err := k.conn.ExecContext(ctx, "DROP TRIGGER "+qualified(k.schema, scratch))
	return err
}

// move drops tr (on from) and creates it on to; when the create fails it
// creates tr on from again.
func (k keeper) move(ctx context.Context, tb ferry.SwapTable, tr liveTrigger, from, to, mode string) error {
	if _, err := k.conn.ExecContext(ctx, "DROP TRIGGER "+qualified(k.schema, tr.name)); err != nil {
		return err
	}
	if err := k.withMode(ctx, tr, mode, k.create(tr, tr.name, to)); err != nil {
		if back := k.withMode(ctx, tr, mode, k.create(tr, tr.name, from)); back != nil {
			return fmt.Errorf("table %s: trigger %s was dropped from %s and can be created on neither table (%v, then %v): recreate it by hand", tb.Table, tr.name, from, err, back)
		}
		return k.refuse(tb, "trigger "+tr.name, err, triggerFix)
	}
	return nil
}

// comments gives tb's staging table live's table comment and, for each
// column both have, live's column comment, when they differ.
func (k keeper) comments(ctx context.Context, tb ferry.SwapTable) error {
	const fix = "Ferry's account needs ALTER on the company's database"
	var live, stg string
	err := k.conn.QueryRowContext(ctx, `SELECT
		(SELECT TABLE_COMMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?),
		(SELECT TABLE_COMMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?)`,
		k.schema, tb.Table, k.schema, tb.Staging).Scan(&live, &stg)
	if err != nil {
		return err
	}
	if live != stg {
		if _, err := k.conn.ExecContext(ctx, "ALTER TABLE "+qualified(k.schema, tb.Staging)+" COMMENT = "+k.literal(live)); err != nil {
			return k.refuse(tb, "the table comment", err, fix)
		}
	}
	rows, err := k.conn.QueryContext(ctx, `SELECT s.COLUMN_NAME, l.COLUMN_COMMENT FROM information_schema.COLUMNS s
		JOIN information_schema.COLUMNS l ON l.TABLE_SCHEMA = s.TABLE_SCHEMA AND l.TABLE_NAME = ? AND l.COLUMN_NAME = s.COLUMN_NAME
		WHERE s.TABLE_SCHEMA = ? AND s.TABLE_NAME = ? AND s.COLUMN_COMMENT <> l.COLUMN_COMMENT`, tb.Table, k.schema, tb.Staging)
	if err != nil {
		return err
	}
	differ := map[string]string{}
	for rows.Next() {
		var col, comment string
		if err := rows.Scan(&col, &comment); err != nil {
			rows.Close()
			return err
		}
		differ[col] = comment
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(differ) == 0 {
		return err
	}
	return k.columnComments(ctx, tb, differ)
}

var columnComment = regexp.MustCompile(` COMMENT '(?:[^'\\]|\\.|'')*'`)

// columnComments sets staging's column comments (column → comment) by
// MODIFY COLUMN with the column's definition as SHOW CREATE TABLE gives
// it (a change of comment only: no table copy).
func (k keeper) columnComments(ctx context.Context, tb ferry.SwapTable, differ map[string]string) error {
	var name, ddl string
	if err := k.conn.QueryRowContext(ctx, "SHOW CREATE TABLE "+qualified(k.schema, tb.Staging)).Scan(&name, &ddl); err != nil {
		return err
	}
	for _, line := range strings.Split(ddl, "\n") {
		line = strings.TrimSuffix(strings.TrimSpace(line), ",")
		for col, comment := range differ {
			if !strings.HasPrefix(line, quoteIdent(col)+" ") {
				continue
			}
			def := columnComment.ReplaceAllString(line, "")
			if comment != "" {
				def += " COMMENT " + k.literal(comment)
			}
			if _, err := k.conn.ExecContext(ctx, "ALTER TABLE "+qualified(k.schema, tb.Staging)+" MODIFY COLUMN "+def); err != nil {
				return k.refuse(tb, "the comment of column "+col, err, "Ferry's account needs ALTER on the company's database")
			}
		}
	}
	return nil
}

// reclaimTriggers moves every trigger of staging back to the live table
// table, for PrepareStaging before it drops staging: a swap that moved
// live's triggers to staging and stopped before its RENAME (an invocation
// killed, a run abandoned) left them there, and dropping staging would
// lose them. Ferry puts no trigger of its own on a staging table.
func (t *Target) reclaimTriggers(ctx context.Context, schema, table, staging string) error {
	conn, err := t.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	k := keeper{conn: conn, schema: schema}
	trs, err := k.triggers(ctx, staging)
	if err != nil || len(trs) == 0 {
		return err
	}
	var mode string
	if err := conn.QueryRowContext(ctx, "SELECT @@SESSION.sql_mode").Scan(&mode); err != nil {
		return err
	}
	tb := ferry.SwapTable{Table: table, Staging: staging}
	for _, tr := range trs {
		if err := k.move(ctx, tb, tr, staging, table, mode); err != nil {
			return err
		}
		t.opts.log.WarnContext(ctx, "mysql: a trigger left on the staging table by an interrupted swap was given back to the live table",
			"schema", schema, "table", table, "trigger", tr.name)
	}
	return nil
}
