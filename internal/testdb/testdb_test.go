package testdb

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
)

func TestBothServers(t *testing.T) {
	db, name := MySQLDB(t)
	var got string
	if err := db.QueryRow("SELECT DATABASE()").Scan(&got); err != nil || got != name {
		t.Fatalf("mysql database = %q, %v; want %q", got, err, name)
	}
	conn, _ := PostgresConn(t)
	var one int
	if err := conn.QueryRow(context.Background(), "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("postgres: %d %v", one, err)
	}
}

// recorder is a testing.TB that records Fatalf and Skipf and ends the
// goroutine as the real ones do, so that a failing helper can be observed.
type recorder struct {
	testing.TB
	fatal, skip string
}

func (r *recorder) Helper()        {}
func (r *recorder) Cleanup(func()) {}
func (r *recorder) Name() string   { return "recorder" }
func (r *recorder) Fatal(args ...any) {
	r.fatal = fmt.Sprint(args...)
	runtime.Goexit()
}
func (r *recorder) Fatalf(format string, args ...any) {
	r.fatal = fmt.Sprintf(format, args...)
	runtime.Goexit()
}
func (r *recorder) Skipf(format string, args ...any) {
	r.skip = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// TestMissingServer: with no server to reach, a database test is skipped,
// except under CI=true, where it fails: CI never passes by skipping.
func TestMissingServer(t *testing.T) {
	t.Setenv("FERRY_TEST_MYSQL_DSN", "root@tcp(127.0.0.1:1)/?timeout=2s")
	t.Setenv("FERRY_TEST_POSTGRES_DSN", "postgres://postgres@127.0.0.1:1/postgres?sslmode=disable&connect_timeout=2")
	helpers := []struct {
		name string
		fn   func(testing.TB)
	}{
		{"MySQL", func(tb testing.TB) { MySQL(tb) }},
		{"Postgres", func(tb testing.TB) { Postgres(tb) }},
	}
	for _, h := range helpers {
		for _, ci := range []string{"true", ""} {
			t.Run(h.name+"/CI="+ci, func(t *testing.T) {
				t.Setenv("CI", ci)
				r := &recorder{}
				done := make(chan struct{})
				go func() {
					defer close(done)
					h.fn(r)
				}()
				<-done
				if ci == "true" {
					if r.fatal == "" || !strings.Contains(r.fatal, "required under CI=true") || r.skip != "" {
						t.Errorf("under CI=true: fatal %q, skip %q; want a failure", r.fatal, r.skip)
					}
				} else if r.skip == "" || r.fatal != "" {
					t.Errorf("without CI: fatal %q, skip %q; want a skip", r.fatal, r.skip)
				}
			})
		}
	}
}
