package local

import (
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/asl"
	"github.com/ferrydata/ferry/internal/admin"
	"github.com/ferrydata/ferry/internal/jobs"
	"github.com/ferrydata/ferry/internal/localstore"
	"github.com/ferrydata/ferry/internal/mysql"
	"github.com/ferrydata/ferry/internal/postgres"
	"github.com/ferrydata/ferry/internal/steps"
	"github.com/ferrydata/ferry/internal/testdb"
	"github.com/jackc/pgx/v5/pgxpool"
)

// batchLog records the longest batch each invocation reports.
type batchLog struct {
	slog.Handler
	longest atomic.Int64 // ms
}

func (b *batchLog) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == "batches run" {
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "longest_batch_ms" {
				if v := a.Value.Int64(); v > b.longest.Load() {
					b.longest.Store(v)
				}
			}
			return true
		})
	}
	return nil
}
func (b *batchLog) Enabled(context.Context, slog.Level) bool { return true }
func (b *batchLog) WithAttrs([]slog.Attr) slog.Handler       { return b }
func (b *batchLog) WithGroup(string) slog.Handler            { return b }

// purgeDB is the database a purge runs on, through plain SQL for the test's
// own statements.
type purgeDB struct {
	engine ferry.Engine
	exec   func(ctx context.Context, q string, args ...any) error
	count  func(ctx context.Context, q string) int64
	jobDB  ferry.JobDB
	// ph is the placeholder of the n-th argument.
	ph func(n int) string
}

func mysqlPurgeDB(t *testing.T) purgeDB {
	db, _ := testdb.MySQLDB(t)
	return purgeDB{
		engine: ferry.EngineMySQL,
		exec: func(ctx context.Context, q string, args ...any) error {
			_, err := db.ExecContext(ctx, q, args...)
			return err
		},
		count: func(ctx context.Context, q string) int64 {
			var n int64
			testdb.Must(t, q, db.QueryRowContext(ctx, q).Scan(&n))
			return n
		},
		jobDB: mysql.NewJobs(db),
		ph:    func(int) string { return "?" },
	}
}

func postgresPurgeDB(t *testing.T) purgeDB {
	pool, err := pgxpool.New(context.Background(), testdb.Postgres(t))
	testdb.Must(t, "pool", err)
	t.Cleanup(pool.Close)
	return purgeDB{
		engine: ferry.EnginePostgres,
		exec: func(ctx context.Context, q string, args ...any) error {
			_, err := pool.Exec(ctx, q, args...)
			return err
		},
		count: func(ctx context.Context, q string) int64 {
			var n int64
			testdb.Must(t, q, pool.QueryRow(ctx, q).Scan(&n))
			return n
		},
		jobDB: postgres.NewJobs(pool),
		ph:    func(n int) string { return "$" + strconv.Itoa(n) },
	}
}

// fill creates events with rows old rows (ids 1..rows) and 10,000 recent ones.
func (p purgeDB) fill(t *testing.T, rows int) {
	ctx := context.Background()
	if p.engine == ferry.EngineMySQL {
		testdb.Must(t, "create", p.exec(ctx, "CREATE TABLE events (id BIGINT PRIMARY KEY, created_at DATETIME NOT NULL, payload VARCHAR(100), KEY (created_at)) ENGINE=InnoDB"))
		testdb.Must(t, "fill", p.exec(ctx, fmt.Sprintf("INSERT INTO events SELECT seq, '2020-01-01' + INTERVAL (seq %% 1000) MINUTE, REPEAT('x', 60) FROM seq_1_to_%d", rows)))
		testdb.Must(t, "recent", p.exec(ctx, fmt.Sprintf("INSERT INTO events SELECT seq, '2099-01-01', 'keep' FROM seq_%d_to_%d", rows+1, rows+10000)))
		return
	}
	testdb.Must(t, "create", p.exec(ctx, "CREATE TABLE events (id BIGINT PRIMARY KEY, created_at timestamp NOT NULL, payload text)"))
	testdb.Must(t, "index", p.exec(ctx, "CREATE INDEX ON events (created_at)"))
	testdb.Must(t, "fill", p.exec(ctx, fmt.Sprintf("INSERT INTO events SELECT g, '2020-01-01'::timestamp + (g %% 1000) * interval '1 minute', repeat('x', 60) FROM generate_series(1, %d) g", rows)))
	testdb.Must(t, "recent", p.exec(ctx, fmt.Sprintf("INSERT INTO events SELECT g, '2099-01-01', 'keep' FROM generate_series(%d, %d) g", rows+1, rows+10000)))
	testdb.Must(t, "analyze", p.exec(ctx, "ANALYZE events"))
}

