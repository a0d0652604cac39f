package faults

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	gomysql "github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/asl"
	"github.com/ferrydata/ferry/internal/admin"
	"github.com/ferrydata/ferry/internal/local"
	"github.com/ferrydata/ferry/internal/mysql"
	"github.com/ferrydata/ferry/internal/postgres"
	"github.com/ferrydata/ferry/internal/s3store"
	"github.com/ferrydata/ferry/internal/s3store/s3test"
	"github.com/ferrydata/ferry/internal/steps"
	"github.com/ferrydata/ferry/internal/testdb"
)

// The two companies of every world; each has rowsPer rows of orders, in
// chunks of chunkRows.
var companies = []admin.NewCompany{{ID: 1, Alias: "alpha"}, {ID: 2, Alias: "beta"}}

const (
	rowsPer   = 40
	chunkRows = 10
	// ordersQuery is the configured query. SLEEP(0.01) per row keeps an
	// export's statement running on the server while its first rows are
	// already in Ferry's hands, so that a connection can be killed in the
	// middle of an export.
	ordersQuery = "SELECT id, note, amount, created FROM orders WHERE company_id = :company_id AND SLEEP(0.01) = 0"
)

// quiet drops the steps' logs (a test that wants them sets its own).
var quiet = slog.New(slog.DiscardHandler)

// world is one setup: a MariaDB source and admin database, a target of
// one engine, the in-process S3 behind a fault proxy, and the steps wired
// to them as functions/* wire them.
type world struct {
	engine  ferry.Engine
	src     *sql.DB
	srcName string
	adm     *admin.DB
	target  ferry.Target
	// tdb is the MySQL target's server (its schemas are databases); pgURL
	// the PostgreSQL target's database.
	tdb    *sql.DB
	pgURL  string
	s3     *s3test.Fake
	proxy  *faultProxy
	store  ferry.Store
	bucket string
	// The databases' addresses, for a child process (swapkill_test.go).
	srcDSN, adminDSN, targetDSN string
	deps                        steps.Deps
	schema                      map[string]string // alias → target schema
	next                        int               // the next free order id
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func exec(t *testing.T, db *sql.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// newWorld builds a world; the steps' source and target can be wrapped by
// the test before the first run (w.deps).
func newWorld(t *testing.T, engine ferry.Engine) *world {
	t.Helper()
	ctx := ctxT(t)
	w := &world{engine: engine, schema: map[string]string{}}
	w.srcName, w.srcDSN = testdb.MySQL(t)
	w.src = openMySQL(t, w.srcDSN)
	_, w.adminDSN = testdb.MySQL(t)
	w.adm = mysql.NewAdmin(openMySQL(t, w.adminDSN))
	_, err := w.adm.Migrate(ctx)
	testdb.Must(t, "migrate admin", err)

	switch engine {
	case ferry.EngineMySQL:
		_, dsn := testdb.MySQL(t)
		w.targetDSN = dsn
		db, err := mysql.Open(ctx, dsn)
		testdb.Must(t, "open target", err)
		t.Cleanup(func() { db.Close() })
		w.tdb = db
		w.target = mysql.NewTarget(db, mysql.WithLogger(quiet))
		for _, c := range companies {
			schema := w.srcName + "_" + c.Alias
			w.schema[c.Alias] = schema
			t.Cleanup(func() { db.Exec("DROP DATABASE IF EXISTS `" + schema + "`") })
		}
	case ferry.EnginePostgres:
		w.pgURL = testdb.Postgres(t)
		w.targetDSN = w.pgURL
		tg, err := postgres.Open(ctx, w.pgURL)
		testdb.Must(t, "open target", err)
		t.Cleanup(tg.Close)
		tg.Logger = quiet
		w.target = tg
	}
	for _, c := range companies {
		c.Schema = w.schema[c.Alias]
		testdb.Must(t, "add company", w.adm.AddCompany(ctx, c))
		if c.Schema == "" {
			w.schema[c.Alias] = ferry.DefaultSchema(c.Alias)
		}
	}
	testdb.Must(t, "add table", w.adm.AddTable(ctx, ferry.TableSpec{Name: "orders", Query: ordersQuery,
		Params: []string{"company_id"}, ChunkColumn: "id", ChunkRows: chunkRows}, true))
	exec(t, w.src, "CREATE TABLE orders (id BIGINT PRIMARY KEY, company_id BIGINT NOT NULL, note VARCHAR(100) NULL, amount DECIMAL(12,2) NOT NULL, created DATETIME(6) NOT NULL)")
	w.addOrders(t, 1, rowsPer*len(companies))

	w.s3 = s3test.Start(t)
	w.proxy = startProxy(t, w.s3.URL)
	w.store, w.bucket = s3store.New(fastRetries(t, w.proxy.URL), w.s3.Bucket), w.s3.Bucket
	w.deps = steps.Deps{Config: w.adm, Ledger: w.adm, Source: mysql.NewSource(w.src, mysql.WithLogger(quiet)),
		Target: w.target, Store: w.store, Bucket: w.s3.Bucket, Logger: quiet}
	return w
}

func openMySQL(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("mysql", dsn)
	testdb.Must(t, "open "+dsn, err)
	t.Cleanup(func() { db.Close() })
	return db
}

// fastRetries is the client s3store.NewClient makes for the proxy, with
// the SDK's standard retryer (3 attempts) backing off for milliseconds
// instead of seconds and without its retry quota, so that a test takes
// seconds and every injected fault reaches either a retry or Ferry.
func fastRetries(t *testing.T, endpoint string) *s3.Client {
	t.Helper()
	c, err := s3store.NewClient(context.Background(), s3store.Config{Region: s3test.Region, Endpoint: endpoint,
		AccessKey: s3test.AccessKey, SecretKey: s3test.SecretKey, PathStyle: true, DisableIMDS: true})
	testdb.Must(t, "s3 client", err)
	o := c.Options()
	o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
		so.MaxBackoff = 5 * time.Millisecond
		so.RateLimiter = ratelimit.None
	})
	return s3.New(o)
}

