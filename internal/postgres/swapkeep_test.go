package postgres

import (
	"context"
	"strings"
	"testing"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/testdb"
)

// props describes what defines bi_acme.orders besides its rows, one line
// per property, for comparison.
func (e *env) props(table string) string {
	e.t.Helper()
	q := `bi_acme.` + quoteIdent(table)
	lines := e.strings(`SELECT 'rls ' || relrowsecurity || ' force ' || relforcerowsecurity || ' replident ' || relreplident::text
			|| coalesce(' ' || (SELECT regexp_replace(pg_get_indexdef(indexrelid), ' INDEX \S+ ON ', ' INDEX <i> ON ') FROM pg_index WHERE indrelid = c.oid AND indisreplident), '')
			|| ' comment ' || coalesce(obj_description(c.oid, 'pg_class'), '<none>')
		FROM pg_class c WHERE c.oid = $1::regclass
		UNION ALL (SELECT 'column ' || attname || ' ' || coalesce(col_description(attrelid, attnum), '<none>') FROM pg_attribute
			WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum)
		UNION ALL (SELECT 'policy ' || policyname || ' ' || permissive || ' ' || cmd || ' ' || array_to_string(roles, ',') || ' ' || coalesce(qual, '') || ' ' || coalesce(with_check, '')
			FROM pg_policies WHERE schemaname = 'bi_acme' AND tablename = $2 ORDER BY policyname)
		UNION ALL (SELECT 'trigger ' || tgname || ' ' || tgenabled::text || ' ' || regexp_replace(pg_get_triggerdef(oid), ' ON \S+ ', ' ON <t> ')
			FROM pg_trigger WHERE tgrelid = $1::regclass AND NOT tgisinternal ORDER BY tgname)
		UNION ALL (SELECT 'publication ' || pubname || ' ' || coalesce(array_to_string(attnames, ','), '') || ' ' || coalesce(rowfilter, '')
			FROM pg_publication_tables WHERE schemaname = 'bi_acme' AND tablename = $2 ORDER BY pubname)`, q, table)
	return strings.Join(lines, "\n")
}

// definedOrders publishes bi_acme.orders (ids 1-3) and gives it every
// property the swap must keep; the role it returns is limited by a policy
// to the row id = 2.
func (e *env) definedOrders() string {
	e.t.Helper()
	reader := e.createRole("ferry_test_analyst")
	e.publish("orders", "run-1", "a", 3)
	r := quoteIdent(reader)
	for _, s := range []string{
		`GRANT USAGE ON SCHEMA bi_acme TO ` + r,
		`GRANT SELECT ON bi_acme.orders TO ` + r,
		`ALTER TABLE bi_acme.orders ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY`,
		`CREATE POLICY only_two ON bi_acme.orders FOR SELECT TO ` + r + ` USING (id = 2)`,
		`CREATE POLICY no_writes ON bi_acme.orders AS RESTRICTIVE FOR INSERT TO PUBLIC WITH CHECK (v <> 'x')`,
		`COMMENT ON TABLE bi_acme.orders IS 'orders, it''s \ daily'`,
		`COMMENT ON COLUMN bi_acme.orders.id IS 'the key'`,
		`COMMENT ON COLUMN bi_acme.orders.v IS 'the value'`,
		`CREATE FUNCTION bi_acme.touch() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$`,
		`CREATE TRIGGER t_off BEFORE INSERT ON bi_acme.orders FOR EACH ROW EXECUTE FUNCTION bi_acme.touch()`,
		`ALTER TABLE bi_acme.orders DISABLE TRIGGER t_off`,
		`CREATE TRIGGER t_always BEFORE UPDATE OF v ON bi_acme.orders FOR EACH ROW WHEN (OLD.v IS DISTINCT FROM NEW.v) EXECUTE FUNCTION bi_acme.touch()`,
		`ALTER TABLE bi_acme.orders ENABLE ALWAYS TRIGGER t_always`,
		`CREATE PUBLICATION ferry_test_pub FOR TABLE bi_acme.orders (id, v) WHERE (id > 0)`,
		`CREATE UNIQUE INDEX orders_id_key ON bi_acme.orders (id)`,
		`ALTER TABLE bi_acme.orders REPLICA IDENTITY USING INDEX orders_id_key`,
	} {
		e.exec(s)
	}
	return reader
}

// seenBy counts the rows of bi_acme.orders role sees.
func (e *env) seenBy(role string) int64 {
	e.t.Helper()
	ctx := context.Background()
	tx, err := e.conn.Begin(ctx)
	testdb.Must(e.t, "begin", err)
	defer tx.Rollback(ctx)
	_, err = tx.Exec(ctx, `SET LOCAL ROLE `+quoteIdent(role))
	testdb.Must(e.t, "set role", err)
	var n int64
	testdb.Must(e.t, "count as "+role, tx.QueryRow(ctx, `SELECT count(*) FROM bi_acme.orders`).Scan(&n))
	return n
}

