package steps_test

import (
	"bytes"
	"errors"
	"github.com/ferrydata/ferry/internal/events"
	"github.com/ferrydata/ferry/internal/events/eventstest"
	"github.com/ferrydata/ferry/internal/metrics"
	"sync"

	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/jackc/pgx/v5"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/admin"
	"github.com/ferrydata/ferry/internal/localstore"
	"github.com/ferrydata/ferry/internal/mysql"
	"github.com/ferrydata/ferry/internal/postgres"
	"github.com/ferrydata/ferry/internal/s3store"
	"github.com/ferrydata/ferry/internal/s3store/s3test"
	"github.com/ferrydata/ferry/internal/steps"
	"github.com/ferrydata/ferry/internal/testdb"
)

var update = flag.Bool("update", false, "rewrite testdata/*.json from the end-to-end run")

var runDay = time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)

// env is one test's world: a real admin MariaDB, a real source MariaDB, a
// real target (PostgreSQL or MariaDB) and the in-process S3.
type env struct {
	t      *testing.T
	ctx    context.Context
	admin  *sql.DB   // the admin database, for raw SQL
	adm    *admin.DB // the same, as the steps use it
	src    *sql.DB
	store  ferry.Store
	engine ferry.Engine
	pg     *pgx.Conn // engine postgres
	tdb    *sql.DB   // engine mysql
	prefix string    // target schema prefix (mysql: databases are server-wide)
	steps  *steps.Steps
	target ferry.Target
	emf    *syncBuffer     // the EMF records the steps wrote
	bus    *eventstest.Bus // the events they published
}

// syncBuffer is a bytes.Buffer safe for the steps' concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func newEnv(t *testing.T, engine ferry.Engine) *env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	e := &env{t: t, ctx: ctx, engine: engine}
	e.admin, _ = testdb.MySQLDB(t)
	e.adm = mysql.NewAdmin(e.admin)
	_, err := e.adm.Migrate(ctx)
	testdb.Must(t, "migrate admin", err)
	_, srcDSN := testdb.MySQL(t)
	src, err := mysql.Open(ctx, srcDSN)
	testdb.Must(t, "open source", err)
	t.Cleanup(func() { src.Close() })
	e.src = src
	fake := s3test.Start(t)
	e.store = s3store.New(fake.Client, fake.Bucket)

	var target ferry.Target
	switch engine {
	case ferry.EnginePostgres:
		url := testdb.Postgres(t)
		pt, err := postgres.Open(ctx, url)
		testdb.Must(t, "open postgres target", err)
		t.Cleanup(pt.Close)
		target = pt
		e.pg, err = pgx.Connect(ctx, url)
		testdb.Must(t, "connect postgres", err)
		t.Cleanup(func() { e.pg.Close(context.Background()) })
	case ferry.EngineMySQL:
		_, dsn := testdb.MySQL(t)
		db, err := mysql.Open(ctx, dsn)
		testdb.Must(t, "open mysql target", err)
		t.Cleanup(func() { db.Close() })
		target = mysql.NewTarget(db)
		e.tdb = db
		b := make([]byte, 3)
		rand.Read(b)
		e.prefix = "t_steps_" + hex.EncodeToString(b) + "_"
	}
	e.target = target
	e.emf, e.bus = &syncBuffer{}, &eventstest.Bus{}
	e.steps = steps.New(steps.Deps{Config: e.adm, Ledger: e.adm, Source: mysql.NewSource(src), Target: target, Store: e.store, Bucket: fake.Bucket,
		Clock: func() time.Time { return runDay }, DeadlineMargin: 5 * time.Second,
		Metrics: metrics.New(e.emf), Notifier: events.New(eventstest.Start(t, e.bus), "ferry-test")})
	return e
}

// schemaOf is the target schema given to a company.
func (e *env) schemaOf(alias string) string {
	if e.prefix == "" {
		return ""
	}
	s := e.prefix + alias
	e.t.Cleanup(func() { e.tdb.ExecContext(context.Background(), "DROP DATABASE IF EXISTS `"+s+"`") })
	return s
}

func (e *env) exec(db *sql.DB, stmts ...string) {
	e.t.Helper()
	for _, s := range stmts {
		if _, err := db.ExecContext(e.ctx, s); err != nil {
			e.t.Fatalf("%s: %v", s, err)
		}
	}
}

const ordersQuery = "SELECT id, company_id, customer, amount, created_at FROM orders WHERE company_id = :company_id AND (created_at IS NULL OR created_at >= :since)"
const itemsQuery = "SELECT id, sku, qty, note FROM items WHERE company_id = :company_id"

// seed creates the source tables with rows for companies 1 and 2 (company
// 2 has no items) and configures both companies and both tables.
func (e *env) seed() {
	e.t.Helper()
	e.exec(e.src,
		"CREATE TABLE orders (id BIGINT PRIMARY KEY, company_id INT NOT NULL, customer VARCHAR(64) NULL, amount DECIMAL(12,2) NOT NULL, created_at DATETIME NULL)",
		"CREATE TABLE items (id INT PRIMARY KEY, company_id INT NOT NULL, sku VARCHAR(20) NOT NULL, qty INT NOT NULL, note TEXT NULL)",
		`INSERT INTO orders SELECT seq, 1 + seq % 2,
		   ELT(1 + seq % 6, 'Acme, Inc.', 'O''Brien "Q"', NULL, '', 'Line\nBreak', 'NULL'),
		   seq * 1.25 - 20, DATE('2026-03-01') - INTERVAL (seq % 45) DAY + INTERVAL seq SECOND FROM seq_1_to_60`,
		"INSERT INTO orders VALUES (1000000000000, 1, 'sparse', 1.00, NULL)",
		"INSERT INTO items SELECT seq, 1, CONCAT('SKU-', seq), seq % 4, IF(seq % 3 = 0, NULL, 'a\\\\b\tc') FROM seq_1_to_12",
	)
	testdb.Must(e.t, "configure", e.adm.InTx(e.ctx, func(tx *admin.DB) error {
		return errors.Join(
			tx.AddCompany(e.ctx, admin.NewCompany{ID: 1, Alias: "acme", Schema: e.schemaOf("acme"), Config: map[string]string{"days": "30"}}),
			tx.AddCompany(e.ctx, admin.NewCompany{ID: 2, Alias: "globex", Schema: e.schemaOf("globex"), Config: map[string]string{"days": "30", "region": "eu"}}),
			tx.AddTable(e.ctx, ferry.TableSpec{Name: "orders", Query: ordersQuery, Params: []string{"company_id", "since"}, ChunkColumn: "id", ChunkRows: 7}, true),
			tx.AddTable(e.ctx, ferry.TableSpec{Name: "items", Query: itemsQuery, ChunkColumn: "id", ChunkRows: 5}, true))
	}))
}

