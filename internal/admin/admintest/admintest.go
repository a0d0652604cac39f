// Package admintest is the contract test suite of the admin database:
// every admin.Backend (MySQL's in internal/mysql, and any other engine's)
// runs it against a real, migrated, empty admin database.
package admintest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/admin"
	"github.com/ferrydata/ferry/internal/testdb"
)

// Run runs every contract test; open returns a fresh, migrated, empty admin
// database for each.
func Run(t *testing.T, open func(*testing.T) *admin.DB) {
	for _, tc := range []struct {
		name string
		test func(*testing.T, func(*testing.T) *admin.DB)
	}{
		{"ConfigWrites", testConfigWrites},
		{"Lease", testLease},
		{"Runs", testRuns},
		{"LeaseConcurrentAcquireHasOneWinner", testLeaseConcurrentAcquireHasOneWinner},
		{"Freshness", testFreshness},
		{"Migrations", testMigrations},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.test(t, open) })
	}
}

func testConfigWrites(t *testing.T, open func(*testing.T) *admin.DB) {
	ctx := context.Background()
	adm := open(t)
	testdb.Must(t, "add", adm.InTx(ctx, func(tx *admin.DB) error {
		if err := tx.AddCompany(ctx, admin.NewCompany{ID: 42, Alias: "acme", Config: map[string]string{"days": "7", "region": "eu"}}); err != nil {
			return err
		}
		return tx.AddCompany(ctx, admin.NewCompany{ID: 43, Alias: "globex", Schema: "reports_globex", Inactive: true})
	}))

	var ce *ferry.ConfigError
	for _, bad := range []admin.NewCompany{
		{ID: 42, Alias: "other"},           // duplicate id
		{ID: 44, Alias: "acme"},            // duplicate alias
		{ID: 45, Alias: "Bad-Alias"},       // invalid alias
		{ID: 46, Alias: "ok", Schema: "1"}, // invalid schema
		{ID: 0, Alias: "zero"},             // invalid id
	} {
		if err := adm.AddCompany(ctx, bad); !errors.As(err, &ce) {
			t.Errorf("AddCompany(%+v) = %v, want ConfigError", bad, err)
		}
	}

	all, err := adm.ListCompanies(ctx)
	testdb.Must(t, "list", err)
	if len(all) != 2 || all[1].Schema != "reports_globex" || !all[1].SchemaSet || all[1].Status != admin.StatusInactive || all[0].Config["region"] != "eu" {
		t.Fatalf("companies = %+v", all)
	}
	testdb.Must(t, "activate", adm.SetCompanyStatus(ctx, 43, true))
	active, err := adm.ActiveCompanies(ctx, []int64{43})
	testdb.Must(t, "active", err)
	if len(active) != 1 || active[0].ID != 43 {
		t.Fatalf("active subset = %+v", active)
	}
	if err := adm.SetCompanyStatus(ctx, 99, true); !errors.Is(err, ferry.ErrNotFound) {
		t.Fatalf("SetCompanyStatus(missing) = %v", err)
	}

	spec := ferry.TableSpec{Name: "orders", Query: "SELECT id FROM o WHERE c = :company_id", Params: []string{"company_id"}, ChunkColumn: "id", ChunkRows: 1000, ZeroDates: ferry.ZeroDateNull}
	testdb.Must(t, "add table", adm.AddTable(ctx, spec, true))
	testdb.Must(t, "add table again", adm.AddTable(ctx, spec, true))
	testdb.Must(t, "add inactive", adm.AddTable(ctx, ferry.TableSpec{Name: "items", Query: "SELECT 1 AS id"}, false))
	for _, bad := range []ferry.TableSpec{
		{Name: "_ferry_x", Query: "SELECT 1"},
		{Name: "bad name", Query: "SELECT 1"},
		{Name: "t", Query: ""},
		{Name: "t", Query: "SELECT 1", ZeroDates: "zero"},
	} {
		if err := adm.AddTable(ctx, bad, true); !errors.As(err, &ce) {
			t.Errorf("AddTable(%+v) = %v, want ConfigError", bad, err)
		}
	}
	ts, err := adm.ActiveTables(ctx)
	testdb.Must(t, "active tables", err)
	if len(ts) != 1 || !reflect.DeepEqual(ts[0], spec) {
		t.Fatalf("active tables = %+v, want %+v", ts, spec)
	}
	testdb.Must(t, "deactivate", adm.SetTableStatus(ctx, "orders", false))
	if ts, _ := adm.ActiveTables(ctx); len(ts) != 0 {
		t.Fatalf("after deactivate: %+v", ts)
	}
	if err := adm.SetTableStatus(ctx, "nope", true); !errors.Is(err, ferry.ErrNotFound) {
		t.Fatalf("SetTableStatus(missing) = %v", err)
	}
	list, err := adm.ListTables(ctx)
	testdb.Must(t, "list tables", err)
	if len(list) != 2 {
		t.Fatalf("ListTables = %+v", list)
	}
}

