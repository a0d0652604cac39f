package local

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"math"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	gomysql "github.com/go-sql-driver/mysql"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/admin"
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
}

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

// demoCompanies are the demo's customers.
var demoCompanies = []admin.NewCompany{
	{ID: 101, Alias: "acme", Config: map[string]string{"days": "30"}},
	{ID: 202, Alias: "globex", Config: map[string]string{"days": "30"}},
}

// demoTable is one source table and the configured query over it.
type demoTable struct {
	name   string
	ddl    string
	cols   []string // selected columns (the source table has company_id too)
	share  float64  // of the total rows
	values func(id int64) []any
}

var demoTables = []demoTable{
	{
		name: "customers",
		ddl: "CREATE TABLE customers (id BIGINT NOT NULL, company_id BIGINT NOT NULL, name VARCHAR(200) NOT NULL, " +
			"email VARCHAR(200) NULL, notes TEXT NULL, balance DECIMAL(14,2) NOT NULL, created_at DATETIME(6) NOT NULL, " +
			"avatar VARBINARY(64) NULL, vip TINYINT NOT NULL, KEY customers_id (id), KEY customers_company (company_id))",
		cols:  []string{"id", "name", "email", "notes", "balance", "created_at", "avatar", "vip"},
		share: 0.2,
		values: func(id int64) []any {
			return []any{
				fmt.Sprintf("Customer %d %s", id, awkward(id)),
				nullable(id%5 == 0, fmt.Sprintf("c%d@example.com", id)),
				nullableAny(id%3 == 0, awkward(id+3)),
				decimal(id*7919%2000000-1000000, 2),
				stamp(id, 6),
				blob(id),
				id % 2,
			}
		},
	},
	{
		name: "orders",
		ddl: "CREATE TABLE orders (id BIGINT NOT NULL, company_id BIGINT NOT NULL, customer_id BIGINT NOT NULL, " +
			"status VARCHAR(20) NOT NULL, total DECIMAL(12,2) NOT NULL, discount DOUBLE NULL, comment TEXT NULL, " +
			"ordered_at DATETIME NOT NULL, shipped_on DATE NULL, KEY orders_id (id), KEY orders_company (company_id))",
		cols:  []string{"id", "customer_id", "status", "total", "discount", "comment", "ordered_at", "shipped_on"},
		share: 0.4,
		values: func(id int64) []any {
			statuses := []string{"new", "paid", "shipped", "cancelled", "refunded"}
			var discount any
			if id%4 != 0 {
				discount = float64(id%1000) / 7
			}
			var shipped any
			if id%3 != 0 {
				shipped = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, int(id%700)).Format("2006-01-02")
			}
			return []any{
				id / 3, statuses[id%int64(len(statuses))], decimal(id*104729%10000000, 2), discount,
				nullableAny(id%2 == 0, awkward(id)), stamp(id, 0), shipped,
			}
		},
	},
	{
		name: "events",
		ddl: "CREATE TABLE events (id BIGINT NOT NULL, company_id BIGINT NOT NULL, kind VARCHAR(40) NOT NULL, " +
			"payload TEXT NULL, raw VARBINARY(255) NULL, happened_at DATETIME(3) NOT NULL, " +
			"KEY events_id (id), KEY events_company (company_id))",
		cols:  []string{"id", "kind", "payload", "raw", "happened_at"},
		share: 0.4,
		values: func(id int64) []any {
			kinds := []string{"login", "logout", "view", "click", "purchase", "error"}
			return []any{
				kinds[id%int64(len(kinds))],
				nullableAny(id%7 == 0, fmt.Sprintf(`{"n":%d,"s":"%s"}`, id, strings.NewReplacer(`"`, `\"`, "\\", `\\`, "\n", `\n`, "\r", `\r`, "\t", `\t`).Replace(awkward(id)))),
				blob(id + 1),
				stamp(id, 3),
			}
		},
	},
}

// awkwardValues are the strings a naive CSV path breaks on.
var awkwardValues = []string{
	"", `say "hi"`, "a,b,c", "line one\nline two", "back\\slash \\N", "emoji 🚀😀 ünïcødé", "NULL",
	`\N`, "tab\there", "crlf\r\nend", `"`, " padded ", "comma, \"quote\" and\nnewline", "plain",
}

func awkward(id int64) string { return awkwardValues[id%int64(len(awkwardValues))] }

func nullable(null bool, s string) any {
	if null {
		return nil
	}
	return s
}

