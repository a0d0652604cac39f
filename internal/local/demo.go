package local

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/admin"
	"github.com/ferrydata/ferry/internal/jobs"
	"github.com/ferrydata/ferry/internal/localstore"
	"github.com/ferrydata/ferry/internal/mysql"
	"github.com/ferrydata/ferry/internal/steps"
)

// DemoOptions configure Demo.
type DemoOptions struct {
	// Rows is the number of source rows over all tables and companies
	// (default DefaultDemoRows).
	Rows int
	// ChunkRows is the tables' chunk size (default Rows/20, at least 500:
	// about two dozen chunks. Each chunk query is slow on the embedded
	// server; measured on a busy 2-core machine, 200,000 rows took 61 s of
	// workflow in 66 chunks and 26 s in 23, and the demo must stay under a
	// minute).
	ChunkRows int64
	// Concurrency is the chunk concurrency (default the template's).
	Concurrency int
	// Out gets the narration and the report; Progress and Terminal are as
	// in Options.
	Out      io.Writer
	Progress io.Writer
	Terminal bool
	Logger   *slog.Logger
	// Source is "mysql" (default: every database on the embedded server)
	// or "postgres": the admin, source and target databases are fresh
	// databases on the PostgreSQL server at PostgresURL (default
	// DefaultPostgresURL), dropped at the end.
	Source      string
	PostgresURL string
}

// DefaultPostgresURL is the PostgreSQL server `ferry demo --source
// postgres` uses by default: the local one.
const DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// DefaultDemoRows is the demo's default size.
const DefaultDemoRows = 200000

// DemoResult is what the demo did.
type DemoResult struct {
	*Result
	Checks []Check
	// Seed and Total are the seeding time and the whole demo's.
	Seed, Total time.Duration
}

// Check is one verified table: source query vs target table.
type Check struct {
	Alias, Table           string
	SourceRows, TargetRows int64
	SourceSum, TargetSum   string
	OK                     bool
	// Diff describes the first differing value, if any.
	Diff string
}

// Failed reports whether the execution failed or a check did not match.
func (d *DemoResult) Failed() bool {
	if d.Result == nil || d.Result.Failed() {
		return true
	}
	for _, c := range d.Checks {
		if !c.OK {
			return true
		}
	}
	return len(d.Checks) == 0
}

