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

// ownedSequence is the sequence behind bi_acme.table.col
// (pg_get_serial_sequence: serial or identity) with the table and
// dependency type that own it in pg_depend, as "seq|owner.col|deptype".
func (e *env) ownedSequence(table, col string) string {
	e.t.Helper()
	return e.strings(`SELECT coalesce((SELECT s.oid::regclass::text || '|' || d.refobjid::regclass::text || '.' || a.attname || '|' || d.deptype::text
		FROM pg_class s
		JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = s.oid AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
		JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
		WHERE s.oid = pg_get_serial_sequence($1, $2)::regclass), 'no sequence owned by the column')`, "bi_acme."+quoteIdent(table), col)[0]
}

// TestSwapHandMadeSequenceColumns runs three consecutive runs over a live
// table created by hand with a column whose default draws from a sequence
// the table owns: serial/bigserial (OWNED BY, deptype 'a') must follow the
// data to the new live table at each swap, else the next PrepareStaging
// cannot drop the previous live table; identity columns (deptype 'i') get
// their own sequence per table and must survive the runs too.
func TestSwapHandMadeSequenceColumns(t *testing.T) {
	cases := []struct {
		name, ddl string
		wantSeq   string // the live table's sequence after every run
		deptype   string
	}{
		{"bigserial", `CREATE TABLE bi_acme.orders (id bigserial PRIMARY KEY, v text)`, `bi_acme.orders_id_seq|bi_acme.orders.id|a`, "a"},
		{"serial", `CREATE TABLE bi_acme.orders (id serial PRIMARY KEY, v text)`, `bi_acme.orders_id_seq|bi_acme.orders.id|a`, "a"},
		{"owned by, quoted names", `CREATE SEQUENCE bi_acme."Seq ""x"""; CREATE TABLE bi_acme.orders (id bigint PRIMARY KEY, v text, "N o" bigint NOT NULL DEFAULT nextval('bi_acme."Seq ""x"""'));
			ALTER SEQUENCE bi_acme."Seq ""x""" OWNED BY bi_acme.orders."N o"`, `bi_acme."Seq ""x"""|bi_acme.orders.N o|a`, "a"},
		{"identity by default", `CREATE TABLE bi_acme.orders (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, v text)`, ``, "i"},
		{"identity always", `CREATE TABLE bi_acme.orders (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, v text)`, ``, "i"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			ctx := context.Background()
			e.exec(c.ddl)
			seqCol := "id"
			if strings.Contains(c.ddl, `"N o"`) {
				seqCol = "N o"
			}
			// The query's columns are the hand-made table's (a default is
			// not part of a column's shape), so staging is LIKE live; a
			// column name Ferry cannot derive leaves only LIKE (nil).
			cols := handCols
			if c.name == "serial" {
				cols = []ferry.Column{{Name: "id", Type: "int"}, handCols[1]}
			}
			if seqCol != "id" {
				cols = nil
			}
			for run := 1; run <= 3; run++ {
				stg := ferry.StagingName("orders")
				if err := e.tg.PrepareStaging(ctx, testSchema, "orders", stg, cols, "id"); err != nil {
					t.Fatalf("run %d: prepare staging: %v", run, err)
				}
				prefix := fmt.Sprintf("r%d-", run)
				n := int64(run + 1)
				e.load(stg, 1, n+1, kvCSV(prefix, 1, n+1))
				if _, err := e.tg.Swap(ctx, ferry.SwapRequest{RunID: fmt.Sprintf("run-%d", run), Schema: testSchema,
					Tables: []ferry.SwapTable{{Table: "orders", Staging: stg, Expected: n}}}); err != nil {
					t.Fatalf("run %d: swap: %v", run, err)
				}
				var want []string
				for i := int64(1); i <= n; i++ {
					want = append(want, fmt.Sprintf("%d%s%d", i, prefix, i))
				}
				if got := e.liveRows("orders"); got != strings.Join(want, ",") {
					t.Fatalf("run %d: live = %s, want %s", run, got, strings.Join(want, ","))
				}
				got := e.ownedSequence("orders", seqCol)
				if c.wantSeq != "" && got != c.wantSeq {
					t.Fatalf("run %d: live sequence = %q, want %q", run, got, c.wantSeq)
				}
				if f := strings.Split(got, "|"); len(f) != 3 || f[1] != "bi_acme.orders."+seqCol || f[2] != c.deptype {
					t.Fatalf("run %d: live sequence = %q, want one owned by bi_acme.orders (deptype %s)", run, got, c.deptype)
				}
			}
			// The live table's default still draws from the original sequence.
			if c.deptype == "a" {
				e.exec(`SELECT setval(pg_get_serial_sequence('bi_acme.orders', $1), 100)`, seqCol)
				if seqCol == "id" {
					e.exec(`INSERT INTO bi_acme.orders (v) VALUES ('new')`)
					if n := e.int(`SELECT max(id) FROM bi_acme.orders`); n != 101 {
						t.Fatalf("id drawn from the default = %d, want 101", n)
					}
				}
			}
		})
	}
}

