package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/admin"
	"github.com/ferrydata/ferry/internal/localstore"
	"github.com/ferrydata/ferry/internal/ops"
	"github.com/ferrydata/ferry/internal/steps"
)

func TestRuns(t *testing.T) {
	e := newOpsEnv(t, "postgres")
	e.migrate(t)
	ctx := context.Background()
	out := mustFerry(t, "runs", "--admin-dsn", e.adminURL)
	if !strings.Contains(out, "No runs yet") {
		t.Errorf("empty history:\n%s", out)
	}
	mustFerry(t, e.cli("company", "add", "--company-id", "42", "--alias", "acme", "--config", "days=30")...)
	mustFerry(t, e.cli("company", "add", "--company-id", "43", "--alias", "globex", "--config", "days=30")...)
	mustFerry(t, e.cli("table", "add", "--name", "orders", "--query", ordersQuery)...)

	// History as the workflow records it: run 1 swapped both companies;
	// run 2 failed for globex; run 3 died holding the lease.
	t0 := time.Date(2026, 11, 20, 2, 0, 0, 0, time.UTC)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	at := func(d time.Duration) *time.Time { x := t0.Add(d); return &x }
	must(e.adm().StartRun(ctx, "run-1", "2026-11-20", 2, t0))
	must(e.adm().RecordTableLoad(ctx, admin.TableLoad{RunID: "run-1", CompanyID: 42, Table: "orders", Chunks: 1, Rows: 4, Status: admin.LoadSwapped, SwappedAt: at(time.Minute)}))
	must(e.adm().RecordTableLoad(ctx, admin.TableLoad{RunID: "run-1", CompanyID: 43, Table: "orders", Chunks: 1, Rows: 3, Status: admin.LoadSwapped, SwappedAt: at(time.Minute)}))
	must(e.adm().FinishRun(ctx, admin.Run{RunID: "run-1", RunDate: "2026-11-20", StartedAt: t0, FinishedAt: at(90 * time.Second), Status: admin.RunSucceeded, Companies: 2, Rows: 7}))
	t1 := t0.Add(24 * time.Hour)
	must(e.adm().StartRun(ctx, "run-2", "2026-11-21", 2, t1))
	must(e.adm().RecordTableLoad(ctx, admin.TableLoad{RunID: "run-2", CompanyID: 42, Table: "orders", Chunks: 1, Rows: 5, Status: admin.LoadSwapped, SwappedAt: at(24*time.Hour + time.Minute)}))
	must(e.adm().RecordTableLoad(ctx, admin.TableLoad{RunID: "run-2", CompanyID: 43, Table: "orders", Chunks: 1, Status: admin.LoadFailed,
		Error: "company 43 (globex): table orders: staging has 2 rows, the exported chunks have 3; live left unchanged (fix: rerun the workflow)"}))
	fin := t1.Add(2 * time.Minute)
	must(e.adm().FinishRun(ctx, admin.Run{RunID: "run-2", RunDate: "2026-11-21", StartedAt: t1, FinishedAt: &fin, Status: admin.RunFailed, Companies: 2, Failed: 1, Rows: 5}))
	t2 := time.Now().UTC().Add(-time.Hour)
	must(e.adm().StartRun(ctx, "run-3", "2026-11-22", 2, t2))
	must(e.adm().AcquireLease(ctx, "run-3", 12*time.Hour, t2))

	// What the target itself recorded at the swap.
	pg, err := pgx.Connect(ctx, e.targetPG)
	must(err)
	defer pg.Close(ctx)
	_, err = pg.Exec(ctx, "INSERT INTO bi_acme._ferry_freshness (table_name, run_id, rows, swapped_at) VALUES ('orders', 'run-2', 5, '2026-11-21 02:01:00+00')")
	must(err)
	out = mustFerry(t, "runs", "--admin-dsn", e.adminURL, "--target-dsn", e.targetURL)
	if !strings.Contains(out, "TARGET SAYS") || !strings.Contains(out, "run-2 at 2026-11-21 02:01:00Z") {
		t.Errorf("runs with the target lacks its freshness:\n%s", out)
	}

	out = mustFerry(t, "runs", "--admin-dsn", e.adminURL)
	t.Log("ferry runs:\n" + out)
	for _, want := range []string{"run-3", "RUNNING", "run-2", "FAILED", "2m0s", "run-1", "SUCCEEDED", "1m30s",
		"Run run-3 holds the run lease", "42       acme    orders  2026-11-21 02:01:00Z  run-2", "43       globex  orders  2026-11-20 02:01:00Z  run-1", "FAILED in run-2"} {
		if !strings.Contains(out, want) {
			t.Errorf("runs output lacks %q:\n%s", want, out)
		}
	}
	var list runsListResult
	decode(t, mustFerry(t, "runs", "--last", "2", "--json", "--admin-dsn", e.adminURL), &list)
	if len(list.Runs) != 2 || list.Runs[0].RunID != "run-3" || list.Lease == nil || list.Lease.Holder != "run-3" || len(list.Freshness) != 2 ||
		list.Freshness[1].RunID != "run-1" || list.Freshness[1].LastStatus != admin.LoadFailed {
		t.Errorf("runs --json: %+v", list)
	}

	out = mustFerry(t, "runs", "show", "run-2", "--admin-dsn", e.adminURL)
	t.Log("ferry runs show run-2:\n" + out)
	for _, want := range []string{"Run run-2: FAILED", "companies  2 (1 failed)", "43       globex  orders  FAILED", "Errors:", "staging has 2 rows"} {
		if !strings.Contains(out, want) {
			t.Errorf("runs show lacks %q:\n%s", want, out)
		}
	}
	var show runsShowResult
	decode(t, mustFerry(t, "runs", "show", "run-2", "--json", "--admin-dsn", e.adminURL), &show)
	if show.Run.Status != admin.RunFailed || len(show.Tables) != 2 || show.Tables[1].Error == "" {
		t.Errorf("runs show --json: %+v", show)
	}
	_, errs, code := ferryCLI(t, "runs", "show", "run-9", "--admin-dsn", e.adminURL)
	if code != 1 || !strings.Contains(errs, "run run-9 does not exist") {
		t.Errorf("show missing: exit %d %q", code, errs)
	}

	// release: refused without --yes, then done.
	_, errs, code = ferryCLI(t, "runs", "release", "--admin-dsn", e.adminURL)
	if code != 1 || !strings.Contains(errs, "run run-3 holds the lease") || !strings.Contains(errs, "--yes") {
		t.Errorf("release without --yes: exit %d %q", code, errs)
	}
	if l, _ := e.adm().GetLease(ctx); l.Holder != "run-3" {
		t.Fatalf("release without --yes changed the lease: %+v", l)
	}
	out = mustFerry(t, "runs", "release", "--yes", "--admin-dsn", e.adminURL)
	t.Log("ferry runs release --yes:\n" + out)
	if !strings.Contains(out, "Released the run lease of run-3") || !strings.Contains(out, "now marked failed") {
		t.Errorf("release: %s", out)
	}
	if l, _ := e.adm().GetLease(ctx); l.Holder != "" {
		t.Errorf("lease still held: %+v", l)
	}
	if r, _, _ := e.adm().GetRun(ctx, "run-3"); r.Status != admin.RunFailed || r.FinishedAt == nil {
		t.Errorf("run-3 after release: %+v", r)
	}
	// A new run can take the lease.
	must(e.adm().AcquireLease(ctx, "run-4", time.Hour, time.Now()))
	must(e.adm().ReleaseLease(ctx, "run-4"))
	var rel ops.Released
	decode(t, mustFerry(t, "runs", "release", "--yes", "--json", "--admin-dsn", e.adminURL), &rel)
	if rel.WasHeld {
		t.Errorf("second release: %+v", rel)
	}
}