// invoke runs fn as the Lambda runtime does: JSON in, JSON out.
func invoke[Out any](e *env, fn any, in any) (Out, error) {
	e.t.Helper()
	var payload []byte
	switch v := in.(type) {
	case []byte:
		payload = v
	case json.RawMessage:
		payload = v
	default:
		b, err := json.Marshal(in)
		testdb.Must(e.t, "marshal", err)
		payload = b
	}
	var out Out
	b, err := lambda.NewHandler(fn).Invoke(e.ctx, payload)
	if err != nil {
		return out, err
	}
	if err := json.Unmarshal(b, &out); err != nil {
		e.t.Fatalf("decode output %s: %v", b, err)
	}
	return out, nil
}

// errorType is the errorType aws-lambda-go reports for err.
func errorType(err error) string {
	t := reflect.TypeOf(err)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Name()
}

// companies are the plan's companies (its companies manifest).
func (e *env) companies(plan ferry.ListTablesOutput) []ferry.CompanyRun {
	e.t.Helper()
	cs, err := steps.Companies(e.ctx, e.store, plan)
	testdb.Must(e.t, "read the companies manifest", err)
	if len(cs) != plan.Companies {
		e.t.Fatalf("the companies manifest lists %d companies, the plan says %d", len(cs), plan.Companies)
	}
	return cs
}

func (e *env) manifest(c ferry.CompanyRun) []json.RawMessage {
	e.t.Helper()
	r, err := e.store.Open(e.ctx, c.ManifestKey)
	testdb.Must(e.t, "open manifest", err)
	defer r.Close()
	var items []json.RawMessage
	testdb.Must(e.t, "decode manifest (a JSON array)", json.NewDecoder(r).Decode(&items))
	return items
}

func (e *env) planJSON(c ferry.CompanyRun) ferry.Manifest {
	e.t.Helper()
	r, err := e.store.Open(e.ctx, c.PlanKey)
	testdb.Must(e.t, "open plan", err)
	defer r.Close()
	var m ferry.Manifest
	testdb.Must(e.t, "decode plan", json.NewDecoder(r).Decode(&m))
	return m
}

// golden keeps one realistic payload per step for testdata/.
type golden map[string]any

func (g golden) keep(name string, v any) {
	if _, ok := g[name]; !ok {
		g[name] = v
	}
}

// objectCSV returns the checksum and the size of the CSV inside the
// chunk object at key (any codec).
func (e *env) objectCSV(key string) (string, int64) {
	e.t.Helper()
	r, err := e.store.Open(e.ctx, key)
	testdb.Must(e.t, "open "+key, err)
	defer r.Close()
	obj, err := io.ReadAll(r)
	testdb.Must(e.t, "read "+key, err)
	csv, _, err := steps.DecodeObject(obj)
	testdb.Must(e.t, "decode "+key, err)
	return steps.Checksum(csv), int64(len(csv))
}

// runChain runs a whole run the way the state machine does and returns
// the finish output.
func (e *env) runChain(runID string, g golden) ferry.FinishRunOutput {
	e.t.Helper()
	req := steps.Request{RunID: runID, RunDate: "2026-03-01"}
	g.keep("list-tables.json", req)
	plan, err := invoke[ferry.ListTablesOutput](e, e.steps.Function, req)
	testdb.Must(e.t, "list tables", err)
	g.keep("list-tables.out.json", plan)
	// A retried list-tables (same run) is harmless.
	again, err := invoke[ferry.ListTablesOutput](e, e.steps.Function, req)
	testdb.Must(e.t, "list tables again", err)
	if !reflect.DeepEqual(plan, again) {
		e.t.Fatalf("retried list-tables differs:\n%+v\n%+v", plan, again)
	}
	if plan.Companies != 2 || plan.Tables != 4 {
		e.t.Fatalf("plan = %+v", plan)
	}
	g.keep("companies.json", e.companies(plan))
	var outcomes []ferry.CompanyOutcome
	for ci, c := range e.companies(plan) {
		items := e.manifest(c)
		g.keep("manifest.json", items)
		g.keep("plan.json", e.planJSON(c))
		if len(items) != c.Chunks {
			e.t.Fatalf("company %s: manifest has %d items, plan says %d chunks", c.Alias, len(items), c.Chunks)
		}
		for i, item := range items {
			g.keep("export-chunk.json", item)
			exp, err := invoke[json.RawMessage](e, e.steps.ExportChunk, item)
			testdb.Must(e.t, "export", err)
			if ci == 0 && i == 0 {
				// Retries overwrite the same key with the same bytes.
				exp2, err := invoke[json.RawMessage](e, e.steps.ExportChunk, item)
				testdb.Must(e.t, "export again", err)
				var a, b ferry.ExportChunkOutput
				json.Unmarshal(exp, &a)
				json.Unmarshal(exp2, &b)
				if a.Checksum != b.Checksum || a.Rows != b.Rows {
					e.t.Fatalf("export retry differs: %+v vs %+v", a, b)
				}
				// The one checksum (and size) describes the CSV in the object.
				if sum, n := e.objectCSV(a.Key); sum != a.Checksum || n != a.RawBytes || a.SHA256 != "" {
					e.t.Fatalf("object %s holds CSV with checksum %s, %d bytes; the export said %s, %d (sha256 %q)", a.Key, sum, n, a.Checksum, a.RawBytes, a.SHA256)
				}
			}
			g.keep("load-chunk.json", exp)
			lo, err := invoke[ferry.LoadChunkOutput](e, e.steps.LoadChunk, exp)
			testdb.Must(e.t, "load", err)
			g.keep("load-chunk.out.json", lo)
			if ci == 0 && i == 0 {
				if _, err := invoke[ferry.LoadChunkOutput](e, e.steps.LoadChunk, exp); err != nil {
					e.t.Fatalf("load again: %v", err)
				}
			}
		}
		g.keep("swap-tables.json", c)
		sw, err := invoke[ferry.SwapTablesOutput](e, e.steps.SwapTables, c)
		testdb.Must(e.t, "swap", err)
		g.keep("swap-tables.out.json", sw)
		if sw.AlreadySwapped || len(sw.Tables) != 2 {
			e.t.Fatalf("swap = %+v", sw)
		}
		sw2, err := invoke[ferry.SwapTablesOutput](e, e.steps.SwapTables, c)
		testdb.Must(e.t, "swap again", err)
		if !sw2.AlreadySwapped || sw2.Rows != sw.Rows {
			e.t.Fatalf("retried swap = %+v, want AlreadySwapped with %d rows", sw2, sw.Rows)
		}
		outcomes = append(outcomes, ferry.CompanyOutcome{CompanyID: c.CompanyID, Alias: c.Alias, Rows: sw.Rows})
	}
	fin := steps.Request{Action: steps.ActionFinish, RunID: runID, Outcomes: outcomes}
	g.keep("finish-run.json", fin)
	out, err := invoke[ferry.FinishRunOutput](e, e.steps.Function, fin)
	testdb.Must(e.t, "finish", err)
	g.keep("finish-run.out.json", out)
	return out
}

