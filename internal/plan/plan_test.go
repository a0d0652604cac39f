package plan_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/mysql"
	"github.com/ferrydata/ferry/internal/plan"
	"github.com/ferrydata/ferry/internal/testdb"
)

func ch(i int, lo, hi, est int64) ferry.Chunk {
	return ferry.Chunk{Index: i, Lo: lo, Hi: hi, EstRows: est}
}

func TestRanges(t *testing.T) {
	for _, tc := range []struct {
		name   string
		b      ferry.Bounds
		starts []int64
		want   []ferry.Chunk
	}{
		{"empty", ferry.Bounds{}, nil, nil},
		{"single row", ferry.Bounds{Rows: 1, Min: 5, Max: 5}, nil, []ferry.Chunk{{Index: 0, Lo: 5, Hi: 6, EstRows: 1}}},
		{"starts include min", ferry.Bounds{Rows: 10, Min: 1, Max: 10}, []int64{1, 6}, []ferry.Chunk{ch(0, 1, 6, 5), ch(1, 6, 11, 5)}},
		{"starts exclude min", ferry.Bounds{Rows: 10, Min: 1, Max: 10}, []int64{6}, []ferry.Chunk{ch(0, 1, 6, 5), ch(1, 6, 11, 5)}},
		{"unsorted, duplicates, out of range", ferry.Bounds{Rows: 9, Min: 0, Max: 8}, []int64{6, 3, 3, -5, 9, 100}, []ferry.Chunk{ch(0, 0, 3, 3), ch(1, 3, 6, 3), ch(2, 6, 9, 3)}},
		{"sparse", ferry.Bounds{Rows: 2, Min: 1, Max: 1_800_000_000_000_000_000}, []int64{1_800_000_000_000_000_000},
			[]ferry.Chunk{ch(0, 1, 1_800_000_000_000_000_000, 1), ch(1, 1_800_000_000_000_000_000, 1_800_000_000_000_000_001, 1)}},
		{"negative keys", ferry.Bounds{Rows: 3, Min: -10, Max: -1}, []int64{-5}, []ferry.Chunk{ch(0, -10, -5, 2), ch(1, -5, 0, 1)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := plan.Ranges(tc.b, tc.starts)
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Ranges = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestCompanyParams(t *testing.T) {
	day := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		config  map[string]string
		want    map[string]ferry.Param
		wantErr string
	}{
		{"no config", nil, map[string]ferry.Param{"company_id": int64(42), "alias": "acme", "run_date": "2026-03-01"}, ""},
		{"days", map[string]string{"days": "30", "region": "eu", "bad-name": "x"},
			map[string]ferry.Param{"company_id": int64(42), "alias": "acme", "run_date": "2026-03-01", "since": "2026-01-30", "days": "30", "region": "eu"}, ""},
		{"last_days", map[string]string{"last_days": " 1 "},
			map[string]ferry.Param{"company_id": int64(42), "alias": "acme", "run_date": "2026-03-01", "since": "2026-02-28", "last_days": " 1 "}, ""},
		{"built-ins win", map[string]string{"company_id": "7"}, map[string]ferry.Param{"company_id": int64(42), "alias": "acme", "run_date": "2026-03-01"}, ""},
		{"bad days", map[string]string{"days": "thirty"}, nil, "days"},
		{"negative days", map[string]string{"days": "-1"}, nil, "days"},
		{"drift above 100%", map[string]string{"max_drift_pct": "101"}, nil, "max_drift_pct"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := plan.CompanyParams(ferry.Company{ID: 42, Alias: "acme", Config: tc.config}, day)
			if tc.wantErr != "" {
				var ce *ferry.ConfigError
				if !errors.As(err, &ce) || !strings.Contains(err.Error(), tc.wantErr) || ce.Company == "" || ce.Fix == "" {
					t.Fatalf("err = %v, want ConfigError about %s", err, tc.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("CompanyParams = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func TestIsIntegerType(t *testing.T) {
	for typ, want := range map[string]bool{
		"int": true, "int(11)": true, "bigint unsigned": true, "tinyint(1)": true, "smallint": true, "mediumint(8) unsigned": true,
		"integer": true, "decimal(10,0)": false, "varchar(20)": false, "datetime": false, "double": false, "interval": false, "point": false,
	} {
		if got := plan.IsIntegerType(typ); got != want {
			t.Errorf("IsIntegerType(%q) = %v, want %v", typ, got, want)
		}
	}
}

// source returns a real MariaDB source with the statements run.
func source(t *testing.T, stmts ...string) ferry.Source {
	t.Helper()
	db, _ := testdb.MySQLDB(t)
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	return mysql.NewSource(db)
}

var day = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

func TestChunkingOnMariaDB(t *testing.T) {
	const ddl = "CREATE TABLE t (id BIGINT PRIMARY KEY, company_id INT NOT NULL, created DATE NOT NULL, name VARCHAR(20))"
	q := "SELECT id, company_id, created, name FROM t WHERE company_id = :company_id"
	acme := ferry.Company{ID: 1, Alias: "acme", Schema: "bi_acme", Config: map[string]string{"days": "7"}}
	for _, tc := range []struct {
		name      string
		rows      string
		query     string
		every     int64
		wantRows  int64
		minChunks int
		maxChunks int
	}{
		{"empty table", "", q, 10, 0, 0, 0},
		{"single row", "INSERT INTO t VALUES (77, 1, '2026-03-01', 'a')", q, 10, 1, 1, 1},
		{"sparse keys, small chunks", "INSERT INTO t VALUES (1, 1, '2026-03-01', 'a'), (1800000000000000000, 1, '2026-03-01', 'b')", q, 1, 2, 2, 2},
		{"sparse keys, one chunk", "INSERT INTO t VALUES (1, 1, '2026-03-01', 'a'), (1800000000000000000, 1, '2026-03-01', 'b')", q, 10, 2, 1, 1},
		{"many rows", "INSERT INTO t SELECT seq, 1, '2026-03-01', NULL FROM seq_1_to_1000", q, 100, 1000, 9, 11},
		{"other company filtered", "INSERT INTO t SELECT seq, 1 + seq % 2, '2026-03-01', NULL FROM seq_1_to_100", q, 10, 50, 4, 6},
		{"date window", "INSERT INTO t SELECT seq, 1, DATE('2026-03-01') - INTERVAL (seq - 1) DAY, NULL FROM seq_1_to_30",
			"SELECT id, name FROM t WHERE company_id = :company_id AND created >= :since", 100, 8, 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stmts := []string{ddl}
			if tc.rows != "" {
				stmts = append(stmts, tc.rows)
			}
			src := source(t, stmts...)
			spec := ferry.TableSpec{Name: "t", Query: tc.query, ChunkColumn: "id", ChunkRows: tc.every}
			p, err := plan.Build(context.Background(), src, []ferry.Company{acme}, []ferry.TableSpec{spec}, plan.Options{RunID: "r1", RunDate: day, Target: ferry.EnginePostgres})
			testdb.Must(t, "build", err)
			tp := p.Companies[0].Tables[0]
			if tp.Bounds.Rows != tc.wantRows {
				t.Fatalf("rows = %d, want %d", tp.Bounds.Rows, tc.wantRows)
			}
			if n := len(tp.Chunks); n < tc.minChunks || n > tc.maxChunks {
				t.Fatalf("%d chunks %+v, want %d..%d", n, tp.Chunks, tc.minChunks, tc.maxChunks)
			}
			// Ranges are contiguous, non-empty, from min to max+1.
			for i, c := range tp.Chunks {
				if c.Index != i || c.Hi <= c.Lo || (i > 0 && c.Lo != tp.Chunks[i-1].Hi) {
					t.Fatalf("bad chunk %d: %+v", i, tp.Chunks)
				}
			}
			if n := len(tp.Chunks); n > 0 && (tp.Chunks[0].Lo != tp.Bounds.Min || tp.Chunks[n-1].Hi != tp.Bounds.Max+1) {
				t.Fatalf("chunks %+v do not cover [%d,%d]", tp.Chunks, tp.Bounds.Min, tp.Bounds.Max)
			}
			tasks := p.Tasks(p.Companies[0])
			if len(tasks) != len(tp.Chunks) {
				t.Fatalf("%d tasks for %d chunks", len(tasks), len(tp.Chunks))
			}
			for _, task := range tasks {
				if task.Key != ferry.ChunkKey("r1", "acme", "t", task.Chunk.Index) || task.Staging != ferry.StagingName("t") || task.Target != ferry.EnginePostgres {
					t.Fatalf("task = %+v", task)
				}
				if strings.Contains(tc.query, ":since") && task.Params["since"] != "2026-02-22" {
					t.Fatalf("since = %v, want 2026-02-22", task.Params["since"])
				}
				if _, extra := task.Params["days"]; extra {
					t.Fatalf("task carries unused parameter days: %v", task.Params)
				}
			}
		})
	}
}

func TestValidateRefuses(t *testing.T) {
	src := source(t, "CREATE TABLE t (id BIGINT PRIMARY KEY, company_id INT NOT NULL, created DATE NOT NULL, name VARCHAR(20), amount DECIMAL(10,2))")
	ok := ferry.TableSpec{Name: "orders", Query: "SELECT id, name FROM t WHERE company_id = :company_id", ChunkColumn: "id", ChunkRows: 10}
	acme := ferry.Company{ID: 1, Alias: "acme", Schema: "bi_acme", Config: map[string]string{"days": "7"}}
	with := func(f func(*ferry.TableSpec)) []ferry.TableSpec {
		s := ok
		f(&s)
		return []ferry.TableSpec{s}
	}
	for _, tc := range []struct {
		name      string
		companies []ferry.Company
		tables    []ferry.TableSpec
		want      []string // each must appear in the error
	}{
		{"unknown parameter", nil, with(func(s *ferry.TableSpec) { s.Query = "SELECT id FROM t WHERE name = :region" }), []string{"table orders", ":region", "fix:"}},
		{"params_select unused", nil, with(func(s *ferry.TableSpec) { s.Params = []string{"company_id", "since"} }), []string{"params_select lists :since", "does not use"}},
		{"params_select unknown", nil, with(func(s *ferry.TableSpec) { s.Params = []string{"region"} }), []string{"params_select lists :region", "no value"}},
		{"multi-statement", nil, with(func(s *ferry.TableSpec) { s.Query = "SELECT id FROM t; DELETE FROM t" }), []string{"query refused"}},
		{"not a select", nil, with(func(s *ferry.TableSpec) { s.Query = "DELETE FROM t WHERE company_id = :company_id" }), []string{"query refused"}},
		{"missing chunk column", nil, with(func(s *ferry.TableSpec) { s.ChunkColumn = "order_id" }), []string{"chunk column order_id is not in the query's result", "columns: id, name"}},
		{"non-integer chunk column", nil, with(func(s *ferry.TableSpec) { s.ChunkColumn = "name" }), []string{"chunk column name is varchar"}},
		{"decimal chunk column", nil, with(func(s *ferry.TableSpec) { s.Query = "SELECT id, amount FROM t"; s.ChunkColumn = "amount" }), []string{"chunk column amount is decimal"}},
		{"query fails on source", nil, with(func(s *ferry.TableSpec) { s.Query = "SELECT id FROM no_such_table" }), []string{"fails on the source"}},
		{"invalid table name", nil, with(func(s *ferry.TableSpec) { s.Name = "bad-name" }), []string{"table bad-name", "identifier"}},
		{"reserved table name", nil, with(func(s *ferry.TableSpec) { s.Name = "_ferry_x" }), []string{"reserved"}},
		{"bad chunk rows", nil, with(func(s *ferry.TableSpec) { s.ChunkRows = 0 }), []string{"chunk_rows"}},
		{"bad zero-date policy", nil, with(func(s *ferry.TableSpec) { s.ZeroDates = "zero" }), []string{"zero_dates"}},
		{"table named as another's staging", nil, []ferry.TableSpec{ok, {Name: ferry.StagingName("orders"), Query: ok.Query, ChunkColumn: "id", ChunkRows: 10}},
			[]string{"is the staging table of table orders"}},
		{"tables differing in case", nil, []ferry.TableSpec{ok, {Name: "Orders", Query: ok.Query, ChunkColumn: "id", ChunkRows: 10}}, []string{"table Orders", "table orders and table Orders differ only in case", "lower_case_table_names", "fix: disable one of them"}},
		{"schemas differing in case", []ferry.Company{acme, {ID: 2, Alias: "beta", Schema: "BI_Acme"}}, []ferry.TableSpec{ok},
			[]string{"company 2 (beta)", "target schema BI_Acme and company 1 (acme)'s target schema bi_acme differ only in case", "fix:"}},
		{"same schema", []ferry.Company{acme, {ID: 2, Alias: "beta", Schema: "bi_acme"}}, []ferry.TableSpec{ok}, []string{"company 2 (beta)", "target schema bi_acme is also company 1 (acme)'s"}},
		{"invalid alias", []ferry.Company{{ID: 2, Alias: "Bad", Schema: "bi_x"}}, []ferry.TableSpec{ok}, []string{"company 2 (Bad)", "alias"}},
		{"invalid schema", []ferry.Company{{ID: 2, Alias: "beta", Schema: "bi-beta"}}, []ferry.TableSpec{ok}, []string{"target schema"}},
		{"duplicate alias", []ferry.Company{acme, {ID: 2, Alias: "acme", Schema: "bi_other"}}, []ferry.TableSpec{ok}, []string{"alias acme is also company 1's"}},
		{"bad days", []ferry.Company{{ID: 2, Alias: "beta", Schema: "bi_beta", Config: map[string]string{"days": "x"}}}, []ferry.TableSpec{ok}, []string{"configuration days"}},
		{"bad max_drift_pct", []ferry.Company{{ID: 2, Alias: "beta", Schema: "bi_beta", Config: map[string]string{"max_drift_pct": "five"}}}, []ferry.TableSpec{ok},
			[]string{"company 2 (beta)", "configuration max_drift_pct", "ferry company config 2 max_drift_pct=5"}},
		{"every problem at once", []ferry.Company{acme, {ID: 2, Alias: "Bad", Schema: "bi_x"}},
			[]ferry.TableSpec{ok, {Name: "items", Query: "SELECT id FROM t WHERE x = :nope", ChunkColumn: "id", ChunkRows: 10}, {Name: "lines", Query: "SELECT name FROM t", ChunkColumn: "id", ChunkRows: 10}},
			[]string{"company 2 (Bad)", "table items", ":nope", "table lines", "chunk column id is not in"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			companies := tc.companies
			if companies == nil {
				companies = []ferry.Company{acme}
			}
			_, err := plan.Build(context.Background(), src, companies, tc.tables, plan.Options{RunID: "r1", RunDate: day, Target: ferry.EnginePostgres})
			var ce *ferry.ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want ConfigError", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not mention %q:\n%v", w, err)
				}
			}
			if !strings.Contains(err.Error(), "fix:") {
				t.Errorf("error gives no fix:\n%v", err)
			}
		})
	}
}

// TestRowNumberChunkColumnRefused: a chunk column computed by ROW_NUMBER()
// OVER (...) shifts when a row is inserted between two chunk exports (one
// row published twice, others lost, the counts still matching): planning
// on a real MariaDB source, with the metadata pool the wiring gives every
// source, refuses it naming the fix; the table's primary key plans.
func TestRowNumberChunkColumnRefused(t *testing.T) {
	_, dsn := testdb.MySQL(t)
	db, err := mysql.Open(context.Background(), dsn)
	testdb.Must(t, "open source", err)
	t.Cleanup(func() { db.Close() })
	if _, err := db.Exec("CREATE TABLE t (id BIGINT PRIMARY KEY, company_id INT NOT NULL, name VARCHAR(20))"); err != nil {
		t.Fatal(err)
	}
	meta, err := mysql.OpenMetadata(context.Background(), dsn)
	testdb.Must(t, "open metadata pool", err)
	t.Cleanup(func() { meta.Close() })
	src := mysql.NewSource(db, mysql.WithMetadataPool(meta))
	acme := []ferry.Company{{ID: 1, Alias: "acme", Schema: "bi_acme"}}
	rn := ferry.TableSpec{Name: "orders", Query: "SELECT ROW_NUMBER() OVER (ORDER BY id) AS rn, name FROM t WHERE company_id = :company_id", ChunkColumn: "rn", ChunkRows: 10}
	_, err = plan.Build(context.Background(), src, acme, []ferry.TableSpec{rn}, plan.Options{RunID: "r1", RunDate: day, Target: ferry.EnginePostgres})
	var ce *ferry.ConfigError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "table orders") || !strings.Contains(err.Error(), "ROW_NUMBER()") || !strings.Contains(err.Error(), plan.ChunkKeyFix) {
		t.Fatalf("ROW_NUMBER() chunk column: err = %v, want a ConfigError naming the table, the window function and the fix", err)
	}
	rn.Query, rn.ChunkColumn = "SELECT id, name FROM t WHERE company_id = :company_id", "id"
	_, err = plan.Build(context.Background(), src, acme, []ferry.TableSpec{rn}, plan.Options{RunID: "r1", RunDate: day, Target: ferry.EnginePostgres})
	testdb.Must(t, "plan on the primary key", err)
}
