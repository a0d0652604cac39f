package main

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

func pgTables(t *testing.T, url string) []string {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(context.Background(), "SELECT table_schema || '.' || table_name FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1")
	if err != nil {
		t.Fatal(err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return names
}

func TestPlanWritesNothing(t *testing.T) {
	e := newOpsEnv(t, "postgres")
	e.migrate(t)
	mustFerry(t, e.cli("company", "add", "--company-id", "42", "--alias", "acme", "--config", "days=30", "--config", "region=eu")...)
	mustFerry(t, e.cli("company", "add", "--company-id", "43", "--alias", "globex", "--config", "days=30", "--config", "region=us")...)
	mustFerry(t, e.cli("table", "add", "--name", "orders", "--query", ordersQuery, "--chunk-rows", "2")...)
	mustFerry(t, e.cli("table", "add", "--name", "eu_orders", "--query", "SELECT id, total FROM orders WHERE company = :company_id AND region = :region")...)

	tablesBefore := strings.Join(pgTables(t, e.targetPG), ",")
	adminBefore := count(t, e.admin, "SELECT (SELECT COUNT(*) FROM ferry_runs) + (SELECT COUNT(*) FROM ferry_table_loads) + (SELECT COUNT(*) FROM ferry_lease) + (SELECT COUNT(*) FROM companies) + (SELECT COUNT(*) FROM `tables`)")

	out := mustFerry(t, e.cli("plan", "--run-date", "2026-11-02")...)
	for _, want := range []string{"Plan for run date 2026-11-02", "42       acme", "bi_acme.orders", "bi_globex.eu_orders", "Total: 2 companies, 4 tables, 13 rows, 6 chunks."} {
		if !strings.Contains(out, want) {
			t.Errorf("plan output lacks %q:\n%s", want, out)
		}
	}
	js := mustFerry(t, e.cli("plan", "--run-date", "2026-11-02", "--company", "42", "--json")...)
	var res planResult
	decode(t, js, &res)
	if res.Companies != 1 || res.Tables != 2 || res.EstRows != 8 || res.Chunks != 3 || res.Engine != "postgres" {
		t.Errorf("plan --json: %+v", res)
	}
	opsGolden(t, "ops_plan.golden.json", []byte(js))

	// Nothing was written: no lease, no run row, no staging or other table.
	if got := strings.Join(pgTables(t, e.targetPG), ","); got != tablesBefore {
		t.Errorf("plan changed the target's tables:\nbefore %s\nafter  %s", tablesBefore, got)
	}
	if strings.Contains(tablesBefore, "_ferry_s_") {
		t.Errorf("staging tables exist: %s", tablesBefore)
	}
	if got := count(t, e.admin, "SELECT (SELECT COUNT(*) FROM ferry_runs) + (SELECT COUNT(*) FROM ferry_table_loads) + (SELECT COUNT(*) FROM ferry_lease) + (SELECT COUNT(*) FROM companies) + (SELECT COUNT(*) FROM `tables`)"); got != adminBefore {
		t.Errorf("plan wrote to the admin database: %d rows before, %d after", adminBefore, got)
	}
	if n := count(t, e.admin, "SELECT COUNT(*) FROM ferry_lease WHERE holder IS NOT NULL"); n != 0 {
		t.Errorf("plan took the lease")
	}

	// Refusals: an unknown company; a configuration problem lists every one.
	_, errs, code := ferryCLI(t, e.cli("plan", "--company", "7")...)
	if code != 1 || !strings.Contains(errs, "company 7: no active company with this id") {
		t.Errorf("unknown company: exit %d %q", code, errs)
	}
	if _, err := e.admin.Exec("UPDATE companies_configurations SET value = 'x' WHERE configuration = 'days'"); err != nil {
		t.Fatal(err)
	}
	_, errs, code = ferryCLI(t, e.cli("plan")...)
	if code != 1 || !strings.Contains(errs, "would refuse to start") || !strings.Contains(errs, "2 problems") ||
		!strings.Contains(errs, "company 42 (acme)") || !strings.Contains(errs, "company 43 (globex)") {
		t.Errorf("bad config: exit %d\n%s", code, errs)
	}
}