// rows returns a table's rows as text, ordered by id, NULL as "<nil>".
func (e *env) sourceRows(query string, args ...any) [][]string {
	e.t.Helper()
	rows, err := e.src.QueryContext(e.ctx, query, args...)
	testdb.Must(e.t, "source rows", err)
	defer rows.Close()
	return scanText(e.t, rows)
}

func scanText(t *testing.T, rows *sql.Rows) [][]string {
	cols, _ := rows.Columns()
	var out [][]string
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		testdb.Must(t, "scan", rows.Scan(ptrs...))
		rec := make([]string, len(cols))
		for i, v := range vals {
			rec[i] = "<nil>"
			if v.Valid {
				rec[i] = v.String
			}
		}
		out = append(out, rec)
	}
	testdb.Must(t, "rows", rows.Err())
	return out
}

func (e *env) targetRows(schema, table string, cols []string) [][]string {
	e.t.Helper()
	switch e.engine {
	case ferry.EnginePostgres:
		sel := make([]string, len(cols))
		for i, c := range cols {
			sel[i] = `"` + c + `"::text`
		}
		rows, err := e.pg.Query(e.ctx, `SELECT `+strings.Join(sel, ", ")+` FROM "`+schema+`"."`+table+`" AS t ORDER BY t.id`)
		testdb.Must(e.t, "target rows", err)
		defer rows.Close()
		var out [][]string
		for rows.Next() {
			vals := make([]*string, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			testdb.Must(e.t, "scan", rows.Scan(ptrs...))
			rec := make([]string, len(cols))
			for i, v := range vals {
				rec[i] = "<nil>"
				if v != nil {
					rec[i] = *v
				}
			}
			out = append(out, rec)
		}
		testdb.Must(e.t, "rows", rows.Err())
		return out
	default:
		sel := make([]string, len(cols))
		for i, c := range cols {
			sel[i] = "CAST(`" + c + "` AS CHAR)"
		}
		rows, err := e.tdb.QueryContext(e.ctx, "SELECT "+strings.Join(sel, ", ")+" FROM `"+schema+"`.`"+table+"` ORDER BY id")
		testdb.Must(e.t, "target rows", err)
		defer rows.Close()
		return scanText(e.t, rows)
	}
}

// checkTargetEqualsSource compares every company's tables with the source.
func (e *env) checkTargetEqualsSource() {
	e.t.Helper()
	companies, err := e.adm.ActiveCompanies(e.ctx, nil)
	testdb.Must(e.t, "companies", err)
	for _, c := range companies {
		want := e.sourceRows("SELECT CAST(id AS CHAR), CAST(company_id AS CHAR), customer, CAST(amount AS CHAR), CAST(created_at AS CHAR) FROM orders WHERE company_id = ? AND (created_at IS NULL OR created_at >= ?) ORDER BY id",
			c.ID, "2026-01-30")
		got := e.targetRows(c.Schema, "orders", []string{"id", "company_id", "customer", "amount", "created_at"})
		if !reflect.DeepEqual(got, want) || len(want) == 0 {
			e.t.Errorf("company %s orders: target has %d rows, source %d\n got %q\nwant %q", c.Alias, len(got), len(want), got, want)
		}
		want = e.sourceRows("SELECT CAST(id AS CHAR), sku, CAST(qty AS CHAR), note FROM items WHERE company_id = ? ORDER BY id", c.ID)
		got = e.targetRows(c.Schema, "items", []string{"id", "sku", "qty", "note"})
		if !reflect.DeepEqual(got, want) {
			e.t.Errorf("company %s items: target has %d rows, source %d\n got %q\nwant %q", c.Alias, len(got), len(want), got, want)
		}
	}
}

func TestEndToEnd(t *testing.T) {
	for _, engine := range []ferry.Engine{ferry.EnginePostgres, ferry.EngineMySQL} {
		t.Run(string(engine), func(t *testing.T) {
			e := newEnv(t, engine)
			e.seed()
			g := golden{}
			out := e.runChain("run-1", g)
			if out.Status != admin.RunSucceeded || out.Failed != 0 || out.Companies != 2 || out.Rows == 0 {
				t.Fatalf("finish = %+v", out)
			}
			e.checkTargetEqualsSource()
			e.checkMetricsAndEvents(out)
			if l, _ := e.adm.GetLease(e.ctx); l.Holder != "" {
				t.Fatalf("lease still held by %s", l.Holder)
			}
			run, loads, err := e.adm.GetRun(e.ctx, "run-1")
			testdb.Must(t, "get run", err)
			if run.Status != admin.RunSucceeded || run.Rows != out.Rows || len(loads) != 4 {
				t.Fatalf("run = %+v, loads = %+v", run, loads)
			}
			for _, l := range loads {
				if l.Status != admin.LoadSwapped || l.SwappedAt == nil {
					t.Fatalf("load = %+v", l)
				}
				if l.CompanyID == 2 && l.Table == "items" && (l.Rows != 0 || l.Chunks != 0) {
					t.Fatalf("globex items should be an empty table: %+v", l)
				}
			}

			// The next run publishes the source's new state.
			e.exec(e.src, "DELETE FROM orders WHERE id % 5 = 0", "UPDATE items SET qty = qty + 100 WHERE id < 4",
				"INSERT INTO items VALUES (100, 2, 'NEW', 1, NULL)")
			out = e.runChain("run-2", golden{})
			if out.Status != admin.RunSucceeded {
				t.Fatalf("second run = %+v", out)
			}
			e.checkTargetEqualsSource()

			if *update && engine == ferry.EnginePostgres {
				for name, v := range g {
					b, err := json.MarshalIndent(v, "", "  ")
					testdb.Must(t, "marshal golden", err)
					testdb.Must(t, "write golden", os.WriteFile(filepath.Join("testdata", name), append(b, '\n'), 0o644))
				}
			}
		})
	}
}

// nothingWritten asserts a refused run left no trace: no object, no
// company schema or staging table, no lease, no run row.
func (e *env) nothingWritten(runID string) {
	e.t.Helper()
	keys, err := e.store.List(e.ctx, runID+"/")
	testdb.Must(e.t, "list", err)
	if len(keys) > 0 {
		e.t.Errorf("objects written: %v", keys)
	}
	var n int
	switch e.engine {
	case ferry.EnginePostgres:
		testdb.Must(e.t, "count", e.pg.QueryRow(e.ctx, `SELECT count(*) FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema')`).Scan(&n))
		var s int
		testdb.Must(e.t, "count", e.pg.QueryRow(e.ctx, `SELECT count(*) FROM information_schema.schemata WHERE schema_name LIKE 'bi\_%'`).Scan(&s))
		n += s
	default:
		testdb.Must(e.t, "count", e.tdb.QueryRowContext(e.ctx, "SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name LIKE ?", e.prefix+"%").Scan(&n))
	}
	if n > 0 {
		e.t.Errorf("%d target schemas/tables were created", n)
	}
	if l, _ := e.adm.GetLease(e.ctx); l.Holder == runID {
		e.t.Errorf("lease left held by %s", l.Holder)
	}
	if _, _, err := e.adm.GetRun(e.ctx, runID); err == nil {
		e.t.Errorf("run %s was recorded", runID)
	}
}

func TestListTablesRefusesBadConfiguration(t *testing.T) {
	e := newEnv(t, ferry.EnginePostgres)
	e.seed()
	base, err := e.adm.ListTables(e.ctx)
	testdb.Must(t, "tables", err)
	reset := func() {
		e.exec(e.admin, "DELETE FROM `tables`", "DELETE FROM companies WHERE company_id > 2", "UPDATE companies SET alias = 'acme' WHERE company_id = 1",
			"DELETE FROM companies_configurations WHERE configuration NOT IN ('days', 'region')", "UPDATE companies_configurations SET value = '30' WHERE configuration = 'days'")
		for _, tb := range base {
			testdb.Must(t, "restore table", e.adm.AddTable(e.ctx, tb.TableSpec, true))
		}
	}
	table := func(name, query, params, col string) string {
		return fmt.Sprintf("INSERT INTO `tables` (name, status, query_select, params_select, chunk_column, chunk_rows) VALUES ('%s', 'active', '%s', '%s', '%s', 10)",
			name, strings.ReplaceAll(query, "'", "''"), params, col)
	}
	for _, tc := range []struct {
		name      string
		setup     []string
		companies []int64
		want      []string
	}{
		{"unknown parameter", []string{table("t1", "SELECT id FROM items WHERE sku = :region2", "", "id")}, nil, []string{"table t1", ":region2"}},
		{"params_select lists an unused name", []string{table("t1", "SELECT id FROM items WHERE company_id = :company_id", "company_id,since", "id")}, nil, []string{"params_select lists :since"}},
		{"params_select lists an unknown name", []string{table("t1", "SELECT id FROM items", "nope", "id")}, nil, []string{"params_select lists :nope"}},
		{"multi-statement", []string{table("t1", "SELECT id FROM items; DROP TABLE items", "", "id")}, nil, []string{"table t1", "query refused"}},
		{"not a SELECT", []string{table("t1", "UPDATE items SET qty = 0", "", "id")}, nil, []string{"table t1", "query refused"}},
		{"missing chunk column", []string{table("t1", "SELECT sku FROM items", "", "id")}, nil, []string{"chunk column id is not in the query's result"}},
		{"non-integer chunk column", []string{table("t1", "SELECT id, sku FROM items", "", "sku")}, nil, []string{"chunk column sku is varchar"}},
		{"invalid alias", []string{"INSERT INTO companies (company_id, status, alias) VALUES (3, 'active', 'Bad Alias')"}, nil, []string{"company 3 (Bad Alias)", "alias"}},
		{"invalid table identifier", []string{table("bad-name", "SELECT id FROM items", "", "id")}, nil, []string{"table bad-name", "identifier"}},
		{"reserved table name", []string{table("_ferry_t", "SELECT id FROM items", "", "id")}, nil, []string{"_ferry_"}},
		{"staging collision", []string{table(ferry.StagingName("items"), "SELECT id FROM items", "", "id")}, nil, []string{"is the staging table of table items"}},
		{"invalid days", []string{"UPDATE companies_configurations SET value = 'x' WHERE company = 2 AND configuration = 'days'"}, nil, []string{"company 2 (globex)", "configuration days"}},
		{"missing company", nil, []int64{1, 99}, []string{"company 99", "missing or not active"}},
		{"all problems at once", []string{table("t1", "SELECT id FROM items WHERE sku = :x", "", "id"), table("t2", "SELECT sku FROM items", "", "id"),
			"INSERT INTO companies (company_id, status, alias) VALUES (3, 'active', 'Bad')"}, nil,
			[]string{"table t1", ":x", "table t2", "chunk column id", "company 3 (Bad)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reset()
			e.exec(e.admin, tc.setup...)
			runID := "refused-" + strings.ReplaceAll(tc.name, " ", "-")
			_, err := invoke[ferry.ListTablesOutput](e, e.steps.Function, steps.Request{RunID: runID, RunDate: "2026-03-01", Companies: tc.companies})
			if err == nil || errorType(err) != "ConfigError" {
				t.Fatalf("err = %v (%T), want ConfigError", err, err)
			}
			for _, w := range append(tc.want, "fix:") {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not mention %q:\n%v", w, err)
				}
			}
			e.nothingWritten(runID)
		})
	}
}

