package main

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ferrydata/ferry/internal/postgres/pgtest"
	"github.com/ferrydata/ferry/internal/testdb"
)

// pgWorld is a PostgreSQL admin database and a PostgreSQL source, with
// the CLI's DSN flags pointing at them and at target.
type pgWorld struct {
	adminURL, sourceURL, targetURL string
	source                         *pgx.Conn
	store                          string
}

func newPGWorld(t *testing.T, targetURL string) *pgWorld {
	t.Helper()
	for _, k := range []string{"FERRY_ADMIN_DSN", "FERRY_SOURCE_DSN", "FERRY_TARGET_DSN", "FERRY_STORE", "FERRY_S3_ENDPOINT"} {
		t.Setenv(k, "")
	}
	w := &pgWorld{adminURL: testdb.Postgres(t), targetURL: targetURL, store: "file://" + t.TempDir()}
	w.source, w.sourceURL = testdb.PostgresConn(t)
	mustFerry(t, "admin", "migrate", "--admin-dsn", w.adminURL)
	return w
}

func (w *pgWorld) cli(args ...string) []string {
	return append(args, "--admin-dsn", w.adminURL, "--source-dsn", w.sourceURL, "--target-dsn", w.targetURL)
}

// run is `ferry run` with the world's databases and store.
func (w *pgWorld) run(t *testing.T, runID string) (string, int) {
	t.Helper()
	out, errs, code := ferryCLI(t, w.cli("run", "--run-id", runID, "--run-date", "2026-12-01", "--store", w.store)...)
	return out + errs, code
}

// TestFidelityThroughRun copies the PostgreSQL type-fidelity matrix
// (internal/postgres/pgtest) with `ferry run` (the real state machine:
// list-tables, export-chunk, load-chunk, swap-tables) from a PostgreSQL
// source, configured in a PostgreSQL admin database with `ferry table add`
// and `ferry company add`, to each target, and compares the published
// table with the source value by value: PostgreSQL byte for byte, MariaDB
// as each type's comparison says, with the values MySQL cannot hold NULL
// (the table's policy --zero-dates null); under the default policy error
// such a value fails the run naming the row.
func TestFidelityThroughRun(t *testing.T) {
	for _, target := range []string{"postgres", "mysql", "mysql-error"} {
		t.Run(target, func(t *testing.T) {
			var (
				targetURL, schema string
				check             func(pgtest.Fixture)
			)
			policy := "null"
			switch target {
			case "postgres":
				conn, u := testdb.PostgresConn(t)
				targetURL, schema = u, "bi_fid"
				check = func(fx pgtest.Fixture) { pgtest.CheckPostgresTarget(t, fx, conn, "bi_fid.matrix") }
			case "mysql-error":
				name, dsn := testdb.MySQL(t)
				targetURL, schema, policy = mysqlURL(t, dsn), name, "error"
			default:
				name, dsn := testdb.MySQL(t)
				targetURL, schema = mysqlURL(t, dsn), name
				db := openMy(t, dsn)
				check = func(fx pgtest.Fixture) { pgtest.CheckMySQLTarget(t, fx, db, name, "matrix") }
			}
			w := newPGWorld(t, targetURL)
			fx := pgtest.FidelityFixture(t, w.source)
			mustFerry(t, w.cli("company", "add", "--company-id", "1", "--alias", "fid", "--schema", schema, "--config", "min_id=0")...)
			mustFerry(t, w.cli("table", "add", "--name", "matrix", "--query", fx.Query, "--chunk-rows", "4", "--zero-dates", policy)...)
			out, code := w.run(t, "fidelity-"+target)
			if policy == "error" {
				// A value MySQL cannot hold fails its chunk naming the row
				// and the fix; the company is not published.
				if code != 1 || !regexp.MustCompile(`DataError: export company 1 \(fid\), chunk matrix#\d+ \[\d+,\d+\): row \d+: column \w+: value "[^"]+" cannot be stored in MySQL: .*zero_dates policy to null`).MatchString(out) {
					t.Fatalf("ferry run under the error policy: exit %d (want 1 and a DataError naming the row)\n%s", code, out)
				}
				return
			}
			if code != 0 || !strings.Contains(out, "SUCCEEDED") {
				t.Fatalf("ferry run: exit %d\n%s", code, out)
			}
			check(fx)
		})
	}
}

