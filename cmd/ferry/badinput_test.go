package main

import (
	"strings"
	"testing"
)

// adminFingerprint is every admin row a refused command must leave alone.
const adminFingerprint = "SELECT CONCAT_WS('|', (SELECT COUNT(*) FROM companies), (SELECT COUNT(*) FROM `tables`), " +
	"(SELECT COUNT(*) FROM companies_configurations), (SELECT COUNT(*) FROM configurations), (SELECT COUNT(*) FROM ferry_runs), " +
	"(SELECT COUNT(*) FROM ferry_table_loads), (SELECT COUNT(*) FROM ferry_lease WHERE holder IS NOT NULL), " +
	"(SELECT GROUP_CONCAT(CONCAT_WS(',', company_id, alias, status, IFNULL(target_schema, '-')) ORDER BY company_id) FROM companies), " +
	"(SELECT GROUP_CONCAT(CONCAT_WS(',', name, status, query_select) ORDER BY name) FROM `tables`), " +
	"(SELECT GROUP_CONCAT(CONCAT_WS(',', company, configuration, value) ORDER BY company, configuration) FROM companies_configurations))"

func adminState(t *testing.T, e *opsEnv) string {
	t.Helper()
	var s string
	if err := e.admin.QueryRow(adminFingerprint).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestBadInputRefusedBeforeAnyWrite is issue 9's bad-input list through
// the CLI on the real MariaDB source/admin and PostgreSQL target: each input
// is refused with exit 1 (2 for a usage error), a message naming the
// company and/or table and the fix, and no admin row or target object
// written. docs/reliability.md lists each case.
func TestBadInputRefusedBeforeAnyWrite(t *testing.T) {
	e := newOpsEnv(t, "postgres")
	e.migrate(t)
	mustFerry(t, e.cli("company", "add", "--company-id", "42", "--alias", "acme", "--config", "days=30", "--config", "region=eu")...)
	mustFerry(t, e.cli("table", "add", "--name", "orders", "--query", ordersQuery)...)
	long := strings.Repeat("x", 64)
	q := func(where string) string { return "SELECT id, total FROM orders WHERE company = :company_id" + where }
	for _, tc := range []struct {
		name string
		args []string
		code int
		want []string // each must appear in stderr
	}{
		// Injection attempts: identifiers are validated, values bound.
		{"table name injection", []string{"table", "add", "--name", "orders; DROP TABLE orders", "--query", q("")}, 1, []string{"table orders; DROP TABLE orders", "table name", "fix"}},
		{"table name quote", []string{"table", "add", "--name", "a`b", "--query", q("")}, 1, []string{"table name", "fix"}},
		{"alias injection", []string{"company", "add", "--company-id", "44", "--alias", "x'; DROP TABLE companies; --"}, 1, []string{"company 44", "alias", "fix"}},
		{"alias with spaces", []string{"company", "add", "--company-id", "44", "--alias", "ac me"}, 1, []string{"company 44", "fix"}},
		{"schema injection", []string{"company", "add", "--company-id", "44", "--alias", "initech", "--schema", "bi\"; DROP SCHEMA public; --", "--config", "days=1", "--config", "region=eu"}, 1, []string{"company 44", "target schema", "fix"}},
		{"chunk column injection", []string{"table", "add", "--name", "t2", "--query", q(""), "--chunk-column", "id) OR (1=1"}, 1, []string{"table t2", "chunk column", "fix"}},
		{"config value injection (days)", []string{"company", "config", "42", "days=1; DROP TABLE orders"}, 1, []string{"company 42", "days", "fix"}},
		{"config name injection", []string{"company", "add", "--company-id", "44", "--alias", "initech", "--config", "days=1", "--config", "region=eu", "--config", "x' OR '1'='1=v"}, 1, []string{"company 44", "fix"}},
		{"parameter name injection", []string{"table", "add", "--name", "t2", "--query", q(" AND region = :region;DROP")}, 1, []string{"table t2", "more than one statement", "fix"}},
		// Statements that are not one read-only SELECT.
		{"multi-statement", []string{"table", "add", "--name", "t2", "--query", q("; DELETE FROM orders")}, 1, []string{"table t2", "more than one statement", "fix"}},
		{"into outfile", []string{"table", "add", "--name", "t2", "--query", q(" INTO OUTFILE '/tmp/ferry_x'")}, 1, []string{"table t2", "INTO", "fix"}},
		{"into dumpfile", []string{"table", "add", "--name", "t2", "--query", "SELECT total FROM orders WHERE company = :company_id LIMIT 1 INTO DUMPFILE '/tmp/ferry_x'"}, 1, []string{"table t2", "INTO", "fix"}},
		{"for update", []string{"table", "add", "--name", "t2", "--query", q(" FOR UPDATE")}, 1, []string{"table t2", "FOR UPDATE", "fix"}},
		{"lock in share mode", []string{"table", "add", "--name", "t2", "--query", q(" LOCK IN SHARE MODE")}, 1, []string{"table t2", "LOCK IN SHARE MODE", "fix"}},
		{"load_file", []string{"table", "add", "--name", "t2", "--query", "SELECT id, LOAD_FILE('/etc/passwd') AS f FROM orders WHERE company = :company_id"}, 1, []string{"table t2", "LOAD_FILE()", "fix"}},
		{"write in executable comment", []string{"table", "add", "--name", "t2", "--query", q(" /*!50000 INTO OUTFILE '/tmp/ferry_x' */")}, 1, []string{"table t2", "executable comment", "fix"}},
		{"mariadb executable comment", []string{"table", "add", "--name", "t2", "--query", q(" /*M!100000 ; DELETE FROM orders */")}, 1, []string{"table t2", "executable comment", "fix"}},
		// Only parses under ANSI_QUOTES: the source session's sql_mode is
		// forced (internal/mysql SourceSQLMode), so it is a syntax error.
		{"ansi_quotes only", []string{"table", "add", "--name", "t2", "--query", `SELECT id FROM "orders" WHERE company = :company_id`}, 1, []string{"company 42 (acme), table t2", "1064", "fix"}},
		// Over-long identifiers.
		{"table name 64 bytes", []string{"table", "add", "--name", long, "--query", q("")}, 1, []string{"table " + long, "longer than 63", "fix"}},
		{"schema 64 bytes", []string{"company", "add", "--company-id", "44", "--alias", "initech", "--schema", long, "--config", "days=1", "--config", "region=eu"}, 1, []string{"company 44", "longer than 63", "fix"}},
		{"alias 41 bytes", []string{"company", "add", "--company-id", "44", "--alias", "a" + strings.Repeat("b", 40)}, 1, []string{"company 44", "fix"}},
		// Names differing only in case: one table or one database on a
		// MariaDB target with lower_case_table_names, confusing on PostgreSQL.
		{"table name differs only in case", []string{"table", "add", "--name", "Orders", "--query", q("")}, 1, []string{"table Orders", "the existing table orders only in case", "lower_case_table_names", "fix"}},
		{"table name differs only in case, --replace", []string{"table", "add", "--name", "ORDERS", "--replace", "--query", q("")}, 1, []string{"table ORDERS", "the existing table orders only in case", "fix"}},
		{"schema differs only in case", []string{"company", "add", "--company-id", "44", "--alias", "initech", "--schema", "BI_Acme", "--config", "days=1", "--config", "region=eu"}, 1, []string{"company 44", "target schema BI_Acme", "company 42 (acme)'s target schema bi_acme only in case", "fix"}},
		// company add whose preview planning fails: nothing written.
		{"company add, query would fail", []string{"company", "add", "--company-id", "44", "--alias", "initech", "--config", "region=eu"}, 1, []string{"company 44 (initech)", "nothing was written", "fix", "--config days=30"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, tablesBefore := adminState(t, e), strings.Join(pgTables(t, e.targetPG), ",")
			_, errs, code := ferryCLI(t, e.cli(tc.args...)...)
			if code != tc.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tc.code, errs)
			}
			for _, w := range tc.want {
				if !strings.Contains(errs, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errs)
				}
			}
			if after := adminState(t, e); after != before {
				t.Errorf("the admin database changed:\nbefore %s\nafter  %s", before, after)
			}
			if after := strings.Join(pgTables(t, e.targetPG), ","); after != tablesBefore {
				t.Errorf("the target changed:\nbefore %s\nafter  %s", tablesBefore, after)
			}
		})
	}
	// The source URL asks for ANSI_QUOTES: the forced sql_mode wins, the
	// query is still refused (and one that parses without it still works).
	ansi := e.sourceURL + "?sql_mode=%27ANSI_QUOTES%27"
	if strings.Contains(e.sourceURL, "?") {
		ansi = e.sourceURL + "&sql_mode=%27ANSI_QUOTES%27"
	}
	before := adminState(t, e)
	_, errs, code := ferryCLI(t, "table", "add", "--name", "t2", "--query", `SELECT id FROM "orders" WHERE company = :company_id`,
		"--admin-dsn", e.adminURL, "--source-dsn", ansi, "--target-dsn", e.targetURL)
	if code != 1 || !strings.Contains(errs, "company 42 (acme), table t2") || !strings.Contains(errs, "1064") {
		t.Errorf("ANSI_QUOTES asked in the source URL: exit %d\n%s", code, errs)
	}
	if after := adminState(t, e); after != before {
		t.Errorf("the admin database changed:\nbefore %s\nafter  %s", before, after)
	}
	mustFerry(t, "plan", "--admin-dsn", e.adminURL, "--source-dsn", ansi, "--target-dsn", e.targetURL)
}

