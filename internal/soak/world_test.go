package soak

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/asl"
	"github.com/ferrydata/ferry/internal/local"
	"github.com/ferrydata/ferry/internal/mysql"
	"github.com/ferrydata/ferry/internal/postgres"
	"github.com/ferrydata/ferry/internal/s3store"
	"github.com/ferrydata/ferry/internal/s3store/s3test"
	"github.com/ferrydata/ferry/internal/steps"
	"github.com/ferrydata/ferry/internal/testdb"
)

func openMy(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("mysql", dsn)
	testdb.Must(t, "open", err)
	t.Cleanup(func() { db.Close() })
	return db
}

// newSoak is a MariaDB source and admin database, a target of engine, the
// in-process S3, two companies and one table of chunks of 25 rows.
func newSoak(t *testing.T, engine ferry.Engine) *soak {
	ctx := context.Background()
	s := &soak{engine: engine, schema: map[string]string{}, allowed: map[string]map[int64]bool{}}
	var srcDSN, admDSN string
	s.srcName, srcDSN = testdb.MySQL(t)
	s.src = openMy(t, srcDSN)
	_, admDSN = testdb.MySQL(t)
	adm := mysql.NewAdmin(openMy(t, admDSN))
	_, err := adm.Migrate(ctx)
	testdb.Must(t, "migrate", err)
	s.server = openMy(t, testdb.MySQLServerDSN())
	var target ferry.Target
	if engine == ferry.EngineMySQL {
		_, dsn := testdb.MySQL(t)
		db, err := mysql.Open(ctx, dsn)
		testdb.Must(t, "open target", err)
		t.Cleanup(func() { db.Close() })
		s.tdb, target = db, mysql.NewTarget(db, mysql.WithLogger(quiet))
	} else {
		s.pgURL = testdb.Postgres(t)
		tg, err := postgres.Open(ctx, s.pgURL)
		testdb.Must(t, "open target", err)
		t.Cleanup(tg.Close)
		tg.Logger = quiet
		target = tg
		s.pg, err = pgxpool.New(ctx, s.pgURL)
		testdb.Must(t, "reader pool", err)
		t.Cleanup(s.pg.Close)
	}
	for _, c := range companies {
		if engine == ferry.EngineMySQL {
			c.Schema = s.srcName + "_" + c.Alias
			t.Cleanup(func() { s.tdb.Exec("DROP DATABASE IF EXISTS `" + c.Schema + "`") })
		} else {
			c.Schema = ferry.DefaultSchema(c.Alias)
		}
		s.schema[c.Alias] = c.Schema
		s.allowed[c.Alias] = map[int64]bool{}
		testdb.Must(t, "add company", adm.AddCompany(ctx, c))
	}
	testdb.Must(t, "add table", adm.AddTable(ctx, ferry.TableSpec{Name: "orders", Query: query, Params: []string{"company_id"}, ChunkColumn: "id", ChunkRows: 25}, true))
	if _, err := s.src.Exec("CREATE TABLE orders (id BIGINT PRIMARY KEY, company_id BIGINT NOT NULL, note VARCHAR(100) NULL, amount DECIMAL(12,2) NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	s.grow(t, 100)
	fake := s3test.Start(t)
	c, err := s3store.NewClient(ctx, s3store.Config{Region: s3test.Region, Endpoint: fake.URL, AccessKey: s3test.AccessKey, SecretKey: s3test.SecretKey, PathStyle: true, DisableIMDS: true})
	testdb.Must(t, "s3 client", err)
	o := c.Options()
	o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) { so.MaxBackoff = 5 * time.Millisecond; so.RateLimiter = ratelimit.None })
	s.store, s.bucket = s3store.New(s3.New(o), fake.Bucket), fake.Bucket
	s.deps = steps.Deps{Config: adm, Ledger: adm, Source: mysql.NewSource(s.src, mysql.WithLogger(quiet)), Target: target, Store: s.store, Bucket: s.bucket, Logger: quiet}
	return s
}

