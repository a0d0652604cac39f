package mysql

import (
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/testdb"
)

// definition describes table's comments and triggers, one line each.
func definition(t *testing.T, db *sql.DB, schema, table string) string {
	t.Helper()
	rows, err := db.Query(`SELECT CONCAT('comment ', TABLE_COMMENT) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?
		UNION ALL (SELECT CONCAT('column ', COLUMN_NAME, ' ', COLUMN_COMMENT) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION)
		UNION ALL (SELECT CONCAT_WS(' ', 'trigger', TRIGGER_NAME, ACTION_TIMING, EVENT_MANIPULATION, ACTION_ORDER, DEFINER, SQL_MODE, ACTION_STATEMENT)
			FROM information_schema.TRIGGERS WHERE EVENT_OBJECT_SCHEMA = ? AND EVENT_OBJECT_TABLE = ? ORDER BY ACTION_TIMING, EVENT_MANIPULATION, ACTION_ORDER)`,
		schema, table, schema, table, schema, table)
	testdb.Must(t, "definition", err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		testdb.Must(t, "scan", rows.Scan(&s))
		out = append(out, s)
	}
	return strings.Join(out, "\n")
}

var orderCols = []ferry.Column{{Name: "id", Type: "int"}, {Name: "v", Type: "varchar(20)", Nullable: true}}

// definedOrders makes the live table orders (ids 1-3) with comments and
// three triggers, two of them on the same event in a given order, one
// created under another sql_mode; they write to audit. It returns its
// definition.
func definedOrders(t *testing.T, db *sql.DB, schema string) string {
	t.Helper()
	for _, s := range []string{
		"CREATE TABLE audit (seq int AUTO_INCREMENT PRIMARY KEY, what varchar(40))",
		"CREATE TABLE orders (id int NOT NULL COMMENT 'the key', v varchar(20) COMMENT 'it''s \\\\ the value', KEY (id)) COMMENT 'orders, daily'",
		"INSERT INTO orders VALUES (1, 'a'), (2, 'b'), (3, 'c')",
		"CREATE TRIGGER t_second AFTER INSERT ON orders FOR EACH ROW INSERT INTO audit (what) VALUES (CONCAT('second ', NEW.id))",
		"CREATE TRIGGER t_first AFTER INSERT ON orders FOR EACH ROW PRECEDES t_second INSERT INTO audit (what) VALUES (CONCAT('first ', NEW.id))",
	} {
		exec(t, db, s)
	}
	db.SetMaxOpenConns(1) // the sql_mode below is the one connection's
	defer db.SetMaxOpenConns(0)
	exec(t, db, "SET SESSION sql_mode = 'ANSI_QUOTES'")
	exec(t, db, `CREATE TRIGGER t_upper BEFORE UPDATE ON orders FOR EACH ROW SET NEW.v = UPPER(NEW.v)`)
	exec(t, db, "SET SESSION sql_mode = DEFAULT")
	return definition(t, db, schema, "orders")
}