func TestOverlappingRuns(t *testing.T) {
	e := newEnv(t, ferry.EnginePostgres)
	e.seed()
	first, err := invoke[ferry.ListTablesOutput](e, e.steps.Function, steps.Request{RunID: "first", RunDate: "2026-03-01"})
	testdb.Must(t, "first list-tables", err)

	_, err = invoke[ferry.ListTablesOutput](e, e.steps.Function, steps.Request{RunID: "second", RunDate: "2026-03-01"})
	if err == nil || errorType(err) != "RunLeaseHeldError" || !strings.Contains(err.Error(), "first") {
		t.Fatalf("second run: %v, want RunLeaseHeldError naming the first run", err)
	}
	if keys, _ := e.store.List(e.ctx, "second/"); len(keys) > 0 {
		t.Fatalf("second run wrote %v", keys)
	}
	if _, _, err := e.adm.GetRun(e.ctx, "second"); err == nil {
		t.Fatal("second run was recorded")
	}

	// The first run completes.
	var outcomes []ferry.CompanyOutcome
	for _, c := range e.companies(first) {
		for _, item := range e.manifest(c) {
			exp, err := invoke[json.RawMessage](e, e.steps.ExportChunk, item)
			testdb.Must(t, "export", err)
			_, err = invoke[ferry.LoadChunkOutput](e, e.steps.LoadChunk, exp)
			testdb.Must(t, "load", err)
		}
		sw, err := invoke[ferry.SwapTablesOutput](e, e.steps.SwapTables, c)
		testdb.Must(t, "swap", err)
		outcomes = append(outcomes, ferry.CompanyOutcome{CompanyID: c.CompanyID, Alias: c.Alias, Rows: sw.Rows})
	}
	fin, err := invoke[ferry.FinishRunOutput](e, e.steps.Function, steps.Request{Action: "finish", RunID: "first", Outcomes: outcomes})
	testdb.Must(t, "finish", err)
	if fin.Status != admin.RunSucceeded {
		t.Fatalf("finish = %+v", fin)
	}
	e.checkTargetEqualsSource()
	// Now the second run may start.
	if _, err := invoke[ferry.ListTablesOutput](e, e.steps.Function, steps.Request{RunID: "second", RunDate: "2026-03-01"}); err != nil {
		t.Fatalf("second run after the first finished: %v", err)
	}
}

