package deploytest

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	gomysql "github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/asl"
	"github.com/ferrydata/ferry/internal/admin"
	"github.com/ferrydata/ferry/internal/events"
	"github.com/ferrydata/ferry/internal/mysql"
	"github.com/ferrydata/ferry/internal/postgres"
	"github.com/ferrydata/ferry/internal/s3store"
	"github.com/ferrydata/ferry/internal/s3store/s3test"
	"github.com/ferrydata/ferry/internal/steps"
	"github.com/ferrydata/ferry/internal/testdb"
	"github.com/ferrydata/ferry/internal/wire"
	"github.com/ferrydata/ferry/statemachine"
)

var updateEvents = flag.Bool("update-events", false,
	"rewrite sam/events/{export-chunk,load-chunk,swap-tables,finish-run}.json from the real run of TestSAMEventsInvoke")

// The world sam/events describes (sam/source.sql): company 42 (acme, "last
// 90 days", region eu) and three tables whose plan for run
// nightly-2026-11-22 is 4 + 3 + 2 chunks. The rows are deterministic, so
// the export of export-chunk.json always has the SHA-256 that
// load-chunk.json carries.
const (
	eventsRun     = "nightly-2026-11-22"
	eventsCompany = 42
)

// sourceStatements returns sam/source.sql's statements.
func sourceStatements(t *testing.T) []string { return sqlStatements(t, "sam/source.sql") }

// sqlStatements returns the 6 statements of a sam/source*.sql file.
func sqlStatements(t *testing.T, file string) []string {
	t.Helper()
	var out []string
	var cur []string
	for _, l := range strings.Split(string(read(t, file)), "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "--") {
			continue
		}
		cur = append(cur, l)
		if strings.HasSuffix(strings.TrimSpace(l), ";") {
			out = append(out, strings.TrimSuffix(strings.TrimSpace(strings.Join(cur, "\n")), ";"))
			cur = nil
		}
	}
	if len(out) != 6 {
		t.Fatalf("%s has %d statements, want 6", file, len(out))
	}
	return out
}

// eventsTables is the admin configuration sam/source.sql's header gives.
var eventsTables = []ferry.TableSpec{
	{Name: "orders", Query: "SELECT id, customer_id, total, status, created_at FROM orders WHERE company_id = :company_id AND created_at >= :since",
		Params: []string{"company_id", "since"}, ChunkColumn: "id", ChunkRows: 500},
	{Name: "customers", Query: "SELECT id, name, email, country FROM customers WHERE company_id = :company_id",
		Params: []string{"company_id"}, ChunkColumn: "id", ChunkRows: 400},
	{Name: "products", Query: "SELECT id, sku, price FROM products WHERE company_id = :company_id AND region = :region",
		Params: []string{"company_id", "region"}, ChunkColumn: "id", ChunkRows: 200},
}

// dsnURL turns testdb's go-sql-driver DSN into the mysql:// URL that
// FERRY_*_DSN takes.
func dsnURL(t *testing.T, dsn string) string {
	t.Helper()
	cfg, err := gomysql.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	u := url.URL{Scheme: "mysql", Host: cfg.Addr, Path: "/" + cfg.DBName, User: url.User(cfg.User)}
	if cfg.Passwd != "" {
		u.User = url.UserPassword(cfg.User, cfg.Passwd)
	}
	return u.String()
}

func openMySQL(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("mysql", dsn)
	testdb.Must(t, "open mysql", err)
	t.Cleanup(func() { db.Close() })
	return db
}

// syncBuf is a log sink safe for concurrent handlers.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuf) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuf) lines() []map[string]any {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(b.b.String()), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

// eventsWorld is a real admin MariaDB, source MariaDB, PostgreSQL target
// and in-process S3, configured through the environment exactly as
// sam/env.json configures `sam local invoke`, with the four Lambda
// handlers the mains hand to lambda.Start.
type eventsWorld struct {
	t     *testing.T
	ctx   context.Context
	store ferry.Store
	fake  *s3test.Fake
	pg    *pgx.Conn
	logs  *syncBuf
	fns   map[string]any // by function directory name
	admin *sql.DB        // the admin database
	src   *sql.DB        // the source database

	mu      sync.Mutex
	current string                     // the function being invoked ("": none)
	s3Calls map[string]map[string]bool // IAM actions of the S3 requests each function made
}

