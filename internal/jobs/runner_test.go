package jobs

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/localstore"
)

func runner(b *memBook, db *fakeDB) *Runner {
	return &Runner{Book: b, DB: func(context.Context, ferry.JobDatabase) (ferry.JobDB, error) { return db, nil }, Margin: time.Millisecond,
		Logger: slog.New(slog.DiscardHandler)}
}

func stmtJob(name, sql string) ferry.Job {
	return ferry.Job{Name: name, Active: true, Kind: ferry.JobStatement, Database: ferry.JobOnTarget, SQL: sql, Trigger: ferry.JobAfterRun, Timeout: time.Minute}
}

var task0 = ferry.JobTask{RunID: "run-1", RunDate: "2026-12-03", Job: "j", Trigger: ferry.JobAfterRun}

func TestRunStatement(t *testing.T) {
	b, db := newBook(stmtJob("j", "CALL rebuild(:run_date)")), &fakeDB{engine: ferry.EngineMySQL}
	p, err := runner(b, db).Run(context.Background(), task0)
	if err != nil || !p.Done || p.Status != RunSucceeded || p.Rows != 7 {
		t.Fatalf("%+v %v", p, err)
	}
	rec, _ := b.JobRun(context.Background(), "run-1", "j", 0)
	if rec.Status != RunSucceeded || rec.Rows != 7 || rec.Invocations != 1 || rec.FinishedAt == nil || len(b.leases) != 0 {
		t.Fatalf("record %+v leases %v", rec, b.leases)
	}
	if db.got[0].Params["run_date"] != "2026-12-03" || db.got[0].Schema != "" || len(db.got[0].Params) != 1 {
		t.Fatalf("sql %+v", db.got[0])
	}
}

func TestRunCompanyParamsAndSchema(t *testing.T) {
	j := stmtJob("j", "REFRESH MATERIALIZED VIEW sales WHERE x = :since")
	j.Database = ferry.JobOnCompany
	b, db := newBook(j), &fakeDB{engine: ferry.EnginePostgres}
	task := task0
	task.CompanyID, task.Alias = 42, "acme"
	if _, err := runner(b, db).Run(context.Background(), task); err != nil {
		t.Fatal(err)
	}
	q := db.got[0]
	if q.Schema != "bi_acme" || q.Params["since"] != "2026-11-03" || q.Params["company_id"] != int64(42) || q.Params["alias"] != "acme" {
		t.Fatalf("sql %+v", q)
	}
}

func TestRunErrorPolicy(t *testing.T) {
	unknown := ferry.Retryable("exec", errors.Join(ferry.ErrOutcomeUnknown, errors.New("connection reset")))
	rolledBack := ferry.Retryable("exec", errors.New("deadlock; rolled back"))
	tests := []struct {
		name      string
		sql       string
		idem      bool
		err       error
		retryable bool
		status    string
		want      string
	}{
		{"unknown outcome, not idempotent", "INSERT INTO s SELECT 1", false, unknown, false, RunFailed, "not retried, because job j is not idempotent"},
		{"unknown outcome, marked idempotent", "INSERT INTO s SELECT 1", true, unknown, true, RunRunning, "connection reset"},
		{"unknown outcome, known idempotent", "ANALYZE TABLE s", false, unknown, true, RunRunning, "connection reset"},
		{"rolled back", "INSERT INTO s SELECT 1", false, rolledBack, true, RunRunning, "deadlock"},
		{"permanent", "INSERT INTO s SELECT 1", true, &ferry.ConfigError{Msg: "no such table s"}, false, RunFailed, "job j: no such table s"},
		{"data, with a database detail", "INSERT INTO s SELECT 1", true, &ferry.DataError{Msg: "duplicate key", Detail: "Key (id)=(secret-7) already exists."}, false, RunFailed, "job j: duplicate key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := stmtJob("j", tt.sql)
			j.Idempotent = tt.idem
			b, db := newBook(j), &fakeDB{engine: ferry.EngineMySQL, execErr: tt.err}
			_, err := runner(b, db).Run(context.Background(), task0)
			var re *ferry.RetryableError
			if errors.As(err, &re) != tt.retryable || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err %T %v, want retryable %v containing %q", err, err, tt.retryable, tt.want)
			}
			rec, _ := b.JobRun(context.Background(), "run-1", "j", 0)
			if rec.Status != tt.status || !strings.Contains(rec.Error, tt.want) || strings.Contains(rec.Error, ferry.DetailMark) {
				t.Fatalf("record %+v (the run history keeps no database detail line)", rec)
			}
			if _, held := b.leases[lk("j", 0)]; held != tt.retryable {
				t.Fatalf("lease held %v after a failure with retryable %v", held, tt.retryable)
			}
		})
	}
}

