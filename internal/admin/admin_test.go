package admin_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/admin"
	"github.com/ferrydata/ferry/internal/testdb"
)

func TestMigrateKeepsOriginalRowsAndIsIdempotent(t *testing.T) {
	ctx := context.Background()
	db, _ := testdb.MySQLDB(t)
	// An admin database of the original tool, with rows.
	for _, s := range []string{
		"CREATE TABLE companies (company_id INT PRIMARY KEY, status VARCHAR(10), alias VARCHAR(50))",
		"CREATE TABLE `tables` (name VARCHAR(100) PRIMARY KEY, status VARCHAR(10), query_select TEXT, params_select TEXT, query_insert TEXT, params_insert TEXT)",
		"CREATE TABLE configurations (name VARCHAR(100) PRIMARY KEY)",
		"CREATE TABLE companies_configurations (company INT, configuration VARCHAR(100), value VARCHAR(255))",
		"INSERT INTO companies VALUES (7, 'active', 'acme'), (8, 'inactive', 'old')",
		"INSERT INTO `tables` VALUES ('orders', 'active', 'SELECT id, total FROM orders WHERE company_id = :company_id', 'company_id', 'INSERT ...', 'x')",
		"INSERT INTO configurations VALUES ('days')",
		"INSERT INTO companies_configurations VALUES (7, 'days', '30')",
	} {
		testdb.Must(t, s, exec(ctx, db, s))
	}
	for i := 0; i < 2; i++ {
		testdb.Must(t, "migrate", admin.Migrate(ctx, db))
	}
	var n int
	testdb.Must(t, "count", db.QueryRowContext(ctx, "SELECT COUNT(*) FROM schema_migrations").Scan(&n))
	migs, _ := admin.Migrations()
	if n != len(migs) || n < 2 {
		t.Fatalf("schema_migrations has %d rows, want %d", n, len(migs))
	}
	// A migration interrupted after its first statements is completed.
	testdb.Must(t, "forget", exec(ctx, db, "DELETE FROM schema_migrations WHERE version = 2"))
	testdb.Must(t, "re-migrate", admin.Migrate(ctx, db))

	cs, err := admin.ActiveCompanies(ctx, db, nil)
	testdb.Must(t, "active companies", err)
	want := []ferry.Company{{ID: 7, Alias: "acme", Schema: "bi_acme", Config: map[string]string{"days": "30"}}}
	if !reflect.DeepEqual(cs, want) {
		t.Fatalf("companies = %+v, want %+v", cs, want)
	}
	ts, err := admin.ActiveTables(ctx, db)
	testdb.Must(t, "active tables", err)
	if len(ts) != 1 || ts[0].ChunkColumn != "id" || ts[0].ChunkRows != admin.DefaultChunkRows || !reflect.DeepEqual(ts[0].Params, []string{"company_id"}) {
		t.Fatalf("tables = %+v", ts)
	}
}

func exec(ctx context.Context, db *sql.DB, s string) error {
	_, err := db.ExecContext(ctx, s)
	return err
}

func migrated(t *testing.T) *sql.DB {
	t.Helper()
	db, _ := testdb.MySQLDB(t)
	testdb.Must(t, "migrate", admin.Migrate(context.Background(), db))
	return db
}