func newEventsWorld(t *testing.T) *eventsWorld {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	w := &eventsWorld{t: t, ctx: ctx}

	_, adminDSN := testdb.MySQL(t)
	adminDB := openMySQL(t, adminDSN)
	configureEvents(t, ctx, mysql.NewAdmin(adminDB))
	_, sourceDSN := testdb.MySQL(t)
	srcDB := openMySQL(t, sourceDSN)
	w.admin, w.src = adminDB, srcDB
	for _, s := range sourceStatements(t) {
		if _, err := srcDB.ExecContext(ctx, s); err != nil {
			t.Fatalf("seed source: %s: %v", s, err)
		}
	}
	w.start(dsnURL(t, adminDSN), dsnURL(t, sourceDSN))
	return w
}

// start gives the world its PostgreSQL target, the in-process S3, the
// environment sam/env.json sets (with adminURL and sourceURL) and the
// handlers.
func (w *eventsWorld) start(adminURL, sourceURL string) {
	t := w.t
	pgURL := testdb.Postgres(t)
	var err error
	w.pg, err = pgx.Connect(w.ctx, pgURL)
	testdb.Must(t, "connect postgres", err)
	t.Cleanup(func() { w.pg.Close(context.Background()) })
	w.fake = s3test.Start(t)
	w.store = s3store.New(w.fake.Client, w.fake.Bucket)
	w.s3Calls = map[string]map[string]bool{}
	w.fake.SetHook(w.recordS3)

	// sam/env.json's variables, pointed at this test's servers.
	for k, v := range map[string]string{
		"FERRY_ADMIN_SECRET_ARN":  "",
		"FERRY_SOURCE_SECRET_ARN": "",
		"FERRY_TARGET_SECRET_ARN": "",
		"FERRY_ADMIN_DSN":         adminURL,
		"FERRY_SOURCE_DSN":        sourceURL,
		"FERRY_TARGET_DSN":        pgURL,
		"FERRY_TARGET_ENGINE":     "postgres",
		"FERRY_BUCKET":            w.fake.Bucket,
		"FERRY_S3_ENDPOINT":       w.fake.URL,
		"FERRY_STORE":             "",
		"FERRY_EVENT_BUS":         "",
		"FERRY_METRICS":           "off",
		"AWS_ACCESS_KEY_ID":       s3test.AccessKey,
		"AWS_SECRET_ACCESS_KEY":   s3test.SecretKey,
		"AWS_REGION":              s3test.Region,
	} {
		t.Setenv(k, v)
	}
	// The mains log JSON through lambdacontext.NewLogHandler to stdout;
	// here the same records go to a buffer the test reads.
	w.logs = &syncBuf{}
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewJSONHandler(w.logs, nil)))
	t.Cleanup(func() { slog.SetDefault(prev) })

	w.fns = map[string]any{}
	for fn, h := range mainHandlers() {
		w.fns[fn] = h.fn
	}
}

// configureEvents migrates adm and configures sam/source.sql's company 42
// and tables.
func configureEvents(t *testing.T, ctx context.Context, adm *admin.DB) {
	t.Helper()
	_, err := adm.Migrate(ctx)
	testdb.Must(t, "migrate admin", err)
	testdb.Must(t, "add company 42", adm.AddCompany(ctx, admin.NewCompany{ID: eventsCompany, Alias: "acme",
		Config: map[string]string{"days": "90", "region": "eu"}}))
	for _, tb := range eventsTables {
		testdb.Must(t, "add table "+tb.Name, adm.AddTable(ctx, tb, true))
	}
}

