package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ferrydata/ferry/internal/testdb"
)

// TestDemo runs `ferry demo` small: the real state machine on the
// embedded server must copy every table and verify it, and leave nothing
// running.
func TestDemo(t *testing.T) {
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	var out, errb bytes.Buffer
	code := mainArgs([]string{"demo", "--rows", "3000", "--chunk-rows", "300"}, &out, &errb)
	if code != 0 {
		t.Fatalf("ferry demo: exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
	}
	s := out.String()
	if n := len(regexp.MustCompile(`target +\d+ rows [0-9a-f]{12}  ok\n`).FindAllString(s, -1)); n != 6 {
		t.Errorf("want 6 verified tables (2 companies × 3), got %d:\n%s", n, s)
	}
	for _, bad := range []string{"MISMATCH", "FAILED", "not swapped"} {
		if strings.Contains(s, bad) {
			t.Errorf("output contains %q:\n%s", bad, s)
		}
	}
	if !strings.Contains(s, "SUCCEEDED") || !strings.Contains(s, "3000 rows published") {
		t.Errorf("report lacks the success line:\n%s", s)
	}
	m := regexp.MustCompile(`on (127\.0\.0\.1:\d+)`).FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("no server address in the output:\n%s", s)
	}
	if c, err := net.DialTimeout("tcp", m[1], time.Second); err == nil {
		c.Close()
		t.Errorf("the embedded server at %s still accepts connections after the demo", m[1])
	}
	store := regexp.MustCompile(`store: (\S+)\)`).FindStringSubmatch(s)
	if store == nil {
		t.Fatalf("no store directory in the output:\n%s", s)
	}
	if _, err := os.Stat(store[1]); !os.IsNotExist(err) {
		t.Errorf("the demo's store %s was not removed", store[1])
	}
}

// TestDemoPostgres runs `ferry demo --source postgres` small on the local
// PostgreSQL: admin, source and target are fresh databases there; every
// table is copied and verified, and the databases are dropped.
func TestDemoPostgres(t *testing.T) {
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	conn, _ := testdb.PostgresConn(t) // fails under CI=true without PostgreSQL
	var out, errb bytes.Buffer
	code := mainArgs([]string{"demo", "--source", "postgres", "--postgres-url", testdb.PostgresServerURL(), "--rows", "3000", "--chunk-rows", "300"}, &out, &errb)
	s := out.String()
	if code != 0 {
		t.Fatalf("ferry demo --source postgres: exit %d\nstdout:\n%s\nstderr:\n%s", code, s, errb.String())
	}
	if n := len(regexp.MustCompile(`target +\d+ rows [0-9a-f]{12}  ok\n`).FindAllString(s, -1)); n != 6 || !strings.Contains(s, "3000 rows published") {
		t.Errorf("want 6 verified tables and 3000 rows published:\n%s", s)
	}
	m := regexp.MustCompile(`databases (ferry_demo_[0-9a-f]+)_admin`).FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("no database names in the output:\n%s", s)
	}
	var left int
	testdb.Must(t, "list databases", conn.QueryRow(context.Background(), "SELECT count(*) FROM pg_database WHERE datname LIKE $1", m[1]+"%").Scan(&left))
	if left != 0 {
		t.Errorf("%d of the demo's databases %s_* are left", left, m[1])
	}
}

func TestDemoBadFlags(t *testing.T) {
	var out, errb bytes.Buffer
	if code := mainArgs([]string{"demo", "extra"}, &out, &errb); code != 2 {
		t.Errorf("ferry demo extra: exit %d, want 2", code)
	}
	out.Reset()
	errb.Reset()
	if code := mainArgs([]string{"demo", "--help"}, &out, &errb); code != 0 || !strings.Contains(errb.String(), "Example:") {
		t.Errorf("ferry demo --help: exit %d, stderr:\n%s", code, errb.String())
	}
}
