package admintest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/admin"
	"github.com/ferrydata/ferry/internal/jobs"
	"github.com/ferrydata/ferry/internal/testdb"
)

// RunJobs runs the contract tests of the job bookkeeping (admin.JobBackend).
func RunJobs(t *testing.T, open func(*testing.T) *admin.DB) {
	t.Run("JobDefinitions", func(t *testing.T) { testJobDefinitions(t, open(t)) })
	t.Run("JobLeases", func(t *testing.T) { testJobLeases(t, open(t)) })
	t.Run("JobRuns", func(t *testing.T) { testJobRuns(t, open(t)) })
}

func testJobDefinitions(t *testing.T, adm *admin.DB) {
	ctx := context.Background()
	jb, err := adm.JobAdmin()
	testdb.Must(t, "job admin", err)
	due := time.Date(2026, 12, 4, 3, 0, 0, 0, time.UTC)
	purge := ferry.Job{Name: "purge", Active: true, Kind: ferry.JobBatched, Database: ferry.JobOnSource, SQL: "DELETE FROM e WHERE at < :since",
		Params: []string{"since"}, Trigger: ferry.JobOnSchedule, Schedule: "cron(0 3 * * ? *)", TimeZone: "Europe/Paris", Position: 100,
		Timeout: 6 * time.Hour, BatchRows: 10000, Pause: 250 * time.Millisecond, NextDue: &due}
	refresh := ferry.Job{Name: "refresh", Active: true, Kind: ferry.JobStatement, Database: ferry.JobOnCompany, SQL: "REFRESH MATERIALIZED VIEW s",
		Trigger: ferry.JobAfterSwap, Position: 10, Timeout: 5 * time.Minute, Idempotent: true}
	testdb.Must(t, "put purge", jb.PutJob(ctx, purge, false))
	testdb.Must(t, "put refresh", jb.PutJob(ctx, refresh, false))
	var ce *ferry.ConfigError
	if err := jb.PutJob(ctx, purge, false); !errors.As(err, &ce) {
		t.Fatalf("a second job purge: %v, want a ConfigError", err)
	}
	all, err := jb.Jobs(ctx)
	testdb.Must(t, "jobs", err)
	if len(all) != 2 || all[0].Name != "refresh" || !equalJob(all[1], purge) {
		t.Fatalf("jobs %+v\nwant refresh, then %+v", all, purge)
	}
	purge.SQL, purge.BatchRows = "DELETE FROM e WHERE at < :run_date", 500
	testdb.Must(t, "replace", jb.PutJob(ctx, purge, true))
	found, err := jb.SetJobStatus(ctx, "purge", admin.StatusInactive, nil)
	testdb.Must(t, "disable", err)
	got, err := jb.Job(ctx, "purge")
	testdb.Must(t, "job", err)
	if !found || got.Active || got.NextDue != nil || got.BatchRows != 500 || got.SQL != purge.SQL {
		t.Fatalf("after replace and disable: %+v", got)
	}
	if found, _ := jb.SetJobStatus(ctx, "nope", admin.StatusActive, nil); found {
		t.Fatal("SetJobStatus found a missing job")
	}
	if _, err := jb.Job(ctx, "nope"); !errors.Is(err, ferry.ErrNotFound) {
		t.Fatalf("missing job: %v", err)
	}
}

func equalJob(a, b ferry.Job) bool {
	return a.Name == b.Name && a.Active == b.Active && a.Kind == b.Kind && a.Database == b.Database && a.SQL == b.SQL &&
		len(a.Params) == len(b.Params) && a.Trigger == b.Trigger && a.Schedule == b.Schedule && a.TimeZone == b.TimeZone &&
		a.Position == b.Position && a.Timeout == b.Timeout && a.BatchRows == b.BatchRows && a.Pause == b.Pause &&
		(a.NextDue == nil) == (b.NextDue == nil) && (a.NextDue == nil || a.NextDue.Equal(*b.NextDue))
}

