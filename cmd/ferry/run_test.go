package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	gomysql "github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/admin"
	"github.com/ferrydata/ferry/internal/local"
	"github.com/ferrydata/ferry/internal/mysql"
	"github.com/ferrydata/ferry/internal/s3store/s3test"
	"github.com/ferrydata/ferry/internal/testdb"
)

// asMySQLURL turns a go-sql-driver DSN into the mysql:// URL form.
func asMySQLURL(t *testing.T, dsn string) string {
	t.Helper()
	cfg, err := gomysql.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	u := url.URL{Scheme: "mysql", Host: cfg.Addr, Path: "/" + cfg.DBName}
	if cfg.User != "" {
		u.User = url.User(cfg.User)
	}
	if cfg.Passwd != "" {
		u.User = url.UserPassword(cfg.User, cfg.Passwd)
	}
	return u.String()
}

// TestRunFromEnv runs `ferry run` with the databases and the store given
// only through FERRY_* variables: MariaDB admin and source, PostgreSQL
// target, and a directory store or an S3-compatible server (in-process
// fake S3, no AWS credentials in the environment). "flags" gives them as
// --admin-dsn, --source-dsn, --target-dsn, --store and --s3-endpoint over
// unusable FERRY_* values; "failing" has a table whose query fails at
// export, so the execution fails and `ferry run` exits 1 with the report.
func TestRunFromEnv(t *testing.T) {
	for _, kind := range []string{"file", "s3", "flags", "failing"} {
		t.Run(kind, func(t *testing.T) { testRunFromEnv(t, kind) })
	}
}

