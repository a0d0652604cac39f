package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/ferrydata/ferry/internal/ops"
	"github.com/ferrydata/ferry/internal/testdb"
)

// closedPort returns a loopback port nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

func hasItem(rep ops.Report, status, check string, parts ...string) bool {
	for _, it := range rep.Items {
		if it.Status != status || it.Check != check {
			continue
		}
		all := it.Database + "|" + it.Company + "|" + it.Table + "|" + it.Message + "|" + it.Fix
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(all, p)
		}
		if ok {
			return true
		}
	}
	return false
}

func checkReport(t *testing.T, args ...string) (ops.Report, string, int) {
	t.Helper()
	out, errs, code := ferryCLI(t, append(args, "--json")...)
	var rep ops.Report
	decode(t, out, &rep)
	human, _, code2 := ferryCLI(t, args...)
	if code2 != code {
		t.Errorf("exit %d with --json, %d without", code, code2)
	}
	_ = errs
	return rep, human, code
}

func TestCheckOK(t *testing.T) {
	e := newOpsEnv(t, "postgres")
	e.migrate(t)
	mustFerry(t, e.cli("company", "add", "--company-id", "42", "--alias", "acme", "--config", "days=30")...)
	mustFerry(t, e.cli("table", "add", "--name", "orders", "--query", ordersQuery)...)
	// A company whose schema does not exist yet.
	if _, err := e.admin.Exec("INSERT INTO companies (company_id, status, alias) VALUES (43, 'active', 'globex')"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.admin.Exec("INSERT INTO companies_configurations VALUES (43, 'days', '7')"); err != nil {
		t.Fatal(err)
	}
	rep, human, code := checkReport(t, e.cli("check")...)
	if code != 0 || !rep.OK || rep.Problems != 0 {
		t.Fatalf("check: exit %d\n%s", code, human)
	}
	for _, want := range [][]string{
		{ops.StatusOK, "connect", "admin"}, {ops.StatusOK, "connect", "source"}, {ops.StatusOK, "connect", "target", "postgres"},
		{ops.StatusOK, "schema", "admin"},
		{ops.StatusOK, "privileges", "42 (acme)", "schema bi_acme: CREATE, INSERT, DELETE, ALTER, RENAME and DROP"},
		{ops.StatusOK, "privileges", "43 (globex)", "does not exist yet; the target account may create it"},
		{ops.StatusOK, "queries", "1 tables × 2 companies"},
	} {
		if !hasItem(rep, want[0], want[1], want[2:]...) {
			t.Errorf("no item %v in:\n%s", want, human)
		}
	}
	if !strings.Contains(human, "All checks passed.") {
		t.Errorf("human output:\n%s", human)
	}
	// The scratch tables and the would-be schema are gone.
	if pgSchemaExists(t, e.targetPG, "bi_globex") {
		t.Error("check left schema bi_globex behind")
	}
	for _, tbl := range pgTables(t, e.targetPG) {
		if strings.Contains(tbl, "_ferry_check_") {
			t.Errorf("check left %s behind", tbl)
		}
	}
}

// mariaUser creates a MariaDB user reachable over 127.0.0.1 and returns
// its name and password; grants are the caller's. Dropped at cleanup.
func mariaUser(t *testing.T, e *opsEnv) (string, string) {
	t.Helper()
	b := make([]byte, 4)
	rand.Read(b)
	user, pass := "fc_"+hex.EncodeToString(b), "pw_"+hex.EncodeToString(b)
	for _, host := range []string{"127.0.0.1", "localhost"} {
		if _, err := e.admin.Exec(fmt.Sprintf("CREATE USER '%s'@'%s' IDENTIFIED BY '%s'", user, host, pass)); err != nil {
			t.Fatalf("create user: %v", err)
		}
		t.Cleanup(func() { e.admin.Exec(fmt.Sprintf("DROP USER IF EXISTS '%s'@'%s'", user, host)) })
	}
	return user, pass
}

func grant(t *testing.T, e *opsEnv, privs, db, user string) {
	t.Helper()
	for _, host := range []string{"127.0.0.1", "localhost"} {
		if _, err := e.admin.Exec(fmt.Sprintf("GRANT %s ON `%s`.* TO '%s'@'%s'", privs, db, user, host)); err != nil {
			t.Fatalf("grant: %v", err)
		}
	}
}

// A deliberately broken configuration: every problem is reported at once,
// each naming the company, table or database and its fix.
func TestCheckBroken(t *testing.T) {
	e := newOpsEnv(t, "mysql")
	e.migrate(t)
	selectOnly := e.targetDB         // the user may only SELECT here
	noAccess, _ := testdb.MySQL(t)   // exists; the user has no privilege on it
	fullAccess, _ := testdb.MySQL(t) // everything a run needs
	user, pass := mariaUser(t, e)
	grant(t, e, "SELECT", selectOnly, user)
	grant(t, e, "SELECT, INSERT, DELETE, CREATE, DROP, ALTER", fullAccess, user)
	restricted := fmt.Sprintf("mysql://%s:%s@127.0.0.1:3306/%s", user, pass, selectOnly)

	mustFerry(t, e.cli("company", "add", "--company-id", "42", "--alias", "acme", "--schema", selectOnly, "--config", "days=30")...)
	mustFerry(t, e.cli("company", "add", "--company-id", "43", "--alias", "globex", "--schema", noAccess, "--config", "days=30")...)
	mustFerry(t, e.cli("company", "add", "--company-id", "44", "--alias", "initech", "--schema", fullAccess, "--config", "days=30")...)
	mustFerry(t, e.cli("table", "add", "--name", "orders", "--query", ordersQuery)...)
	// Broken rows as an operator's hand-edit (or an old tool) leaves them:
	// `ferry table add` would have refused them.
	for _, q := range []string{
		"INSERT INTO `tables` (name, status, query_select, params_select) VALUES ('broken', 'active', 'SELECT id FRM orders WHERE company = :company_id', 'company_id')",
		"INSERT INTO `tables` (name, status, query_select, params_select) VALUES ('mystery', 'active', 'SELECT id FROM orders WHERE company = :company_id AND region = :colour', 'company_id,colour')",
	} {
		if _, err := e.admin.Exec(q); err != nil {
			t.Fatal(err)
		}
	}

	args := []string{"check", "--admin-dsn", e.adminURL, "--source-dsn", e.sourceURL, "--target-dsn", restricted}
	rep, human, code := checkReport(t, args...)
	if code != 1 || rep.OK {
		t.Fatalf("check of a broken configuration: exit %d\n%s", code, human)
	}
	want := [][]string{
		// The bad query, for every company.
		{ops.StatusFail, "query", "42 (acme)", "broken", "the query fails on the source", "1064", "correct tables.query_select"},
		{ops.StatusFail, "query", "43 (globex)", "broken", "1064"},
		// The unknown parameter.
		{ops.StatusFail, "query", "42 (acme)", "mystery", ":colour", "ferry company config 42 colour=VALUE"},
		// SELECT only on a schema.
		{ops.StatusFail, "privileges", "target", "42 (acme)", "may not create a table (needs CREATE)", "GRANT SELECT, INSERT, DELETE, CREATE, DROP, ALTER ON `" + selectOnly + "`"},
		// No privilege at all on another.
		{ops.StatusFail, "privileges", "target", "43 (globex)", "may not create it", "CREATE DATABASE `" + noAccess + "`;"},
		// The healthy parts still pass.
		{ops.StatusOK, "privileges", "44 (initech)", "CREATE, INSERT, DELETE, ALTER, RENAME and DROP"},
		{ops.StatusOK, "connect", "target"},
	}
	for _, w := range want {
		if !hasItem(rep, w[0], w[1], w[2:]...) {
			t.Errorf("no item %v in:\n%s", w, human)
		}
	}
	if rep.Problems < 7 {
		t.Errorf("%d problems, want at least 7 (2 companies × 2 tables × ... ):\n%s", rep.Problems, human)
	}
	if !strings.Contains(human, "fix: ") || !strings.Contains(human, fmt.Sprintf("%d problem(s), each with its fix", rep.Problems)) {
		t.Errorf("human output names no fixes:\n%s", human)
	}
	if strings.Contains(human, pass) {
		t.Errorf("the output contains the target password:\n%s", human)
	}
	// Scratch tables were removed even where the steps failed half-way.
	for _, db := range []string{selectOnly, fullAccess} {
		if n := count(t, e.admin, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME LIKE '\\_ferry\\_check\\_%'", db); n != 0 {
			t.Errorf("%d scratch tables left in %s", n, db)
		}
	}

	// An unreachable target database is one more item; the queries are
	// still checked and reported.
	dead := fmt.Sprintf("mysql://root@127.0.0.1:%d/nowhere", closedPort(t))
	rep, human, code = checkReport(t, "check", "--admin-dsn", e.adminURL, "--source-dsn", e.sourceURL, "--target-dsn", dead)
	if code != 1 {
		t.Fatalf("exit %d\n%s", code, human)
	}
	for _, w := range [][]string{
		{ops.StatusFail, "connect", "target", "cannot connect", "--target-dsn / FERRY_TARGET_DSN"},
		{ops.StatusFail, "query", "broken", "1064"},
		{ops.StatusFail, "query", "mystery", ":colour"},
		{ops.StatusOK, "connect", "source"},
	} {
		if !hasItem(rep, w[0], w[1], w[2:]...) {
			t.Errorf("no item %v in:\n%s", w, human)
		}
	}
	// Unreachable admin and source: both named; what needs them is skipped.
	rep, human, code = checkReport(t, "check", "--admin-dsn", dead, "--source-dsn", dead, "--target-dsn", e.targetURL)
	if code != 1 || !hasItem(rep, ops.StatusFail, "connect", "admin", "cannot connect", "--admin-dsn") ||
		!hasItem(rep, ops.StatusFail, "connect", "source", "cannot connect", "--source-dsn") ||
		!hasItem(rep, ops.StatusOK, "connect", "target") || !hasItem(rep, ops.StatusSkip, "queries") {
		t.Errorf("exit %d\n%s", code, human)
	}
}