// TestSwapKeepsTriggersAndComments: a MySQL swap carries the live table's
// comments (also when they changed after staging was prepared) and its
// triggers (order, timing, definer, sql_mode), twice; the new live
// table's triggers fire, the outgoing table keeps none. With staging
// derived from the query's columns, column comments follow the columns
// staging still has, and a trigger naming a column staging lacks is
// refused before anything of live changed.
func TestSwapKeepsTriggersAndComments(t *testing.T) {
	db, schema := openDB(t)
	tgt, cols, stg := NewTarget(db), orderCols, ferry.StagingName("orders")
	want := definedOrders(t, db, schema)
	for run := 1; run <= 2; run++ {
		testdb.Must(t, "prepare", tgt.PrepareStaging(ctxT(t), schema, "orders", stg, cols, "id"))
		if run == 2 { // changed while the run was under way
			exec(t, db, "ALTER TABLE orders COMMENT 'changed during the run', MODIFY v varchar(20) COMMENT 'changed too'")
			want = definition(t, db, schema, "orders")
		}
		fillStaging(t, db, stg, 4+run)
		_, err := tgt.Swap(ctxT(t), ferry.SwapRequest{RunID: fmt.Sprintf("run-%d", run), Schema: schema, Tables: []ferry.SwapTable{{Table: "orders", Staging: stg, Expected: int64(4 + run)}}})
		testdb.Must(t, "swap", err)
		if got := definition(t, db, schema, "orders"); got != want {
			t.Fatalf("run %d: live's definition\n%s\nwant\n%s", run, got, want)
		}
		if n := count(t, db, "SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE EVENT_OBJECT_SCHEMA = ? AND EVENT_OBJECT_TABLE = ?", schema, stg); n != 0 {
			t.Fatalf("run %d: the outgoing table keeps %d triggers", run, n)
		}
	}
	exec(t, db, "INSERT INTO orders VALUES (100, 'x')")
	exec(t, db, "UPDATE orders SET v = 'lower' WHERE id = 100")
	var got string
	testdb.Must(t, "audit", db.QueryRow("SELECT GROUP_CONCAT(what ORDER BY seq) FROM audit").Scan(&got))
	if got != "first 100,second 100" || count(t, db, "SELECT COUNT(*) FROM orders WHERE v = 'LOWER'") != 1 {
		t.Fatalf("the new live table's triggers fired: audit %s", got)
	}

	// Staging derived from the query's columns: v is gone, w is new.
	derived := func() {
		exec(t, db, "DROP TABLE IF EXISTS "+quoteIdent(stg))
		exec(t, db, "CREATE TABLE "+quoteIdent(stg)+" (id int NOT NULL, w text, KEY (id))")
		exec(t, db, "INSERT INTO "+quoteIdent(stg)+" VALUES (1, 'w1'), (2, 'w2')")
	}
	derived()
	before, rows := definition(t, db, schema, "orders"), count(t, db, "SELECT COUNT(*) FROM orders")
	_, err := tgt.Swap(ctxT(t), ferry.SwapRequest{RunID: "run-3", Schema: schema, Tables: []ferry.SwapTable{{Table: "orders", Staging: stg, Expected: 2}}})
	var ce *ferry.ConfigError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "trigger t_upper") || !strings.Contains(err.Error(), "fix:") {
		t.Fatalf("swap with a trigger on a dropped column: %v, want a ConfigError naming the trigger and the fix", err)
	}
	if got := definition(t, db, schema, "orders"); got != before || count(t, db, "SELECT COUNT(*) FROM orders") != rows {
		t.Fatalf("refused swap changed live:\n%s", got)
	}
	exec(t, db, "DROP TRIGGER t_upper")
	derived()
	_, err = tgt.Swap(ctxT(t), ferry.SwapRequest{RunID: "run-4", Schema: schema, Tables: []ferry.SwapTable{{Table: "orders", Staging: stg, Expected: 2}}})
	testdb.Must(t, "swap onto derived staging", err)
	got = definition(t, db, schema, "orders")
	if !strings.Contains(got, "column id the key\ncolumn w \ntrigger t_first") || !strings.Contains(got, "comment changed during the run") || strings.Contains(got, "changed too") {
		t.Fatalf("live's definition after a swap onto derived staging:\n%s", got)
	}
}

