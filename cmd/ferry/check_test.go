package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

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

// addGlobexRow adds company 43 (globex) as a row only, the way the
// original tool did: its schema bi_globex does not exist yet.
func addGlobexRow(t *testing.T, e *opsEnv) {
	t.Helper()
	for _, q := range []string{
		"INSERT INTO companies (company_id, status, alias) VALUES (43, 'active', 'globex')",
		"INSERT INTO companies_configurations VALUES (43, 'days', '7')",
	} {
		if _, err := e.admin.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
}

func TestCheckOK(t *testing.T) {
	e := newOpsEnv(t, "postgres")
	e.migrate(t)
	mustFerry(t, e.cli("company", "add", "--company-id", "42", "--alias", "acme", "--config", "days=30")...)
	mustFerry(t, e.cli("table", "add", "--name", "orders", "--query", ordersQuery)...)
	// A company whose schema does not exist yet.
	addGlobexRow(t, e)
	rep, human, code := checkReport(t, e.cli("check")...)
	if code != 0 || !rep.OK || rep.Problems != 0 {
		t.Fatalf("check: exit %d\n%s", code, human)
	}
	for _, want := range [][]string{
		{ops.StatusOK, "connect", "admin"}, {ops.StatusOK, "connect", "source"}, {ops.StatusOK, "connect", "target", "postgres"},
		{ops.StatusOK, "schema", "admin"},
		{ops.StatusOK, "privileges", "admin", "may read the configuration and record runs"},
		{ops.StatusOK, "privileges", "source", "may SELECT in database"},
		{ops.StatusOK, "privileges", "42 (acme)", "schema bi_acme: CREATE, INSERT, UPDATE, SELECT, DELETE, ALTER, RENAME and DROP"},
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
	grantOn(t, e, privs, "`"+db+"`.*", user)
}

// grantOn grants privs on object (`db`.* or `db`.`table`) to user.
func grantOn(t *testing.T, e *opsEnv, privs, object, user string) {
	t.Helper()
	for _, host := range []string{"127.0.0.1", "localhost"} {
		if _, err := e.admin.Exec(fmt.Sprintf("GRANT %s ON %s TO '%s'@'%s'", privs, object, user, host)); err != nil {
			t.Fatalf("grant: %v", err)
		}
	}
}

// dbName is the current database of db.
func dbName(t *testing.T, db *sql.DB) string {
	t.Helper()
	var name string
	if err := db.QueryRow("SELECT DATABASE()").Scan(&name); err != nil {
		t.Fatal(err)
	}
	return name
}

// A deliberately broken configuration: every problem is reported at once,
// each naming the company, table or database and its fix.
func TestCheckBroken(t *testing.T) {
	e := newOpsEnv(t, "mysql")
	e.migrate(t)
	selectOnly := e.targetDB         // the user may only SELECT here
	noAccess, _ := testdb.MySQL(t)   // exists; the user has no privilege on it
	fullAccess, _ := testdb.MySQL(t) // everything a run needs
	noUpdate, _ := testdb.MySQL(t)   // all but UPDATE, which the freshness upsert needs
	user, pass := mariaUser(t, e)
	grant(t, e, "SELECT", selectOnly, user)
	grant(t, e, "SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, ALTER", fullAccess, user)
	grant(t, e, "SELECT, INSERT, DELETE, CREATE, DROP, ALTER", noUpdate, user)
	restricted := fmt.Sprintf("mysql://%s:%s@127.0.0.1:3306/%s", user, pass, selectOnly)

	mustFerry(t, e.cli("company", "add", "--company-id", "42", "--alias", "acme", "--schema", selectOnly, "--config", "days=30")...)
	mustFerry(t, e.cli("company", "add", "--company-id", "43", "--alias", "globex", "--schema", noAccess, "--config", "days=30")...)
	mustFerry(t, e.cli("company", "add", "--company-id", "44", "--alias", "initech", "--schema", fullAccess, "--config", "days=30")...)
	mustFerry(t, e.cli("company", "add", "--company-id", "45", "--alias", "hooli", "--schema", noUpdate, "--config", "days=30")...)
	mustFerry(t, e.cli("table", "add", "--name", "orders", "--query", ordersQuery)...)
	mustFerry(t, e.cli("table", "add", "--name", "customer_names", "--query", "SELECT company AS id, name FROM customers WHERE company = :company_id")...)
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
		{ops.StatusFail, "privileges", "target", "42 (acme)", "may not create a table (needs CREATE)", "GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, ALTER ON `" + selectOnly + "`"},
		// No privilege at all on another.
		{ops.StatusFail, "privileges", "target", "43 (globex)", "may not create it", "CREATE DATABASE `" + noAccess + "`;"},
		// No UPDATE: the swap's freshness upsert would fail.
		{ops.StatusFail, "privileges", "target", "45 (hooli)", "may not upsert into it (needs UPDATE)", "GRANT SELECT, INSERT, UPDATE, DELETE"},
		// The healthy parts still pass.
		{ops.StatusOK, "privileges", "44 (initech)", "CREATE, INSERT, UPDATE, SELECT, DELETE, ALTER, RENAME and DROP"},
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
	for _, db := range []string{selectOnly, fullAccess, noUpdate} {
		if n := count(t, e.admin, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME LIKE '\\_ferry\\_check\\_%'", db); n != 0 {
			t.Errorf("%d scratch tables left in %s", n, db)
		}
	}

	// All four kinds in ONE report: a bad query, an unknown parameter, a
	// missing privilege (the source account may read orders, not
	// customers) and an unreachable database (the target). The queries
	// are still checked although the target is down.
	src := dbName(t, e.source)
	srcUser, srcPass := mariaUser(t, e)
	grantOn(t, e, "SELECT", "`"+src+"`.`orders`", srcUser)
	readOrdersOnly := fmt.Sprintf("mysql://%s:%s@127.0.0.1:3306/%s", srcUser, srcPass, src)
	dead := fmt.Sprintf("mysql://root@127.0.0.1:%d/nowhere", closedPort(t))
	rep, human, code = checkReport(t, "check", "--admin-dsn", e.adminURL, "--source-dsn", readOrdersOnly, "--target-dsn", dead)
	t.Log("ferry check, all four kinds of problem:\n" + human)
	if code != 1 {
		t.Fatalf("exit %d\n%s", code, human)
	}
	for _, w := range [][]string{
		{ops.StatusFail, "connect", "target", "cannot connect", "--target-dsn / FERRY_TARGET_DSN"},
		{ops.StatusFail, "query", "42 (acme)", "broken", "1064", "correct tables.query_select"},
		{ops.StatusFail, "query", "42 (acme)", "mystery", ":colour", "ferry company config 42 colour=VALUE"},
		{ops.StatusFail, "privileges", "source", "42 (acme)", "customer_names", "may not SELECT from table", "customers", "grant the source account (the user of --source-dsn / FERRY_SOURCE_DSN) SELECT on table `" + src + "`.`customers`"},
		{ops.StatusOK, "privileges", "source", "may SELECT in database " + src},
		{ops.StatusOK, "connect", "source"},
	} {
		if !hasItem(rep, w[0], w[1], w[2:]...) {
			t.Errorf("no item %v in:\n%s", w, human)
		}
	}
	// The table the account may read is not reported.
	if hasItem(rep, ops.StatusFail, "query", "|orders|") || hasItem(rep, ops.StatusFail, "privileges", "|orders|") {
		t.Errorf("the healthy table orders is reported as failing:\n%s", human)
	}
	if strings.Contains(human, srcPass) {
		t.Errorf("the output contains the source password:\n%s", human)
	}
	for _, fix := range []string{"fix: check the host, port", "fix: correct tables.query_select", "fix: give the company a value", "fix: grant the source account"} {
		if !strings.Contains(human, fix) {
			t.Errorf("the human report lacks %q:\n%s", fix, human)
		}
	}

	// An admin account that may only read: the run history cannot be
	// written, and check says so (and writes nothing).
	adminUser, adminPass := mariaUser(t, e)
	grant(t, e, "SELECT", dbName(t, e.admin), adminUser)
	readOnlyAdmin := fmt.Sprintf("mysql://%s:%s@127.0.0.1:3306/%s", adminUser, adminPass, dbName(t, e.admin))
	rep, human, code = checkReport(t, "check", "--admin-dsn", readOnlyAdmin, "--source-dsn", e.sourceURL, "--target-dsn", e.targetURL)
	if code != 1 || !hasItem(rep, ops.StatusFail, "privileges", "admin", "may not INSERT into ferry_runs", "may not UPDATE ferry_lease", "GRANT SELECT, INSERT, UPDATE") ||
		!hasItem(rep, ops.StatusOK, "privileges", "source") {
		t.Errorf("read-only admin: exit %d\n%s", code, human)
	}
	// Unreachable admin and source: both named; what needs them is skipped.
	rep, human, code = checkReport(t, "check", "--admin-dsn", dead, "--source-dsn", dead, "--target-dsn", e.targetURL)
	if code != 1 || !hasItem(rep, ops.StatusFail, "connect", "admin", "cannot connect", "--admin-dsn") ||
		!hasItem(rep, ops.StatusFail, "connect", "source", "cannot connect", "--source-dsn") ||
		!hasItem(rep, ops.StatusOK, "connect", "target") || !hasItem(rep, ops.StatusSkip, "queries") {
		t.Errorf("exit %d\n%s", code, human)
	}
}

// On a PostgreSQL target, a role that may use a company's schema but not
// create in it, and may not create schemas, fails for both companies, each
// with its GRANT; nothing is left behind (the checks roll back).
func TestCheckPostgresPrivileges(t *testing.T) {
	e := newOpsEnv(t, "postgres")
	e.migrate(t)
	mustFerry(t, e.cli("company", "add", "--company-id", "42", "--alias", "acme", "--config", "days=30")...)
	mustFerry(t, e.cli("table", "add", "--name", "orders", "--query", ordersQuery)...)
	addGlobexRow(t, e)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, e.targetPG)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	b := make([]byte, 4)
	rand.Read(b)
	role := "fc_" + hex.EncodeToString(b)
	var dbname string
	if err := conn.QueryRow(ctx, "SELECT current_database()").Scan(&dbname); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		"CREATE ROLE " + role + " LOGIN PASSWORD 'pw'",
		"GRANT CONNECT ON DATABASE \"" + dbname + "\" TO " + role,
		"REVOKE CREATE ON DATABASE \"" + dbname + "\" FROM PUBLIC",
		"GRANT USAGE ON SCHEMA bi_acme TO " + role,
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(context.Background(), e.targetPG)
		if err != nil {
			return
		}
		defer conn.Close(context.Background())
		conn.Exec(context.Background(), "DROP OWNED BY "+role)
		conn.Exec(context.Background(), "DROP ROLE IF EXISTS "+role)
	})
	u, err := url.Parse(e.targetPG)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(role, "pw")
	rep, human, code := checkReport(t, "check", "--admin-dsn", e.adminURL, "--source-dsn", e.sourceURL, "--target-dsn", u.String())
	if code != 1 {
		t.Fatalf("exit %d\n%s", code, human)
	}
	for _, w := range [][]string{
		{ops.StatusFail, "privileges", "target", "42 (acme)", "schema bi_acme", "may not create a table", `GRANT USAGE, CREATE ON SCHEMA "bi_acme"`},
		{ops.StatusFail, "privileges", "target", "43 (globex)", "schema bi_globex", "may not create the schema", `CREATE SCHEMA "bi_globex"`},
		{ops.StatusOK, "queries"},
	} {
		if !hasItem(rep, w[0], w[1], w[2:]...) {
			t.Errorf("no item %v in:\n%s", w, human)
		}
	}
	if rep.Problems != 2 {
		t.Errorf("%d problems, want 2:\n%s", rep.Problems, human)
	}
	if pgSchemaExists(t, e.targetPG, "bi_globex") {
		t.Error("check left schema bi_globex behind")
	}
}

