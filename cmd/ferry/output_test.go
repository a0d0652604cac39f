package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	gomysql "github.com/go-sql-driver/mysql"

	"github.com/ferrydata/ferry/internal/admin"
	"github.com/ferrydata/ferry/internal/mysql"
	"github.com/ferrydata/ferry/internal/testdb"
)

var updateOpsGolden = flag.Bool("update-ops", false, "rewrite the day-2 commands' golden files in testdata/")

// opsEnv is an admin database, a source database (both MariaDB) and a
// target, as URLs the way an operator passes them.
type opsEnv struct {
	adminURL, sourceURL, targetURL string
	admin, source                  *sql.DB
	// targetPG is the target's URL for pgx when the target is PostgreSQL;
	// targetMy the target's go-sql-driver DSN when it is MySQL.
	targetPG string
	targetMy *sql.DB
	// targetDB is the MySQL target's database (usable as a company schema).
	targetDB string
}

// adm is the admin database as Ferry uses it.
func (e *opsEnv) adm() *admin.DB { return mysql.NewAdmin(e.admin) }

// mysqlURL turns a go-sql-driver DSN into a mysql:// URL.
func mysqlURL(t *testing.T, dsn string) string {
	t.Helper()
	cfg, err := gomysql.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	u := url.URL{Scheme: "mysql", Host: cfg.Addr, Path: "/" + cfg.DBName}
	if cfg.Passwd != "" {
		u.User = url.UserPassword(cfg.User, cfg.Passwd)
	} else if cfg.User != "" {
		u.User = url.User(cfg.User)
	}
	return u.String()
}