// Demo runs the whole workflow on an embedded MySQL-compatible server
// (or, with Source "postgres", on fresh databases of a PostgreSQL server):
// it starts the server, migrates the admin database, seeds two companies ×
// three tables of awkward data, runs the real state machine with the
// in-process steps and a temp-dir store, verifies every target table
// against its source query (row count and a checksum), and cleans up
// (server stopped or databases dropped, temp dir removed), whatever
// happened.
func Demo(ctx context.Context, o DemoOptions) (res *DemoResult, err error) {
	start := time.Now()
	o = o.withDefaults()
	say := func(format string, args ...any) { fmt.Fprintf(o.Out, format+"\n", args...) }
	w, err := startDemo(ctx, o)
	if err != nil {
		return nil, err
	}
	defer func() {
		if cerr := w.close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	say("%s", w.db.where())
	seedStart := time.Now()
	if err = w.db.seed(ctx, o.Rows); err != nil {
		return nil, err
	}
	seedTook := time.Since(seedStart)
	say("seeded %d rows in %s (2 companies × %d tables, awkward values included)", o.Rows, seedTook.Truncate(time.Millisecond), len(demoTables))
	if err := w.configure(ctx, o.ChunkRows); err != nil {
		return nil, err
	}
	say("running statemachine/ferry.asl.json (store: %s)", w.dir)
	r, err := Run(ctx, Options{
		Steps: w.newSteps(o.Logger), Store: w.store, Bucket: DefaultBucket,
		RunID:              "demo-" + time.Now().UTC().Format("20060102T150405Z"),
		ChunkConcurrency:   o.Concurrency,
		CompanyConcurrency: w.db.companyConcurrency(),
		Progress:           o.Progress, Terminal: o.Terminal, Logger: o.Logger,
	})
	if err != nil {
		return nil, err
	}
	res = &DemoResult{Result: r, Seed: seedTook}
	if !r.Failed() {
		if res.Checks, err = w.verifyAll(ctx); err != nil {
			return res, err
		}
	}
	res.Total = time.Since(start)
	return res, nil
}

func (o DemoOptions) withDefaults() DemoOptions {
	if o.Rows <= 0 {
		o.Rows = DefaultDemoRows
	}
	if o.ChunkRows <= 0 {
		o.ChunkRows = max(int64(o.Rows/20), 500)
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// demoDB is where the demo's admin, source and target databases live:
// the embedded server (gmsDemo) or a PostgreSQL server (pgDemo).
type demoDB interface {
	// where is the narration's first line.
	where() string
	// admin is the admin database, migrated.
	admin() *admin.DB
	// seed creates and fills the source tables (DemoOptions.Rows rows).
	seed(ctx context.Context, rows int) error
	// deps are the steps' databases (Config, Ledger, Source, Target,
	// JobDBs) over log.
	deps(log *slog.Logger) steps.Deps
	// verify compares a company's target table with its source query.
	verify(ctx context.Context, c admin.NewCompany, t demoTable) (Check, error)
	companyConcurrency() int
	// close releases everything; it is safe on a partly started demoDB.
	close() error
}

// demoWorld is the demo's databases and a temp-dir store.
type demoWorld struct {
	db    demoDB
	dir   string
	store ferry.Store
	jobs  jobs.Book
}

// startDemo starts the databases (o.Source) and makes the store. On error
// nothing is left running.
func startDemo(ctx context.Context, o DemoOptions) (w *demoWorld, err error) {
	w = &demoWorld{}
	switch o.Source {
	case "", "mysql":
		w.db, err = startGMSDemo(ctx)
	case "postgres":
		w.db, err = startPGDemo(ctx, o.PostgresURL)
	default:
		return nil, fmt.Errorf("demo: source %q is not mysql or postgres", o.Source)
	}
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			w.close()
		}
	}()
	if w.dir, err = os.MkdirTemp("", "ferry-demo-"); err != nil {
		return nil, fmt.Errorf("demo: temp dir: %w", err)
	}
	if w.store, err = localstore.New(w.dir); err != nil {
		return nil, fmt.Errorf("demo: store: %w", err)
	}
	return w, nil
}

// close releases the databases and removes the store.
func (w *demoWorld) close() error {
	if w.dir != "" {
		os.RemoveAll(w.dir)
	}
	return w.db.close()
}

// configure adds the demo's companies and tables to the admin database.
func (w *demoWorld) configure(ctx context.Context, chunkRows int64) error {
	for _, c := range demoCompanies {
		if err := w.db.admin().AddCompany(ctx, c); err != nil {
			return fmt.Errorf("demo: add company %s: %w", c.Alias, err)
		}
	}
	if err := w.addJob(ctx); err != nil {
		return err
	}
	for _, t := range demoTables {
		spec := ferry.TableSpec{
			Name:        t.name,
			Query:       "SELECT " + strings.Join(t.cols, ", ") + " FROM " + t.name + " WHERE company_id = :company_id",
			Params:      []string{"company_id"},
			ChunkColumn: "id",
			ChunkRows:   chunkRows,
		}
		if err := w.db.admin().AddTable(ctx, spec, true); err != nil {
			return fmt.Errorf("demo: add table %s: %w", t.name, err)
		}
	}
	return nil
}

// newSteps are the steps over the demo's databases and store.
func (w *demoWorld) newSteps(log *slog.Logger) *steps.Steps {
	d := w.db.deps(log)
	d.Store, d.Bucket, d.Logger, d.Jobs = w.store, DefaultBucket, log, w.jobs
	return steps.New(d)
}

// gmsDemo is the embedded server holding the three databases.
type gmsDemo struct {
	srv      *Server
	adm      *admin.DB
	src, tgt *sql.DB
	adminDB  *sql.DB
}

// startGMSDemo starts the server, opens its databases and migrates the
// admin database. On error nothing is left running.
func startGMSDemo(ctx context.Context) (g *gmsDemo, err error) {
	g = &gmsDemo{}
	if g.srv, err = StartServer(ctx, "admin", "source", "target"); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			g.close()
		}
	}()
	for _, db := range []struct {
		name string
		dst  **sql.DB
	}{{"admin", &g.adminDB}, {"source", &g.src}, {"target", &g.tgt}} {
		if *db.dst, err = mysql.Open(ctx, g.srv.DSN(db.name)); err != nil {
			return nil, fmt.Errorf("demo: open %s: %w", db.name, err)
		}
	}
	g.adm = mysql.NewAdmin(g.adminDB)
	if _, err := g.adm.Migrate(ctx); err != nil {
		return nil, fmt.Errorf("demo: migrate the admin database: %w", err)
	}
	return g, nil
}

func (g *gmsDemo) where() string {
	return "embedded MySQL-compatible server (go-mysql-server, in memory) on " + g.srv.Addr()
}

