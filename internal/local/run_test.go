package local

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/asl"
	"github.com/ferrydata/ferry/internal/admin"
	"github.com/ferrydata/ferry/internal/localstore"
	"github.com/ferrydata/ferry/internal/mysql"
	"github.com/ferrydata/ferry/internal/postgres"
	"github.com/ferrydata/ferry/internal/steps"
	"github.com/ferrydata/ferry/internal/testdb"
	"github.com/ferrydata/ferry/statemachine"
)

// e2e is one end-to-end setup: real MariaDB admin and source databases, a
// real target, a store in a temp dir.
type e2e struct {
	src     *sql.DB
	adm     *admin.DB
	target  ferry.Target
	store   ferry.Store
	steps   *steps.Steps
	schemas map[string]string // alias → target schema
	pgURL   string            // the PostgreSQL target's database
	tdb     *sql.DB           // the MySQL target's server
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func mustExec(t *testing.T, db *sql.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// The two companies: alpha's rows always copy; beta's customers query
// fails at export once a duplicate tag exists for one of its customers
// (a scalar subquery returning two rows), which planning cannot see.
var (
	alpha = admin.NewCompany{ID: 1, Alias: "alpha"}
	beta  = admin.NewCompany{ID: 2, Alias: "beta"}
)

// quiet drops the steps' and adapters' logs; the run's progress and
// report are logged on failure instead.
var quiet = slog.New(slog.DiscardHandler)

func newE2E(t *testing.T, engine ferry.Engine) *e2e {
	t.Helper()
	ctx := ctxT(t)
	e := &e2e{schemas: map[string]string{}}
	var srcName string
	e.src, srcName = testdb.MySQLDB(t)
	adminDB, _ := testdb.MySQLDB(t)
	e.adm = mysql.NewAdmin(adminDB)
	_, err := e.adm.Migrate(ctx)
	testdb.Must(t, "migrate admin", err)

	switch engine {
	case ferry.EngineMySQL:
		_, dsn := testdb.MySQL(t)
		db, err := mysql.Open(ctx, dsn)
		testdb.Must(t, "open target", err)
		t.Cleanup(func() { db.Close() })
		e.tdb = db
		e.target = mysql.NewTarget(db, mysql.WithLogger(quiet))
		// Company schemas are databases on the shared server: unique
		// names, dropped at the end.
		for _, c := range []admin.NewCompany{alpha, beta} {
			schema := srcName + "_" + c.Alias
			e.schemas[c.Alias] = schema
			t.Cleanup(func() { db.Exec("DROP DATABASE IF EXISTS `" + schema + "`") })
		}
	case ferry.EnginePostgres:
		u := testdb.Postgres(t)
		e.pgURL = u
		tg, err := postgres.Open(ctx, u)
		testdb.Must(t, "open target", err)
		t.Cleanup(tg.Close)
		tg.Logger = quiet
		e.target = tg
	}
	for _, c := range []admin.NewCompany{alpha, beta} {
		c.Schema = e.schemas[c.Alias]
		testdb.Must(t, "add company", e.adm.AddCompany(ctx, c))
		if c.Schema == "" {
			e.schemas[c.Alias] = ferry.DefaultSchema(c.Alias)
		}
	}
	for _, spec := range []ferry.TableSpec{
		{Name: "orders", Query: "SELECT id, note, amount, created FROM orders WHERE company_id = :company_id", Params: []string{"company_id"}, ChunkColumn: "id", ChunkRows: 10},
		{Name: "customers", Query: "SELECT c.id, c.name, (SELECT t.tag FROM tags t WHERE t.k = c.k) AS tag FROM customers c WHERE c.company_id = :company_id", Params: []string{"company_id"}, ChunkColumn: "id", ChunkRows: 10},
	} {
		testdb.Must(t, "add table", e.adm.AddTable(ctx, spec, true))
	}

	mustExec(t, e.src, "CREATE TABLE orders (id BIGINT PRIMARY KEY, company_id BIGINT NOT NULL, note VARCHAR(100) NULL, amount DECIMAL(10,2) NOT NULL, created DATETIME(6) NOT NULL)")
	mustExec(t, e.src, "CREATE TABLE customers (id BIGINT PRIMARY KEY, company_id BIGINT NOT NULL, name VARCHAR(100) NOT NULL, k INT NOT NULL)")
	mustExec(t, e.src, "CREATE TABLE tags (k INT NOT NULL, tag VARCHAR(20) NOT NULL)")
	e.addOrders(t, 1, 60) // ids 1..60: every third is beta's
	for id := 1; id <= 20; id++ {
		company := alpha.ID
		if id%4 == 0 {
			company = beta.ID
		}
		mustExec(t, e.src, "INSERT INTO customers VALUES (?, ?, ?, ?)", id, company, fmt.Sprintf("customer \"%d\",\n\\ 😀", id), id)
		mustExec(t, e.src, "INSERT INTO tags VALUES (?, ?)", id, fmt.Sprintf("tag%d", id))
	}

	store, err := localstore.New(t.TempDir())
	testdb.Must(t, "store", err)
	e.store = store
	e.steps = steps.New(steps.Deps{
		Config: e.adm, Ledger: e.adm, Source: mysql.NewSource(e.src, mysql.WithLogger(quiet)), Target: e.target, Store: store, Bucket: DefaultBucket,
		Logger: quiet,
	})
	return e
}

func (e *e2e) addOrders(t *testing.T, from, to int) {
	t.Helper()
	for id := from; id <= to; id++ {
		company := alpha.ID
		if id%3 == 0 {
			company = beta.ID
		}
		var note any = fmt.Sprintf("note, \"%d\"", id)
		if id%5 == 0 {
			note = nil
		} else if id%7 == 0 {
			note = ""
		}
		mustExec(t, e.src, "INSERT INTO orders VALUES (?, ?, ?, ?, ?)", id, company, note, fmt.Sprintf("%d.%02d", id*3, id%100), fmt.Sprintf("2024-02-29 12:00:%02d.%06d", id%60, id))
	}
}

func (e *e2e) run(t *testing.T, runID string) *Result {
	res, _ := e.runProgress(t, runID, false)
	return res
}

// runProgress runs the workflow and returns its progress display, drawn
// as on a terminal or as plain lines.
func (e *e2e) runProgress(t *testing.T, runID string, terminal bool) (*Result, string) {
	t.Helper()
	var progress bytes.Buffer
	res, err := Run(ctxT(t), Options{
		Steps: e.steps, Store: e.store, RunID: runID, RunDate: "2026-11-22",
		ChunkConcurrency: 4, Progress: &progress, Terminal: terminal,
		// Retry back-offs do not sleep.
		Clock: asl.NewVirtualClock(time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)),
	})
	if err != nil {
		t.Fatalf("run %s: %v", runID, err)
	}
	t.Logf("run %s progress:\n%s", runID, progress.String())
	return res, progress.String()
}

func (e *e2e) counts(t *testing.T) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for _, c := range []admin.NewCompany{alpha, beta} {
		for _, tbl := range []string{"orders", "customers"} {
			n, err := e.target.Count(ctxT(t), e.schemas[c.Alias], tbl)
			if err != nil {
				t.Fatalf("count %s.%s: %v", c.Alias, tbl, err)
			}
			out[c.Alias+"."+tbl] = n
		}
	}
	return out
}