func TestFailuresAreNamed(t *testing.T) {
	e := newEnv(t, ferry.EnginePostgres)
	e.seed()
	plan, err := invoke[ferry.ListTablesOutput](e, e.steps.Function, steps.Request{RunID: "run-f", RunDate: "2026-03-01"})
	testdb.Must(t, "list tables", err)
	cs := e.companies(plan)
	acme, globex := cs[0], cs[1]

	// acme: every chunk but the last is loaded; the swap refuses, naming it.
	items := e.manifest(acme)
	for _, item := range items[:len(items)-1] {
		exp, err := invoke[json.RawMessage](e, e.steps.ExportChunk, item)
		testdb.Must(t, "export", err)
		_, err = invoke[ferry.LoadChunkOutput](e, e.steps.LoadChunk, exp)
		testdb.Must(t, "load", err)
	}
	var last ferry.ChunkTask
	json.Unmarshal(items[len(items)-1], &last)
	_, err = invoke[ferry.SwapTablesOutput](e, e.steps.SwapTables, acme)
	if err == nil || !strings.Contains(err.Error(), ferry.ChunkName(last.Table, last.Chunk)) {
		t.Fatalf("swap with a missing chunk: %v, want an error naming %s", err, ferry.ChunkName(last.Table, last.Chunk))
	}

	// globex: a corrupted chunk object is refused at load (DataError), and
	// a load input whose counts lie is refused too.
	gitems := e.manifest(globex)
	exp, err := invoke[ferry.ExportChunkOutput](e, e.steps.ExportChunk, gitems[0])
	testdb.Must(t, "export", err)
	// A well-formed object whose content differs from the export (same
	// rows, one byte changed) fails inside the load, before its transaction
	// commits: staging keeps none of its rows.
	tampered := tamper(t, e, exp.Key)
	if _, err := invoke[ferry.LoadChunkOutput](e, e.steps.LoadChunk, exp); err == nil || errorType(err) != "DataError" || !strings.Contains(err.Error(), "nothing of it was committed") {
		t.Fatalf("load of a tampered object: %v, want DataError before commit", err)
	}
	if n := e.stagingCount(exp); n != 0 {
		t.Fatalf("staging %s has %d rows after a refused load of %d tampered rows, want 0", exp.Staging, n, tampered)
	}
	bad := exp
	bad.Rows++
	if _, err := invoke[ferry.LoadChunkOutput](e, e.steps.LoadChunk, bad); err == nil || errorType(err) != "DataError" {
		t.Fatalf("load with a wrong row count: %v, want DataError", err)
	}
	w, err := e.store.Create(e.ctx, exp.Key)
	testdb.Must(t, "create", err)
	io.WriteString(w, "not gzip")
	testdb.Must(t, "commit", w.Commit())
	if _, err := invoke[ferry.LoadChunkOutput](e, e.steps.LoadChunk, exp); err == nil || errorType(err) != "DataError" {
		t.Fatalf("load of a corrupt object: %v, want DataError", err)
	}
	if _, err := e.store.Open(e.ctx, ferry.DoneKey("run-f", "globex", exp.Table, exp.Chunk.Index)); err == nil {
		t.Fatal("a refused load wrote its done marker")
	}

	req, err := os.ReadFile("testdata/finish-run-failed.json")
	testdb.Must(t, "read finish-run-failed.json", err)
	fin, err := invoke[ferry.FinishRunOutput](e, e.steps.Function, req)
	testdb.Must(t, "finish", err)
	if fin.Status != admin.RunFailed || fin.Failed != 2 {
		t.Fatalf("finish = %+v", fin)
	}
	for _, w := range []string{"company 1 (acme): TaskError: swap company 1 (acme)", "company 2 (globex): States.ExceedToleratedFailureThreshold", "company 2 (globex), table " + exp.Table,
		"company 1, tables items, orders: not swapped", "not loaded"} {
		if !strings.Contains(fin.Summary, w) {
			t.Errorf("summary does not mention %q:\n%s", w, fin.Summary)
		}
	}
	if *update {
		b, _ := json.MarshalIndent(fin, "", "  ")
		testdb.Must(t, "write golden", os.WriteFile("testdata/finish-run-failed.out.json", append(b, '\n'), 0o644))
	}
	e.globexTablesFailed(fin, e.planJSON(globex))
	if l, _ := e.adm.GetLease(e.ctx); l.Holder != "" {
		t.Fatalf("lease still held by %s", l.Holder)
	}
	run, _, err := e.adm.GetRun(e.ctx, "run-f")
	testdb.Must(t, "get run", err)
	if run.Status != admin.RunFailed || run.Failed != 2 {
		t.Fatalf("run = %+v", run)
	}
}

// globexTablesFailed: globex's chunk map failed, so swap-tables never
// recorded its tables; finish-run gives each a failed row naming the cause
// (as `ferry runs show` lists them), and a retried finish-run records
// nothing twice and says the same.
func (e *env) globexTablesFailed(fin ferry.FinishRunOutput, plan ferry.Manifest) {
	t := e.t
	req, err := os.ReadFile("testdata/finish-run-failed.json")
	testdb.Must(t, "read finish-run-failed.json", err)
	again, err := invoke[ferry.FinishRunOutput](e, e.steps.Function, req)
	testdb.Must(t, "finish again", err)
	if again.Summary != fin.Summary {
		t.Errorf("a retried finish-run says\n%s\nnot\n%s", again.Summary, fin.Summary)
	}
	loads, err := e.adm.TableLoads(e.ctx, "run-f")
	testdb.Must(t, "table loads", err)
	rows := map[string]admin.TableLoad{}
	for _, l := range loads {
		if l.CompanyID == 2 {
			rows[l.Table] = l
		}
	}
	for _, tb := range plan.Tables {
		l, ok := rows[tb.Table]
		if !ok || l.Status != admin.LoadFailed || !strings.Contains(l.Error, "not swapped: company 2 (globex): States.ExceedToleratedFailureThreshold") {
			t.Errorf("globex's table %s in the run history: %+v (found %v); want failed with the company's cause", tb.Table, l, ok)
		}
	}
	if len(rows) != len(plan.Tables) {
		t.Errorf("globex has %d run-history rows, want one per table (%d)", len(rows), len(plan.Tables))
	}
}

func TestUnknownAction(t *testing.T) {
	s := steps.New(steps.Deps{})
	_, err := lambda.NewHandler(s.Function).Invoke(context.Background(), []byte(`{"action":"explode","run_id":"x"}`))
	if err == nil || errorType(err) != "ConfigError" {
		t.Fatalf("err = %v, want ConfigError", err)
	}
}

// deadlineSource is the real source, recording the deadline each export
// ran under.
type deadlineSource struct {
	ferry.Source
	seen time.Time
}

func (d *deadlineSource) Export(ctx context.Context, req ferry.ExportRequest, w io.Writer) (ferry.ExportStats, error) {
	d.seen, _ = ctx.Deadline()
	return d.Source.Export(ctx, req, w)
}