// TestPrepareStagingNeverCascades: the DROP of the old staging table never
// takes anything else with it. A sequence the old staging table owns but
// the live table's default uses (what swaps before the fix left behind) is
// given back to live; an object outside both tables that depends on the old
// staging table makes PrepareStaging a ConfigError that changes nothing.
func TestPrepareStagingNeverCascades(t *testing.T) {
	cases := []struct {
		name    string
		setup   string // run after the first cycle; %s is the staging table
		wantErr string // "" = PrepareStaging succeeds
	}{
		{"serial sequence left owned by staging", `ALTER SEQUENCE bi_acme.orders_id_seq OWNED BY bi_acme.%s.id`, ""},
		{"sequence owned by staging used by another table", `CREATE SEQUENCE bi_acme.other_seq OWNED BY bi_acme.%s.id;
			CREATE TABLE bi_acme.other (x bigint DEFAULT nextval('bi_acme.other_seq')); INSERT INTO bi_acme.other DEFAULT VALUES`,
			"other_seq"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			ctx := context.Background()
			e.exec(`CREATE TABLE bi_acme.orders (id bigserial PRIMARY KEY, v varchar(50))`)
			e.publish("orders", "run-1", "a", 2)
			stg := ferry.StagingName("orders")
			e.exec(fmt.Sprintf(c.setup, quoteIdent(stg)))
			stgOID := e.oid(stg)
			err := e.tg.PrepareStaging(ctx, testSchema, "orders", stg, kvCols, "id")
			if c.wantErr == "" {
				testdb.Must(t, "prepare staging", err)
				if got := e.ownedSequence("orders", "id"); got != "bi_acme.orders_id_seq|bi_acme.orders.id|a" {
					t.Fatalf("live sequence = %q, want it owned by bi_acme.orders.id", got)
				}
				e.load(stg, 1, 4, kvCSV("b", 1, 4))
				_, err := e.tg.Swap(ctx, ferry.SwapRequest{RunID: "run-2", Schema: testSchema, Tables: []ferry.SwapTable{{Table: "orders", Staging: stg, Expected: 3}}})
				testdb.Must(t, "swap", err)
				if e.liveRows("orders") != "1b1,2b2,3b3" {
					t.Fatalf("live = %s", e.liveRows("orders"))
				}
				return
			}
			var ce *ferry.ConfigError
			if !asErr(err, &ce) || !strings.Contains(err.Error(), c.wantErr) || !strings.Contains(err.Error(), stg) {
				t.Fatalf("prepare err = %v, want a ConfigError naming %s and %s", err, c.wantErr, stg)
			}
			if e.oid(stg) != stgOID || e.int(`SELECT count(*) FROM bi_acme.other WHERE x = 1`) != 1 || e.liveRows("orders") != "1a1,2a2" {
				t.Fatal("a refused PrepareStaging changed staging, live or the dependent table")
			}
		})
	}
}

// TestSwapRepeatableReadReader documents the one consistency limit of a
// swap, as PostgreSQL describes it for TRUNCATE and table rewrites: a
// REPEATABLE READ (or SERIALIZABLE) transaction whose snapshot is older
// than the load resolves the table's name to the new table at its next
// query and sees it empty (its rows were written after the snapshot). A
// transaction started after the swap sees the complete new table.
func TestSwapRepeatableReadReader(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.publish("orders", "run-1", "a", 3)
	reader, err := pgx.Connect(ctx, e.url)
	testdb.Must(t, "connect reader", err)
	defer reader.Close(ctx)
	tx, err := reader.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	testdb.Must(t, "begin", err)
	defer tx.Rollback(ctx)
	var one int
	testdb.Must(t, "take the snapshot", tx.QueryRow(ctx, `SELECT 1`).Scan(&one))
	e.publish("orders", "run-2", "b", 4)
	var n int64
	testdb.Must(t, "count in the old snapshot", tx.QueryRow(ctx, `SELECT count(*) FROM bi_acme.orders`).Scan(&n))
	if n != 0 {
		t.Fatalf("a REPEATABLE READ reader older than the swap sees %d rows; PostgreSQL's documented behavior is 0 (the new table's rows are newer than its snapshot)", n)
	}
	testdb.Must(t, "end", tx.Rollback(ctx))
	if got := e.liveRows("orders"); got != "1b1,2b2,3b3,4b4" {
		t.Fatalf("a new reader sees %s", got)
	}
}