// What `ferry company add` and `ferry table add` write is what the
// workflow copies: the four steps (internal/steps, in-process, a directory
// store) run over the CLI-made configuration, then `ferry runs` reports it.
func TestDay2ConfigDrivesTheWorkflow(t *testing.T) {
	e := newOpsEnv(t, "postgres")
	e.migrate(t)
	mustFerry(t, e.cli("table", "add", "--name", "orders", "--query", ordersQuery, "--chunk-rows", "2")...)
	mustFerry(t, e.cli("company", "add", "--company-id", "42", "--alias", "acme", "--config", "days=30", "--run-date", "2026-11-02")...)
	ctx := context.Background()

	tgt, err := ops.OpenTarget(ctx, e.targetURL)
	if err != nil {
		t.Fatal(err)
	}
	defer tgt.Close()
	src, err := ops.OpenSource(ctx, e.sourceURL)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	store, err := localstore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	st := steps.New(steps.Deps{Config: e.adm(), Ledger: e.adm(), Source: src, Target: tgt, Store: store})
	list, err := st.ListTables(ctx, ferry.ListTablesInput{RunID: "run-e2e", RunDate: "2026-11-02"})
	if err != nil {
		t.Fatal(err)
	}
	companies, err := steps.Companies(ctx, store, list)
	if err != nil {
		t.Fatal(err)
	}
	var outcomes []ferry.CompanyOutcome
	for _, c := range companies {
		r, err := store.Open(ctx, c.ManifestKey)
		if err != nil {
			t.Fatal(err)
		}
		var tasks []ferry.ChunkTask
		err = json.NewDecoder(r).Decode(&tasks)
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, task := range tasks {
			exp, err := st.ExportChunk(ctx, task)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := st.LoadChunk(ctx, exp); err != nil {
				t.Fatal(err)
			}
		}
		sw, err := st.SwapTables(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		outcomes = append(outcomes, ferry.CompanyOutcome{CompanyID: c.CompanyID, Alias: c.Alias, Rows: sw.Rows})
	}
	if _, err := st.FinishRun(ctx, ferry.FinishRunInput{RunID: "run-e2e", Outcomes: outcomes}); err != nil {
		t.Fatal(err)
	}
	if n, err := tgt.Count(ctx, "bi_acme", "orders"); err != nil || n != 4 {
		t.Fatalf("bi_acme.orders has %d rows (%v), want 4", n, err)
	}
	out := mustFerry(t, "runs", "--admin-dsn", e.adminURL, "--target-dsn", e.targetURL)
	t.Log("ferry runs:\n" + out)
	for _, want := range []string{"run-e2e", "SUCCEEDED", "42       acme   orders", "run-e2e at"} {
		if !strings.Contains(out, want) {
			t.Errorf("runs lacks %q:\n%s", want, out)
		}
	}
	out = mustFerry(t, "runs", "show", "run-e2e", "--admin-dsn", e.adminURL)
	if !strings.Contains(out, "SWAPPED") || !strings.Contains(out, "42       acme   orders  SWAPPED  2       4") {
		t.Errorf("runs show:\n%s", out)
	}
	// The plan of the next run matches.
	var p planResult
	decode(t, mustFerry(t, e.cli("plan", "--run-date", "2026-11-02", "--json")...), &p)
	if p.EstRows != 4 || p.Chunks != 2 {
		t.Errorf("plan after the run: %+v", p)
	}
}

// The operator's path end to end, all through the CLI: migrate, add a
// table, add a company, check, `ferry run`, then the history. The target
// is MariaDB here (the test above uses PostgreSQL).
func TestDay2ThenFerryRun(t *testing.T) {
	e := newOpsEnv(t, "mysql")
	b := make([]byte, 4)
	rand.Read(b)
	schema := "t_ferry_ops_" + hex.EncodeToString(b)
	t.Cleanup(func() { e.admin.Exec("DROP DATABASE IF EXISTS `" + schema + "`") })
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("FERRY_S3_ENDPOINT", "")
	e.migrate(t)
	mustFerry(t, e.cli("table", "add", "--name", "orders", "--query", ordersQuery, "--chunk-rows", "2")...)
	mustFerry(t, e.cli("company", "add", "--company-id", "42", "--alias", "acme", "--schema", schema, "--config", "days=30", "--run-date", "2026-11-02")...)
	// The run's target account has exactly the grant `ferry check`
	// recommends: check passes with it, and so does the run (swap and
	// freshness upsert included).
	user, pass := mariaUser(t, e)
	grant(t, e, "SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, ALTER", schema, user)
	dsns := []string{"--admin-dsn", e.adminURL, "--source-dsn", e.sourceURL, "--target-dsn", fmt.Sprintf("mysql://%s:%s@127.0.0.1:3306/%s", user, pass, schema)}
	if out := mustFerry(t, append([]string{"check", "--run-date", "2026-11-02"}, dsns...)...); !strings.Contains(out, "connected to mysql://"+user+"@") {
		t.Errorf("check did not use the restricted target account:\n%s", out)
	}

	out := mustFerry(t, append([]string{"run", "--store", "file://" + t.TempDir(), "--run-id", "cli-run-1", "--run-date", "2026-11-02"}, dsns...)...)
	if !strings.Contains(out, "cli-run-1") {
		t.Errorf("ferry run output:\n%s", out)
	}
	if n := count(t, e.targetMy, "SELECT COUNT(*) FROM `"+schema+"`.`orders`"); n != 4 {
		t.Errorf("%s.orders has %d rows, want 4 (ids 1-4: company 42, updated since 2026-10-03)", schema, n)
	}
	var list runsListResult
	decode(t, mustFerry(t, "runs", "--json", "--admin-dsn", e.adminURL, "--target-dsn", e.targetURL), &list)
	if len(list.Runs) != 1 || list.Runs[0].RunID != "cli-run-1" || list.Runs[0].Status != admin.RunSucceeded || list.Runs[0].Rows != 4 ||
		len(list.Freshness) != 1 || list.Freshness[0].RunID != "cli-run-1" || list.Freshness[0].Target == nil || list.Freshness[0].Target.RunID != "cli-run-1" {
		t.Errorf("runs --json after ferry run: %+v", list)
	}
}