func TestRunBatchedAcrossInvocations(t *testing.T) {
	j := ferry.Job{Name: "purge", Active: true, Kind: ferry.JobBatched, Database: ferry.JobOnSource, SQL: "DELETE FROM events WHERE at < :run_date",
		Trigger: ferry.JobOnSchedule, Schedule: "rate(1 day)", Timeout: time.Hour, BatchRows: 100}
	b, db := newBook(j), &fakeDB{engine: ferry.EngineMySQL, remaining: 1000, batchErrs: []error{ferry.Retryable("batch", errors.New("lock wait timeout"))}}
	r := runner(b, db)
	r.Margin = 0
	task := ferry.JobTask{RunID: "jobs-1", RunDate: "2026-12-03", Job: "purge", Kind: ferry.JobBatched, Trigger: ferry.JobOnSchedule, Idempotent: true}
	// A deadline already passed: the invocation runs no batch and asks to be invoked again.
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	p, err := r.Run(ctx, task)
	cancel()
	if err != nil || p.Done || p.Status != RunRunning {
		t.Fatalf("first invocation %+v %v", p, err)
	}
	p, err = r.Run(context.Background(), task)
	if err != nil || !p.Done || p.Rows != 1000 || db.remaining != 0 {
		t.Fatalf("second invocation %+v %v remaining %d", p, err, db.remaining)
	}
	rec, _ := b.JobRun(context.Background(), "jobs-1", "purge", 0)
	if rec.Invocations != 2 || rec.Rows != 1000 || rec.Batches != p.Batches || rec.Status != RunSucceeded {
		t.Fatalf("record %+v", rec)
	}
}

func TestRunDisabledIsCancelled(t *testing.T) {
	j := stmtJob("j", "ANALYZE t")
	j.Active = false
	b := newBook(j)
	p, err := runner(b, &fakeDB{}).Run(context.Background(), task0)
	if err != nil || !p.Done || p.Status != RunCancelled {
		t.Fatalf("%+v %v", p, err)
	}
	if rec, _ := b.JobRun(context.Background(), "run-1", "j", 0); rec.Status != RunCancelled {
		t.Fatalf("%+v", rec)
	}
}

func TestRunLeaseHeldElsewhere(t *testing.T) {
	b := newBook(stmtJob("j", "ANALYZE t"))
	b.Claim(context.Background(), "j", 0, "other-run", time.Now(), time.Now().Add(time.Hour))
	_, err := runner(b, &fakeDB{}).Run(context.Background(), task0)
	var re *ferry.RetryableError
	if !errors.As(err, &re) || !strings.Contains(err.Error(), "still running in another run") {
		t.Fatalf("%v", err)
	}
}

func TestRunExtract(t *testing.T) {
	j := ferry.Job{Name: "partner", Active: true, Kind: ferry.JobExtract, Database: ferry.JobOnTarget, SQL: "SELECT id, v FROM t",
		Trigger: ferry.JobAfterRun, Timeout: time.Minute, KeyPattern: "out/{job}/{run_date}.csv.gz"}
	st, err := localstore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	b, db := newBook(j), &fakeDB{engine: ferry.EngineMySQL, csv: "id,v\n\"1\",\"a\"\n\"2\",NULL\n"}
	r := runner(b, db)
	r.Store = st
	task := task0
	task.Job = "partner"
	p, err := r.Run(context.Background(), task)
	if err != nil || p.Key != "out/partner/2026-12-03.csv.gz" || p.Rows != 2 || len(p.SHA256) != 64 {
		t.Fatalf("%+v %v", p, err)
	}
	rc, err := st.Open(context.Background(), p.Key)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	zr, _ := gzip.NewReader(rc)
	got, _ := io.ReadAll(zr)
	if !bytes.Equal(got, []byte(db.csv)) {
		t.Fatalf("object %q", got)
	}
}