func nullableAny(null bool, s string) any { return nullable(null, s) }

// decimal formats cents/10^scale as a DECIMAL literal string.
func decimal(v int64, scale int) string {
	neg := v < 0
	if neg {
		v = -v
	}
	s := fmt.Sprintf("%0*d", scale+1, v)
	out := s[:len(s)-scale] + "." + s[len(s)-scale:]
	if neg {
		out = "-" + out
	}
	return out
}

// stamp is a datetime string with frac fractional digits.
func stamp(id int64, frac int) string {
	t := time.Date(2023, 3, 26, 0, 59, 59, 0, time.UTC).Add(time.Duration(id*7919) * time.Second).Add(time.Duration(id%1000000) * time.Microsecond)
	if frac == 0 {
		return t.Format("2006-01-02 15:04:05")
	}
	return t.Format("2006-01-02 15:04:05." + strings.Repeat("0", frac))
}

// blob is binary data with 0x00 bytes, quotes and backslashes; every 6th
// is NULL and every 11th empty.
func blob(id int64) any {
	switch {
	case id%6 == 0:
		return nil
	case id%11 == 0:
		return []byte{}
	}
	return []byte{0x00, byte(id), '"', ',', '\\', '\n', 0xff, byte(id >> 8), 0x00}
}

func companyOf(id int64) int64 {
	if id%3 == 0 {
		return demoCompanies[1].ID
	}
	return demoCompanies[0].ID
}