func testLease(t *testing.T, open func(*testing.T) *admin.DB) {
	ctx := context.Background()
	adm := open(t)
	t0 := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	testdb.Must(t, "acquire", adm.AcquireLease(ctx, "run-1", time.Hour, t0))
	testdb.Must(t, "acquire again (same run)", adm.AcquireLease(ctx, "run-1", time.Hour, t0.Add(time.Minute)))

	err := adm.AcquireLease(ctx, "run-2", time.Hour, t0.Add(30*time.Minute))
	var held *ferry.RunLeaseHeldError
	if !errors.As(err, &held) || held.Holder != "run-1" {
		t.Fatalf("second run: %v, want RunLeaseHeldError held by run-1", err)
	}
	l, err := adm.GetLease(ctx)
	testdb.Must(t, "get", err)
	if l.Holder != "run-1" || !l.AcquiredAt.Equal(t0) || !l.ExpiresAt.Equal(t0.Add(61*time.Minute)) {
		t.Fatalf("lease = %+v", l)
	}
	// Another run's release does nothing.
	testdb.Must(t, "release other", adm.ReleaseLease(ctx, "run-2"))
	if l, _ := adm.GetLease(ctx); l.Holder != "run-1" {
		t.Fatalf("released by the wrong run: %+v", l)
	}
	// Expired: taken over.
	testdb.Must(t, "take over", adm.AcquireLease(ctx, "run-2", time.Hour, t0.Add(2*time.Hour)))
	testdb.Must(t, "release", adm.ReleaseLease(ctx, "run-2"))
	testdb.Must(t, "release twice", adm.ReleaseLease(ctx, "run-2"))
	testdb.Must(t, "acquire 3", adm.AcquireLease(ctx, "run-3", time.Hour, t0.Add(2*time.Hour)))
	prev, err := adm.ForceRelease(ctx)
	testdb.Must(t, "force", err)
	if prev.Holder != "run-3" {
		t.Fatalf("force released %+v", prev)
	}
	testdb.Must(t, "acquire 4", adm.AcquireLease(ctx, "run-4", time.Hour, t0.Add(2*time.Hour)))
}

func testRuns(t *testing.T, open func(*testing.T) *admin.DB) {
	ctx := context.Background()
	adm := open(t)
	t0 := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	testdb.Must(t, "start", adm.StartRun(ctx, "run-1", "2026-11-22", 2, t0))
	testdb.Must(t, "start again", adm.StartRun(ctx, "run-1", "2026-11-22", 2, t0.Add(time.Minute)))
	sw := t0.Add(10 * time.Minute)
	testdb.Must(t, "load", adm.RecordTableLoad(ctx, admin.TableLoad{RunID: "run-1", CompanyID: 7, Table: "orders", Chunks: 3, Rows: 100, Bytes: 2000, Seconds: 1.5, Status: admin.LoadSwapped, SwappedAt: &sw}))
	testdb.Must(t, "load again", adm.RecordTableLoad(ctx, admin.TableLoad{RunID: "run-1", CompanyID: 7, Table: "orders", Chunks: 3, Rows: 101, Bytes: 2000, Seconds: 1.5, Status: admin.LoadSwapped, SwappedAt: &sw}))
	testdb.Must(t, "load failed", adm.RecordTableLoad(ctx, admin.TableLoad{RunID: "run-1", CompanyID: 8, Table: "orders", Status: admin.LoadFailed, Error: "boom"}))
	fin := t0.Add(11 * time.Minute)
	testdb.Must(t, "finish", adm.FinishRun(ctx, admin.Run{RunID: "run-1", FinishedAt: &fin, Status: admin.RunFailed, Companies: 2, Failed: 1, Rows: 101, Summary: "1 failed"}))
	r, loads, err := adm.GetRun(ctx, "run-1")
	testdb.Must(t, "get", err)
	if r.Status != admin.RunFailed || !r.StartedAt.Equal(t0) || r.FinishedAt == nil || !r.FinishedAt.Equal(fin) || r.RunDate != "2026-11-22" || r.Rows != 101 {
		t.Fatalf("run = %+v", r)
	}
	if len(loads) != 2 || loads[0].Rows != 101 || !loads[0].SwappedAt.Equal(sw) || loads[1].Error != "boom" || loads[1].SwappedAt != nil {
		t.Fatalf("loads = %+v", loads)
	}
	// A run refused before it started still gets a row when finished.
	testdb.Must(t, "finish unknown", adm.FinishRun(ctx, admin.Run{RunID: "run-0", Status: admin.RunFailed}))
	runs, err := adm.ListRuns(ctx, 10)
	testdb.Must(t, "list", err)
	if len(runs) != 2 {
		t.Fatalf("runs = %+v", runs)
	}
	if _, _, err := adm.GetRun(ctx, "nope"); !errors.Is(err, ferry.ErrNotFound) {
		t.Fatalf("GetRun(missing) = %v", err)
	}
}