func TestConfigWrites(t *testing.T) {
	ctx := context.Background()
	db := migrated(t)
	tx, err := db.BeginTx(ctx, nil)
	testdb.Must(t, "begin", err)
	testdb.Must(t, "add", admin.AddCompany(ctx, tx, admin.NewCompany{ID: 42, Alias: "acme", Config: map[string]string{"days": "7", "region": "eu"}}))
	testdb.Must(t, "add 2", admin.AddCompany(ctx, tx, admin.NewCompany{ID: 43, Alias: "globex", Schema: "reports_globex", Inactive: true}))
	testdb.Must(t, "commit", tx.Commit())

	var ce *ferry.ConfigError
	for _, bad := range []admin.NewCompany{
		{ID: 42, Alias: "other"},           // duplicate id
		{ID: 44, Alias: "acme"},            // duplicate alias
		{ID: 45, Alias: "Bad-Alias"},       // invalid alias
		{ID: 46, Alias: "ok", Schema: "1"}, // invalid schema
		{ID: 0, Alias: "zero"},             // invalid id
	} {
		if err := admin.AddCompany(ctx, db, bad); !errors.As(err, &ce) {
			t.Errorf("AddCompany(%+v) = %v, want ConfigError", bad, err)
		}
	}

	all, err := admin.ListCompanies(ctx, db)
	testdb.Must(t, "list", err)
	if len(all) != 2 || all[1].Schema != "reports_globex" || !all[1].SchemaSet || all[1].Status != admin.StatusInactive || all[0].Config["region"] != "eu" {
		t.Fatalf("companies = %+v", all)
	}
	testdb.Must(t, "activate", admin.SetCompanyStatus(ctx, db, 43, true))
	active, err := admin.ActiveCompanies(ctx, db, []int64{43})
	testdb.Must(t, "active", err)
	if len(active) != 1 || active[0].ID != 43 {
		t.Fatalf("active subset = %+v", active)
	}
	if err := admin.SetCompanyStatus(ctx, db, 99, true); !errors.Is(err, ferry.ErrNotFound) {
		t.Fatalf("SetCompanyStatus(missing) = %v", err)
	}

	spec := ferry.TableSpec{Name: "orders", Query: "SELECT id FROM o WHERE c = :company_id", Params: []string{"company_id"}, ChunkColumn: "id", ChunkRows: 1000, ZeroDates: ferry.ZeroDateNull}
	testdb.Must(t, "add table", admin.AddTable(ctx, db, spec, true))
	testdb.Must(t, "add table again", admin.AddTable(ctx, db, spec, true))
	testdb.Must(t, "add inactive", admin.AddTable(ctx, db, ferry.TableSpec{Name: "items", Query: "SELECT 1 AS id"}, false))
	for _, bad := range []ferry.TableSpec{
		{Name: "_ferry_x", Query: "SELECT 1"},
		{Name: "bad name", Query: "SELECT 1"},
		{Name: "t", Query: ""},
		{Name: "t", Query: "SELECT 1", ZeroDates: "zero"},
	} {
		if err := admin.AddTable(ctx, db, bad, true); !errors.As(err, &ce) {
			t.Errorf("AddTable(%+v) = %v, want ConfigError", bad, err)
		}
	}
	ts, err := admin.ActiveTables(ctx, db)
	testdb.Must(t, "active tables", err)
	if len(ts) != 1 || !reflect.DeepEqual(ts[0], spec) {
		t.Fatalf("active tables = %+v, want %+v", ts, spec)
	}
	testdb.Must(t, "deactivate", admin.SetTableStatus(ctx, db, "orders", false))
	if ts, _ := admin.ActiveTables(ctx, db); len(ts) != 0 {
		t.Fatalf("after deactivate: %+v", ts)
	}
	if err := admin.SetTableStatus(ctx, db, "nope", true); !errors.Is(err, ferry.ErrNotFound) {
		t.Fatalf("SetTableStatus(missing) = %v", err)
	}
	list, err := admin.ListTables(ctx, db)
	testdb.Must(t, "list tables", err)
	if len(list) != 2 {
		t.Fatalf("ListTables = %+v", list)
	}
}