// pgOnlySource is the source of TestPostgresOnly: orders of companies 1
// and 2; code is text the query casts to integer.
var pgOnlySource = []string{
	`CREATE TABLE orders (id bigint PRIMARY KEY, company_id int NOT NULL, note text, total numeric(12,2) NOT NULL,
		placed_at timestamptz NOT NULL, code text NOT NULL)`,
	`INSERT INTO orders SELECT g, 1 + g % 2, CASE g % 4 WHEN 0 THEN NULL WHEN 1 THEN '' ELSE 'a,"b"' || E'\n' || g END,
		g * 1.25, timestamptz '2026-11-30 23:30:00+00' + g * interval '1 minute', (g * 7)::text FROM generate_series(1, 40) g`,
	`CREATE TABLE customers (id int PRIMARY KEY, company_id int NOT NULL, name text NOT NULL, tags text[])`,
	`INSERT INTO customers SELECT g, 1 + g % 2, 'Customer ' || g, ARRAY['x', NULL, 'y,"z"'] FROM generate_series(1, 10) g`,
}

// TestPostgresOnly is a PostgreSQL-only deployment through the CLI:
// PostgreSQL admin, source (read by a SELECT-only role) and target;
// `ferry table add`, `company add` (two companies), `plan`, `check` and
// `run`. The second run happens
// under readers of both companies' live tables, with company beta's data
// broken (a code its query cannot cast): acme still swaps, the run ends
// FAILED naming beta, beta keeps yesterday's tables, and no reader ever
// saw a missing table or a count other than yesterday's or today's.
func TestPostgresOnly(t *testing.T) {
	target, targetURL := testdb.PostgresConn(t)
	w := newPGWorld(t, targetURL)
	ctx := context.Background()
	for _, q := range pgOnlySource {
		if _, err := w.source.Exec(ctx, q); err != nil {
			t.Fatalf("source: %s: %v", q, err)
		}
	}
	// Ferry reads the source as a role that may only SELECT the two tables.
	_, w.sourceURL = testdb.PostgresRole(t, w.sourceURL, "ferry_ro_", "ro-secret", "GRANT SELECT ON orders, customers TO %I")
	const ordersQuery = "SELECT id, note, total, placed_at, code::int AS code FROM orders WHERE company_id = :company_id AND placed_at >= :since::date - 1"
	mustFerry(t, w.cli("table", "add", "--name", "orders", "--query", ordersQuery, "--chunk-rows", "6")...)
	mustFerry(t, w.cli("table", "add", "--name", "customers", "--query", "SELECT id, name, tags FROM customers WHERE company_id = :company_id", "--chunk-rows", "2")...)
	mustFerry(t, w.cli("company", "add", "--company-id", "1", "--alias", "acme", "--config", "days=2")...)
	mustFerry(t, w.cli("company", "add", "--company-id", "2", "--alias", "beta", "--config", "days=2")...)
	plan := mustFerry(t, w.cli("plan", "--run-date", "2026-12-01")...)
	if !regexp.MustCompile(`(?m)^2\s+beta\s+orders\s+bi_beta\.orders\s+20\s`).MatchString(plan) {
		t.Errorf("plan:\n%s", plan)
	}
	chk := mustFerry(t, w.cli("check")...)
	if !strings.Contains(chk, "All checks passed") || strings.Contains(chk+plan, "ro-secret") {
		t.Errorf("check (all passed, no password):\n%s", chk)
	}
	if out, code := w.run(t, "pg-only-1"); code != 0 {
		t.Fatalf("first run: exit %d\n%s", code, out)
	}
	for _, c := range []struct{ alias, id string }{{"acme", "1"}, {"beta", "2"}} {
		sameRows(t, w.source, target, "SELECT id, note, total, placed_at, code::int FROM orders WHERE company_id = "+c.id+" ORDER BY id", "SELECT * FROM bi_"+c.alias+".orders ORDER BY id")
		sameRows(t, w.source, target, "SELECT id, name, tags FROM customers WHERE company_id = "+c.id+" ORDER BY id", "SELECT * FROM bi_"+c.alias+".customers ORDER BY id")
	}

	// Today: acme has 10 more orders; one of beta's cannot be cast.
	for _, q := range []string{
		`INSERT INTO orders SELECT g, 1, 'new ' || g, g, timestamptz '2026-12-01 08:00:00+00', '1' FROM generate_series(101, 120, 2) g`,
		`UPDATE orders SET code = 'x' || code WHERE id = 7`,
	} {
		if _, err := w.source.Exec(ctx, q); err != nil {
			t.Fatalf("source: %s: %v", q, err)
		}
	}
	stop := readLive(t, targetURL, map[string][]int64{"bi_acme.orders": {20, 30}, "bi_beta.orders": {20}, "bi_acme.customers": {5}, "bi_beta.customers": {5}})
	out, code := w.run(t, "pg-only-2")
	stop()
	if code != 1 || !regexp.MustCompile(`(?m)^\s*beta\s+orders\s.*FAILED\s*$`).MatchString(out) || !strings.Contains(out, "execution pg-only-2 FAILED") ||
		strings.Contains(out, "ro-secret") {
		t.Fatalf("second run: exit %d (want 1, beta FAILED)\n%s", code, out)
	}
	sameRows(t, w.source, target, "SELECT id, note, total, placed_at, code::int FROM orders WHERE company_id = 1 ORDER BY id", "SELECT * FROM bi_acme.orders ORDER BY id")
	var n int
	testdb.Must(t, "count beta", target.QueryRow(ctx, "SELECT count(*) FROM bi_beta.orders WHERE id = 7 AND code = 49").Scan(&n))
	if n != 1 {
		t.Error("beta's live orders are not yesterday's (order 7 with code 49)")
	}
	runs := mustFerry(t, "runs", "--admin-dsn", w.adminURL)
	if !regexp.MustCompile(`pg-only-2.*(FAILED|failed)`).MatchString(runs) {
		t.Errorf("ferry runs does not show pg-only-2 failed:\n%s", runs)
	}
}