func TestStatementsRunUnderTheInvocationDeadline(t *testing.T) {
	e := newEnv(t, ferry.EnginePostgres)
	e.seed()
	plan, err := invoke[ferry.ListTablesOutput](e, e.steps.Function, steps.Request{RunID: "run-d", RunDate: "2026-03-01", Companies: []int64{2}})
	testdb.Must(t, "list tables", err)
	if cs := e.companies(plan); len(cs) != 1 || cs[0].Alias != "globex" {
		t.Fatalf("a run restricted to company 2 planned %+v", cs)
	}
	src := &deadlineSource{Source: mysql.NewSource(e.src)}
	s := steps.New(steps.Deps{Source: src, Store: e.store, DeadlineMargin: 5 * time.Second})
	invocation := time.Now().Add(time.Minute)
	ctx, cancel := context.WithDeadline(e.ctx, invocation)
	defer cancel()
	item := e.manifest(e.companies(plan)[0])[0]
	if _, err := lambda.NewHandler(s.ExportChunk).Invoke(ctx, item); err != nil {
		t.Fatal(err)
	}
	if src.seen.IsZero() || src.seen.After(invocation.Add(-5*time.Second)) {
		t.Fatalf("export ran under deadline %v, want at least 5s before the invocation's %v", src.seen, invocation)
	}
}

// tamper rewrites the chunk object at key, in its own codec, with one
// data byte of its CSV changed and returns the number of records in it.
func tamper(t *testing.T, e *env, key string) int {
	t.Helper()
	r, err := e.store.Open(e.ctx, key)
	testdb.Must(t, "open", err)
	obj, err := io.ReadAll(r)
	testdb.Must(t, "read", err)
	r.Close()
	raw, codec, err := steps.DecodeObject(obj)
	testdb.Must(t, "decode", err)
	i := bytes.LastIndex(raw, []byte("\"\n"))
	if i < 1 {
		t.Fatalf("no quoted field at the end of %s", key)
	}
	// Change a digit to another digit (or a letter to another letter) so the
	// value stays valid for its column and only the checksum can tell.
	switch c := raw[i-1]; {
	case c >= '0' && c <= '8':
		raw[i-1] = c + 1
	case c == '9':
		raw[i-1] = '0'
	case c == 'x':
		raw[i-1] = 'y'
	default:
		raw[i-1] = 'x'
	}
	obj, err = steps.EncodeObject(raw, codec)
	testdb.Must(t, "encode", err)
	w, err := e.store.Create(e.ctx, key)
	testdb.Must(t, "create", err)
	w.Write(obj)
	testdb.Must(t, "commit", w.Commit())
	return bytes.Count(raw, []byte("\n")) - 1
}

// stagingCount counts the rows of the chunk's staging table.
func (e *env) stagingCount(c ferry.ExportChunkOutput) int64 {
	e.t.Helper()
	var n int64
	var err error
	if e.engine == ferry.EnginePostgres {
		err = e.pg.QueryRow(e.ctx, `SELECT count(*) FROM "`+c.Schema+`"."`+c.Staging+`"`).Scan(&n)
	} else {
		err = e.tdb.QueryRowContext(e.ctx, "SELECT COUNT(*) FROM `"+c.Schema+"`.`"+c.Staging+"`").Scan(&n)
	}
	testdb.Must(e.t, "count staging", err)
	return n
}

// checkMetricsAndEvents checks what one runChain emitted: EMF records with
// low-cardinality dimensions for every chunk's export and load and every
// swapped table, and a "Ferry Tables Swapped" event per swap (the chain
// retries each swap once: the event is at-least-once).
func (e *env) checkMetricsAndEvents(out ferry.FinishRunOutput) {
	e.t.Helper()
	type key struct{ company, table, metric string }
	seen := map[key]float64{}
	for _, line := range strings.Split(strings.TrimSpace(e.emf.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			e.t.Fatalf("EMF line is not JSON: %v: %q", err, line)
		}
		aws, _ := rec["_aws"].(map[string]any)
		cwm, _ := aws["CloudWatchMetrics"].([]any)
		if len(cwm) != 1 {
			e.t.Fatalf("EMF record without CloudWatchMetrics: %q", line)
		}
		def := cwm[0].(map[string]any)
		if def["Namespace"] != metrics.Namespace || fmt.Sprint(def["Dimensions"]) != "[[Company Table]]" {
			e.t.Fatalf("EMF record namespace/dimensions: %v", def)
		}
		for _, m := range def["Metrics"].([]any) {
			name := m.(map[string]any)["Name"].(string)
			v, ok := rec[name].(float64)
			if !ok {
				e.t.Fatalf("EMF record lacks the value of %s: %q", name, line)
			}
			seen[key{rec["Company"].(string), rec["Table"].(string), name}] += v
		}
	}
	var tableRows float64
	for _, c := range []string{"acme", "globex"} {
		for _, tb := range []string{"orders", "items"} {
			if _, ok := seen[key{c, tb, "TableRows"}]; !ok {
				e.t.Errorf("no TableRows metric for %s.%s", c, tb)
			}
			tableRows += seen[key{c, tb, "TableRows"}]
		}
	}
	if tableRows != 2*float64(out.Rows) { // each swap is retried once in the chain
		e.t.Errorf("TableRows metrics sum to %v, want twice the %d published rows", tableRows, out.Rows)
	}
	if _, ok := seen[key{"acme", "orders", "TableSeconds"}]; !ok {
		e.t.Errorf("no TableSeconds metric for acme.orders")
	}
	if seen[key{"acme", "orders", "ExportRows"}] == 0 || seen[key{"acme", "orders", "LoadRows"}] == 0 {
		e.t.Errorf("no chunk metrics for acme.orders: %v", seen)
	}
	entries := e.bus.Entries()
	if len(entries) != 4 {
		e.t.Fatalf("published %d events, want 4 (2 companies, each swap retried once)", len(entries))
	}
	var rows int64
	for i, en := range entries {
		var d events.Detail
		if err := json.Unmarshal([]byte(en["Detail"].(string)), &d); err != nil {
			e.t.Fatal(err)
		}
		if en["DetailType"] != events.DetailType || en["EventBusName"] != "ferry-test" || len(d.Tables) != 2 || d.RunID == "" {
			e.t.Fatalf("event %d = %v", i, en)
		}
		if i%2 == 0 {
			rows += d.Rows
		}
	}
	if rows != out.Rows {
		e.t.Errorf("events carry %d rows, the run published %d", rows, out.Rows)
	}
}