// grow adds n orders to each company.
func (s *soak) grow(t *testing.T, n int) {
	t.Helper()
	var vals []string
	var args []any
	for i := 0; i < n*len(companies); i++ {
		s.next++
		vals = append(vals, "(?, ?, ?, ?)")
		args = append(args, s.next, companies[s.next%2].ID, fmt.Sprintf("note %d, \"q\"\n😀", s.next), fmt.Sprintf("%d.%02d", s.next, s.next%100))
	}
	if _, err := s.src.Exec("INSERT INTO orders VALUES "+strings.Join(vals, ","), args...); err != nil {
		t.Fatal(err)
	}
}

// runOnce runs the definition once; before it, each company's new source
// count becomes a count readers may see; after it, live must equal the source.
func (s *soak) runOnce(t *testing.T, f *figures, runID string) {
	t.Helper()
	for _, c := range companies {
		var n int64
		s.src.QueryRow("SELECT COUNT(*) FROM orders WHERE company_id = ?", c.ID).Scan(&n)
		s.mu.Lock()
		s.allowed[c.Alias][n] = true
		s.mu.Unlock()
	}
	var before map[string]map[string]string
	if f.runs.Load() > 0 {
		before = map[string]map[string]string{}
		for _, c := range companies {
			before[c.Alias], _ = s.liveRows(t, c.Alias)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	res, err := local.Run(ctx, local.Options{Steps: steps.New(s.deps), Store: s.store, Bucket: s.bucket, RunID: runID, RunDate: "2026-12-03",
		ChunkConcurrency: 3, Logger: quiet, Clock: asl.NewVirtualClock(time.Date(2026, 12, 3, 3, 0, 0, 0, time.UTC))})
	f.runs.Add(1)
	if err != nil || res.Failed() {
		f.failedRuns.Add(1)
		if err == nil {
			err = fmt.Errorf("%s: %s", res.Execution.Error, res.Execution.Cause)
		}
		t.Logf("run %s failed: %v", runID, err)
	}
	// Each company's live table is the source's (published) or, where the
	// company failed, exactly what it was before the run.
	for _, c := range companies {
		live, dup := s.liveRows(t, c.Alias)
		d := diffRows(s.sourceRows(t, c.ID), live)
		if d != 0 && before != nil {
			d = min(d, diffRows(before[c.Alias], live))
		}
		f.lostOrDup.Add(d + int64(dup))
	}
}

// sourceRows are company id's rows by id (note|amount).
func (s *soak) sourceRows(t *testing.T, id int64) map[string]string {
	want := map[string]string{}
	rows, err := s.src.Query("SELECT CAST(id AS CHAR), CONCAT(IFNULL(note, 'NULL'), '|', amount) FROM orders WHERE company_id = ?", id)
	testdb.Must(t, "source rows", err)
	defer rows.Close()
	for rows.Next() {
		var k, v string
		rows.Scan(&k, &v)
		want[k] = v
	}
	return want
}

// liveRows are the company's live rows by id, and how many ids appear twice.
func (s *soak) liveRows(t *testing.T, alias string) (map[string]string, int) {
	got := map[string]string{}
	dup := 0
	add := func(k, v string) {
		if _, ok := got[k]; ok {
			dup++
		}
		got[k] = v
	}
	if s.engine == ferry.EngineMySQL {
		r, err := s.tdb.Query("SELECT CAST(id AS CHAR), CONCAT(IFNULL(note, 'NULL'), '|', amount) FROM `" + s.schema[alias] + "`.orders")
		testdb.Must(t, "live rows", err)
		defer r.Close()
		for r.Next() {
			var k, v string
			r.Scan(&k, &v)
			add(k, v)
		}
		return got, dup
	}
	r, err := s.pg.Query(context.Background(), `SELECT id::text, COALESCE(note, 'NULL') || '|' || amount::text FROM "`+s.schema[alias]+`".orders`)
	testdb.Must(t, "live rows", err)
	defer r.Close()
	for r.Next() {
		var k, v string
		r.Scan(&k, &v)
		add(k, v)
	}
	return got, dup
}

// diffRows is how many rows are missing, extra or changed in got.
func diffRows(want, got map[string]string) int64 {
	var n int64
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			n++
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			n++
		}
	}
	return n
}