// mainHandlers are exactly what functions/*/main.go hand to lambda.Start
// (TestMainsStartTheTestedHandlers checks the source says so).
func mainHandlers() map[string]struct {
	src string
	fn  any
} {
	type h = struct {
		src string
		fn  any
	}
	return map[string]h{
		"list-tables": {"wire.Handler(steps.NeedsFunction, (*steps.Steps).Function, wire.WithEngines(mysql.Engine{}, postgres.Engine{}))",
			wire.Handler(steps.NeedsFunction, (*steps.Steps).Function, wire.WithEngines(mysql.Engine{}, postgres.Engine{}))},
		"export-chunk": {"wire.Handler(steps.NeedsExportChunk, (*steps.Steps).ExportChunk, wire.WithEngines(mysql.Engine{}, postgres.Engine{}))",
			wire.Handler(steps.NeedsExportChunk, (*steps.Steps).ExportChunk, wire.WithEngines(mysql.Engine{}, postgres.Engine{}))},
		"load-chunk": {"wire.Handler(steps.NeedsLoadChunk, (*steps.Steps).LoadChunk, wire.WithEngines(mysql.Engine{}, postgres.Engine{}))",
			wire.Handler(steps.NeedsLoadChunk, (*steps.Steps).LoadChunk, wire.WithEngines(mysql.Engine{}, postgres.Engine{}))},
		"swap-tables": {"wire.Handler(steps.NeedsSwapTables, (*steps.Steps).SwapTables, wire.WithEngines(mysql.Engine{}, postgres.Engine{}), wire.WithNotifier(events.Open))",
			wire.Handler(steps.NeedsSwapTables, (*steps.Steps).SwapTables, wire.WithEngines(mysql.Engine{}, postgres.Engine{}), wire.WithNotifier(events.Open))},
		"run-job": {"wire.Handler(steps.NeedsRunJob, (*steps.Steps).RunJob, wire.WithEngines(mysql.Engine{}, postgres.Engine{}))",
			wire.Handler(steps.NeedsRunJob, (*steps.Steps).RunJob, wire.WithEngines(mysql.Engine{}, postgres.Engine{}))},
	}
}

// TestMainsStartTheTestedHandlers: each main starts the handler
// TestSAMEventsInvoke invokes, with the adapters its step needs and no
// more (export-chunk links no EventBridge client).
func TestMainsStartTheTestedHandlers(t *testing.T) {
	for fn, h := range mainHandlers() {
		src := string(read(t, filepath.Join("functions", fn, "main.go")))
		if !strings.Contains(src, "lambda.Start("+h.src+")") {
			t.Errorf("functions/%s/main.go does not run lambda.Start(%s)", fn, h.src)
		}
	}
}

// invoke runs payload through lambda.NewHandler(fn).Invoke, as the Lambda
// runtime does, and decodes the output into out.
func (w *eventsWorld) invoke(fn string, payload []byte, out any) {
	w.t.Helper()
	w.mu.Lock()
	w.current = fn
	w.mu.Unlock()
	defer func() {
		w.mu.Lock()
		w.current = ""
		w.mu.Unlock()
	}()
	b, err := lambda.NewHandler(w.fns[fn]).Invoke(w.ctx, payload)
	if err != nil {
		w.t.Fatalf("%s: %T: %v\npayload: %s", fn, err, err, payload)
	}
	if err := json.Unmarshal(b, out); err != nil {
		w.t.Fatalf("%s: decode output %s: %v", fn, b, err)
	}
}

func readEvent(t *testing.T, name string, v any) []byte {
	t.Helper()
	b := read(t, "sam/events/"+name)
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("sam/events/%s: %v", name, err)
	}
	return b
}

func writeEvent(t *testing.T, name string, v any) {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	testdb.Must(t, "marshal "+name, enc.Encode(v))
	testdb.Must(t, "write "+name, os.WriteFile(filepath.Join(root, "sam/events", name), b.Bytes(), 0o644))
}

// freshness returns the target schema's freshness rows as BI tools read
// them: table, run id, rows, swapped_at.
func (w *eventsWorld) freshness(schema string) map[string]string {
	w.t.Helper()
	rows, err := w.pg.Query(w.ctx, `SELECT table_name, run_id, rows, swapped_at FROM "`+schema+`"._ferry_freshness`)
	testdb.Must(w.t, "read freshness", err)
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var (
			table, run string
			n          int64
			at         time.Time
		)
		testdb.Must(w.t, "scan freshness", rows.Scan(&table, &run, &n, &at))
		if at.IsZero() {
			w.t.Errorf("freshness of %s has no swapped_at", table)
		}
		out[table] = fmt.Sprintf("%s:%d", run, n)
	}
	testdb.Must(w.t, "freshness rows", rows.Err())
	return out
}