// Demo runs the whole workflow on an embedded MySQL-compatible server:
// it starts the server, migrates the admin database, seeds two companies ×
// three tables of awkward data, runs the real state machine with the
// in-process steps and a temp-dir store, verifies every target table
// against its source query (row count and a checksum), and cleans up
// (server stopped, temp dir removed), whatever happened.
func Demo(ctx context.Context, o DemoOptions) (res *DemoResult, err error) {
	start := time.Now()
	o = o.withDefaults()
	say := func(format string, args ...any) { fmt.Fprintf(o.Out, format+"\n", args...) }
	w, err := startDemo(ctx)
	if err != nil {
		return nil, err
	}
	defer func() {
		if cerr := w.close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	say("embedded MySQL-compatible server (go-mysql-server, in memory) on %s", w.srv.Addr())
	seedStart := time.Now()
	if _, err = seed(ctx, w.srv, o.Rows); err != nil {
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
		RunID:            "demo-" + time.Now().UTC().Format("20060102T150405Z"),
		ChunkConcurrency: o.Concurrency,
		// One company at a time: the admin database is on the same
		// embedded server, whose memory backend does not isolate
		// concurrent writers (see serialTarget).
		CompanyConcurrency: 1,
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

// demoWorld is the demo's embedded server, its three databases and a
// temp-dir store.
type demoWorld struct {
	srv      *Server
	dir      string
	store    ferry.Store
	adm      *admin.DB
	src, tgt *sql.DB
	adminDB  *sql.DB
}

// startDemo starts the server, opens its databases, migrates the admin
// database and makes the store. On error nothing is left running.
func startDemo(ctx context.Context) (w *demoWorld, err error) {
	w = &demoWorld{}
	if w.srv, err = StartServer(ctx, "admin", "source", "target"); err != nil {
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
	for _, db := range []struct {
		name string
		dst  **sql.DB
	}{{"admin", &w.adminDB}, {"source", &w.src}, {"target", &w.tgt}} {
		if *db.dst, err = mysql.Open(ctx, w.srv.DSN(db.name)); err != nil {
			return nil, fmt.Errorf("demo: open %s: %w", db.name, err)
		}
	}
	w.adm = mysql.NewAdmin(w.adminDB)
	if _, err := w.adm.Migrate(ctx); err != nil {
		return nil, fmt.Errorf("demo: migrate the admin database: %w", err)
	}
	return w, nil
}

// close closes the databases, stops the server and removes the store.
func (w *demoWorld) close() error {
	for _, db := range []*sql.DB{w.adminDB, w.src, w.tgt} {
		if db != nil {
			db.Close()
		}
	}
	if w.dir != "" {
		os.RemoveAll(w.dir)
	}
	return w.srv.Close()
}

// configure adds the demo's companies and tables to the admin database.
func (w *demoWorld) configure(ctx context.Context, chunkRows int64) error {
	for _, c := range demoCompanies {
		if err := w.adm.AddCompany(ctx, c); err != nil {
			return fmt.Errorf("demo: add company %s: %w", c.Alias, err)
		}
	}
	for _, t := range demoTables {
		spec := ferry.TableSpec{
			Name:        t.name,
			Query:       "SELECT " + strings.Join(t.cols, ", ") + " FROM " + t.name + " WHERE company_id = :company_id",
			Params:      []string{"company_id"},
			ChunkColumn: "id",
			ChunkRows:   chunkRows,
		}
		if err := w.adm.AddTable(ctx, spec, true); err != nil {
			return fmt.Errorf("demo: add table %s: %w", t.name, err)
		}
	}
	return nil
}

// newSteps are the steps over the demo's databases and store.
func (w *demoWorld) newSteps(log *slog.Logger) *steps.Steps {
	return steps.New(steps.Deps{
		Config: w.adm,
		Ledger: w.adm,
		Source: mysql.NewSource(w.src, mysql.WithLogger(log)),
		// The embedded server has no usable LOAD DATA (docs/demo.md):
		// the adapter's documented INSERT loader is used.
		// Writes are serialized (serialTarget).
		Target: &serialTarget{t: mysql.NewTarget(w.tgt, mysql.WithLogger(log), mysql.WithInsertLoader(demoBatchRows))},
		Store:  w.store,
		Bucket: DefaultBucket,
		Logger: log,
	})
}

// verifyAll verifies every company × table.
func (w *demoWorld) verifyAll(ctx context.Context) ([]Check, error) {
	var out []Check
	for _, c := range demoCompanies {
		for _, t := range demoTables {
			chk, err := verify(ctx, w.src, w.tgt, c, t)
			if err != nil {
				return out, err
			}
			out = append(out, chk)
		}
	}
	return out, nil
}

// demoBatchRows is the rows per INSERT statement on the embedded server:
// it re-plans a prepared statement per execution, so large statements cost
// more per row than a few hundred rows do.
const demoBatchRows = 500

// seed creates the source tables and fills them. It uses its own
// connection with client-side interpolation (the driver escapes every
// value): the embedded server answers a prepared statement with one
// network write per placeholder, which makes bulk seeding with server-side
// binding several times slower. Ferry's own connections never interpolate.
func seed(ctx context.Context, srv *Server, total int) (map[string]int64, error) {
	cfg := gomysql.NewConfig()
	cfg.User = "root"
	cfg.Net = "tcp"
	cfg.Addr = srv.Addr()
	cfg.DBName = "source"
	cfg.InterpolateParams = true
	cfg.Loc = time.UTC
	conn, err := gomysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("demo: seed: %w", err)
	}
	db := sql.OpenDB(conn)
	defer db.Close()
	counts := map[string]int64{}
	const batch = 2000
	for _, t := range demoTables {
		if _, err := db.ExecContext(ctx, t.ddl); err != nil {
			return nil, fmt.Errorf("demo: seed: create %s: %w", t.name, err)
		}
		n := int64(float64(total) * t.share)
		if n < 1 {
			n = 1
		}
		counts[t.name] = n
		cols := append([]string{"id", "company_id"}, t.cols[1:]...)
		row := "(" + strings.TrimSuffix(strings.Repeat("?,", len(cols)), ",") + ")"
		args := make([]any, 0, batch*len(cols))
		var rows int
		flush := func() error {
			if rows == 0 {
				return nil
			}
			q := "INSERT INTO " + t.name + " (" + strings.Join(cols, ", ") + ") VALUES " + strings.TrimSuffix(strings.Repeat(row+",", rows), ",")
			if _, err := db.ExecContext(ctx, q, args...); err != nil {
				return fmt.Errorf("demo: seed %s: %w", t.name, err)
			}
			args, rows = args[:0], 0
			return nil
		}
		for id := int64(1); id <= n; id++ {
			args = append(args, id, companyOf(id))
			args = append(args, t.values(id)...)
			rows++
			if rows == batch {
				if err := flush(); err != nil {
					return nil, err
				}
			}
		}
		if err := flush(); err != nil {
			return nil, err
		}
	}
	return counts, nil
}

// verify compares a company's target table with its source query: row
// count and a SHA-256 over every value in id order (NULL distinct from
// empty); on a mismatch, Diff describes the first differing value.
func verify(ctx context.Context, src, tgt *sql.DB, c admin.NewCompany, t demoTable) (Check, error) {
	chk := Check{Alias: c.Alias, Table: t.name}
	cols := strings.Join(t.cols, ", ")
	srows, err := src.QueryContext(ctx, "SELECT "+cols+" FROM "+t.name+" WHERE company_id = ? ORDER BY id", c.ID)
	if err != nil {
		return chk, fmt.Errorf("demo: verify %s.%s source: %w", c.Alias, t.name, err)
	}
	defer srows.Close()
	schema := ferry.DefaultSchema(c.Alias)
	// A bound parameter on both sides: both results then come through the
	// binary protocol, whose datetime text does not depend on the server's
	// formatting (the embedded server trims trailing fractional zeros in
	// text results).
	trows, err := tgt.QueryContext(ctx, "SELECT "+cols+" FROM `"+schema+"`.`"+t.name+"` WHERE id >= ? ORDER BY id", int64(math.MinInt64))
	if err != nil {
		return chk, fmt.Errorf("demo: verify %s.%s target: %w", c.Alias, t.name, err)
	}
	defer trows.Close()
	sh, th := newRowHasher(len(t.cols)), newRowHasher(len(t.cols))
	for {
		sok, tok := srows.Next(), trows.Next()
		if sok {
			if err := sh.scan(srows); err != nil {
				return chk, fmt.Errorf("demo: verify %s.%s source: %w", c.Alias, t.name, err)
			}
		}
		if tok {
			if err := th.scan(trows); err != nil {
				return chk, fmt.Errorf("demo: verify %s.%s target: %w", c.Alias, t.name, err)
			}
		}
		if sok && tok && chk.Diff == "" {
			for i := range t.cols {
				a, b := sh.vals[i], th.vals[i]
				if (a == nil) != (b == nil) || string(a) != string(b) {
					chk.Diff = fmt.Sprintf("row %d (id %s), column %s: source %s, target %s", sh.n, sh.vals[0], t.cols[i], show(a), show(b))
					break
				}
			}
		}
		if !sok && !tok {
			break
		}
	}
	if err := errors.Join(srows.Err(), trows.Err()); err != nil {
		return chk, fmt.Errorf("demo: verify %s.%s: %w", c.Alias, t.name, err)
	}
	chk.SourceRows, chk.SourceSum = sh.n, sh.sum()
	chk.TargetRows, chk.TargetSum = th.n, th.sum()
	chk.OK = chk.SourceRows == chk.TargetRows && chk.SourceSum == chk.TargetSum && chk.SourceRows > 0
	return chk, nil
}

func show(v sql.RawBytes) string {
	if v == nil {
		return "NULL"
	}
	return strconv.Quote(string(v))
}

type rowHasher struct {
	h    hash.Hash
	vals []sql.RawBytes
	ptrs []any
	n    int64
}

func newRowHasher(n int) *rowHasher {
	r := &rowHasher{h: sha256.New(), vals: make([]sql.RawBytes, n), ptrs: make([]any, n)}
	for i := range r.vals {
		r.ptrs[i] = &r.vals[i]
	}
	return r
}

func (r *rowHasher) scan(rows *sql.Rows) error {
	if err := rows.Scan(r.ptrs...); err != nil {
		return err
	}
	var lenBuf [9]byte
	for _, v := range r.vals {
		if v == nil {
			r.h.Write([]byte{0xff})
			continue
		}
		binary.BigEndian.PutUint64(lenBuf[1:], uint64(len(v)))
		r.h.Write(lenBuf[:])
		r.h.Write(v)
	}
	r.n++
	return nil
}

func (r *rowHasher) sum() string { return hex.EncodeToString(r.h.Sum(nil)) }

// WriteChecks prints the verification table.
func (d *DemoResult) WriteChecks(w io.Writer) {
	fmt.Fprintln(w, "verification (source query vs target table: rows, SHA-256 of every value):")
	for _, c := range d.Checks {
		status := "ok"
		if !c.OK {
			status = "MISMATCH"
		}
		fmt.Fprintf(w, "  %-8s %-10s source %7d rows %s  target %7d rows %s  %s\n", c.Alias, c.Table, c.SourceRows, c.SourceSum[:12], c.TargetRows, c.TargetSum[:12], status)
		if c.Diff != "" {
			fmt.Fprintf(w, "      first difference: %s\n", c.Diff)
		}
	}
	if len(d.Checks) == 0 {
		fmt.Fprintln(w, "  nothing verified: the execution failed")
	}
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