func testLeaseConcurrentAcquireHasOneWinner(t *testing.T, open func(*testing.T) *admin.DB) {
	ctx := context.Background()
	adm := open(t)
	t0 := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	const n = 6
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		go func() { errs <- adm.AcquireLease(ctx, fmt.Sprintf("run-%d", i), time.Hour, t0) }()
	}
	won, lost := 0, 0
	for i := 0; i < n; i++ {
		err := <-errs
		var h *ferry.RunLeaseHeldError
		var r *ferry.RetryableError
		switch {
		case err == nil:
			won++
		case errors.As(err, &h), errors.As(err, &r): // a deadlock between racers is retryable
			lost++
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	if won != 1 || lost != n-1 {
		t.Fatalf("%d runs won the lease, %d were refused; want exactly 1 winner", won, lost)
	}
}

// testFreshness: LastSwaps is the newest swapped load per company and
// table; LoadHistory lists loads oldest run first.
func testFreshness(t *testing.T, open func(*testing.T) *admin.DB) {
	ctx := context.Background()
	adm := open(t)
	t0 := time.Date(2026, 11, 20, 2, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *time.Time { x := t0.Add(d); return &x }
	for _, r := range []struct {
		run   string
		start time.Duration
		loads []admin.TableLoad
	}{
		{"run-1", 0, []admin.TableLoad{{CompanyID: 42, Table: "orders", Rows: 4, Status: admin.LoadSwapped, SwappedAt: at(time.Minute)}}},
		{"run-2", 24 * time.Hour, []admin.TableLoad{{CompanyID: 42, Table: "orders", Rows: 5, Status: admin.LoadSwapped, SwappedAt: at(24*time.Hour + time.Minute)}}},
		{"run-3", 48 * time.Hour, []admin.TableLoad{{CompanyID: 42, Table: "orders", Status: admin.LoadFailed, Error: "boom"}}},
	} {
		testdb.Must(t, "start "+r.run, adm.StartRun(ctx, r.run, "", 1, t0.Add(r.start)))
		for _, l := range r.loads {
			l.RunID = r.run
			testdb.Must(t, "load "+r.run, adm.RecordTableLoad(ctx, l))
		}
	}
	swaps, err := adm.LastSwaps(ctx)
	testdb.Must(t, "last swaps", err)
	if len(swaps) != 1 || swaps[0].RunID != "run-2" || swaps[0].Rows != 5 || !swaps[0].SwappedAt.Equal(*at(24*time.Hour + time.Minute)) {
		t.Fatalf("last swaps = %+v, want run-2's", swaps)
	}
	hist, err := adm.LoadHistory(ctx)
	testdb.Must(t, "history", err)
	if len(hist) != 3 || hist[2].RunID != "run-3" || hist[2].Status != admin.LoadFailed || hist[2].Error != "boom" {
		t.Fatalf("history = %+v, want run-3's failure last", hist)
	}
}

// testMigrations: a migrated database has every migration applied and
// RequireSchema accepts it; migrating again applies nothing.
func testMigrations(t *testing.T, open func(*testing.T) *admin.DB) {
	ctx := context.Background()
	adm := open(t)
	testdb.Must(t, "require schema", adm.RequireSchema(ctx))
	st, err := adm.Migrate(ctx)
	testdb.Must(t, "migrate again", err)
	if len(st) == 0 {
		t.Fatal("no migrations")
	}
	for _, m := range st {
		if !m.Applied || m.AppliedNow {
			t.Fatalf("migration %+v: want applied before", m)
		}
	}
	names, err := adm.ConfigurationNames(ctx)
	testdb.Must(t, "configuration names", err)
	if len(names) != 0 {
		t.Fatalf("configurations of an empty database: %v", names)
	}
	if denied := adm.DeniedWrites(ctx); len(denied) != 0 {
		t.Fatalf("the owner may not write: %v", denied)
	}
}