// TestUpperBoundFixedAtPlanning: rows inserted into the source after
// list-tables planned the run (above the planned maximum) are not copied
// by this run, not even by the last chunk, so they never half-appear; the
// next run copies them.
func TestUpperBoundFixedAtPlanning(t *testing.T) {
	e := newEnv(t, ferry.EnginePostgres)
	e.seed()
	plan, err := invoke[ferry.ListTablesOutput](e, e.steps.Function, steps.Request{RunID: "run-u", RunDate: "2026-03-01", Companies: []int64{1}})
	testdb.Must(t, "list tables", err)
	c := e.companies(plan)[0]
	// Rows arrive while the run is under way: above every planned range.
	e.exec(e.src, "INSERT INTO items VALUES (500, 1, 'LATE-1', 1, NULL), (501, 1, 'LATE-2', 2, NULL)",
		"INSERT INTO orders VALUES (2000000000000, 1, 'late', 1.00, NULL)")
	var lastItems ferry.ChunkTask
	for _, item := range e.manifest(c) {
		var task ferry.ChunkTask
		testdb.Must(t, "decode", json.Unmarshal(item, &task))
		if task.Table == "items" && task.Chunk.Index == task.Chunks-1 {
			lastItems = task
		}
		exp, err := invoke[json.RawMessage](e, e.steps.ExportChunk, item)
		testdb.Must(t, "export", err)
		_, err = invoke[ferry.LoadChunkOutput](e, e.steps.LoadChunk, exp)
		testdb.Must(t, "load", err)
	}
	if lastItems.Chunk.Hi != 13 {
		t.Fatalf("last items chunk %+v, want it to end at the planned max 12 + 1", lastItems.Chunk)
	}
	sw, err := invoke[ferry.SwapTablesOutput](e, e.steps.SwapTables, c)
	testdb.Must(t, "swap", err)
	for _, tb := range []struct{ table, late string }{{"items", "500, 501"}, {"orders", "2000000000000"}} {
		var n int64
		testdb.Must(t, "count late rows", e.pg.QueryRow(e.ctx, `SELECT count(*) FROM "`+c.Schema+`"."`+tb.table+`" WHERE id IN (`+tb.late+`)`).Scan(&n))
		if n != 0 {
			t.Errorf("%s: %d rows inserted after planning were published", tb.table, n)
		}
	}
	var published int64
	for _, tr := range sw.Tables {
		published += tr.Rows
	}
	if published != sw.Rows || sw.Rows == 0 {
		t.Fatalf("swap = %+v", sw)
	}
	_, err = invoke[ferry.FinishRunOutput](e, e.steps.Function, steps.Request{Action: steps.ActionFinish, RunID: "run-u",
		Outcomes: []ferry.CompanyOutcome{{CompanyID: 1, Alias: c.Alias, Rows: sw.Rows}}})
	testdb.Must(t, "finish", err)
}

// TestEndRun: the status-change rule's call releases the lease and records
// a run that ended without its Report, and leaves alone a run its Report
// recorded, an unknown run, and a bad status.
func TestEndRun(t *testing.T) {
	e := newEnv(t, ferry.EnginePostgres)
	e.seed()
	end := func(runID, status string) (steps.EndRunOutput, error) {
		return invoke[steps.EndRunOutput](e, e.steps.Function, steps.Request{Action: steps.ActionFinish, RunID: runID, ExecutionStatus: status})
	}

	// A run that took the lease and died (e.g. States.DataLimitExceeded).
	_, err := invoke[ferry.ListTablesOutput](e, e.steps.Function, steps.Request{RunID: "run-died", RunDate: "2026-03-01"})
	testdb.Must(t, "list tables", err)
	if l, _ := e.adm.GetLease(e.ctx); l.Holder != "run-died" {
		t.Fatalf("lease holder = %q, want run-died", l.Holder)
	}
	out, err := end("run-died", "TIMED_OUT")
	testdb.Must(t, "end run", err)
	if !out.Recorded || out.Status != admin.RunFailed {
		t.Fatalf("end = %+v, want recorded as failed", out)
	}
	if l, _ := e.adm.GetLease(e.ctx); l.Holder != "" {
		t.Fatalf("lease still held by %q", l.Holder)
	}
	run, _, err := e.adm.GetRun(e.ctx, "run-died")
	testdb.Must(t, "get run", err)
	if run.Status != admin.RunFailed || run.FinishedAt == nil || !strings.Contains(run.Summary, "TIMED_OUT") {
		t.Fatalf("run = %+v", run)
	}
	if again, err := end("run-died", "TIMED_OUT"); err != nil || again.Recorded {
		t.Fatalf("second end = %+v, %v; want a no-op", again, err)
	}

	// A run whose Report recorded it: its summary stands.
	fin := e.runChain("run-reported", golden{})
	if out, err := end("run-reported", "FAILED"); err != nil || out.Recorded {
		t.Fatalf("end after report = %+v, %v; want a no-op", out, err)
	}
	run, _, err = e.adm.GetRun(e.ctx, "run-reported")
	testdb.Must(t, "get run", err)
	if run.Status != fin.Status || run.Summary != fin.Summary {
		t.Fatalf("end overwrote the report: %+v", run)
	}

	// An id that is not a run (a Distributed Map child, another machine).
	if out, err := end("not-a-run", "FAILED"); err != nil || out.Recorded {
		t.Fatalf("end of an unknown run = %+v, %v", out, err)
	}
	if _, _, err := e.adm.GetRun(e.ctx, "not-a-run"); !errors.Is(err, ferry.ErrNotFound) {
		t.Fatalf("an unknown run got a row: %v", err)
	}
	if _, err := end("run-died", "SUCCEEDED"); err == nil || errorType(err) != "ConfigError" {
		t.Fatalf("end with SUCCEEDED: %v, want ConfigError", err)
	}
}

// TestRunIDReuseRefused: a finished run's id cannot start another run
// (its swaps would all look done already); nothing is touched.
func TestRunIDReuseRefused(t *testing.T) {
	e := newEnv(t, ferry.EnginePostgres)
	e.seed()
	e.runChain("run-once", golden{})
	_, err := invoke[ferry.ListTablesOutput](e, e.steps.Function, steps.Request{RunID: "run-once", RunDate: "2026-03-02"})
	if err == nil || errorType(err) != "ConfigError" || !strings.Contains(err.Error(), "already used") {
		t.Fatalf("reused run id: %v, want ConfigError", err)
	}
	if l, _ := e.adm.GetLease(e.ctx); l.Holder != "" {
		t.Fatalf("a refused run holds the lease: %q", l.Holder)
	}
	run, _, err := e.adm.GetRun(e.ctx, "run-once")
	testdb.Must(t, "get run", err)
	if run.Status != admin.RunSucceeded {
		t.Fatalf("the refused reuse changed the finished run: %+v", run)
	}
}