func (e *e2e) sourceCounts(t *testing.T) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for _, c := range []admin.NewCompany{alpha, beta} {
		for _, tbl := range []string{"orders", "customers"} {
			var n int64
			if err := e.src.QueryRow("SELECT COUNT(*) FROM `"+tbl+"` WHERE company_id = ?", c.ID).Scan(&n); err != nil {
				t.Fatal(err)
			}
			out[c.Alias+"."+tbl] = n
		}
	}
	return out
}

// TestWorkflowEndToEnd runs the real statemachine/ferry.asl.json twice on
// real servers. Run 1 copies both companies. Then new rows arrive for both
// and beta's customers query starts failing at export: run 2 swaps alpha,
// leaves every beta table exactly as run 1 published it, and the
// execution fails naming beta's failing table.
func TestWorkflowEndToEnd(t *testing.T) {
	for _, engine := range []ferry.Engine{ferry.EnginePostgres, ferry.EngineMySQL} {
		t.Run(string(engine), func(t *testing.T) {
			e := newE2E(t, engine)

			// The progress is a bar redrawn in place on a terminal, plain
			// lines otherwise: one of each.
			terminal := engine == ferry.EngineMySQL
			r1, prog := e.runProgress(t, "run-1", terminal)
			var rep1 bytes.Buffer
			r1.Report.Write(&rep1)
			if r1.Failed() {
				t.Fatalf("run 1 failed: %s: %s\n%s", r1.Execution.Error, r1.Execution.Cause, rep1.String())
			}
			checkProgress(t, prog, terminal, r1.Report.Chunks, r1.Report.Rows)
			checkReportTable(t, rep1.String(), r1.Report)
			want1 := e.sourceCounts(t)
			if got := e.counts(t); fmt.Sprint(got) != fmt.Sprint(want1) {
				t.Fatalf("after run 1 target counts %v, source %v", got, want1)
			}
			if r1.Report.Rows != want1["alpha.orders"]+want1["alpha.customers"]+want1["beta.orders"]+want1["beta.customers"] {
				t.Errorf("report rows %d, want the source's %v", r1.Report.Rows, want1)
			}
			for _, tr := range r1.Report.Tables {
				if tr.Status != "ok" || tr.Loaded != tr.Chunks || tr.Chunks == 0 {
					t.Errorf("run 1 report table %+v", tr)
				}
			}

			// New rows for both; a second tag for one of beta's customers
			// (k = 8) makes its scalar subquery return two rows.
			e.addOrders(t, 61, 90)
			mustExec(t, e.src, "INSERT INTO tags VALUES (8, 'dup')")

			r2 := e.run(t, "run-2")
			var rep bytes.Buffer
			r2.Report.Write(&rep)
			t.Logf("run 2 report:\n%s", rep.String())
			if r2.Execution.Status != asl.StatusFailed {
				t.Fatalf("run 2 status %s, want FAILED", r2.Execution.Status)
			}
			if !strings.Contains(r2.Execution.Cause, "beta") || !strings.Contains(r2.Execution.Cause, "customers") {
				t.Errorf("run 2 cause %q does not name beta's failing table customers", r2.Execution.Cause)
			}
			want2 := e.sourceCounts(t)
			got2 := e.counts(t)
			for _, k := range []string{"alpha.orders", "alpha.customers"} {
				if got2[k] != want2[k] {
					t.Errorf("%s: %d rows, want the new source's %d (alpha must be swapped)", k, got2[k], want2[k])
				}
			}
			for _, k := range []string{"beta.orders", "beta.customers"} {
				if got2[k] != want1[k] {
					t.Errorf("%s: %d rows, want run 1's %d (beta's live tables must be unchanged)", k, got2[k], want1[k])
				}
			}
			if want2["beta.orders"] == want1["beta.orders"] {
				t.Fatal("test is void: beta's source orders did not change")
			}
			var failed bool
			for _, tr := range r2.Report.Tables {
				if tr.Alias == "beta" && tr.Table == "customers" {
					failed = tr.Status == "FAILED" && strings.Contains(tr.Error, "customers")
				}
				if tr.Alias == "alpha" && tr.Status != "ok" {
					t.Errorf("alpha table %s status %s", tr.Table, tr.Status)
				}
			}
			if !failed {
				t.Errorf("report does not mark beta.customers FAILED with its error: %+v", r2.Report.Tables)
			}
			if !strings.Contains(rep.String(), "FAILED") {
				t.Errorf("printed report does not say FAILED")
			}
		})
	}
}