// read queries a random company's live table until ctx ends: an error is
// a reader error, a count that no run published (or 0) a partial read.
func (s *soak) read(ctx context.Context, f *figures, seed int) {
	r := rand.New(rand.NewPCG(uint64(seed), 9))
	for ctx.Err() == nil {
		c := companies[r.IntN(len(companies))]
		var n, distinct int64
		start := time.Now()
		var err error
		if s.engine == ferry.EngineMySQL {
			err = s.tdb.QueryRowContext(ctx, "SELECT COUNT(*), COUNT(DISTINCT id) FROM `"+s.schema[c.Alias]+"`.orders").Scan(&n, &distinct)
		} else {
			err = s.pg.QueryRow(ctx, `SELECT COUNT(*), COUNT(DISTINCT id) FROM "`+s.schema[c.Alias]+`".orders`).Scan(&n, &distinct)
		}
		d := time.Since(start)
		if ctx.Err() != nil {
			return
		}
		f.queries.Add(1)
		for old := f.longest.Load(); int64(d) > old && !f.longest.CompareAndSwap(old, int64(d)); old = f.longest.Load() {
		}
		s.mu.Lock()
		ok := s.allowed[c.Alias][n]
		s.mu.Unlock()
		switch {
		case err != nil:
			f.readerErrs.Add(1)
			f.firstErr.CompareAndSwap(nil, err.Error())
		case n == 0 || n != distinct || !ok:
			f.partial.Add(1)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// kill ends one random export (source) or load (target) session every
// `every` until ctx ends: it looks for one for up to a second, every 2 ms
// (a chunk's load takes milliseconds).
func (s *soak) kill(ctx context.Context, f *figures, every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		load := rand.IntN(2) == 0
		for deadline := time.Now().Add(time.Second); time.Now().Before(deadline) && ctx.Err() == nil; time.Sleep(2 * time.Millisecond) {
			if n := s.killOne(ctx, load); n > 0 {
				f.kills.Add(n)
				if load {
					f.loadKills.Add(n)
				}
				break
			}
		}
	}
}

// killOne ends one running export (load false) or load session.
func (s *soak) killOne(ctx context.Context, load bool) int64 {
	if !load {
		return s.killMySQL(ctx, "SELECT id FROM information_schema.processlist WHERE db = ? AND info LIKE '%SLEEP(0.001)%' AND info LIKE '%ferry_q.`id` >= ? AND%' AND id <> CONNECTION_ID() ORDER BY RAND() LIMIT 1", s.srcName)
	}
	if s.engine == ferry.EngineMySQL {
		return s.killMySQL(ctx, "SELECT id FROM information_schema.processlist WHERE info LIKE CONCAT('%`', ?, '_%') AND (info LIKE '%LOAD DATA%' OR info LIKE 'INSERT INTO%') AND id <> CONNECTION_ID() ORDER BY RAND() LIMIT 1", s.srcName)
	}
	var n int64
	s.pg.QueryRow(ctx, "SELECT count(pg_terminate_backend(pid)) FROM (SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND query ILIKE 'COPY%' AND state = 'active' ORDER BY random() LIMIT 1) p").Scan(&n)
	return n
}

func (s *soak) killMySQL(ctx context.Context, find, arg string) int64 {
	var id int64
	if err := s.server.QueryRowContext(ctx, find, arg).Scan(&id); err != nil {
		return 0
	}
	if _, err := s.server.ExecContext(ctx, fmt.Sprintf("KILL CONNECTION %d", id)); err != nil {
		return 0
	}
	return 1
}