func TestDueAndFinish(t *testing.T) {
	at := utc("2026-12-03 03:00")
	due := at.Add(-time.Minute)
	later := at.Add(time.Hour)
	jobs := []ferry.Job{
		{Name: "purge", Active: true, Kind: ferry.JobBatched, SQL: "DELETE FROM e WHERE at < :since", Params: []string{"since"}, Trigger: ferry.JobOnSchedule, Schedule: "cron(0 3 * * ? *)", NextDue: &due},
		{Name: "stats", Active: true, Kind: ferry.JobStatement, SQL: "ANALYZE TABLE e", Trigger: ferry.JobOnSchedule, Schedule: "rate(1 hour)", NextDue: &due},
		{Name: "later", Active: true, Kind: ferry.JobStatement, SQL: "ANALYZE TABLE e", Trigger: ferry.JobOnSchedule, Schedule: "rate(1 hour)", NextDue: &later},
		{Name: "hook", Active: true, Kind: ferry.JobStatement, SQL: "INSERT INTO x SELECT 1", Trigger: ferry.JobAfterSwap},
	}
	b := newBook(jobs...)
	b.Claim(context.Background(), "purge", 43, "jobs-0", at, at.Add(time.Hour)) // globex's purge still runs
	r := runner(b, &fakeDB{})
	out, err := r.Due(context.Background(), DueInput{RunID: "jobs-1", At: at})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, t := range out.Tasks {
		names = append(names, taskName(t))
	}
	if strings.Join(names, "; ") != "job purge, company 42 (acme); job stats" || len(out.Skipped) != 1 || out.RunDate != "2026-12-03" {
		t.Fatalf("tasks %v skipped %v", names, out.Skipped)
	}
	if !out.Tasks[0].Idempotent || !out.Tasks[1].Idempotent {
		t.Fatalf("batched and ANALYZE tasks are idempotent: %+v", out.Tasks)
	}
	if j, _ := b.Job(context.Background(), "purge"); !j.NextDue.Equal(utc("2026-12-04 03:00")) {
		t.Fatalf("purge next due %v", j.NextDue)
	}
	// Forced by name: runs although not due; an unknown or disabled job is refused.
	out, err = r.Due(context.Background(), DueInput{RunID: "jobs-2", At: at, Jobs: []string{"later"}, Force: true})
	if err != nil || len(out.Tasks) != 1 || out.Tasks[0].Job != "later" {
		t.Fatalf("forced %+v %v", out, err)
	}
	if _, err := r.Due(context.Background(), DueInput{RunID: "jobs-3", At: at, Jobs: []string{"nope"}, Force: true}); err == nil {
		t.Fatal("an unknown job was accepted")
	}
	plan, err := r.Plan(context.Background(), PlanInput{RunID: "run-9", RunDate: "2026-12-03", Trigger: ferry.JobAfterSwap, Company: &ferry.CompanyRun{CompanyID: 42, Alias: "acme"}})
	if err != nil || len(plan.Tasks) != 1 || plan.Tasks[0].Job != "hook" || plan.Tasks[0].CompanyID != 42 || plan.Tasks[0].Idempotent {
		t.Fatalf("plan %+v %v", plan, err)
	}
	fin, err := r.Finish(context.Background(), FinishInput{RunID: "jobs-1", Outcomes: []ferry.JobOutcome{
		{Job: "purge", CompanyID: 42, Alias: "acme", Rows: 10},
		{Job: "stats", Failed: true, Error: "TaskError", Cause: `{"errorMessage":"job stats: table e is locked","errorType":"TaskError"}`},
	}})
	if err != nil || fin.Failed != 1 || !strings.Contains(fin.Summary, "job stats failed: job stats: table e is locked") {
		t.Fatalf("finish %+v %v", fin, err)
	}
	for k, l := range b.leases {
		if l.holder == "jobs-1" {
			t.Fatalf("lease %s still held by the finished run", k)
		}
	}
	if rec, _ := b.JobRun(context.Background(), "jobs-1", "stats", 0); rec.Status != RunFailed {
		t.Fatalf("the failure was not recorded: %+v", rec)
	}
}