// TestCheckHidesURLQuery: a PostgreSQL password given as a URL parameter
// (postgres://u@h/db?password=...) shows nowhere in `ferry check`'s
// output, whether the database answers or not: addresses are shown as
// scheme://user@host:port/database only.
func TestCheckHidesURLQuery(t *testing.T) {
	e := newOpsEnv(t, "postgres")
	e.migrate(t)
	const pw = "s3cretQueryPw"
	e.targetURL = e.targetPG + "&password=" + pw + "&sslkey=/" + pw
	out, errs, code := ferryCLI(t, e.cli("check")...)
	if strings.Contains(out+errs, pw) || !strings.Contains(out, "connected to postgres://postgres@127.0.0.1:5432/") {
		t.Errorf("check (exit %d) with a reachable target shows more than scheme, user, host, port and database:\n%s\n%s", code, out, errs)
	}
	port := closedPort(t)
	e.targetURL = fmt.Sprintf("postgres://ferry@127.0.0.1:%d/bi?sslmode=disable&connect_timeout=2&password=%s", port, pw)
	for _, json := range []bool{false, true} {
		args := e.cli("check")
		if json {
			args = append(args, "--json")
		}
		out, errs, code = ferryCLI(t, args...)
		if code == 0 || strings.Contains(out+errs, pw) || !strings.Contains(out+errs, fmt.Sprintf("postgres://ferry@127.0.0.1:%d/bi", port)) {
			t.Errorf("check (exit %d, json %v) with an unreachable target leaks the URL's query or does not name it:\n%s\n%s", code, json, out, errs)
		}
	}
}