// An admin row edited by hand into nonsense is refused at planning (ferry
// plan, ferry check, and so ferry run's list-tables) naming the company or
// table and the fix; nothing is written to the target.
func TestHandEditedAdminRowsRefused(t *testing.T) {
	e := newOpsEnv(t, "postgres")
	e.migrate(t)
	mustFerry(t, e.cli("company", "add", "--company-id", "42", "--alias", "acme", "--config", "days=30")...)
	mustFerry(t, e.cli("table", "add", "--name", "orders", "--query", ordersQuery)...)
	for _, tc := range []struct {
		name, edit, undo string
		want             []string
	}{
		{"negative chunk rows", "UPDATE `tables` SET chunk_rows = -5", "UPDATE `tables` SET chunk_rows = NULL", []string{"table orders", "chunk_rows is -5", "fix"}},
		{"unknown company status", "UPDATE companies SET status = 'paused'", "UPDATE companies SET status = 'active'", []string{"company 42", "paused", "fix"}},
		{"unknown table status", "UPDATE `tables` SET status = 'on'", "UPDATE `tables` SET status = 'active'", []string{"table orders", "fix"}},
		{"alias with spaces", "UPDATE companies SET alias = 'ac me'", "UPDATE companies SET alias = 'acme'", []string{"company 42", "alias", "fix"}},
		{"schema injection", "UPDATE companies SET target_schema = 'x\"; DROP SCHEMA public; --'", "UPDATE companies SET target_schema = NULL", []string{"company 42", "schema", "fix"}},
		{"bad params_select", "UPDATE `tables` SET params_select = 'company_id; DROP'", "UPDATE `tables` SET params_select = 'company_id,since'", []string{"table orders", "fix"}},
		{"unknown zero_dates", "UPDATE `tables` SET zero_dates = 'zero'", "UPDATE `tables` SET zero_dates = NULL", []string{"table orders", "zero", "fix"}},
		{"tables differing only in case", "INSERT INTO `tables` (name, status, query_select, params_select) SELECT 'Orders', status, query_select, params_select FROM `tables` WHERE name = 'orders'",
			"DELETE FROM `tables` WHERE name = 'Orders'", []string{"table Orders and table orders differ only in case", "lower_case_table_names", "fix"}},
		{"schemas differing only in case", "INSERT INTO companies (company_id, status, alias, target_schema) VALUES (43, 'active', 'acme2', 'BI_ACME')",
			"DELETE FROM companies WHERE company_id = 43", []string{"company 43 (acme2)", "target schema BI_ACME and company 42 (acme)'s target schema bi_acme differ only in case", "fix"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := e.admin.Exec(tc.edit); err != nil {
				t.Fatal(err)
			}
			defer e.admin.Exec(tc.undo)
			before, tablesBefore := adminState(t, e), strings.Join(pgTables(t, e.targetPG), ",")
			for _, cmd := range []string{"plan", "check"} {
				out, errs, code := ferryCLI(t, e.cli(cmd)...)
				errs = out + errs
				if code != 1 {
					t.Errorf("ferry %s: exit %d, want 1; stderr:\n%s", cmd, code, errs)
				}
				for _, w := range tc.want {
					if !strings.Contains(errs, w) {
						t.Errorf("ferry %s: stderr lacks %q:\n%s", cmd, w, errs)
					}
				}
			}
			if after := adminState(t, e); after != before {
				t.Errorf("the admin database changed:\nbefore %s\nafter  %s", before, after)
			}
			if after := strings.Join(pgTables(t, e.targetPG), ","); after != tablesBefore {
				t.Errorf("the target changed:\nbefore %s\nafter  %s", tablesBefore, after)
			}
		})
	}
}