func (w *eventsWorld) count(schema, table string) int64 {
	w.t.Helper()
	var n int64
	testdb.Must(w.t, "count "+table, w.pg.QueryRow(w.ctx, `SELECT count(*) FROM "`+schema+`"."`+table+`"`).Scan(&n))
	return n
}

// TestSAMEventsInvoke invokes every sam/events file, unchanged, through
// lambda.NewHandler(fn).Invoke with the handlers the mains start, against
// real MariaDB (admin and source), real PostgreSQL (target) and the
// in-process S3, in the order of a run: list-tables, export-chunk,
// load-chunk, swap-tables, finish-run. The payloads are what the real steps
// produce and take (checked field by field, so they cannot drift), the
// published tables equal the source, and the target schema's freshness
// table records every table. start-execution.json then runs the whole
// state machine (statemachine/ferry.asl.json in the ASL engine) with the
// same handlers. Run with -update-events to rewrite the payload files.
func TestSAMEventsInvoke(t *testing.T) {
	w := newEventsWorld(t)

	// list-tables.json plans the run.
	var listReq steps.Request
	listEvent := readEvent(t, "list-tables.json", &listReq)
	var plan ferry.ListTablesOutput
	w.invoke("list-tables", listEvent, &plan)
	companies, err := steps.Companies(w.ctx, w.store, plan)
	testdb.Must(t, "read the companies manifest", err)
	if plan.RunID != eventsRun || plan.RunDate != "2026-11-22" || plan.Companies != 1 || len(companies) != 1 || companies[0].CompanyID != eventsCompany ||
		plan.Tables != 3 || plan.Chunks != 9 || plan.Bucket != w.fake.Bucket {
		t.Fatalf("list-tables.json planned %+v (companies %+v), want run %s, company %d, 3 tables, 9 chunks", plan, companies, eventsRun, eventsCompany)
	}
	company := companies[0]

	// export-chunk.json is orders' chunk 3 of the manifest, byte for byte
	// what list-tables wrote; load-chunk.json is its export's output.
	loaded, exportEv := w.copyChunks(company, "export-chunk.json", "load-chunk.json", func(task ferry.ChunkTask) bool {
		return task.Table == "orders" && task.Chunk.Index == 3
	})

	// swap-tables.json is the company item of list-tables' output.
	var swapEv ferry.CompanyRun
	swapEvent := readEvent(t, "swap-tables.json", &swapEv)
	if *updateEvents {
		writeEvent(t, "swap-tables.json", company)
		swapEvent = readEvent(t, "swap-tables.json", &swapEv)
	} else if swapEv != company {
		t.Errorf("sam/events/swap-tables.json is not list-tables' company item:\n event %+v\n  real %+v", swapEv, company)
	}
	var sw ferry.SwapTablesOutput
	w.invoke("swap-tables", swapEvent, &sw)
	if sw.AlreadySwapped || len(sw.Tables) != 3 || sw.CompanyID != eventsCompany {
		t.Fatalf("swap-tables.json: %+v", sw)
	}
	schema := ferry.DefaultSchema("acme")
	want := map[string]string{}
	for _, tr := range sw.Tables {
		if tr.Rows != loaded[tr.Table] || w.count(schema, tr.Table) != tr.Rows {
			t.Errorf("table %s: swapped %d rows, loaded %d, live has %d", tr.Table, tr.Rows, loaded[tr.Table], w.count(schema, tr.Table))
		}
		want[tr.Table] = fmt.Sprintf("%s:%d", eventsRun, tr.Rows)
	}
	if got := w.freshness(schema); !reflect.DeepEqual(got, want) {
		t.Errorf("freshness %v, want %v", got, want)
	}

	// finish-run.json closes the run with the swap's outcome.
	var finReq steps.Request
	finEvent := readEvent(t, "finish-run.json", &finReq)
	realFin := steps.Request{Action: steps.ActionFinish, RunID: eventsRun,
		Outcomes: []ferry.CompanyOutcome{{CompanyID: eventsCompany, Alias: "acme", Rows: sw.Rows}}}
	if *updateEvents {
		writeEvent(t, "finish-run.json", realFin)
		finEvent = readEvent(t, "finish-run.json", &finReq)
	} else if !reflect.DeepEqual(finReq, realFin) {
		t.Errorf("sam/events/finish-run.json is not the run's outcome:\n event %+v\n  real %+v", finReq, realFin)
	}
	var fin ferry.FinishRunOutput
	w.invoke("list-tables", finEvent, &fin)
	if fin.Status != admin.RunSucceeded || fin.Failed != 0 || fin.Rows != sw.Rows {
		t.Fatalf("finish-run.json: %+v", fin)
	}

	// Logs carry the run, company, table and chunk.
	checkChunkLogs(t, w.logs.lines(), exportEv)
	t.Run("IAM grants are what the code calls", func(t *testing.T) { checkIAM(t, w.s3Actions()) })

	// start-execution.json runs the whole workflow (a new run: the lease
	// is free again) through the same handlers.
	var startEv map[string]any
	startEvent := readEvent(t, "start-execution.json", &startEv)
	exec := w.execute(t, "sfn-"+eventsRun, startEvent)
	if exec.Status != asl.StatusSucceeded {
		t.Fatalf("start-execution.json: %s %s %s", exec.Status, exec.Error, exec.Cause)
	}
	var sfn ferry.FinishRunOutput
	testdb.Must(t, "decode execution output", json.Unmarshal(exec.Output, &sfn))
	if sfn.Failed != 0 || sfn.Companies != 1 || sfn.Rows != sw.Rows {
		t.Fatalf("execution output %s, want 1 company and %d rows", exec.Output, sw.Rows)
	}
	for tb := range want {
		want[tb] = strings.Replace(want[tb], eventsRun, "sfn-"+eventsRun, 1)
	}
	if got := w.freshness(schema); !reflect.DeepEqual(got, want) {
		t.Errorf("freshness after the execution %v, want %v", got, want)
	}
}