// TestTemplateResolve checks the substitutions a local run derives from
// the real template.yaml: every function ARN has an in-process step and
// the parameter defaults fill the concurrencies.
func TestTemplateResolve(t *testing.T) {
	tpl, err := ParseTemplate(ferry.Template)
	if err != nil {
		t.Fatal(err)
	}
	r, err := tpl.Resolve(map[string]string{"ChunkConcurrency": "3"}, map[string]string{"ChunkBucket": "b"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Values["ChunkConcurrency"] != "3" || r.Values["ChunkBucket"] != "b" {
		t.Errorf("values %v", r.Values)
	}
	if r.Values["CompanyConcurrency"] != tpl.Defaults["CompanyConcurrency"] || r.Values["CompanyConcurrency"] == "" {
		t.Errorf("CompanyConcurrency %q, template default %q", r.Values["CompanyConcurrency"], tpl.Defaults["CompanyConcurrency"])
	}
	// Every function of both state machines has a step, and every step a
	// function.
	all := map[string]string{}
	for _, m := range []string{FerryMachine, JobsMachine} {
		mt, err := tpl.Machine(m)
		if err != nil {
			t.Fatal(err)
		}
		r, err := mt.Resolve(map[string]string{"ChunkConcurrency": "3"}, map[string]string{"ChunkBucket": "b"})
		if err != nil {
			t.Fatal(err)
		}
		for arn, id := range r.Functions {
			all[arn] = id
		}
	}
	if len(all) != len(functionSteps) {
		t.Errorf("functions %v, want one per step %v", all, functionSteps)
	}
	for arn, id := range all {
		if _, ok := functionSteps[id]; !ok || arn != FunctionARN(id) {
			t.Errorf("function %s → %s has no step", arn, id)
		}
	}
	if _, _, err := Prepare(Options{Steps: steps.New(steps.Deps{})}); err != nil {
		t.Errorf("prepare the real definition: %v", err)
	}
	if _, _, err := Prepare(Options{Steps: steps.New(steps.Deps{}), Definition: statemachine.JobsDefinition, Machine: JobsMachine}); err != nil {
		t.Errorf("prepare the real jobs definition: %v", err)
	}
}

func TestParseTemplateErrors(t *testing.T) {
	for name, tc := range map[string]string{
		"no substitutions": "Parameters:\n  A:\n    Default: 1\n",
		"bad entry":        "Resources:\n  SM:\n    Properties:\n      DefinitionSubstitutions:\n        Broken\n",
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := ParseTemplate([]byte(tc)); err == nil {
				t.Fatal("no error")
			}
		})
	}
	tpl, err := ParseTemplate([]byte("Resources:\n  SM:\n    Properties:\n      DefinitionSubstitutions:\n        X: !Ref Missing\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tpl.Resolve(nil, nil); err == nil || !strings.Contains(err.Error(), "Missing") {
		t.Fatalf("resolve error %v, want one naming Missing", err)
	}
}

// checkProgress checks a run's progress display: the plan line, the final
// "chunks done of total, rows, MB/s" figures, each company's swap, and
// either a bar redrawn in place (terminal) or plain lines only.
func checkProgress(t *testing.T, prog string, terminal bool, chunks int, rows int64) {
	t.Helper()
	final := fmt.Sprintf("%d/%d chunks  %d rows  ", chunks, chunks, rows)
	for _, want := range []string{"planned run run-1: 2 companies", final, " MB/s", "swapped alpha: 2 tables", "swapped beta: 2 tables"} {
		if !strings.Contains(prog, want) {
			t.Errorf("progress lacks %q:\n%q", want, prog)
		}
	}
	redraws := strings.Count(prog, "\r\033[K")
	switch {
	case terminal && (redraws == 0 || !strings.Contains(prog, "█") || !strings.Contains(prog, "100%")):
		t.Errorf("terminal progress has no bar redrawn in place:\n%q", prog)
	case !terminal && (redraws != 0 || strings.ContainsAny(prog, "\r█░") || !strings.Contains(prog, "progress: "+final)):
		t.Errorf("plain progress must be plain lines with a final progress line:\n%q", prog)
	}
}

// checkReportTable checks the printed run report: a header, one row per
// company and table with its chunks, rows and status, and a total row.
func checkReportTable(t *testing.T, printed string, r *Report) {
	t.Helper()
	lines := strings.Split(printed, "\n")
	if len(lines) < len(r.Tables)+2 || !regexp.MustCompile(`^\s*company\s+table\s+chunks\s+rows\s+MB\s+seconds\s+MB/s\s+status`).MatchString(lines[0]) {
		t.Fatalf("report has no header:\n%s", printed)
	}
	if len(r.Tables) != 4 {
		t.Fatalf("report has %d table rows, want 2 companies × 2 tables: %+v", len(r.Tables), r.Tables)
	}
	for i, tr := range r.Tables {
		re := fmt.Sprintf(`^\s*%s\s+%s\s+%d\s+%d\s+[0-9.]+\s+[0-9.]+\s+[0-9.]+\s+ok\s*$`, tr.Alias, tr.Table, tr.Chunks, tr.Rows)
		if !regexp.MustCompile(re).MatchString(lines[i+1]) {
			t.Errorf("report row %d %q does not match %s", i+1, lines[i+1], re)
		}
	}
	total := fmt.Sprintf(`^\s*total\s+%d\s+%d\s+[0-9.]+\s+[0-9.]+\s+[0-9.]+\s+SUCCEEDED\s*$`, r.Chunks, r.Rows)
	if !regexp.MustCompile(total).MatchString(lines[len(r.Tables)+1]) {
		t.Errorf("report total %q does not match %s", lines[len(r.Tables)+1], total)
	}
}