// addOrders inserts orders [from, to]; company by id (odd alpha, even
// beta), with NULL and empty notes, quotes, commas, newlines and emoji.
func (w *world) addOrders(t *testing.T, from, to int) {
	t.Helper()
	w.next = max(w.next, to+1)
	for id := from; id <= to; id++ {
		company := companies[(id+1)%2].ID
		var note any = fmt.Sprintf("note %d, \"quoted\"\n\\ 😀", id)
		switch {
		case id%5 == 0:
			note = nil
		case id%7 == 0:
			note = ""
		}
		exec(t, w.src, "INSERT INTO orders VALUES (?, ?, ?, ?, ?)", id, company, note,
			fmt.Sprintf("%d.%02d", id*3, id%100), fmt.Sprintf("2024-02-29 12:%02d:%02d.%06d", id/60%60, id%60, id))
	}
}

// steps are the in-process steps over w.deps (after any wrapping).
func (w *world) steps() *steps.Steps { return steps.New(w.deps) }

// run executes the real definition once with its own run id; retry
// back-offs do not sleep (virtual clock).
func (w *world) run(t *testing.T, runID string) *local.Result {
	t.Helper()
	return w.runWith(t, runID, w.steps())
}

func (w *world) runWith(t *testing.T, runID string, st *steps.Steps) *local.Result {
	t.Helper()
	res, err := local.Run(ctxT(t), local.Options{Steps: st, Store: w.store, Bucket: w.bucket, RunID: runID,
		RunDate: "2026-11-22", ChunkConcurrency: 3, Logger: quiet,
		Clock: asl.NewVirtualClock(time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC))})
	if err != nil {
		t.Fatalf("run %s: %v", runID, err)
	}
	return res
}

// succeeded fails the test unless the run succeeded.
func succeeded(t *testing.T, res *local.Result) {
	t.Helper()
	if res.Failed() {
		t.Fatalf("run %s: %s %s: %s", res.Execution.Name, res.Execution.Status, res.Execution.Error, res.Execution.Cause)
	}
}

// sourceRows are company c's orders as canonical text, in id order.
func (w *world) sourceRows(t *testing.T, c admin.NewCompany) []string {
	t.Helper()
	return textRows(t, func() (*sql.Rows, error) {
		return w.src.Query("SELECT CAST(id AS CHAR), note, CAST(amount AS CHAR), DATE_FORMAT(created, '%Y-%m-%d %H:%i:%s.%f') FROM orders WHERE company_id = ? ORDER BY id", c.ID)
	})
}

