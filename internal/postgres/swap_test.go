package postgres

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/testdb"
	"github.com/jackc/pgx/v5"
)

func (e *env) liveRows(table string) string {
	e.t.Helper()
	return e.strings(`SELECT coalesce(string_agg(id || v, ',' ORDER BY id), '') FROM bi_acme.` + quoteIdent(table))[0]
}

func TestSwapFirstAndSecondRun(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	// First run: no live tables yet; two tables swap together.
	sa, sb := e.prepare("a"), e.prepare("b")
	e.load(sa, 1, 3, kvCSV("a", 1, 3))
	e.load(sb, 1, 2, kvCSV("b", 1, 2))
	res, err := e.tg.Swap(ctx, ferry.SwapRequest{RunID: "run-1", Schema: testSchema, Tables: []ferry.SwapTable{
		{Table: "a", Staging: sa, Expected: 2}, {Table: "b", Staging: sb, Expected: 1}}})
	testdb.Must(t, "swap", err)
	if res.AlreadySwapped || res.SwappedAt.IsZero() {
		t.Fatalf("first swap result %+v", res)
	}
	if e.liveRows("a") != "1a1,2a2" || e.liveRows("b") != "1b1" {
		t.Fatalf("live after first swap: a=%s b=%s", e.liveRows("a"), e.liveRows("b"))
	}
	// Second run: live exists; staging is LIKE live; what was live is
	// truncated and becomes staging.
	sa = e.prepare("a")
	e.load(sa, 1, 5, kvCSV("x", 1, 5))
	sb = e.prepare("b")
	_, err = e.tg.Swap(ctx, ferry.SwapRequest{RunID: "run-2", Schema: testSchema, Tables: []ferry.SwapTable{
		{Table: "a", Staging: sa, Expected: 4}, {Table: "b", Staging: sb, Expected: 0}}})
	testdb.Must(t, "swap 2", err)
	if e.liveRows("a") != "1x1,2x2,3x3,4x4" || e.liveRows("b") != "" {
		t.Fatalf("live after second swap: a=%s b=%s", e.liveRows("a"), e.liveRows("b"))
	}
	if n := e.int(`SELECT count(*) FROM bi_acme.` + quoteIdent(sa)); n != 0 {
		t.Fatalf("the previous live table (now staging) has %d rows, want 0", n)
	}
	got := e.strings(`SELECT table_name || ':' || run_id || ':' || rows FROM bi_acme._ferry_freshness ORDER BY 1`)
	if strings.Join(got, " ") != "a:run-2:4 b:run-2:0" {
		t.Fatalf("freshness = %v", got)
	}
}

func TestSwapRetryDetected(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.publish("orders", "run-1", "a", 3)
	stg := e.prepare("orders")
	e.load(stg, 1, 6, kvCSV("b", 1, 6))
	req := ferry.SwapRequest{RunID: "run-2", Schema: testSchema, Tables: []ferry.SwapTable{{Table: "orders", Staging: stg, Expected: 5}}}
	first, err := e.tg.Swap(ctx, req)
	testdb.Must(t, "swap", err)
	oid := e.oid("orders")
	// The retry (Lambda or Step Functions) finds the swap done: it renames
	// nothing, and does not report the now-empty staging as a mismatch.
	again, err := e.tg.Swap(ctx, req)
	testdb.Must(t, "retried swap", err)
	if !again.AlreadySwapped || first.AlreadySwapped {
		t.Fatalf("first %+v, retry %+v: want only the retry AlreadySwapped", first, again)
	}
	if !again.SwappedAt.Equal(first.SwappedAt) {
		t.Errorf("retry SwappedAt %v, want the original %v", again.SwappedAt, first.SwappedAt)
	}
	if e.oid("orders") != oid || e.liveRows("orders") != "1b1,2b2,3b3,4b4,5b5" {
		t.Fatalf("the retry changed live: %s", e.liveRows("orders"))
	}
}

