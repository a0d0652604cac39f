package main

import (
	"strings"
	"testing"
)

func TestTableAdd(t *testing.T) {
	e := newOpsEnv(t, "postgres")
	e.migrate(t)

	// No company yet: checked with sample values.
	out := mustFerry(t, e.cli("table", "add", "--name", "orders", "--query", ordersQuery, "--chunk-column", "id")...)
	for _, want := range []string{"Added table orders", "chunk column id", "parameters :company_id, :since", "id bigint", "sample parameter values"} {
		if !strings.Contains(out, want) {
			t.Errorf("table add output lacks %q:\n%s", want, out)
		}
	}
	var params string
	if err := e.admin.QueryRow("SELECT params_select FROM `tables` WHERE name = 'orders'").Scan(&params); err != nil || params != "company_id,since" {
		t.Errorf("params_select = %q, %v", params, err)
	}

	mustFerry(t, e.cli("company", "add", "--company-id", "42", "--alias", "acme", "--config", "days=30", "--config", "region=eu")...)

	// --json, with a configuration parameter, checked for the company.
	var res tableAddResult
	decode(t, mustFerry(t, e.cli("table", "add", "--name", "eu_orders", "--query", "SELECT id, total FROM orders WHERE company = :company_id AND region = :region",
		"--chunk-rows", "1000", "--zero-dates", "null", "--json")...), &res)
	if res.Sample || len(res.Companies) != 1 || res.Companies[0] != 42 || res.Table.ChunkRows != 1000 || res.Table.ZeroDates != "null" ||
		strings.Join(res.Table.Params, ",") != "company_id,region" || len(res.Columns) != 2 {
		t.Errorf("--json: %+v", res)
	}

	for _, tc := range []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"syntax error", []string{"--name", "bad", "--query", "SELECT id FRM orders WHERE company = :company_id"}, 1,
			[]string{"company 42 (acme), table bad", "the query fails on the source", "1064"}},
		{"unknown parameter", []string{"--name", "bad", "--query", "SELECT id FROM orders WHERE company = :company_id AND x = :colour"}, 1,
			[]string{"uses :colour, which is neither a built-in parameter", "ferry company config ID colour=VALUE"}},
		{"chunk column missing", []string{"--name", "bad", "--query", "SELECT customer FROM orders WHERE company = :company_id"}, 1,
			[]string{"chunk column id is not in the query's result (columns: customer)"}},
		{"chunk column not integer", []string{"--name", "bad", "--query", "SELECT code, name FROM customers WHERE company = :company_id", "--chunk-column", "code"}, 1,
			[]string{"chunk column code is varchar(10), not an integer"}},
		{"two statements", []string{"--name", "bad", "--query", "SELECT id FROM orders; DELETE FROM orders"}, 1,
			[]string{"query refused"}},
		{"not a select", []string{"--name", "bad", "--query", "DELETE FROM orders WHERE id = :company_id"}, 1,
			[]string{"query refused"}},
		{"duplicate", []string{"--name", "orders", "--query", ordersQuery}, 1,
			[]string{"table orders already exists", "--replace"}},
		{"reserved name", []string{"--name", "_ferry_x", "--query", ordersQuery}, 1,
			[]string{"reserved"}},
		{"bad zero dates", []string{"--name", "bad", "--query", ordersQuery, "--zero-dates", "zero"}, 1,
			[]string{"--zero-dates error or --zero-dates null"}},
		{"missing query", []string{"--name", "bad"}, 2, []string{"--query are required"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, errs, code := ferryCLI(t, e.cli(append([]string{"table", "add"}, tc.args...)...)...)
			if code != tc.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tc.code, errs)
			}
			for _, w := range tc.want {
				if !strings.Contains(errs, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errs)
				}
			}
		})
	}
	if n := count(t, e.admin, "SELECT COUNT(*) FROM `tables`"); n != 2 {
		t.Errorf("refused adds wrote rows: %d tables", n)
	}

	// --replace changes the definition.
	out = mustFerry(t, e.cli("table", "add", "--name", "orders", "--query", "SELECT id, total FROM orders WHERE company = :company_id", "--replace")...)
	if !strings.Contains(out, "Replaced table orders") {
		t.Errorf("replace: %s", out)
	}
	if err := e.admin.QueryRow("SELECT params_select FROM `tables` WHERE name = 'orders'").Scan(&params); err != nil || params != "company_id" {
		t.Errorf("params_select after replace = %q, %v", params, err)
	}

	out = mustFerry(t, "table", "list", "--admin-dsn", e.adminURL)
	if !strings.Contains(out, "eu_orders") || !strings.Contains(out, ":company_id, :region") {
		t.Errorf("table list:\n%s", out)
	}
	mustFerry(t, "table", "disable", "eu_orders", "--admin-dsn", e.adminURL)
	var rows []struct {
		Name   string `json:"name"`
		Status string `json:"status"`
	}
	if err := jsonUnmarshalLoose(mustFerry(t, "table", "list", "--json", "--admin-dsn", e.adminURL), &rows); err != nil || len(rows) != 2 || rows[0].Status != "inactive" {
		t.Errorf("list --json after disable: %v %+v", err, rows)
	}
	mustFerry(t, "table", "enable", "eu_orders", "--admin-dsn", e.adminURL)
	if n := count(t, e.admin, "SELECT COUNT(*) FROM `tables` WHERE status = 'active'"); n != 2 {
		t.Errorf("enable: %d active", n)
	}
	_, errs, code := ferryCLI(t, "table", "disable", "nope", "--admin-dsn", e.adminURL)
	if code != 1 || !strings.Contains(errs, "table nope does not exist") {
		t.Errorf("disable missing: exit %d %q", code, errs)
	}
}