func (g *gmsDemo) admin() *admin.DB { return g.adm }

func (g *gmsDemo) seed(ctx context.Context, rows int) error {
	_, err := seed(ctx, g.srv, rows)
	return err
}

// companyConcurrency is one company at a time: the admin database is on
// the same embedded server, whose memory backend does not isolate
// concurrent writers (see serialTarget).
func (g *gmsDemo) companyConcurrency() int { return 1 }

func (g *gmsDemo) verify(ctx context.Context, c admin.NewCompany, t demoTable) (Check, error) {
	return verify(ctx, g.src, g.tgt, c, t)
}

// close closes the databases and stops the server.
func (g *gmsDemo) close() error {
	for _, db := range []*sql.DB{g.adminDB, g.src, g.tgt} {
		if db != nil {
			db.Close()
		}
	}
	return g.srv.Close()
}

func (g *gmsDemo) deps(log *slog.Logger) steps.Deps {
	return steps.Deps{
		Config: g.adm,
		Ledger: g.adm,
		Source: mysql.NewSource(g.src, mysql.WithLogger(log)),
		// The embedded server has no usable LOAD DATA (docs/demo.md):
		// the adapter's documented INSERT loader is used.
		// Writes are serialized (serialTarget).
		Target: &serialTarget{t: mysql.NewTarget(g.tgt, mysql.WithLogger(log), mysql.WithInsertLoader(demoBatchRows))},
		// The demo's after-swap job runs on each company's target schema.
		JobDBs: func(context.Context, ferry.JobDatabase) (ferry.JobDB, error) { return mysql.NewJobs(g.tgt), nil },
	}
}

// demoJob is the demo's after-swap job: each company's order count per
// status, rebuilt in its schema once its swap committed.
var demoJob = ferry.Job{Name: "order_totals", Active: true, Kind: ferry.JobStatement, Database: ferry.JobOnCompany, Trigger: ferry.JobAfterSwap,
	SQL:      "CREATE OR REPLACE VIEW order_totals AS SELECT status, COUNT(*) AS orders, SUM(total) AS total FROM orders GROUP BY status",
	Position: 100, Timeout: time.Minute, Idempotent: true}

// verifyAll verifies every company × table.
func (w *demoWorld) verifyAll(ctx context.Context) ([]Check, error) {
	var out []Check
	for _, c := range demoCompanies {
		for _, t := range demoTables {
			chk, err := w.db.verify(ctx, c, t)
			if err != nil {
				return out, err
			}
			out = append(out, chk)
		}
	}
	return out, nil
}

// serialTarget runs one Target call at a time. The embedded server's
// memory backend does not isolate concurrent transactions that write to
// the same database (a commit can replace another session's tables; seen
// as "table not found" panics and lost rows), so the demo serializes the
// target's writes. Exports, the expensive part, stay concurrent.
type serialTarget struct {
	mu sync.Mutex
	t  ferry.Target
}

var _ ferry.Target = (*serialTarget)(nil)

func (s *serialTarget) Engine() ferry.Engine { return s.t.Engine() }

func (s *serialTarget) EnsureSchema(ctx context.Context, schema string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.t.EnsureSchema(ctx, schema)
}

func (s *serialTarget) PrepareStaging(ctx context.Context, schema, table, staging string, cols []ferry.Column, chunkColumn string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.t.PrepareStaging(ctx, schema, table, staging, cols, chunkColumn)
}

func (s *serialTarget) SchemaChanges(ctx context.Context, schema, table string, cols []ferry.Column, chunkColumn string) ([]ferry.SchemaChange, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.t.SchemaChanges(ctx, schema, table, cols, chunkColumn)
}

func (s *serialTarget) Load(ctx context.Context, req ferry.LoadRequest, r io.Reader) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.t.Load(ctx, req, r)
}

func (s *serialTarget) Count(ctx context.Context, schema, table string) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.t.Count(ctx, schema, table)
}

func (s *serialTarget) Swap(ctx context.Context, req ferry.SwapRequest) (ferry.SwapResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.t.Swap(ctx, req)
}

// addJob adds the demo's after-swap job.
func (w *demoWorld) addJob(ctx context.Context) error {
	jb, err := w.db.admin().JobAdmin()
	if err == nil {
		err = jb.PutJob(ctx, demoJob, false)
	}
	if err == nil {
		w.jobs, err = w.db.admin().Jobs()
	}
	if err != nil {
		return fmt.Errorf("demo: add job %s: %w", demoJob.Name, err)
	}
	return nil
}