func TestSwapCountMismatchLeavesLive(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.publish("orders", "run-1", "a", 3)
	e.publish("items", "run-1", "i", 2)
	oid := e.oid("orders")
	so, si := e.prepare("orders"), e.prepare("items")
	e.load(so, 1, 6, kvCSV("b", 1, 6))
	e.load(si, 1, 4, kvCSV("j", 1, 4))
	_, err := e.tg.Swap(ctx, ferry.SwapRequest{RunID: "run-2", Schema: testSchema, Tables: []ferry.SwapTable{
		{Table: "orders", Staging: so, Expected: 5}, {Table: "items", Staging: si, Expected: 4}}})
	var me *ferry.CountMismatchError
	if !asErr(err, &me) || me.Table != "items" || me.Staging != 3 || me.Expected != 4 {
		t.Fatalf("err = %v, want CountMismatchError for items (3 vs 4)", err)
	}
	if e.oid("orders") != oid || e.liveRows("orders") != "1a1,2a2,3a3" || e.liveRows("items") != "1i1,2i2" {
		t.Fatalf("live changed by a refused swap: orders=%s items=%s", e.liveRows("orders"), e.liveRows("items"))
	}
	if n := e.int(`SELECT count(*) FROM bi_acme._ferry_freshness WHERE run_id = 'run-2'`); n != 0 {
		t.Fatalf("freshness records the refused run")
	}
}

// TestSwapUnderReaders swaps two complete datasets of different sizes back
// and forth while readers count the live table in a loop: no reader may see
// an error, a missing table or any other count.
func TestSwapUnderReaders(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	sizes := [2]int64{3, 5}
	e.publish("orders", "run-0", "a", sizes[0])

	const readers = 4
	var (
		stop   = make(chan struct{})
		wg     sync.WaitGroup
		mu     sync.Mutex
		bad    []string
		counts = map[int64]int{}
	)
	for r := 0; r < readers; r++ {
		conn, err := pgx.Connect(ctx, e.url) // default mode: cached prepared statements, like BI tools
		testdb.Must(t, "reader connect", err)
		defer conn.Close(ctx)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 100000; i++ { // bounded; stopped by the swapper
				select {
				case <-stop:
					return
				default:
				}
				var n int64
				err := conn.QueryRow(ctx, `SELECT count(*) FROM bi_acme.orders`).Scan(&n)
				mu.Lock()
				if err != nil {
					bad = append(bad, err.Error())
				} else if n != sizes[0] && n != sizes[1] {
					bad = append(bad, fmt.Sprintf("count %d", n))
				} else {
					counts[n]++
				}
				mu.Unlock()
				if err != nil {
					return
				}
			}
		}()
	}
	const swaps = 12
	for i := 1; i <= swaps; i++ {
		n := sizes[i%2]
		stg := e.prepare("orders")
		e.load(stg, 1, n+1, kvCSV("r", 1, n+1))
		_, err := e.tg.Swap(ctx, ferry.SwapRequest{RunID: fmt.Sprintf("run-%d", i), Schema: testSchema,
			Tables: []ferry.SwapTable{{Table: "orders", Staging: stg, Expected: n}}})
		testdb.Must(t, "swap", err)
		if got, _ := e.tg.Count(ctx, testSchema, "orders"); got != n {
			t.Fatalf("after swap %d live has %d rows, want %d", i, got, n)
		}
	}
	close(stop)
	wg.Wait()
	if len(bad) > 0 {
		t.Fatalf("readers saw %d bad results, first: %v", len(bad), bad[0])
	}
	t.Logf("reader counts %v", counts)
	if counts[sizes[0]] == 0 || counts[sizes[1]] == 0 {
		t.Logf("reader counts %v (readers did not see both datasets; the test still checked every read)", counts)
	}
}