func openMy(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// newOpsEnv makes fresh databases; target is "postgres" or "mysql". The
// source has an orders table: company 42 has ids 1..5, company 43 ids
// 101..103, updated on 2026-11-01 (one of 42's on 2026-09-01).
func newOpsEnv(t *testing.T, target string) *opsEnv {
	t.Helper()
	// The operator's environment must not leak into the tests.
	for _, k := range []string{"FERRY_ADMIN_DSN", "FERRY_SOURCE_DSN", "FERRY_TARGET_DSN"} {
		t.Setenv(k, "")
	}
	e := &opsEnv{}
	_, adminDSN := testdb.MySQL(t)
	_, srcDSN := testdb.MySQL(t)
	e.adminURL, e.sourceURL = mysqlURL(t, adminDSN), mysqlURL(t, srcDSN)
	e.admin, e.source = openMy(t, adminDSN), openMy(t, srcDSN)
	switch target {
	case "postgres":
		e.targetPG = testdb.Postgres(t)
		e.targetURL = e.targetPG
	default:
		name, dsn := testdb.MySQL(t)
		e.targetDB = name
		e.targetURL = mysqlURL(t, dsn)
		e.targetMy = openMy(t, dsn)
	}
	for _, q := range []string{
		"CREATE TABLE orders (id BIGINT NOT NULL PRIMARY KEY, company INT NOT NULL, customer VARCHAR(40), total DECIMAL(10,2), updated_at DATETIME NOT NULL, region VARCHAR(4))",
		"INSERT INTO orders VALUES (1,42,'ann',10.50,'2026-11-01 10:00:00','eu'),(2,42,'bob',20.00,'2026-11-01 11:00:00','us'),(3,42,NULL,NULL,'2026-11-01 12:00:00','eu')," +
			"(4,42,'dan',1.25,'2026-11-02 00:00:00','eu'),(5,42,'eve',2.00,'2026-09-01 00:00:00','eu'),(101,43,'fay',3.00,'2026-11-01 00:00:00','us')," +
			"(102,43,'gus',4.00,'2026-11-01 00:00:00','us'),(103,43,'hal',5.00,'2026-11-01 00:00:00','eu')",
		"CREATE TABLE customers (code VARCHAR(10) NOT NULL PRIMARY KEY, company INT NOT NULL, name VARCHAR(40))",
		"INSERT INTO customers VALUES ('a',42,'Ann'),('b',42,'Bob')",
	} {
		if _, err := e.source.Exec(q); err != nil {
			t.Fatalf("source setup: %v", err)
		}
	}
	return e
}

// dsnArgs are the three DSN flags.
func (e *opsEnv) dsnArgs() []string {
	return []string{"--admin-dsn", e.adminURL, "--source-dsn", e.sourceURL, "--target-dsn", e.targetURL}
}

// ferry runs the CLI through mainArgs, with the real flag parsing.
func ferryCLI(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = mainArgs(args, &out, &errb)
	return out.String(), errb.String(), code
}

// mustFerry runs the CLI and fails the test unless it exits 0.
func mustFerry(t *testing.T, args ...string) string {
	t.Helper()
	out, errs, code := ferryCLI(t, args...)
	if code != 0 {
		t.Fatalf("ferry %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, out, errs)
	}
	return out
}

// withDSNs appends the env's DSN flags to args (flags may follow
// positional arguments).
func (e *opsEnv) cli(args ...string) []string { return append(args, e.dsnArgs()...) }

// migrate runs ferry admin migrate.
func (e *opsEnv) migrate(t *testing.T) {
	t.Helper()
	mustFerry(t, "admin", "migrate", "--admin-dsn", e.adminURL)
}

// decode unmarshals JSON output strictly.
func decode(t *testing.T, s string, v any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("--json output does not decode: %v\n%s", err, s)
	}
}

func count(t *testing.T, db *sql.DB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRowContext(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// golden compares got with testdata/name, rewriting it with -update-ops.
func opsGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *updateOpsGolden {
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run with -update-ops to create it)", err)
	}
	if !bytes.Equal(want, got) {
		t.Errorf("%s differs from the golden file:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func TestOutputHelpers(t *testing.T) {
	for _, tc := range []struct {
		n    int64
		want string
	}{{0, "0"}, {999, "999"}, {1000, "1,000"}, {1234567, "1,234,567"}, {-1234, "-1,234"}} {
		if got := humanInt(tc.n); got != tc.want {
			t.Errorf("humanInt(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
	var ids int64List
	if err := ids.Set("1,2"); err != nil || len(ids) != 2 {
		t.Fatalf("int64List: %v %v", ids, err)
	}
	if err := ids.Set("x"); err == nil {
		t.Error("int64List accepted x")
	}
	kv := kvList{}
	if err := kv.Set("days=30"); err != nil || kv["days"] != "30" {
		t.Fatalf("kvList: %v %v", kv, err)
	}
	for _, bad := range []string{"days=1", "novalue", "=x"} {
		if err := kv.Set(bad); err == nil {
			t.Errorf("kvList accepted %q", bad)
		}
	}
}

// Every day-2 command answers --help with an example and exit 0, and an
// unknown flag with exit 2.
func TestOpsHelp(t *testing.T) {
	// --help never prints a URL from the environment (it may hold a password).
	t.Setenv("FERRY_ADMIN_DSN", "mysql://u:topsecret@db/x")
	for _, args := range [][]string{
		{"admin", "migrate"}, {"company", "add"}, {"company", "list"}, {"company", "disable"}, {"company", "enable"}, {"company", "config"},
		{"table", "add"}, {"table", "list"}, {"table", "disable"}, {"table", "enable"},
		{"plan"}, {"check"}, {"runs"}, {"runs", "show"}, {"runs", "release"},
	} {
		t.Run(strings.Join(args, "_"), func(t *testing.T) {
			out, _, code := ferryCLI(t, append(args, "--help")...)
			if code != 0 || !strings.Contains(out, "Example:") || !strings.Contains(out, "ferry "+strings.Join(args, " ")) || strings.Contains(out, "topsecret") {
				t.Errorf("--help: exit %d, output:\n%s", code, out)
			}
			// Flags as kubectl and gh print them: --name, --json for
			// scripts, the admin database; unused DSN flags left out.
			if !strings.Contains(out, "\n  --json ") || !strings.Contains(out, "\n  --admin-dsn URL ") || strings.Contains(out, "\n  -admin-dsn") ||
				strings.Contains(out, "not used by this command") {
				t.Errorf("--help flags:\n%s", out)
			}
			if _, errs, code := ferryCLI(t, append(args, "--no-such-flag")...); code != 2 || !strings.Contains(errs, "no-such-flag") {
				t.Errorf("bad flag: exit %d, stderr %q", code, errs)
			}
		})
	}
	// A stray argument or a bad --run-date is a usage error (exit 2) that
	// points at --help, before any database is contacted.
	for _, args := range [][]string{
		{"admin", "migrate", "now"}, {"company", "list", "all"}, {"table", "list", "all"}, {"plan", "42"}, {"check", "all"},
		{"runs", "release", "run-1"}, {"plan", "--run-date", "2026-13-01"}, {"check", "--run-date", "today"},
		{"company", "add", "--company-id", "1", "--alias", "a", "--run-date", "x"}, {"table", "add", "--run-date", "x"},
	} {
		_, errs, code := ferryCLI(t, args...)
		if code != 2 || !strings.Contains(errs, "--help' for the flags and an example") || strings.Contains(errs, "database") {
			t.Errorf("ferry %s: exit %d, stderr %q", strings.Join(args, " "), code, errs)
		}
	}
	for _, g := range []string{"admin", "company", "table"} {
		if _, errs, code := ferryCLI(t, g); code != 2 || !strings.Contains(errs, "Commands:") {
			t.Errorf("ferry %s: exit %d, stderr %q", g, code, errs)
		}
		if _, errs, code := ferryCLI(t, g, "frobnicate"); code != 2 || !strings.Contains(errs, "unknown command") {
			t.Errorf("ferry %s frobnicate: exit %d, stderr %q", g, code, errs)
		}
	}
}

// A database that is not set names the flag and the variable.
func TestOpsMissingDSN(t *testing.T) {
	t.Setenv("FERRY_ADMIN_DSN", "")
	_, errs, code := ferryCLI(t, "company", "list")
	if code != 1 || !strings.Contains(errs, "--admin-dsn") || !strings.Contains(errs, "FERRY_ADMIN_DSN") {
		t.Errorf("exit %d, stderr %q", code, errs)
	}
}

// jsonUnmarshalLoose decodes s into v, ignoring fields v does not have.
func jsonUnmarshalLoose(s string, v any) error { return json.Unmarshal([]byte(s), v) }