// TestSwapRepeatableReadReader documents the consistency limit of a swap
// on MySQL: a REPEATABLE READ transaction whose consistent snapshot is
// older than the new table's rows either sees the new table empty or, when
// the table was created after its snapshot, gets error 1412 ("Table
// definition has changed, please retry transaction"); never the old rows
// mixed with the new. A transaction started after the swap sees the new
// table complete.
func TestSwapRepeatableReadReader(t *testing.T) {
	db, schema := openDB(t)
	tgt := NewTarget(db)
	cols := []ferry.Column{{Name: "id", Type: "int"}, {Name: "v", Type: "varchar(20)", Nullable: true}}
	stg := ferry.StagingName("orders")
	exec(t, db, "CREATE TABLE orders (id int NOT NULL, v varchar(20), KEY (id))")
	fillStaging(t, db, "orders", 3)
	publish := func(runID string, n int) {
		testdb.Must(t, "prepare", tgt.PrepareStaging(ctxT(t), schema, "orders", stg, cols, "id"))
		fillStaging(t, db, stg, n)
		_, err := tgt.Swap(ctxT(t), ferry.SwapRequest{RunID: runID, Schema: schema, Tables: []ferry.SwapTable{{Table: "orders", Staging: stg, Expected: int64(n)}}})
		testdb.Must(t, "swap", err)
	}
	for _, createdBefore := range []bool{true, false} {
		if createdBefore {
			testdb.Must(t, "prepare", tgt.PrepareStaging(ctxT(t), schema, "orders", stg, cols, "id"))
		}
		reader, err := db.Conn(ctxT(t))
		testdb.Must(t, "reader", err)
		_, err = reader.ExecContext(ctxT(t), "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
		testdb.Must(t, "snapshot", err)
		if createdBefore {
			fillStaging(t, db, stg, 5)
			_, err = tgt.Swap(ctxT(t), ferry.SwapRequest{RunID: "run-before", Schema: schema, Tables: []ferry.SwapTable{{Table: "orders", Staging: stg, Expected: 5}}})
			testdb.Must(t, "swap", err)
		} else {
			publish("run-after", 6)
		}
		var n int64
		err = reader.QueryRowContext(ctxT(t), "SELECT COUNT(*) FROM orders").Scan(&n)
		t.Logf("staging created before the snapshot %v: count %d, error %v", createdBefore, n, err)
		if (createdBefore && (err != nil || n != 0)) || (!createdBefore && mysqlErrNo(err) != 1412) {
			t.Errorf("staging created before the snapshot %v: an old REPEATABLE READ reader got %d rows, error %v", createdBefore, n, err)
		}
		reader.ExecContext(ctxT(t), "ROLLBACK")
		reader.Close()
	}
	if n := count(t, db, "SELECT COUNT(*) FROM orders"); n != 6 {
		t.Fatalf("a new reader sees %d rows, want 6", n)
	}
}

// TestPrepareStagingReclaimsTriggers: a swap that moved the live table's
// triggers to staging and was then killed before its RENAME, in a run
// that was abandoned, left them on staging; the next run's PrepareStaging
// gives them back to live before it drops staging.
func TestPrepareStagingReclaimsTriggers(t *testing.T) {
	db, schema := openDB(t)
	tgt, cols, stg := NewTarget(db), orderCols, ferry.StagingName("orders")
	want := definedOrders(t, db, schema)
	testdb.Must(t, "prepare", tgt.PrepareStaging(ctxT(t), schema, "orders", stg, cols, "id"))
	conn, err := db.Conn(ctxT(t))
	testdb.Must(t, "conn", err)
	defer conn.Close()
	k := keeper{conn: conn, schema: schema}
	trs, err := k.triggers(ctxT(t), "orders")
	testdb.Must(t, "triggers", err)
	for _, tr := range trs { // the interrupted swap's move
		testdb.Must(t, "move", k.move(ctxT(t), ferry.SwapTable{Table: "orders", Staging: stg}, tr, "orders", stg, "STRICT_TRANS_TABLES"))
	}
	if n := count(t, db, "SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE EVENT_OBJECT_SCHEMA = ? AND EVENT_OBJECT_TABLE = ?", schema, stg); n != 3 {
		t.Fatalf("test is void: staging has %d triggers", n)
	}
	testdb.Must(t, "prepare again", tgt.PrepareStaging(ctxT(t), schema, "orders", stg, cols, "id"))
	if got := definition(t, db, schema, "orders"); got != want {
		t.Fatalf("live after PrepareStaging:\n%s\nwant\n%s", got, want)
	}
}