// A MySQL target URL naming a database that does not exist
// (mysql://host:3306/reports): each company has its own database, so the
// target needs none in its URL; company add works and creates only the
// company's database.
func TestMySQLTargetURLDatabaseNotNeeded(t *testing.T) {
	e := newOpsEnv(t, "mysql")
	e.migrate(t)
	mustFerry(t, e.cli("table", "add", "--name", "orders", "--query", ordersQuery)...)
	schema := "t_ferry_bi_" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "_"))[:8] + e.targetDB[len(e.targetDB)-6:]
	t.Cleanup(func() { e.admin.Exec("DROP DATABASE IF EXISTS `" + schema + "`") })
	u := e.targetURL
	i := strings.LastIndex(u, "/")
	rest := ""
	if j := strings.Index(u[i:], "?"); j >= 0 {
		rest = u[i+j:]
	}
	missing := u[:i] + "/reports_does_not_exist" + rest
	out, errs, code := ferryCLI(t, "company", "add", "--company-id", "42", "--alias", "acme", "--schema", schema, "--config", "days=3650",
		"--admin-dsn", e.adminURL, "--source-dsn", e.sourceURL, "--target-dsn", missing)
	if code != 0 || !strings.Contains(out, schema+".orders") {
		t.Fatalf("company add with a target URL naming a missing database: exit %d\n%s\n%s", code, out, errs)
	}
	if n := count(t, e.admin, "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'reports_does_not_exist'"); n != 0 {
		t.Error("the URL's database was created")
	}
	out, errs, code = ferryCLI(t, "check", "--admin-dsn", e.adminURL, "--source-dsn", e.sourceURL, "--target-dsn", missing)
	if code != 0 {
		t.Errorf("check with a target URL naming a missing database: exit %d\n%s\n%s", code, out, errs)
	}
}