// copyChunks invokes export-chunk and load-chunk for every item of
// company's manifest. The item pick selects must be sam/events/exportEvent
// byte for byte, and its export sam/events/loadEvent (with -update-events
// they are rewritten); those files are what is invoked for it. It returns
// the rows loaded per table and the event's task.
func (w *eventsWorld) copyChunks(company ferry.CompanyRun, exportEvent, loadEvent string, pick func(ferry.ChunkTask) bool) (map[string]int64, ferry.ChunkTask) {
	t := w.t
	t.Helper()
	r, err := w.store.Open(w.ctx, company.ManifestKey)
	testdb.Must(t, "open manifest", err)
	var items []json.RawMessage
	testdb.Must(t, "decode manifest", json.NewDecoder(r).Decode(&items))
	r.Close()
	var exportEv ferry.ChunkTask
	exportBody := readEvent(t, exportEvent, &exportEv)
	var loadEv ferry.ExportChunkOutput
	loadBody := readEvent(t, loadEvent, &loadEv)
	var exported ferry.ExportChunkOutput
	found := false
	loaded := map[string]int64{}
	for _, item := range items {
		var task ferry.ChunkTask
		testdb.Must(t, "decode manifest item", json.Unmarshal(item, &task))
		isEvent := pick(task)
		exp := []byte(item)
		if isEvent {
			found = true
			if *updateEvents {
				writeEvent(t, exportEvent, task)
				exportBody = readEvent(t, exportEvent, &exportEv)
			} else if !reflect.DeepEqual(task, exportEv) {
				t.Errorf("sam/events/%s is not the manifest's %s:\n event %+v\n  real %+v", exportEvent, ferry.ChunkName(task.Table, task.Chunk), exportEv, task)
			}
			exp = exportBody
		}
		var out ferry.ExportChunkOutput
		w.invoke("export-chunk", exp, &out)
		load, _ := json.Marshal(out)
		if isEvent {
			exported = out
			got, want := out, loadEv
			got.Seconds, want.Seconds = 0, 0
			if *updateEvents {
				out.Seconds = 0.42
				writeEvent(t, loadEvent, out)
				loadBody = readEvent(t, loadEvent, &loadEv)
			} else if !reflect.DeepEqual(got, want) {
				t.Errorf("sam/events/%s is not %s's export:\n event %+v\n  real %+v", loadEvent, exportEvent, want, got)
			}
			load = loadBody
		}
		var lo ferry.LoadChunkOutput
		w.invoke("load-chunk", load, &lo)
		if lo.Rows != out.Rows || lo.RunID != task.RunID {
			t.Fatalf("load of %s: %+v, export wrote %d rows", ferry.ChunkName(task.Table, task.Chunk), lo, out.Rows)
		}
		loaded[task.Table] += lo.Rows
	}
	if !found || exported.Rows == 0 {
		t.Fatalf("the manifest has no %s item with rows (items: %d)", exportEvent, len(items))
	}
	return loaded, exportEv
}