// TestSwapKeepsTableProperties: row-level security (enabled, forced),
// policies, triggers with their enabled state, the table and column
// comments, publication membership (column list, row filter) and replica
// identity survive two swaps, also when they change after staging was
// prepared; the outgoing table keeps no trigger or publication.
func TestSwapKeepsTableProperties(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	reader := e.definedOrders()
	want := e.props("orders")
	if e.seenBy(reader) != 1 {
		t.Fatalf("test is void: the analyst sees %d rows before the swap", e.seenBy(reader))
	}
	for run, change := range []string{
		``, // staging LIKE live copies some properties...
		`COMMENT ON TABLE bi_acme.orders IS 'changed during the run'`, // ...but as they were when it was prepared
	} {
		stg := e.prepare("orders")
		if change != "" {
			e.exec(change)
			want = e.props("orders")
		}
		e.load(stg, 1, 5, kvCSV("b", 1, 5))
		_, err := e.tg.Swap(ctx, ferry.SwapRequest{RunID: "run-" + string(rune('2'+run)), Schema: testSchema,
			Tables: []ferry.SwapTable{{Table: "orders", Staging: stg, Expected: 4}}})
		testdb.Must(t, "swap", err)
		if got := e.props("orders"); got != want {
			t.Fatalf("swap %d: live's properties\n%s\nwant\n%s", run+2, got, want)
		}
		if n := e.seenBy(reader); n != 1 {
			t.Fatalf("swap %d: the analyst limited to one row by a policy sees %d rows", run+2, n)
		}
		left := e.strings(`SELECT count(*)::text FROM pg_trigger WHERE tgrelid = $1::regclass AND NOT tgisinternal
			UNION ALL SELECT count(*)::text FROM pg_publication_rel WHERE prrelid = $1::regclass`, `bi_acme.`+quoteIdent(stg))
		if strings.Join(left, ",") != "0,0" {
			t.Fatalf("swap %d: the outgoing table keeps triggers, publications: %v", run+2, left)
		}
	}
}

// TestSwapKeepsPropertiesOfDerivedStaging: staging made from the query's
// columns (not LIKE live: the column v is gone, w is new) gets live's
// properties, column comments only for the columns it still has; a policy
// naming a column staging lacks is refused, live untouched.
func TestSwapKeepsPropertiesOfDerivedStaging(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	reader := e.definedOrders()
	e.exec(`DROP POLICY no_writes ON bi_acme.orders`)
	e.exec(`DROP TRIGGER t_always ON bi_acme.orders`)
	e.exec(`ALTER PUBLICATION ferry_test_pub SET TABLE bi_acme.orders (id) WHERE (id > 0)`)
	derived := func() string {
		stg := ferry.StagingName("orders")
		e.exec(`DROP TABLE IF EXISTS bi_acme.` + quoteIdent(stg))
		e.exec(`CREATE TABLE bi_acme.` + quoteIdent(stg) + ` (id bigint NOT NULL, w text)`)
		e.exec(`CREATE UNIQUE INDEX ON bi_acme.` + quoteIdent(stg) + ` (id)`)
		e.exec(`INSERT INTO bi_acme.` + quoteIdent(stg) + ` SELECT g, 'w' || g FROM generate_series(1, 4) g`)
		return stg
	}
	swap := func(runID, stg string) error {
		_, err := e.tg.Swap(ctx, ferry.SwapRequest{RunID: runID, Schema: testSchema, Tables: []ferry.SwapTable{{Table: "orders", Staging: stg, Expected: 4}}})
		return err
	}
	e.exec(`CREATE POLICY uses_v ON bi_acme.orders FOR SELECT TO PUBLIC USING (v IS NOT NULL)`)
	before := e.props("orders")
	err := swap("run-2", derived())
	var ce *ferry.ConfigError
	if !asErr(err, &ce) || !strings.Contains(err.Error(), "policy uses_v") || !strings.Contains(err.Error(), "fix:") {
		t.Fatalf("swap with a policy on a dropped column: err = %v, want a ConfigError naming the policy and the fix", err)
	}
	if got := e.props("orders"); got != before || e.liveRows("orders") != "1a1,2a2,3a3" {
		t.Fatalf("refused swap changed live: %s\n%s", e.liveRows("orders"), got)
	}
	e.exec(`DROP POLICY uses_v ON bi_acme.orders`)
	testdb.Must(t, "swap", swap("run-3", derived()))
	want := strings.NewReplacer("column v the value", "column w <none>").Replace(before)
	want = strings.Replace(want, "\npolicy uses_v PERMISSIVE SELECT public (v IS NOT NULL) ", "", 1)
	if got := e.props("orders"); got != want {
		t.Fatalf("live's properties\n%s\nwant\n%s", got, want)
	}
	if n := e.seenBy(reader); n != 1 {
		t.Fatalf("the analyst limited to one row by a policy sees %d rows", n)
	}
}