func TestParseParams(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"company_id", []string{"company_id"}},
		{"company_id, since", []string{"company_id", "since"}},
		{":company_id,:since", []string{"company_id", "since"}},
		{`["company_id","days"]`, []string{"company_id", "days"}},
	} {
		got, err := admin.ParseParams(tc.in)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseParams(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	if _, err := admin.ParseParams(`["a",`); err == nil {
		t.Error("ParseParams(bad JSON) = nil error")
	}
}

func TestLease(t *testing.T) {
	ctx := context.Background()
	db := migrated(t)
	t0 := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	testdb.Must(t, "acquire", admin.AcquireLease(ctx, db, "run-1", time.Hour, t0))
	testdb.Must(t, "acquire again (same run)", admin.AcquireLease(ctx, db, "run-1", time.Hour, t0.Add(time.Minute)))

	err := admin.AcquireLease(ctx, db, "run-2", time.Hour, t0.Add(30*time.Minute))
	var held *ferry.RunLeaseHeldError
	if !errors.As(err, &held) || held.Holder != "run-1" {
		t.Fatalf("second run: %v, want RunLeaseHeldError held by run-1", err)
	}
	l, err := admin.GetLease(ctx, db)
	testdb.Must(t, "get", err)
	if l.Holder != "run-1" || !l.AcquiredAt.Equal(t0) || !l.ExpiresAt.Equal(t0.Add(61*time.Minute)) {
		t.Fatalf("lease = %+v", l)
	}
	// Another run's release does nothing.
	testdb.Must(t, "release other", admin.ReleaseLease(ctx, db, "run-2"))
	if l, _ := admin.GetLease(ctx, db); l.Holder != "run-1" {
		t.Fatalf("released by the wrong run: %+v", l)
	}
	// Expired: taken over.
	testdb.Must(t, "take over", admin.AcquireLease(ctx, db, "run-2", time.Hour, t0.Add(2*time.Hour)))
	testdb.Must(t, "release", admin.ReleaseLease(ctx, db, "run-2"))
	testdb.Must(t, "release twice", admin.ReleaseLease(ctx, db, "run-2"))
	testdb.Must(t, "acquire 3", admin.AcquireLease(ctx, db, "run-3", time.Hour, t0.Add(2*time.Hour)))
	prev, err := admin.ForceRelease(ctx, db)
	testdb.Must(t, "force", err)
	if prev.Holder != "run-3" {
		t.Fatalf("force released %+v", prev)
	}
	testdb.Must(t, "acquire 4", admin.AcquireLease(ctx, db, "run-4", time.Hour, t0.Add(2*time.Hour)))
}

func TestRuns(t *testing.T) {
	ctx := context.Background()
	db := migrated(t)
	t0 := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	testdb.Must(t, "start", admin.StartRun(ctx, db, "run-1", "2026-11-22", 2, t0))
	testdb.Must(t, "start again", admin.StartRun(ctx, db, "run-1", "2026-11-22", 2, t0.Add(time.Minute)))
	sw := t0.Add(10 * time.Minute)
	testdb.Must(t, "load", admin.RecordTableLoad(ctx, db, admin.TableLoad{RunID: "run-1", CompanyID: 7, Table: "orders", Chunks: 3, Rows: 100, Bytes: 2000, Seconds: 1.5, Status: admin.LoadSwapped, SwappedAt: &sw}))
	testdb.Must(t, "load again", admin.RecordTableLoad(ctx, db, admin.TableLoad{RunID: "run-1", CompanyID: 7, Table: "orders", Chunks: 3, Rows: 101, Bytes: 2000, Seconds: 1.5, Status: admin.LoadSwapped, SwappedAt: &sw}))
	testdb.Must(t, "load failed", admin.RecordTableLoad(ctx, db, admin.TableLoad{RunID: "run-1", CompanyID: 8, Table: "orders", Status: admin.LoadFailed, Error: "boom"}))
	fin := t0.Add(11 * time.Minute)
	testdb.Must(t, "finish", admin.FinishRun(ctx, db, admin.Run{RunID: "run-1", FinishedAt: &fin, Status: admin.RunFailed, Companies: 2, Failed: 1, Rows: 101, Summary: "1 failed"}))
	r, loads, err := admin.GetRun(ctx, db, "run-1")
	testdb.Must(t, "get", err)
	if r.Status != admin.RunFailed || !r.StartedAt.Equal(t0) || r.FinishedAt == nil || !r.FinishedAt.Equal(fin) || r.RunDate != "2026-11-22" || r.Rows != 101 {
		t.Fatalf("run = %+v", r)
	}
	if len(loads) != 2 || loads[0].Rows != 101 || !loads[0].SwappedAt.Equal(sw) || loads[1].Error != "boom" || loads[1].SwappedAt != nil {
		t.Fatalf("loads = %+v", loads)
	}
	// A run refused before it started still gets a row when finished.
	testdb.Must(t, "finish unknown", admin.FinishRun(ctx, db, admin.Run{RunID: "run-0", Status: admin.RunFailed}))
	runs, err := admin.ListRuns(ctx, db, 10)
	testdb.Must(t, "list", err)
	if len(runs) != 2 {
		t.Fatalf("runs = %+v", runs)
	}
	if _, _, err := admin.GetRun(ctx, db, "nope"); !errors.Is(err, ferry.ErrNotFound) {
		t.Fatalf("GetRun(missing) = %v", err)
	}
}

func TestLeaseConcurrentAcquireHasOneWinner(t *testing.T) {
	ctx := context.Background()
	db := migrated(t)
	t0 := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	const n = 6
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		go func() { errs <- admin.AcquireLease(ctx, db, fmt.Sprintf("run-%d", i), time.Hour, t0) }()
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
