package main

import (
	"context"
	"strings"
	"testing"

	"github.com/ferrydata/ferry/internal/ops"
	"github.com/jackc/pgx/v5"
)

// TestPlanAndCheckReportSchemaChanges: the live table bi_acme.orders was
// published with an older shape (total numeric(10,2), no customer); the
// query now returns customer and a wider total. `ferry plan` lists the
// change as published with the next swap (policy evolve) and `ferry check`
// says so; with the policy refuse, plan says REFUSED and check fails naming
// the company, the table, the columns and the fix. Neither changes the
// target.
func TestPlanAndCheckReportSchemaChanges(t *testing.T) {
	e := newOpsEnv(t, "postgres")
	e.migrate(t)
	mustFerry(t, e.cli("company", "add", "--company-id", "42", "--alias", "acme", "--config", "days=30")...)
	const query = "SELECT id, customer, CAST(total AS DECIMAL(12,4)) AS total, updated_at FROM orders WHERE company = :company_id AND updated_at >= :since"
	mustFerry(t, e.cli("table", "add", "--name", "orders", "--query", query)...)
	conn, err := pgx.Connect(context.Background(), e.targetPG)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), `CREATE TABLE bi_acme.orders (id bigint NOT NULL, total numeric(10,2), updated_at timestamp(0) without time zone)`); err != nil {
		t.Fatal(err)
	}
	before := strings.Join(pgTables(t, e.targetPG), ",")
	const total = "column total: numeric(10,2) → numeric(12,4)"
	out := mustFerry(t, e.cli("plan", "--run-date", "2026-11-02")...)
	for _, want := range []string{"Schema changes", "bi_acme.orders", "published with the swap", total, "column customer added (character varying(40))"} {
		if !strings.Contains(out, want) {
			t.Errorf("plan output lacks %q:\n%s", want, out)
		}
	}
	rep, _, code := checkReport(t, e.cli("check", "--run-date", "2026-11-02")...)
	if code != 0 || !hasItem(rep, ops.StatusOK, "schema", "next run publishes", total) {
		t.Errorf("check (evolve): exit %d, items %+v", code, rep.Items)
	}

	mustFerry(t, e.cli("table", "add", "--replace", "--name", "orders", "--query", query, "--schema-changes", "refuse")...)
	out = mustFerry(t, e.cli("plan", "--run-date", "2026-11-02")...)
	if !strings.Contains(out, "REFUSED") || !strings.Contains(out, total) {
		t.Errorf("plan (refuse) output:\n%s", out)
	}
	rep, _, code = checkReport(t, e.cli("check", "--run-date", "2026-11-02")...)
	if code == 0 || !hasItem(rep, ops.StatusFail, "schema", "refuses schema changes", total, "bi_acme.orders") {
		t.Errorf("check (refuse): exit %d, items %+v", code, rep.Items)
	}
	if got := strings.Join(pgTables(t, e.targetPG), ","); got != before {
		t.Errorf("plan or check changed the target's tables:\nbefore %s\nafter  %s", before, got)
	}
	_, errs, code := ferryCLI(t, e.cli("table", "add", "--replace", "--name", "orders", "--query", query, "--schema-changes", "maybe")...)
	if code == 0 || !strings.Contains(errs, "evolve or refuse") {
		t.Errorf("bad policy: exit %d %q", code, errs)
	}
}
