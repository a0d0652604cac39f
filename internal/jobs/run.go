package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ferrydata/ferry"
)

// Run runs one invocation of a job task: the statement or the extract
// whole, or a batched job's batches until the invocation's deadline is
// near (Done false: invoke again, after PauseSeconds). It takes (or
// extends) the task's lease, records the run in the admin database and,
// when the task ends, emits its metrics and releases the lease.
//
// A job disabled or deleted meanwhile ends the task as cancelled. An error
// is returned through Policy: retryable only when a retry cannot repeat a
// committed statement.
func (r *Runner) Run(ctx context.Context, t ferry.JobTask) (ferry.JobProgress, error) {
	start := r.now()
	p, err := r.prepare(ctx, t)
	if err == nil && p == nil {
		return r.cancelled(ctx, t, start)
	}
	if err != nil {
		return ferry.JobProgress{JobTask: t}, r.failed(ctx, t, start, p, err)
	}
	if err := r.claim(ctx, p, start); err != nil {
		return ferry.JobProgress{JobTask: t}, err
	}
	if p.record, err = r.record(ctx, t, start); err != nil {
		return ferry.JobProgress{JobTask: t}, err
	}
	prog, err := r.dispatch(ctx, p)
	if err != nil {
		return prog, r.failed(ctx, t, start, p, err)
	}
	return r.progressed(ctx, p, prog, start)
}

func (r *Runner) dispatch(ctx context.Context, p *prepared) (ferry.JobProgress, error) {
	switch p.job.Kind {
	case ferry.JobBatched:
		return r.batched(ctx, p)
	case ferry.JobExtract:
		return r.extract(ctx, p)
	}
	n, err := p.db.ExecJob(ctx, p.sql)
	if err != nil {
		return ferry.JobProgress{JobTask: p.task}, err
	}
	return ferry.JobProgress{JobTask: p.task, Done: true, Rows: n}, nil
}

// claim takes or extends the task's lease: for the statement's timeout
// plus the TTL, or the TTL past this invocation for a batched job (whose
// batches heartbeat it). Another holder's valid lease is retryable: that
// run will end.
func (r *Runner) claim(ctx context.Context, p *prepared, now time.Time) error {
	ttl := orDefault(r.LeaseTTL, 2*time.Minute)
	until := now.Add(ttl + min(p.job.Timeout, orDefault(r.PerInvocation, 14*time.Minute)))
	ok, err := r.Book.Claim(ctx, p.job.Name, p.task.CompanyID, p.task.RunID, now, until)
	if err != nil {
		return err
	}
	if !ok {
		return ferry.Retryable("claim "+p.where, fmt.Errorf("%s is still running in another run; it never overlaps itself", p.where))
	}
	return nil
}

// record returns the task's run record, counting this invocation; a new
// one starts now.
func (r *Runner) record(ctx context.Context, t ferry.JobTask, now time.Time) (JobRun, error) {
	rec, err := r.Book.JobRun(ctx, t.RunID, t.Job, t.CompanyID)
	if errors.Is(err, ferry.ErrNotFound) {
		rec = JobRun{RunID: t.RunID, Job: t.Job, CompanyID: t.CompanyID, Trigger: t.Trigger, StartedAt: now}
		err = r.Book.AbandonJobRuns(ctx, t.Job, t.CompanyID, t.RunID,
			fmt.Sprintf("abandoned: its run ended without finishing it; run %s took it over (what it committed stays)", t.RunID), now)
	}
	if err != nil {
		return rec, err
	}
	rec.Status = RunRunning
	rec.Invocations++
	rec.FinishedAt = nil
	rec.Error = ""
	return rec, r.Book.RecordJobRun(ctx, rec)
}

// progressed records an invocation that ended without error.
func (r *Runner) progressed(ctx context.Context, p *prepared, prog ferry.JobProgress, start time.Time) (ferry.JobProgress, error) {
	rec := p.record
	rec.Seconds += r.now().Sub(start).Seconds()
	if p.job.Kind != ferry.JobBatched {
		rec.Rows, rec.Key, rec.Bytes, rec.SHA256 = prog.Rows, prog.Key, prog.Bytes, prog.SHA256
	}
	prog.JobTask = p.task
	switch {
	case prog.Done && prog.Status == RunCancelled:
		rec.Status = RunCancelled
	case prog.Done:
		prog.Status, rec.Status = RunSucceeded, RunSucceeded
	default:
		prog.Status = RunRunning
	}
	if prog.Done {
		at := r.now()
		rec.FinishedAt = &at
	}
	prog.Rows, prog.Batches, prog.Seconds = rec.Rows, rec.Batches, rec.Seconds
	if err := r.Book.RecordJobRun(ctx, rec); err != nil {
		return prog, err
	}
	if prog.Done {
		r.ended(ctx, p.task, rec, false)
	}
	r.log().InfoContext(ctx, "job invocation done", "run_id", p.task.RunID, "job", p.task.Job, "company", p.task.CompanyID,
		"done", prog.Done, "rows", rec.Rows, "batches", rec.Batches, "seconds", rec.Seconds)
	return prog, nil
}

// cancelled ends a task whose job was disabled or deleted.
func (r *Runner) cancelled(ctx context.Context, t ferry.JobTask, start time.Time) (ferry.JobProgress, error) {
	rec, err := r.Book.JobRun(ctx, t.RunID, t.Job, t.CompanyID)
	if errors.Is(err, ferry.ErrNotFound) {
		rec, err = JobRun{RunID: t.RunID, Job: t.Job, CompanyID: t.CompanyID, Trigger: t.Trigger, StartedAt: start}, nil
	}
	if err != nil {
		return ferry.JobProgress{JobTask: t}, err
	}
	rec.Status = RunCancelled
	at := r.now()
	rec.FinishedAt = &at
	if err := r.Book.RecordJobRun(ctx, rec); err != nil {
		return ferry.JobProgress{JobTask: t}, err
	}
	r.ended(ctx, t, rec, false)
	r.log().WarnContext(ctx, "job disabled or deleted while it ran: cancelled", "run_id", t.RunID, "job", t.Job, "company", t.CompanyID)
	return ferry.JobProgress{JobTask: t, Done: true, Status: RunCancelled, Rows: rec.Rows, Batches: rec.Batches, Seconds: rec.Seconds}, nil
}

// ended releases the task's lease and emits its metrics.
func (r *Runner) ended(ctx context.Context, t ferry.JobTask, rec JobRun, failed bool) {
	if err := r.Book.Release(ctx, t.RunID, t.Job, t.CompanyID); err != nil {
		r.log().WarnContext(ctx, "job lease not released (it expires by itself)", "job", t.Job, "error", err)
	}
	if err := r.Metrics.Job(t.Job, t.Alias, t.RunID, metricsOf(rec, failed)); err != nil {
		r.log().WarnContext(ctx, "metrics not written", "error", err)
	}
}