// liveRows are the live table of company c in the target, as the same
// canonical text; nil when the table does not exist.
func (w *world) liveRows(t *testing.T, c admin.NewCompany) []string {
	t.Helper()
	schema := w.schema[c.Alias]
	if !w.hasLive(t, c, "orders") {
		return nil
	}
	if w.engine == ferry.EngineMySQL {
		return textRows(t, func() (*sql.Rows, error) {
			return w.tdb.Query("SELECT CAST(id AS CHAR), note, CAST(amount AS CHAR), DATE_FORMAT(created, '%Y-%m-%d %H:%i:%s.%f') FROM `" + schema + "`.orders ORDER BY id")
		})
	}
	conn, err := pgx.Connect(context.Background(), w.pgURL)
	testdb.Must(t, "connect target", err)
	defer conn.Close(context.Background())
	rows, err := conn.Query(context.Background(), `SELECT id::text, note, amount::text, to_char(created, 'YYYY-MM-DD HH24:MI:SS.US') FROM "`+schema+`".orders ORDER BY orders.id`)
	testdb.Must(t, "read live", err)
	var out []string
	for rows.Next() {
		var id, amount, created string
		var note *string
		testdb.Must(t, "scan live", rows.Scan(&id, &note, &amount, &created))
		out = append(out, row(id, note, amount, created))
	}
	testdb.Must(t, "read live", rows.Err())
	return out
}

// hasLive reports whether company c's live table exists in the target.
func (w *world) hasLive(t *testing.T, c admin.NewCompany, table string) bool {
	t.Helper()
	schema := w.schema[c.Alias]
	if w.engine == ferry.EngineMySQL {
		var n int
		testdb.Must(t, "find "+table, w.tdb.QueryRow("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?", schema, table).Scan(&n))
		return n > 0
	}
	conn, err := pgx.Connect(context.Background(), w.pgURL)
	testdb.Must(t, "connect target", err)
	defer conn.Close(context.Background())
	var exists bool
	testdb.Must(t, "find "+table, conn.QueryRow(context.Background(), "SELECT to_regclass($1) IS NOT NULL", pgx.Identifier{schema, table}.Sanitize()).Scan(&exists))
	return exists
}

func textRows(t *testing.T, query func() (*sql.Rows, error)) []string {
	t.Helper()
	rows, err := query()
	testdb.Must(t, "read rows", err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id, amount, created string
		var note sql.NullString
		testdb.Must(t, "scan", rows.Scan(&id, &note, &amount, &created))
		var n *string
		if note.Valid {
			n = &note.String
		}
		out = append(out, row(id, n, amount, created))
	}
	testdb.Must(t, "read rows", rows.Err())
	return out
}

func row(id string, note *string, amount, created string) string {
	n := "NULL"
	if note != nil {
		n = fmt.Sprintf("%q", *note)
	}
	return strings.Join([]string{id, n, amount, created}, " | ")
}

// liveEqualsSource checks every company's live table against the source,
// value by value: nothing lost, nothing duplicated, nothing changed.
func (w *world) liveEqualsSource(t *testing.T) {
	t.Helper()
	for _, c := range companies {
		want, got := w.sourceRows(t, c), w.liveRows(t, c)
		if len(want) == 0 {
			t.Fatalf("test is void: company %s has no source rows", c.Alias)
		}
		if d := diff(want, got); d != "" {
			t.Errorf("company %s: live orders differ from the source: %s", c.Alias, d)
		}
	}
}

// snapshot is every company's live rows.
func (w *world) snapshot(t *testing.T) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, c := range companies {
		out[c.Alias] = w.liveRows(t, c)
	}
	return out
}

// unchanged checks that every live table is exactly as in before.
func (w *world) unchanged(t *testing.T, before map[string][]string) {
	t.Helper()
	for _, c := range companies {
		if d := diff(before[c.Alias], w.liveRows(t, c)); d != "" {
			t.Errorf("company %s: the live table changed though the run was refused: %s", c.Alias, d)
		}
	}
}

// diff describes the first difference of two row lists ("" when equal).
func diff(want, got []string) string {
	if len(want) != len(got) {
		return fmt.Sprintf("%d rows, want %d", len(got), len(want))
	}
	for i := range want {
		if want[i] != got[i] {
			return fmt.Sprintf("row %d is %s, want %s", i, got[i], want[i])
		}
	}
	return ""
}

// The driver logs every killed or reset connection it notices; the tests
// cause hundreds on purpose.
func init() { gomysql.SetLogger(log.New(io.Discard, "", 0)) }