func testJobLeases(t *testing.T, adm *admin.DB) {
	ctx := context.Background()
	book, err := adm.Jobs()
	testdb.Must(t, "book", err)
	now := time.Date(2026, 12, 3, 3, 0, 0, 0, time.UTC)
	// Concurrent claims of one job × company: exactly one winner.
	var wins int
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			ok, err := book.Claim(ctx, "purge", 42, "run-"+string(rune('a'+i)), now, now.Add(time.Minute))
			testdb.Must(t, "claim", err)
			if ok {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		}(i)
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d concurrent claims won, want 1", wins)
	}
	claim := func(holder string, at time.Time) bool {
		ok, err := book.Claim(ctx, "j", 0, holder, at, at.Add(time.Minute))
		testdb.Must(t, "claim", err)
		return ok
	}
	if !claim("r1", now) || !claim("r1", now.Add(30*time.Second)) || claim("r2", now.Add(80*time.Second)) {
		t.Fatal("a holder extends its own lease; another cannot take a valid one")
	}
	if !claim("r2", now.Add(91*time.Second)) {
		t.Fatal("an expired lease is taken over")
	}
	testdb.Must(t, "release", book.Release(ctx, "r2", "", 0))
	if !claim("r3", now.Add(92*time.Second)) {
		t.Fatal("a released lease is free")
	}
}

func testJobRuns(t *testing.T, adm *admin.DB) {
	ctx := context.Background()
	book, err := adm.Jobs()
	testdb.Must(t, "book", err)
	jb, _ := adm.JobAdmin()
	start := time.Date(2026, 12, 3, 3, 0, 0, 0, time.UTC)
	r := jobs.JobRun{RunID: "jobs-1", Job: "purge", CompanyID: 42, Trigger: ferry.JobOnSchedule, Status: jobs.RunRunning, StartedAt: start, Invocations: 1}
	testdb.Must(t, "record", book.RecordJobRun(ctx, r))
	end := start.Add(time.Hour)
	r.Status, r.FinishedAt, r.Rows, r.Batches, r.Seconds, r.Error = jobs.RunFailed, &end, 1000, 10, 3600.5, "job purge: boom"
	testdb.Must(t, "record again", book.RecordJobRun(ctx, r))
	got, err := book.JobRun(ctx, "jobs-1", "purge", 42)
	testdb.Must(t, "job run", err)
	if got.Status != jobs.RunFailed || got.Rows != 1000 || got.Batches != 10 || got.Seconds != 3600.5 || got.Error != r.Error || got.FinishedAt == nil || !got.StartedAt.Equal(start) {
		t.Fatalf("job run %+v", got)
	}
	if _, err := book.JobRun(ctx, "jobs-1", "purge", 43); !errors.Is(err, ferry.ErrNotFound) {
		t.Fatalf("missing job run: %v", err)
	}
	// A run that died leaves its record running: the next run marks it.
	dead := jobs.JobRun{RunID: "jobs-dead", Job: "purge", CompanyID: 42, Trigger: ferry.JobOnSchedule, Status: jobs.RunRunning, StartedAt: start}
	testdb.Must(t, "record dead", book.RecordJobRun(ctx, dead))
	testdb.Must(t, "abandon", book.AbandonJobRuns(ctx, "purge", 42, "jobs-2", "abandoned", end))
	if got, _ := book.JobRun(ctx, "jobs-dead", "purge", 42); got.Status != jobs.RunFailed || got.Error != "abandoned" || got.FinishedAt == nil {
		t.Fatalf("abandoned run %+v", got)
	}
	if got, _ := book.JobRun(ctx, "jobs-1", "purge", 42); got.Error != r.Error {
		t.Fatalf("a finished run was rewritten: %+v", got)
	}
	later := jobs.JobRun{RunID: "jobs-2", Job: "purge", CompanyID: 42, Trigger: ferry.JobOnSchedule, Status: jobs.RunSucceeded, StartedAt: end, Key: "x.csv.gz", Bytes: 9, SHA256: "ab"}
	testdb.Must(t, "record later", book.RecordJobRun(ctx, later))
	runs, err := jb.JobRuns(ctx, "jobs-2")
	testdb.Must(t, "job runs", err)
	last, err := jb.LastJobRuns(ctx)
	testdb.Must(t, "last job runs", err)
	if len(runs) != 1 || runs[0].Key != "x.csv.gz" || len(last) != 1 || last[0].RunID != "jobs-2" {
		t.Fatalf("runs %+v last %+v", runs, last)
	}
}