func TestSwapWaitsForLocksWithBackoff(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.tg.LockTimeout = 100 * time.Millisecond
	e.publish("orders", "run-1", "a", 3)
	stg := e.prepare("orders")
	e.load(stg, 1, 5, kvCSV("b", 1, 5))
	req := ferry.SwapRequest{RunID: "run-2", Schema: testSchema, Tables: []ferry.SwapTable{{Table: "orders", Staging: stg, Expected: 4}}}

	// A long reader holds live; every attempt times out on its lock.
	holder, err := e.conn.Begin(ctx)
	testdb.Must(t, "begin", err)
	_, err = holder.Exec(ctx, `SELECT count(*) FROM bi_acme.orders`)
	testdb.Must(t, "read", err)
	var slept []time.Duration
	e.tg.SwapAttempts = 3
	e.tg.Sleep = func(ctx context.Context, d time.Duration) error { slept = append(slept, d); return nil }
	_, err = e.tg.Swap(ctx, req)
	if !isRetryable(err) || len(slept) != 2 {
		t.Fatalf("err = %v after %d sleeps: want RetryableError after 3 attempts", err, len(slept))
	}
	if e.liveRows("orders") != "1a1,2a2,3a3" || e.int(`SELECT count(*) FROM bi_acme.`+quoteIdent(stg)) != 4 {
		t.Fatal("a timed-out swap changed live or staging")
	}

	// The reader finishes during the first backoff: the second attempt wins.
	slept = nil
	e.tg.Sleep = func(ctx context.Context, d time.Duration) error {
		slept = append(slept, d)
		if len(slept) == 1 {
			return holder.Rollback(ctx)
		}
		return nil
	}
	res, err := e.tg.Swap(ctx, req)
	testdb.Must(t, "swap", err)
	if res.AlreadySwapped || len(slept) != 1 || e.liveRows("orders") != "1b1,2b2,3b3,4b4" {
		t.Fatalf("res %+v after %d sleeps, live %s", res, len(slept), e.liveRows("orders"))
	}
}

// createRole makes a cluster-wide role dropped at cleanup (before the test
// database, since cleanups run last-in first-out).
func (e *env) createRole(prefix string) string {
	e.t.Helper()
	b := make([]byte, 4)
	rand.Read(b)
	role := prefix + "_" + hex.EncodeToString(b)
	e.exec(`CREATE ROLE ` + quoteIdent(role) + ` NOLOGIN`)
	e.t.Cleanup(func() {
		ctx := context.Background()
		e.conn.Exec(ctx, `DROP OWNED BY `+quoteIdent(role))
		e.conn.Exec(ctx, `DROP ROLE IF EXISTS `+quoteIdent(role))
	})
	return role
}

func TestSwapKeepsGrantsAndOwner(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	reader := e.createRole("ferry_test_reader")
	writer := e.createRole("ferry_test_writer")
	owner := e.createRole("ferry_test_owner")
	e.exec(`GRANT USAGE ON SCHEMA bi_acme TO ` + quoteIdent(reader) + `, ` + quoteIdent(owner))
	e.publish("orders", "run-1", "a", 3)
	e.exec(`GRANT SELECT ON bi_acme.orders TO ` + quoteIdent(reader))
	e.exec(`GRANT SELECT, INSERT ON bi_acme.orders TO ` + quoteIdent(writer) + ` WITH GRANT OPTION`)
	e.exec(`ALTER TABLE bi_acme.orders OWNER TO ` + quoteIdent(owner))

	for run := 2; run <= 3; run++ { // twice: grants must survive every swap
		stg := e.prepare("orders")
		e.load(stg, 1, 3, kvCSV("b", 1, 3))
		_, err := e.tg.Swap(ctx, ferry.SwapRequest{RunID: fmt.Sprintf("run-%d", run), Schema: testSchema,
			Tables: []ferry.SwapTable{{Table: "orders", Staging: stg, Expected: 2}}})
		testdb.Must(t, "swap", err)
		checks := []struct {
			role, priv string
			want       bool
		}{
			{reader, "SELECT", true},
			{reader, "INSERT", false},
			{writer, "INSERT", true},
			{writer, "INSERT WITH GRANT OPTION", true},
			{writer, "DELETE", false},
		}
		for _, c := range checks {
			var got bool
			err := e.conn.QueryRow(ctx, `SELECT has_table_privilege($1, 'bi_acme.orders', $2)`, c.role, c.priv).Scan(&got)
			testdb.Must(t, "has_table_privilege", err)
			if got != c.want {
				t.Errorf("run %d: has_table_privilege(%s, %s) = %v, want %v", run, c.role, c.priv, got, c.want)
			}
		}
		if got := e.strings(`SELECT pg_get_userbyid(relowner)::text FROM pg_class WHERE oid = 'bi_acme.orders'::regclass`); got[0] != owner {
			t.Errorf("run %d: live owner %s, want %s", run, got[0], owner)
		}
	}
}