// TestShrinkGuard: a table with max_shrink_pct is not published when the
// source suddenly returns far fewer rows; the company fails with a
// DataError naming the table and every live table of it stays as it was.
// Raising the guard lets the next run publish.
func TestShrinkGuard(t *testing.T) {
	e := newEnv(t, ferry.EnginePostgres)
	e.seed()
	e.exec(e.admin, "UPDATE `tables` SET `max_shrink_pct` = 50 WHERE `name` = 'orders'")
	e.runChain("run-full", golden{})
	acme := ferry.DefaultSchema("acme") // postgres: the schema has its default name
	before := e.targetRows(acme, "orders", []string{"id"})

	e.exec(e.src, "DELETE FROM orders WHERE id % 10 NOT IN (0, 1)") // ~80% of both companies' rows vanish
	plan, err := invoke[ferry.ListTablesOutput](e, e.steps.Function, steps.Request{RunID: "run-lagging", RunDate: "2026-03-01"})
	testdb.Must(t, "list tables", err)
	c := e.companies(plan)[0]
	for _, item := range e.manifest(c) {
		exp, err := invoke[json.RawMessage](e, e.steps.ExportChunk, item)
		testdb.Must(t, "export", err)
		_, err = invoke[ferry.LoadChunkOutput](e, e.steps.LoadChunk, exp)
		testdb.Must(t, "load", err)
	}
	_, err = invoke[ferry.SwapTablesOutput](e, e.steps.SwapTables, c)
	if err == nil || errorType(err) != "DataError" || !strings.Contains(err.Error(), "table orders") || !strings.Contains(err.Error(), "max_shrink_pct is 50") {
		t.Fatalf("swap of a shrunken table: %v, want a DataError naming orders and the guard", err)
	}
	if after := e.targetRows(acme, "orders", []string{"id"}); !reflect.DeepEqual(after, before) {
		t.Fatalf("live orders changed although the swap was refused: %d rows, had %d", len(after), len(before))
	}
	fin, err := invoke[ferry.FinishRunOutput](e, e.steps.Function, steps.Request{Action: steps.ActionFinish, RunID: "run-lagging",
		Outcomes: []ferry.CompanyOutcome{{CompanyID: c.CompanyID, Alias: c.Alias, Failed: true, Error: "DataError"}}})
	testdb.Must(t, "finish", err)
	if !strings.Contains(fin.Summary, "max_shrink_pct") {
		t.Errorf("the run's summary does not explain the refusal:\n%s", fin.Summary)
	}

	// The operator confirms the source really shrank: the guard is lifted.
	e.exec(e.admin, "UPDATE `tables` SET `max_shrink_pct` = NULL WHERE `name` = 'orders'")
	if out := e.runChain("run-accepted", golden{}); out.Status != admin.RunSucceeded {
		t.Fatalf("run after lifting the guard = %+v", out)
	}
	e.checkTargetEqualsSource()
}

// TestEveryCodecLoads: the loader reads a chunk object whatever its codec
// (none, gzip, zstd: told apart by the first bytes), and a load input of an
// earlier release (SHA-256 instead of the CRC-32C checksum) still verifies;
// a wrong SHA-256 is refused before anything commits.
func TestEveryCodecLoads(t *testing.T) {
	e := newEnv(t, ferry.EnginePostgres)
	e.seed()
	plan, err := invoke[ferry.ListTablesOutput](e, e.steps.Function, steps.Request{RunID: "run-c", RunDate: "2026-03-01"})
	testdb.Must(t, "list tables", err)
	exp, err := invoke[ferry.ExportChunkOutput](e, e.steps.ExportChunk, e.manifest(e.companies(plan)[0])[0])
	testdb.Must(t, "export", err)
	if exp.Codec != ferry.CodecGzip || !strings.HasPrefix(exp.Checksum, "crc32c:") || exp.SHA256 != "" {
		t.Fatalf("export to S3 = codec %q checksum %q sha256 %q, want gzip and one crc32c", exp.Codec, exp.Checksum, exp.SHA256)
	}
	r, err := e.store.Open(e.ctx, exp.Key)
	testdb.Must(t, "open", err)
	obj, err := io.ReadAll(r)
	r.Close()
	testdb.Must(t, "read", err)
	csv, _, err := steps.DecodeObject(obj)
	testdb.Must(t, "decode", err)
	put := func(c ferry.Codec) {
		b, err := steps.EncodeObject(csv, c)
		testdb.Must(t, "encode", err)
		w, err := e.store.Create(e.ctx, exp.Key)
		testdb.Must(t, "create", err)
		w.Write(b)
		testdb.Must(t, "commit", w.Commit())
	}
	sum := sha256.Sum256(csv)
	old := exp
	old.Checksum, old.Codec, old.SHA256 = "", "", hex.EncodeToString(sum[:])
	for _, c := range []ferry.Codec{ferry.CodecNone, ferry.CodecZstd, ferry.CodecGzip} {
		put(c)
		for name, in := range map[string]ferry.ExportChunkOutput{"crc32c": exp, "sha256": old} {
			out, err := invoke[ferry.LoadChunkOutput](e, e.steps.LoadChunk, in)
			if err != nil || out.Rows != exp.Rows || e.stagingCount(exp) != exp.Rows {
				t.Fatalf("%s object, %s input: %+v, %v; want %d rows", c, name, out, err, exp.Rows)
			}
		}
	}
	bad := old
	bad.SHA256 = strings.Repeat("0", 64)
	if _, err := invoke[ferry.LoadChunkOutput](e, e.steps.LoadChunk, bad); err == nil || errorType(err) != "DataError" || !strings.Contains(err.Error(), "nothing of it was committed") {
		t.Fatalf("load with a wrong sha256: %v, want DataError", err)
	}
}

// TestCompressionPerStore: a local directory gets uncompressed chunks
// (localstore prefers none), S3 gzip, and Deps.Compression overrides both;
// every one loads.
func TestCompressionPerStore(t *testing.T) {
	e := newEnv(t, ferry.EnginePostgres)
	e.seed()
	plan, err := invoke[ferry.ListTablesOutput](e, e.steps.Function, steps.Request{RunID: "run-z", RunDate: "2026-03-01"})
	testdb.Must(t, "list tables", err)
	item := e.manifest(e.companies(plan)[0])[0]
	dir, err := localstore.New(t.TempDir())
	testdb.Must(t, "local store", err)
	for _, tt := range []struct {
		store ferry.Store
		comp  ferry.Compression
		want  ferry.Codec
	}{{dir, ferry.Compression{}, ferry.CodecNone}, {e.store, ferry.Compression{}, ferry.CodecGzip},
		{dir, ferry.Compression{Codec: ferry.CodecZstd, Level: 1}, ferry.CodecZstd}} {
		s := steps.New(steps.Deps{Source: mysql.NewSource(e.src), Target: e.target, Store: tt.store, Compression: tt.comp})
		exp, err := invoke[ferry.ExportChunkOutput](e, s.ExportChunk, item)
		testdb.Must(t, "export", err)
		r, err := tt.store.Open(e.ctx, exp.Key)
		testdb.Must(t, "open", err)
		obj, _ := io.ReadAll(r)
		r.Close()
		if _, codec, err := steps.DecodeObject(obj); err != nil || codec != tt.want || exp.Codec != tt.want {
			t.Fatalf("export to %T with %v: object codec %q (%v), output %q; want %q", tt.store, tt.comp, codec, err, exp.Codec, tt.want)
		}
		if out, err := invoke[ferry.LoadChunkOutput](e, s.LoadChunk, exp); err != nil || out.Rows != exp.Rows {
			t.Fatalf("load from %T: %+v, %v", tt.store, out, err)
		}
	}
}
