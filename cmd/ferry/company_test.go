package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/ferrydata/ferry/internal/ops"
)

const ordersQuery = "SELECT id, customer, total, updated_at FROM orders WHERE company = :company_id AND updated_at >= :since"

func pgSchemaExists(t *testing.T, url, schema string) bool {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var ok bool
	if err := conn.QueryRow(context.Background(), "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", schema).Scan(&ok); err != nil {
		t.Fatal(err)
	}
	return ok
}

func TestCompanyAdd(t *testing.T) {
	e := newOpsEnv(t, "postgres")
	e.migrate(t)
	mustFerry(t, e.cli("table", "add", "--name", "orders", "--query", ordersQuery, "--chunk-column", "id", "--chunk-rows", "2")...)

	out := mustFerry(t, e.cli("company", "add", "--company-id", "42", "--alias", "acme", "--config", "days=30", "--run-date", "2026-11-02")...)
	for _, want := range []string{"Added company 42 (acme): target schema bi_acme on the postgres target", "days=30",
		"The next run will copy:", "orders", "bi_acme.orders", "Total: 1 table, 4 rows, 2 chunks."} {
		if !strings.Contains(out, want) {
			t.Errorf("company add output lacks %q:\n%s", want, out)
		}
	}
	if !pgSchemaExists(t, e.targetPG, "bi_acme") {
		t.Error("target schema bi_acme was not created")
	}
	if n := count(t, e.admin, "SELECT COUNT(*) FROM companies_configurations WHERE company = 42 AND configuration = 'days' AND value = '30'"); n != 1 {
		t.Errorf("companies_configurations rows: %d", n)
	}
	if n := count(t, e.admin, "SELECT COUNT(*) FROM configurations WHERE name = 'days'"); n != 1 {
		t.Errorf("configurations rows: %d", n)
	}

	// --json, with an explicit schema.
	var res ops.CompanyAdded
	decode(t, mustFerry(t, e.cli("company", "add", "--company-id", "43", "--alias", "globex", "--schema", "reporting_globex", "--config", "days=365", "--run-date", "2026-11-02", "--json")...), &res)
	if res.Company.Schema != "reporting_globex" || len(res.Plan) != 1 || res.Plan[0].EstRows != 3 || res.Plan[0].TargetTable != "reporting_globex.orders" || res.EstRows != 3 {
		t.Errorf("--json: %+v", res)
	}
	if !pgSchemaExists(t, e.targetPG, "reporting_globex") {
		t.Error("target schema reporting_globex was not created")
	}

	// Refusals: nothing written, the message says what to do.
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"duplicate id", []string{"--company-id", "42", "--alias", "other", "--config", "days=1"}, 1, "company 42 already exists"},
		{"duplicate alias", []string{"--company-id", "44", "--alias", "acme", "--config", "days=1"}, 1, "alias acme is already company 42's"},
		{"duplicate schema", []string{"--company-id", "44", "--alias", "initech", "--schema", "bi_acme", "--config", "days=1"}, 1, "target schema bi_acme is already company 42's"},
		{"bad alias", []string{"--company-id", "44", "--alias", "Bad-Alias"}, 1, "must match [a-z][a-z0-9_]{0,39}"},
		{"bad schema", []string{"--company-id", "44", "--alias", "initech", "--schema", "x;drop"}, 1, "target schema"},
		{"bad days", []string{"--company-id", "44", "--alias", "initech", "--config", "days=soon"}, 1, "not a whole number of days"},
		{"not an integer id", []string{"--company-id", "abc", "--alias", "initech"}, 2, "invalid value"},
		{"missing alias", []string{"--company-id", "44"}, 2, "--alias are required"},
		// The orders query uses :since, which needs the days configuration.
		{"query would fail", []string{"--company-id", "44", "--alias", "initech"}, 1, "--config days=30 on `ferry company add`"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, errs, code := ferryCLI(t, e.cli(append([]string{"company", "add"}, tc.args...)...)...)
			if code != tc.code || !strings.Contains(errs, tc.want) {
				t.Errorf("exit %d (want %d), stderr:\n%s\nwant %q", code, tc.code, errs, tc.want)
			}
			if code == 1 && !strings.Contains(errs, "fix") {
				t.Errorf("the refusal names no fix:\n%s", errs)
			}
		})
	}
	if n := count(t, e.admin, "SELECT COUNT(*) FROM companies"); n != 2 {
		t.Errorf("a refused add wrote rows: %d companies", n)
	}
	if pgSchemaExists(t, e.targetPG, "bi_initech") {
		t.Error("a refused add created its schema")
	}

	// list, disable, enable, config.
	out = mustFerry(t, "company", "list", "--admin-dsn", e.adminURL)
	if !strings.Contains(out, "42  acme") || !strings.Contains(out, "reporting_globex") {
		t.Errorf("company list:\n%s", out)
	}
	out = mustFerry(t, "company", "disable", "42", "--admin-dsn", e.adminURL)
	if !strings.Contains(out, "Company 42 (acme) disabled") {
		t.Errorf("disable: %s", out)
	}
	var rows []struct {
		ID     int64  `json:"company_id"`
		Alias  string `json:"alias"`
		Status string `json:"status"`
	}
	js := mustFerry(t, "company", "list", "--json", "--admin-dsn", e.adminURL)
	if err := jsonUnmarshalLoose(js, &rows); err != nil || len(rows) != 2 || rows[0].Status != "inactive" || rows[1].Status != "active" {
		t.Errorf("list --json after disable: %v %+v", err, rows)
	}
	mustFerry(t, "company", "enable", "42", "--admin-dsn", e.adminURL)
	if n := count(t, e.admin, "SELECT COUNT(*) FROM companies WHERE company_id = 42 AND status = 'active'"); n != 1 {
		t.Error("enable did not set status active")
	}
	_, errs, code := ferryCLI(t, "company", "disable", "999", "--admin-dsn", e.adminURL)
	if code != 1 || !strings.Contains(errs, "company 999 does not exist") || !strings.Contains(errs, "ferry company list") {
		t.Errorf("disable missing: exit %d, %q", code, errs)
	}
	out = mustFerry(t, "company", "config", "42", "region=eu", "days=7", "--admin-dsn", e.adminURL)
	if !strings.Contains(out, "days=7 region=eu") {
		t.Errorf("config: %s", out)
	}
}