func TestDependentViewRefused(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.publish("orders", "run-1", "a", 3)
	stg := e.prepare("orders") // staging ready before the view appears
	e.load(stg, 1, 5, kvCSV("b", 1, 5))
	e.exec(`CREATE VIEW bi_acme.big_orders AS SELECT * FROM bi_acme.orders WHERE id > 1`)
	oid := e.oid("orders")

	_, err := e.tg.Swap(ctx, ferry.SwapRequest{RunID: "run-2", Schema: testSchema, Tables: []ferry.SwapTable{{Table: "orders", Staging: stg, Expected: 4}}})
	var ce *ferry.ConfigError
	if !asErr(err, &ce) || !strings.Contains(err.Error(), "view bi_acme.big_orders") || !strings.Contains(err.Error(), "SQL function") {
		t.Fatalf("swap err = %v, want a ConfigError naming the view and the fix", err)
	}
	if e.oid("orders") != oid || e.liveRows("orders") != "1a1,2a2,3a3" || e.liveRows("big_orders") != "2a2,3a3" {
		t.Fatal("a refused swap changed live or the view")
	}
	err = e.tg.PrepareStaging(ctx, testSchema, "orders", stg, kvCols, "id")
	if !asErr(err, &ce) || !strings.Contains(err.Error(), "big_orders") {
		t.Fatalf("prepare err = %v, want a ConfigError naming the view", err)
	}
	if n := e.int(`SELECT count(*) FROM bi_acme.` + quoteIdent(stg)); n != 4 {
		t.Fatalf("a refused PrepareStaging touched staging (%d rows)", n)
	}

	// A foreign key from another table is refused the same way.
	e.exec(`DROP VIEW bi_acme.big_orders`)
	e.exec(`ALTER TABLE bi_acme.orders ADD PRIMARY KEY (id)`)
	e.exec(`CREATE TABLE bi_acme.notes (order_id bigint REFERENCES bi_acme.orders (id))`)
	err = e.tg.PrepareStaging(ctx, testSchema, "orders", stg, kvCols, "id")
	if !asErr(err, &ce) || !strings.Contains(err.Error(), "foreign key") {
		t.Fatalf("prepare err = %v, want a ConfigError naming the foreign key", err)
	}
}

func TestSwapRequestValidation(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	cases := []ferry.SwapRequest{
		{RunID: "", Schema: testSchema, Tables: []ferry.SwapTable{{Table: "a", Staging: "b"}}},
		{RunID: "r", Schema: testSchema},
		{RunID: "r", Schema: "bad schema", Tables: []ferry.SwapTable{{Table: "a", Staging: "b"}}},
		{RunID: "r", Schema: testSchema, Tables: []ferry.SwapTable{{Table: "a", Staging: "a"}}},
	}
	for i, req := range cases {
		var ce *ferry.ConfigError
		if _, err := e.tg.Swap(ctx, req); !asErr(err, &ce) {
			t.Errorf("case %d: err = %v, want ConfigError", i, err)
		}
	}
	// A staging table that was never prepared is a mismatch, not a crash.
	_, err := e.tg.Swap(ctx, ferry.SwapRequest{RunID: "r", Schema: testSchema, Tables: []ferry.SwapTable{{Table: "a", Staging: ferry.StagingName("a"), Expected: 1}}})
	var me *ferry.CountMismatchError
	if !asErr(err, &me) {
		t.Fatalf("missing staging: err = %v, want CountMismatchError", err)
	}
}