func testRunFromEnv(t *testing.T, kind string) {
	ctx := context.Background()
	_, adminDSN := testdb.MySQL(t)
	srcDB, _ := testdb.MySQLDB(t)
	pgURL := testdb.Postgres(t)
	adminDB, err := sql.Open("mysql", adminDSN)
	testdb.Must(t, "open admin", err)
	defer adminDB.Close()
	adm := mysql.NewAdmin(adminDB)
	_, err = adm.Migrate(ctx)
	testdb.Must(t, "migrate", err)
	testdb.Must(t, "add company", adm.AddCompany(ctx, admin.NewCompany{ID: 7, Alias: "acme"}))
	query := "SELECT id, note, total FROM orders WHERE company = :company_id"
	if kind == "failing" {
		// A scalar subquery returning two rows: planning cannot see it, the export fails.
		query = "SELECT id, note, total, (SELECT 1 UNION SELECT 2) AS two FROM orders WHERE company = :company_id"
	}
	testdb.Must(t, "add table", adm.AddTable(ctx, ferry.TableSpec{
		Name: "orders", Query: query, Params: []string{"company_id"},
		ChunkColumn: "id", ChunkRows: 2,
	}, true))
	for _, q := range []string{
		"CREATE TABLE orders (id BIGINT PRIMARY KEY, company INT NOT NULL, note TEXT NULL, total DECIMAL(10,2) NOT NULL)",
		`INSERT INTO orders VALUES (1, 7, 'a,"b"', 1.50), (2, 7, NULL, 2.00), (3, 7, '', 3.25), (4, 8, 'other', 4.00), (5, 7, 'line\nbreak', 5.00)`,
	} {
		if _, err := srcDB.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("FERRY_ADMIN_DSN", asMySQLURL(t, adminDSN))
	var srcName string
	testdb.Must(t, "source name", srcDB.QueryRow("SELECT DATABASE()").Scan(&srcName))
	cfg, err := gomysql.ParseDSN(testdb.MySQLServerDSN())
	testdb.Must(t, "server DSN", err)
	cfg.DBName = srcName
	t.Setenv("FERRY_SOURCE_DSN", asMySQLURL(t, cfg.FormatDSN()))
	t.Setenv("FERRY_TARGET_DSN", pgURL)
	var fake *s3test.Fake
	args := []string{"run", "--run-id", "env-run-1", "--run-date", "2026-11-22", "--json"}
	switch kind {
	case "flags":
		for _, f := range []struct{ env, flag string }{
			{"FERRY_ADMIN_DSN", "--admin-dsn"}, {"FERRY_SOURCE_DSN", "--source-dsn"}, {"FERRY_TARGET_DSN", "--target-dsn"},
		} {
			args = append(args, f.flag, os.Getenv(f.env))
			t.Setenv(f.env, "mysql://nobody@127.0.0.1:1/unusable")
		}
		fake = s3test.Start(t)
		args = append(args, "--store", "s3://"+fake.Bucket, "--s3-endpoint", fake.URL)
		t.Setenv("FERRY_STORE", "file:///nonexistent/unusable")
		t.Setenv("FERRY_S3_ENDPOINT", "http://127.0.0.1:1")
		t.Setenv("AWS_ACCESS_KEY_ID", "")
		t.Setenv("AWS_SECRET_ACCESS_KEY", "")
		t.Setenv("AWS_PROFILE", "")
	case "file", "failing":
		t.Setenv("FERRY_STORE", "file://"+t.TempDir())
		t.Setenv("FERRY_S3_ENDPOINT", "")
	case "s3":
		fake = s3test.Start(t)
		t.Setenv("FERRY_STORE", "s3://"+fake.Bucket)
		t.Setenv("FERRY_S3_ENDPOINT", fake.URL)
		t.Setenv("AWS_ACCESS_KEY_ID", "")
		t.Setenv("AWS_SECRET_ACCESS_KEY", "")
		t.Setenv("AWS_PROFILE", "")
	}

	var out, errb bytes.Buffer
	if kind == "failing" {
		args = args[:len(args)-1] // the printed report table, not --json
	}
	code := mainArgs(args, &out, &errb)
	if kind == "failing" {
		if code != 1 || !regexp.MustCompile(`(?m)^\s*acme\s+orders\s.*FAILED\s*$`).MatchString(out.String()) ||
			!strings.Contains(out.String(), "execution env-run-1 FAILED") {
			t.Fatalf("ferry run with a failing table: exit %d (want 1)\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
		}
		return
	}
	if code != 0 {
		t.Fatalf("ferry run: exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
	}
	var rep local.Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("--json report: %v\n%s", err, out.String())
	}
	if rep.Status != "SUCCEEDED" || rep.Rows != 4 || len(rep.Tables) != 1 || rep.Tables[0].Status != "ok" || rep.Tables[0].Chunks != rep.Tables[0].Loaded {
		t.Errorf("report %+v", rep)
	}
	if !strings.Contains(errb.String(), "planned run env-run-1") {
		t.Errorf("progress (stderr with --json) lacks the plan line:\n%s", errb.String())
	}
	conn, err := pgx.Connect(ctx, pgURL)
	testdb.Must(t, "connect target", err)
	defer conn.Close(ctx)
	var n int
	var notes string
	testdb.Must(t, "count", conn.QueryRow(ctx, `SELECT COUNT(*), string_agg(COALESCE(note, '<null>'), '|' ORDER BY id) FROM bi_acme.orders`).Scan(&n, &notes))
	if n != 4 || notes != "a,\"b\"|<null>||line\nbreak" {
		t.Errorf("target bi_acme.orders: %d rows, notes %q", n, notes)
	}
	if fake != nil {
		// The chunks, the manifest and the Map Run's results went to S3.
		objs, err := fake.Client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(fake.Bucket)})
		testdb.Must(t, "list bucket", err)
		var keys []string
		for _, o := range objs.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
		all := strings.Join(keys, " ")
		for _, want := range []string{"env-run-1/acme/manifest.json", "env-run-1/acme/orders/000000.csv.gz", "map-results/"} {
			if !strings.Contains(all, want) {
				t.Errorf("bucket lacks %s: %v", want, keys)
			}
		}
	}
}

// TestRunUsage checks flag errors exit 2 with a message that says what to do.
func TestRunUsage(t *testing.T) {
	t.Setenv("FERRY_STORE", "")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"run"}, "--store"},
		{[]string{"run", "--store", "file:///tmp/x", "extra"}, "unexpected argument"},
		{[]string{"run", "--store", "ftp://x"}, "FERRY_STORE"},
		{[]string{"run", "--company", "abc", "--store", "file:///tmp/x"}, "company"},
	} {
		var out, errb bytes.Buffer
		if code := mainArgs(tc.args, &out, &errb); code != 2 || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("ferry %v: exit %d, stderr %q; want 2 and %q", tc.args, code, errb.String(), tc.want)
		}
	}
	var out, errb bytes.Buffer
	t.Setenv("FERRY_ADMIN_DSN", "mysql://u:hunter2@127.0.0.1:1/db")
	if code := mainArgs([]string{"run", "--help"}, &out, &errb); code != 0 || !strings.Contains(errb.String(), "Example:") || strings.Contains(errb.String(), "hunter2") {
		t.Errorf("ferry run --help: exit %d, stderr:\n%s", code, errb.String())
	}
}
