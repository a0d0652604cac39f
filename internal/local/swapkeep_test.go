package local

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"testing"

	"github.com/ferrydata/ferry/internal/testdb"
	"github.com/jackc/pgx/v5"
)

// TestRefreshKeepsRowLevelSecurity runs the real state machine twice on a
// PostgreSQL target. Between the runs the DBA limits an analyst role to
// one row of alpha's orders by a row-level security policy, comments the
// table and grants SELECT: after the second refresh the analyst still
// sees one row (not every row), and the comment and grant are still there;
// again after the source widened a column, so that staging was derived
// from the query's columns rather than created LIKE live.
func TestRefreshKeepsRowLevelSecurity(t *testing.T) {
	e := newE2E(t, "postgres")
	if r := e.run(t, "run-1"); r.Failed() {
		t.Fatalf("run 1 failed: %s: %s", r.Execution.Error, r.Execution.Cause)
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, e.pgURL)
	testdb.Must(t, "connect", err)
	defer conn.Close(ctx)
	b := make([]byte, 4)
	rand.Read(b)
	analyst := "ferry_test_analyst_" + hex.EncodeToString(b)
	orders := `"` + e.schemas["alpha"] + `".orders`
	exec := func(q string) {
		t.Helper()
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(`CREATE ROLE ` + analyst + ` NOLOGIN`)
	t.Cleanup(func() {
		conn, err := pgx.Connect(context.Background(), e.pgURL)
		if err == nil {
			conn.Exec(context.Background(), `DROP OWNED BY `+analyst)
			conn.Exec(context.Background(), `DROP ROLE `+analyst)
			conn.Close(context.Background())
		}
	})
	for _, q := range []string{
		`GRANT USAGE ON SCHEMA "` + e.schemas["alpha"] + `" TO ` + analyst,
		`GRANT SELECT ON ` + orders + ` TO ` + analyst,
		`ALTER TABLE ` + orders + ` ENABLE ROW LEVEL SECURITY`,
		`CREATE POLICY one_order ON ` + orders + ` FOR SELECT TO ` + analyst + ` USING (id = 1)`,
		`COMMENT ON TABLE ` + orders + ` IS 'alpha''s orders'`,
	} {
		exec(q)
	}
	seen := func() (n int64, comment, priv string) {
		t.Helper()
		tx, err := conn.Begin(ctx)
		testdb.Must(t, "begin", err)
		defer tx.Rollback(ctx)
		err = tx.QueryRow(ctx, `SELECT coalesce(obj_description('`+orders+`'::regclass, 'pg_class'), ''),
			has_table_privilege('`+analyst+`', '`+orders+`', 'SELECT')::text`).Scan(&comment, &priv)
		testdb.Must(t, "read comment and grant", err)
		_, err = tx.Exec(ctx, `SET LOCAL ROLE `+analyst)
		testdb.Must(t, "set role", err)
		testdb.Must(t, "count as the analyst", tx.QueryRow(ctx, `SELECT count(*) FROM `+orders).Scan(&n))
		return n, comment, priv
	}
	if n, _, _ := seen(); n != 1 {
		t.Fatalf("test is void: the analyst sees %d rows before the refresh", n)
	}
	// Run 2: staging LIKE live. Run 3: the source widened a column, so
	// staging is derived from the query's columns (schema changes evolve).
	for run, change := range []string{"", "ALTER TABLE orders MODIFY amount DECIMAL(12,4) NOT NULL"} {
		if change != "" {
			mustExec(t, e.src, change)
		}
		e.addOrders(t, 61+10*run, 70+10*run)
		runID := fmt.Sprintf("run-%d", run+2)
		if r := e.run(t, runID); r.Failed() {
			t.Fatalf("%s failed: %s: %s", runID, r.Execution.Error, r.Execution.Cause)
		}
		if got := e.counts(t)["alpha.orders"]; got != e.sourceCounts(t)["alpha.orders"] {
			t.Fatalf("%s published %d rows of alpha's orders, want the source's %d", runID, got, e.sourceCounts(t)["alpha.orders"])
		}
		n, comment, priv := seen()
		if n != 1 || comment != "alpha's orders" || priv != "true" {
			t.Fatalf("after %s the analyst limited to one row sees %d rows; table comment %q, SELECT granted %s", runID, n, comment, priv)
		}
	}
	var typ string
	testdb.Must(t, "amount's type", conn.QueryRow(ctx, `SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = '`+orders+`'::regclass AND attname = 'amount'`).Scan(&typ))
	if typ != "numeric(12,4)" {
		t.Fatalf("test is void: run 3's staging was not derived from the query (amount is %s)", typ)
	}
}

// TestRefreshKeepsTriggersAndComments runs the real state machine on a
// MySQL target: between the runs the DBA adds a trigger and comments to
// alpha's orders; the next refresh, after the source widened a column (so
// staging is derived from the query's columns), keeps them, and the
// trigger fires on the new live table.
func TestRefreshKeepsTriggersAndComments(t *testing.T) {
	e := newE2E(t, "mysql")
	if r := e.run(t, "run-1"); r.Failed() {
		t.Fatalf("run 1 failed: %s: %s", r.Execution.Error, r.Execution.Cause)
	}
	schema := "`" + e.schemas["alpha"] + "`"
	for _, q := range []string{
		"CREATE TABLE " + schema + ".audit (id BIGINT)",
		"CREATE TRIGGER " + schema + ".orders_audit AFTER INSERT ON " + schema + ".orders FOR EACH ROW INSERT INTO " + schema + ".audit VALUES (NEW.id)",
		"ALTER TABLE " + schema + ".orders COMMENT 'alpha''s orders'",
	} {
		mustExec(t, e.tdb, q)
	}
	var note string
	testdb.Must(t, "note's definition", e.tdb.QueryRow("SELECT CONCAT(COLUMN_TYPE, IF(IS_NULLABLE = 'YES', ' NULL', ' NOT NULL')) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'orders' AND COLUMN_NAME = 'note'", e.schemas["alpha"]).Scan(&note))
	mustExec(t, e.tdb, "ALTER TABLE "+schema+".orders MODIFY note "+note+" COMMENT 'free text'")
	mustExec(t, e.src, "ALTER TABLE orders MODIFY amount DECIMAL(12,4) NOT NULL")
	e.addOrders(t, 61, 70)
	if r := e.run(t, "run-2"); r.Failed() {
		t.Fatalf("run 2 failed: %s: %s", r.Execution.Error, r.Execution.Cause)
	}
	var amount, comment, noteComment string
	var triggers int
	testdb.Must(t, "read the live table's definition", e.tdb.QueryRow(`SELECT
		(SELECT COLUMN_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'orders' AND COLUMN_NAME = 'amount'),
		(SELECT TABLE_COMMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'orders'),
		(SELECT COLUMN_COMMENT FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'orders' AND COLUMN_NAME = 'note'),
		(SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE EVENT_OBJECT_SCHEMA = ? AND EVENT_OBJECT_TABLE = 'orders')`,
		e.schemas["alpha"], e.schemas["alpha"], e.schemas["alpha"], e.schemas["alpha"]).Scan(&amount, &comment, &noteComment, &triggers))
	if amount != "decimal(12,4)" {
		t.Fatalf("test is void: run 2's staging was not derived from the query (amount is %s)", amount)
	}
	if comment != "alpha's orders" || noteComment != "free text" || triggers != 1 {
		t.Fatalf("after the refresh: table comment %q, note's comment %q, %d triggers on orders", comment, noteComment, triggers)
	}
	mustExec(t, e.tdb, "INSERT INTO "+schema+".orders (id, note, amount, created) VALUES (1000, 'x', 1, '2026-01-01')")
	var audited int
	testdb.Must(t, "audit", e.tdb.QueryRow("SELECT COUNT(*) FROM "+schema+".audit WHERE id = 1000").Scan(&audited))
	if audited != 1 {
		t.Fatalf("the trigger did not fire on the new live table")
	}
}