// writer updates random old rows (the ones being purged) and inserts new
// ones until stop, and records the longest any statement waited.
func (p purgeDB) writer(t *testing.T, rows int, stop <-chan struct{}) (longest func() time.Duration, wait func()) {
	var max atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		ctx := context.Background()
		next := rows + 1_000_000
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			start := time.Now()
			var err error
			if i%2 == 0 {
				err = p.exec(ctx, "UPDATE events SET payload = 'w' WHERE id = "+p.ph(1), rand.IntN(rows)+1)
			} else {
				next++
				err = p.exec(ctx, "INSERT INTO events (id, created_at, payload) VALUES ("+p.ph(1)+", '2099-06-01', 'new')", next)
			}
			if err != nil {
				t.Errorf("writer: %v", err)
				return
			}
			if d := int64(time.Since(start)); d > max.Load() {
				max.Store(d)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	return func() time.Duration { return time.Duration(max.Load()) }, wg.Wait
}

func purgeRows() int {
	if n, err := strconv.Atoi(os.Getenv("FERRY_PURGE_ROWS")); err == nil && n > 0 {
		return n
	}
	return 1_000_000
}

// TestJobsPurgeKilledAndResumed runs a batched purge of a million rows in
// batches of 10,000 through the real jobs state machine and run-job's
// Lambda JSON path, on MariaDB and on PostgreSQL, kills the execution
// halfway (its context is cancelled mid-batch, as when the process dies),
// and lets the next execution resume it to zero remaining rows, while a
// writer keeps updating the rows being purged. The rows/s, the longest
// batch and the writer's longest wait are printed (not asserted: timing).
func TestJobsPurgeKilledAndResumed(t *testing.T) {
	for _, tc := range []struct {
		name string
		open func(*testing.T) purgeDB
		on   ferry.JobDatabase
	}{{"mariadb", mysqlPurgeDB, ferry.JobOnSource}, {"postgres", postgresPurgeDB, ferry.JobOnTarget}} {
		t.Run(tc.name, func(t *testing.T) { testPurge(t, tc.open(t), tc.on) })
	}
}

func testPurge(t *testing.T, db purgeDB, on ferry.JobDatabase) {
	ctx := context.Background()
	rows := purgeRows()
	db.fill(t, rows)
	adminDB, _ := testdb.MySQLDB(t)
	adm := mysql.NewAdmin(adminDB)
	_, err := adm.Migrate(ctx)
	testdb.Must(t, "migrate", err)
	ja, err := adm.JobAdmin()
	testdb.Must(t, "job admin", err)
	testdb.Must(t, "add job", ja.PutJob(ctx, ferry.Job{Name: "purge_events", Active: true, Kind: ferry.JobBatched, Database: on,
		SQL: "DELETE FROM events WHERE created_at < :run_date", Params: []string{"run_date"}, Trigger: ferry.JobOnSchedule, Schedule: "cron(0 3 * * ? *)",
		Position: 100, Timeout: time.Hour, BatchRows: 10_000}, false))
	book, err := adm.Jobs()
	testdb.Must(t, "book", err)
	bl := &batchLog{}
	st := steps.New(steps.Deps{Jobs: book, Logger: slog.New(bl), JobLeaseTTL: 3 * time.Second,
		JobDBs: func(context.Context, ferry.JobDatabase) (ferry.JobDB, error) { return db.jobDB, nil }})

	stop := make(chan struct{})
	longestWait, waitWriter := db.writer(t, rows, stop)
	remaining := func() int64 { return db.count(ctx, "SELECT COUNT(*) FROM events WHERE created_at < '2021-01-01'") }

	// First execution: killed once about half the rows are gone.
	killCtx, kill := context.WithCancel(ctx)
	go func() {
		for remaining() > int64(rows/2) {
			time.Sleep(50 * time.Millisecond)
		}
		kill()
	}()
	start := time.Now()
	ex1, err := RunJobs(killCtx, JobsOptions{Steps: st, RunID: "jobs-killed", Jobs: []string{"purge_events"}, Force: true, Logger: quiet})
	testdb.Must(t, "first execution", err)
	first := time.Since(start)
	left := remaining()
	if ex1.Status != asl.StatusAborted || left == 0 || left >= int64(rows) {
		t.Fatalf("first execution %s with %d rows left: want ABORTED halfway", ex1.Status, left)
	}
	// The killed run still holds the job's lease until its heartbeat
	// expires: a tick before then skips the job, one after resumes it.
	// Ticks come every two seconds until the purge is done.
	start = time.Now()
	var resumed []jobs.JobRun
	jb, _ := adm.JobAdmin()
	for i := 0; i < 60 && remaining() > 0; i++ {
		time.Sleep(2 * time.Second)
		id := fmt.Sprintf("jobs-resumed-%d", i)
		ex2, err := RunJobs(ctx, JobsOptions{Steps: st, RunID: id, Jobs: []string{"purge_events"}, Force: true, Logger: quiet})
		testdb.Must(t, id, err)
		if ex2.Status != asl.StatusSucceeded {
			t.Fatalf("%s %s: %s %s", id, ex2.Status, ex2.Error, ex2.Cause)
		}
		runs, err := jb.JobRuns(ctx, id)
		testdb.Must(t, "job runs", err)
		resumed = append(resumed, runs...)
	}
	second := time.Since(start)
	close(stop)
	waitWriter()
	if n := remaining(); n != 0 {
		t.Fatalf("%d old rows remain after the resumed purge", n)
	}
	if n := db.count(ctx, "SELECT COUNT(*) FROM events WHERE created_at >= '2099-01-01' AND id <= "+strconv.Itoa(rows+10000)); n != 10000 {
		t.Fatalf("%d of the 10,000 recent rows remain: the purge deleted rows it should not have", n)
	}
	var resumedRows, batches int64
	for _, r := range resumed {
		resumedRows, batches = resumedRows+r.Rows, batches+r.Batches
	}
	// The batch in flight when the first execution was killed may still
	// commit on the server (MariaDB finishes a statement whose client went
	// away, within max_statement_time): the resumed runs delete the rest.
	if len(resumed) == 0 || resumed[len(resumed)-1].Status != jobs.RunSucceeded || resumedRows <= 0 || resumedRows > left {
		t.Fatalf("resumed job runs %+v, want the last succeeded, at most the %d rows left in all", resumed, left)
	}
	killed, err := jb.JobRuns(ctx, "jobs-killed")
	testdb.Must(t, "killed job runs", err)
	if len(killed) != 1 || killed[0].Status != jobs.RunFailed || killed[0].Error == "" {
		t.Fatalf("the killed run's record %+v, want failed (cancelled, or abandoned once a resumed run took the job over)", killed)
	}
	total := first + second - time.Duration(len(resumed))*2*time.Second // less the ticks' waits
	t.Logf("%s purge of %d rows in batches of at most 10,000: killed after %v with %d left, resumed in %v (%d batches); %.0f rows/s overall; longest batch %d ms; a concurrent writer waited at most %v",
		db.engine, rows, first.Round(time.Millisecond), left, second.Round(time.Millisecond), batches, float64(rows)/total.Seconds(), bl.longest.Load(), longestWait().Round(time.Millisecond))
}

// TestJobsExtractToStore runs an extract job per company through the jobs
// state machine: each company's object is at its key, its content is the
// export dialect byte for byte, and the recorded SHA-256 and sizes are the
// object's.
func TestJobsExtractToStore(t *testing.T) {
	ctx := context.Background()
	src, _ := testdb.MySQLDB(t)
	mustExec(t, src, "CREATE TABLE orders (id INT PRIMARY KEY, company_id INT NOT NULL, note VARCHAR(40) NULL, total DECIMAL(8,2) NOT NULL)")
	mustExec(t, src, `INSERT INTO orders VALUES (1, 1, 'a, "b"', 1.5), (2, 2, NULL, 2), (3, 1, 'NULL', 3), (4, 1, 'x\ny', 4)`)
	adminDB, _ := testdb.MySQLDB(t)
	adm := mysql.NewAdmin(adminDB)
	_, err := adm.Migrate(ctx)
	testdb.Must(t, "migrate", err)
	for _, c := range []admin.NewCompany{alpha, beta} {
		testdb.Must(t, "add company", adm.AddCompany(ctx, c))
	}
	ja, _ := adm.JobAdmin()
	testdb.Must(t, "add job", ja.PutJob(ctx, ferry.Job{Name: "partner_orders", Active: true, Kind: ferry.JobExtract, Database: ferry.JobOnSource,
		SQL: "SELECT id, note, total FROM orders WHERE company_id = :company_id ORDER BY id", Params: []string{"company_id"},
		Trigger: ferry.JobOnSchedule, Schedule: "cron(0 6 * * ? *)", Position: 100, Timeout: time.Minute,
		KeyPattern: "partners/{alias}/{run_date}/orders.csv.gz"}, false))
	store, err := localstore.New(t.TempDir())
	testdb.Must(t, "store", err)
	book, _ := adm.Jobs()
	st := steps.New(steps.Deps{Jobs: book, Extracts: store, Logger: quiet,
		JobDBs: func(context.Context, ferry.JobDatabase) (ferry.JobDB, error) { return mysql.NewJobs(src), nil }})
	ex, err := RunJobs(ctx, JobsOptions{Steps: st, RunID: "jobs-extract", Jobs: []string{"partner_orders"}, Force: true, Logger: quiet})
	testdb.Must(t, "run", err)
	if ex.Status != asl.StatusSucceeded {
		t.Fatalf("%s %s %s", ex.Status, ex.Error, ex.Cause)
	}
	want := map[string]string{
		"alpha": `"id","note","total"` + "\n" + `"1","a, ""b""","1.50"` + "\n" + `"3","NULL","3.00"` + "\n" + "\"4\",\"x\ny\",\"4.00\"\n",
		"beta":  `"id","note","total"` + "\n" + `"2",NULL,"2.00"` + "\n",
	}
	runs, err := ja.JobRuns(ctx, "jobs-extract")
	testdb.Must(t, "job runs", err)
	if len(runs) != 2 {
		t.Fatalf("job runs %+v", runs)
	}
	for _, r := range runs {
		alias := map[int64]string{alpha.ID: "alpha", beta.ID: "beta"}[r.CompanyID]
		key := "partners/" + alias + "/" + time.Now().UTC().Format("2006-01-02") + "/orders.csv.gz"
		got := gunzipObject(t, store, key)
		sum := sha256.Sum256(got)
		if string(got) != want[alias] || r.Key != key || r.SHA256 != hex.EncodeToString(sum[:]) || r.Status != jobs.RunSucceeded {
			t.Errorf("%s: object %q (record %+v)\nwant %q", alias, got, r, want[alias])
		}
	}
}

func gunzipObject(t *testing.T, st ferry.Store, key string) []byte {
	t.Helper()
	rc, err := st.Open(context.Background(), key)
	testdb.Must(t, "open "+key, err)
	defer rc.Close()
	zr, err := gzip.NewReader(rc)
	testdb.Must(t, "gunzip "+key, err)
	b, err := io.ReadAll(zr)
	testdb.Must(t, "read "+key, err)
	return b
}

// TestJobsScheduledTick runs the jobs state machine as its schedule does
// (no input): a job whose fire time has come runs and its next fire time
// moves past now; the next tick finds nothing due and records nothing.
func TestJobsScheduledTick(t *testing.T) {
	ctx := context.Background()
	src, _ := testdb.MySQLDB(t)
	mustExec(t, src, "CREATE TABLE stats (n INT)")
	adminDB, _ := testdb.MySQLDB(t)
	adm := mysql.NewAdmin(adminDB)
	_, err := adm.Migrate(ctx)
	testdb.Must(t, "migrate", err)
	ja, _ := adm.JobAdmin()
	due := time.Now().UTC().Add(-time.Minute)
	testdb.Must(t, "add job", ja.PutJob(ctx, ferry.Job{Name: "count_runs", Active: true, Kind: ferry.JobStatement, Database: ferry.JobOnSource,
		SQL: "INSERT INTO stats VALUES (1)", Trigger: ferry.JobOnSchedule, Schedule: "rate(1 hour)", Position: 100, Timeout: time.Minute, NextDue: &due}, false))
	book, _ := adm.Jobs()
	st := steps.New(steps.Deps{Jobs: book, Logger: quiet,
		JobDBs: func(context.Context, ferry.JobDatabase) (ferry.JobDB, error) { return mysql.NewJobs(src), nil }})
	for _, run := range []string{"tick-1", "tick-2"} {
		ex, err := RunJobs(ctx, JobsOptions{Steps: st, RunID: run, Logger: quiet})
		testdb.Must(t, run, err)
		if ex.Status != asl.StatusSucceeded {
			t.Fatalf("%s: %s %s", run, ex.Status, ex.Cause)
		}
	}
	var n int
	testdb.Must(t, "count", src.QueryRow("SELECT COUNT(*) FROM stats").Scan(&n))
	job, _ := ja.Job(ctx, "count_runs")
	if n != 1 || job.NextDue == nil || !job.NextDue.Equal(due.Truncate(time.Minute).Add(time.Hour)) {
		t.Fatalf("the job ran %d times (want once); next due %v, want %v", n, job.NextDue, due.Truncate(time.Minute).Add(time.Hour))
	}
	if runs, _ := ja.JobRuns(ctx, "tick-2"); len(runs) != 0 {
		t.Fatalf("an idle tick recorded %+v", runs)
	}
}