// checkChunkLogs: the chunk steps' log records name the run, the company,
// the table and the chunk.
func checkChunkLogs(t *testing.T, logs []map[string]any, task ferry.ChunkTask) {
	t.Helper()
	want := map[string]string{"run_id": task.RunID, "company": fmt.Sprintf("%d (%s)", task.CompanyID, task.Alias),
		"table": task.Table, "chunk": ferry.ChunkName(task.Table, task.Chunk)}
	seen := map[string]bool{}
	for _, l := range logs {
		if l["step"] != "export-chunk" && l["step"] != "load-chunk" || l["chunk"] != want["chunk"] {
			continue
		}
		for k, v := range want {
			if l[k] != v {
				t.Errorf("log record %v: %s = %v, want %q", l, k, l[k], v)
			}
		}
		seen[l["step"].(string)] = true
	}
	if !seen["export-chunk"] || !seen["load-chunk"] {
		t.Errorf("no export-chunk/load-chunk log record for %s (saw %v)", want["chunk"], seen)
	}
}

// execute runs statemachine/ferry.asl.json, substituted as CloudFormation
// would, in the ASL engine with input, the world's Lambda handlers behind
// the function ARNs and the Distributed Map's ItemReader/ResultWriter on
// the world's bucket.
func (w *eventsWorld) execute(t *testing.T, name string, input []byte) *asl.Execution {
	t.Helper()
	vals := map[string]string{}
	for k, v := range substitutionValues {
		vals[k] = v
	}
	vals["ChunkBucket"] = w.fake.Bucket
	def, err := statemachine.Substitute(read(t, "statemachine/ferry.asl.json"), vals)
	testdb.Must(t, "substitute", err)
	sm, err := asl.Parse(def)
	testdb.Must(t, "parse ferry.asl.json", err)
	tasks := map[string]asl.TaskHandler{}
	for fn, h := range w.fns {
		tasks[fnARN+fn] = asl.LambdaFunction(h)
	}
	bucketOK := func(b string) error {
		if b != w.fake.Bucket {
			return fmt.Errorf("bucket %q, want %q", b, w.fake.Bucket)
		}
		return nil
	}
	exec, err := sm.Execute(w.ctx, input, asl.Options{
		Name: name, StateMachineName: "ferry-ferry", Region: "eu-west-1", Tasks: tasks,
		ItemReader: asl.ItemReaderFunc(func(ctx context.Context, _, b, key string) ([]byte, error) {
			if err := bucketOK(b); err != nil {
				return nil, err
			}
			r, err := w.store.Open(ctx, key)
			if err != nil {
				return nil, err
			}
			defer r.Close()
			var buf bytes.Buffer
			_, err = buf.ReadFrom(r)
			return buf.Bytes(), err
		}),
		ResultWriter: asl.ResultWriterFunc(func(ctx context.Context, _, b, key string, body []byte) error {
			if err := bucketOK(b); err != nil {
				return err
			}
			ow, err := w.store.Create(ctx, key)
			if err != nil {
				return err
			}
			ow.Write(body)
			return ow.Commit()
		}),
		Rand: func() float64 { return 0.5 },
	})
	testdb.Must(t, "execute", err)
	return exec
}