// On a MySQL target the company schema is a database, created by add.
func TestCompanyAddMySQLTarget(t *testing.T) {
	e := newOpsEnv(t, "mysql")
	e.migrate(t)
	b := make([]byte, 4)
	rand.Read(b)
	schema := "t_ferry_ops_" + hex.EncodeToString(b)
	t.Cleanup(func() { e.admin.Exec("DROP DATABASE IF EXISTS `" + schema + "`") })
	mustFerry(t, e.cli("table", "add", "--name", "orders", "--query", ordersQuery)...)
	out := mustFerry(t, e.cli("company", "add", "--company-id", "42", "--alias", "acme", "--schema", schema, "--config", "days=3650")...)
	if !strings.Contains(out, "on the mysql target") || !strings.Contains(out, schema+".orders") || !strings.Contains(out, "Total: 1 table, 5 rows, 1 chunk.") {
		t.Errorf("company add:\n%s", out)
	}
	if n := count(t, e.admin, "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", schema); n != 1 {
		t.Errorf("database %s was not created", schema)
	}
	// The target unreachable: refused before anything is written.
	_, errs, code := ferryCLI(t, "company", "add", "--company-id", "43", "--alias", "globex", "--config", "days=1",
		"--admin-dsn", e.adminURL, "--source-dsn", e.sourceURL, "--target-dsn", fmt.Sprintf("mysql://root@127.0.0.1:%d/x", closedPort(t)))
	if code != 1 || !strings.Contains(errs, "the target database") || !strings.Contains(errs, "cannot connect") {
		t.Errorf("unreachable target: exit %d %q", code, errs)
	}
	if n := count(t, e.admin, "SELECT COUNT(*) FROM companies WHERE company_id = 43"); n != 0 {
		t.Error("company 43 was written although the target was unreachable")
	}
}