// TestUnprivilegedRole runs Ferry as a plain login role with only CREATE on
// the database, as in production: the whole cycle works and grants are
// copied; a hand-made live table Ferry's role does not own is refused with
// a ConfigError, live untouched.
func TestUnprivilegedRole(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	app := e.createRole("ferry_test_app")
	reader := e.createRole("ferry_test_reader")
	e.exec(`ALTER ROLE ` + quoteIdent(app) + ` LOGIN`)
	e.exec(`GRANT CREATE ON DATABASE ` + quoteIdent(e.strings(`SELECT current_database()::text`)[0]) + ` TO ` + quoteIdent(app))
	u, err := url.Parse(e.url)
	testdb.Must(t, "url", err)
	u.User = url.User(app)
	tg, err := Open(ctx, u.String())
	testdb.Must(t, "open as "+app, err)
	defer tg.Close()
	tg.Logger = e.tg.Logger
	tg.Sleep = e.tg.Sleep
	as := &env{t: t, tg: tg, conn: e.conn, url: u.String()}

	testdb.Must(t, "ensure schema", tg.EnsureSchema(ctx, "bi_app"))
	run := func(runID, prefix string, n int64) error {
		stg := ferry.StagingName("orders")
		if err := tg.PrepareStaging(ctx, "bi_app", "orders", stg, kvCols, "id"); err != nil {
			return err
		}
		if _, err := tg.Load(ctx, ferry.LoadRequest{Schema: "bi_app", Staging: stg, ChunkColumn: "id", Lo: 1, Hi: n + 1}, bytes.NewReader(kvCSV(prefix, 1, n+1))); err != nil {
			return err
		}
		_, err := tg.Swap(ctx, ferry.SwapRequest{RunID: runID, Schema: "bi_app", Tables: []ferry.SwapTable{{Table: "orders", Staging: stg, Expected: n}}})
		return err
	}
	testdb.Must(t, "run 1", run("run-1", "a", 3))
	e.exec(`GRANT USAGE ON SCHEMA bi_app TO ` + quoteIdent(reader))
	e.exec(`GRANT SELECT ON bi_app.orders TO ` + quoteIdent(reader))
	testdb.Must(t, "run 2", run("run-2", "b", 4))
	var ok bool
	testdb.Must(t, "privilege", e.conn.QueryRow(ctx, `SELECT has_table_privilege($1, 'bi_app.orders', 'SELECT')`, reader).Scan(&ok))
	if !ok || as.int(`SELECT count(*) FROM bi_app.orders`) != 4 {
		t.Fatalf("after run 2 as %s: reader SELECT %v, live %d rows", app, ok, as.int(`SELECT count(*) FROM bi_app.orders`))
	}

	// A live table someone else owns cannot be renamed by Ferry's role.
	e.exec(`ALTER TABLE bi_app.orders OWNER TO ` + quoteIdent(reader))
	e.exec(`GRANT SELECT ON bi_app.orders TO ` + quoteIdent(app))
	err = run("run-3", "c", 5)
	var ce *ferry.ConfigError
	if !asErr(err, &ce) || !strings.Contains(err.Error(), "owner") {
		t.Fatalf("swap of a table owned by another role: err = %v, want a ConfigError about ownership", err)
	}
	if n := e.int(`SELECT count(*) FROM bi_app.orders`); n != 4 {
		t.Fatalf("live changed: %d rows", n)
	}
}