// sameRows compares two queries' rows as PostgreSQL prints them.
func sameRows(t *testing.T, src, tgt *pgx.Conn, srcQ, tgtQ string) {
	t.Helper()
	a, b := pgtest.PGTextRows(t, src, srcQ), pgtest.PGTextRows(t, tgt, tgtQ)
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Errorf("%s\n source %q\n target %q", tgtQ, a, b)
	}
}

// readLive reads each table's row count in a loop (one connection per
// table) until the returned stop is called, which fails the test if a
// read failed or saw a count not in the table's allowed list.
func readLive(t *testing.T, url string, allowed map[string][]int64) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pool, err := pgxpool.New(ctx, url)
	testdb.Must(t, "readers' pool", err)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		bad  []string
		seen = map[string]map[int64]bool{}
	)
	for table, ok := range allowed {
		seen[table] = map[int64]bool{}
		wg.Go(func() {
			for ctx.Err() == nil {
				var n int64
				err := pool.QueryRow(ctx, "SELECT count(*) FROM "+table).Scan(&n)
				mu.Lock()
				switch {
				case ctx.Err() != nil:
				case err != nil:
					bad = append(bad, fmt.Sprintf("%s: %v", table, err))
				case !contains(ok, n):
					bad = append(bad, fmt.Sprintf("%s: %d rows", table, n))
				default:
					seen[table][n] = true
				}
				mu.Unlock()
				time.Sleep(2 * time.Millisecond) // leave the shared machine some CPU
			}
		})
	}
	return func() {
		cancel()
		wg.Wait()
		pool.Close()
		if len(bad) > 0 {
			t.Errorf("readers saw %d bad reads, first: %s", len(bad), bad[0])
		}
		t.Logf("readers saw counts %v", seen)
	}
}

func contains(s []int64, v int64) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
