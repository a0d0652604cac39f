package local

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/admin"
	"github.com/ferrydata/ferry/internal/jobs"
	"github.com/ferrydata/ferry/internal/mysql"
	"github.com/ferrydata/ferry/internal/postgres"
	"github.com/ferrydata/ferry/internal/steps"
	"github.com/ferrydata/ferry/internal/testdb"
)

// withJobs rebuilds e's steps with the job dependencies: the admin
// database's bookkeeping and the target for jobs.
func (e *e2e) withJobs(t *testing.T) admin.JobBackend {
	t.Helper()
	book, err := e.adm.Jobs()
	testdb.Must(t, "book", err)
	jb, _ := e.adm.JobAdmin()
	pg := e.target.(*postgres.Target)
	jdb := postgres.NewJobs(pg.Pool())
	e.steps = steps.New(steps.Deps{
		Config: e.adm, Ledger: e.adm, Source: mysql.NewSource(e.src, mysql.WithLogger(quiet)), Target: e.target, Store: e.store, Bucket: DefaultBucket, Logger: quiet,
		Jobs: book, JobDBs: func(context.Context, ferry.JobDatabase) (ferry.JobDB, error) { return jdb, nil },
	})
	return jb
}

// TestAfterSwapJobs runs the real ferry.asl.json on a PostgreSQL target
// with after-swap jobs: a materialized view in each company's schema is
// refreshed (CONCURRENTLY) after that company's swap and shows the new
// rows; then a failing after-swap job leaves every swapped table published
// and fails the run, naming the job.
func TestAfterSwapJobs(t *testing.T) {
	e := newE2E(t, ferry.EnginePostgres)
	jb := e.withJobs(t)
	ctx := context.Background()
	if res := e.run(t, "run-1"); res.Failed() {
		t.Fatalf("run 1: %s %s", res.Execution.Error, res.Execution.Cause)
	}
	pg := e.target.(*postgres.Target)
	for _, c := range []admin.NewCompany{alpha, beta} {
		s := e.schemas[c.Alias]
		for _, q := range []string{
			// RETURNS TABLE, not SETOF orders: the function must not
			// depend on the table's row type either.
			`CREATE FUNCTION "` + s + `".orders_now() RETURNS TABLE (id bigint) LANGUAGE sql STABLE AS 'SELECT id FROM "` + s + `".orders'`,
			`CREATE MATERIALIZED VIEW "` + s + `".sales_summary AS SELECT 1 AS k, count(*) AS orders FROM "` + s + `".orders_now()`,
			`CREATE UNIQUE INDEX ON "` + s + `".sales_summary (k)`,
		} {
			_, err := pg.Pool().Exec(ctx, q)
			testdb.Must(t, q, err)
		}
	}
	testdb.Must(t, "add job", jb.PutJob(ctx, ferry.Job{Name: "refresh_sales", Active: true, Kind: ferry.JobStatement, Database: ferry.JobOnCompany,
		Trigger: ferry.JobAfterSwap, SQL: "REFRESH MATERIALIZED VIEW CONCURRENTLY sales_summary", Position: 100, Timeout: time.Minute}, false))
	e.addOrders(t, 61, 90)
	if res := e.run(t, "run-2"); res.Failed() {
		t.Fatalf("run 2: %s %s", res.Execution.Error, res.Execution.Cause)
	}
	want := e.sourceCounts(t)
	for _, c := range []admin.NewCompany{alpha, beta} {
		var n int64
		testdb.Must(t, "read view", pg.Pool().QueryRow(ctx, `SELECT orders FROM "`+e.schemas[c.Alias]+`".sales_summary`).Scan(&n))
		if n != want[c.Alias+".orders"] {
			t.Errorf("%s: the materialized view has %d orders after the swap, the source %d", c.Alias, n, want[c.Alias+".orders"])
		}
	}
	runs, err := jb.JobRuns(ctx, "run-2")
	testdb.Must(t, "job runs", err)
	if len(runs) != 2 || runs[0].Status != jobs.RunSucceeded || runs[1].Status != jobs.RunSucceeded {
		t.Fatalf("job runs %+v", runs)
	}

	// A failing after-swap job: the tables are published, the run fails naming it.
	testdb.Must(t, "add failing job", jb.PutJob(ctx, ferry.Job{Name: "bad_hook", Active: true, Kind: ferry.JobStatement, Database: ferry.JobOnCompany,
		Trigger: ferry.JobAfterSwap, SQL: "INSERT INTO no_such_table VALUES (1)", Position: 200, Timeout: time.Minute}, false))
	e.addOrders(t, 91, 99)
	res := e.run(t, "run-3")
	if !res.Failed() || !strings.Contains(res.Execution.Cause, "bad_hook") {
		t.Fatalf("run 3: %s, cause %q: want FAILED naming job bad_hook", res.Execution.Status, res.Execution.Cause)
	}
	if got, want := e.counts(t), e.sourceCounts(t); !equalCounts(got, want) {
		t.Fatalf("after the failing job, live %v, source %v: the swapped tables must stay published", got, want)
	}

	// Before-run and after-run jobs: the before-run one runs before the
	// copy, a failing after-run one fails the run naming it.
	_, err = jb.SetJobStatus(ctx, "bad_hook", admin.StatusInactive, nil)
	testdb.Must(t, "disable", err)
	for _, j := range []ferry.Job{
		{Name: "analyze_first", Trigger: ferry.JobBeforeRun, SQL: "ANALYZE"},
		{Name: "bad_after", Trigger: ferry.JobAfterRun, SQL: "DELETE FROM no_such_table"},
	} {
		j.Active, j.Kind, j.Database, j.Position, j.Timeout = true, ferry.JobStatement, ferry.JobOnTarget, 100, time.Minute
		testdb.Must(t, "add "+j.Name, jb.PutJob(ctx, j, false))
	}
	res = e.run(t, "run-4")
	if !res.Failed() || !strings.Contains(res.Execution.Cause, "bad_after") {
		t.Fatalf("run 4: %s, cause %q: want FAILED naming job bad_after", res.Execution.Status, res.Execution.Cause)
	}
	runs, err = jb.JobRuns(ctx, "run-4")
	testdb.Must(t, "job runs", err)
	status := map[string]string{}
	for _, r := range runs {
		status[r.Job] = r.Status
	}
	if status["analyze_first"] != jobs.RunSucceeded || status["bad_after"] != jobs.RunFailed || status["refresh_sales"] != jobs.RunSucceeded {
		t.Fatalf("run 4 job runs %v", status)
	}
}

func equalCounts(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
