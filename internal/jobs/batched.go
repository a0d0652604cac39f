package jobs

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/ferrydata/ferry"
)

// batched runs a batched job's batches until one affects no row, the job
// is disabled, or the invocation's deadline is near. Each committed batch
// is recorded and heartbeats the lease.
func (r *Runner) batched(ctx context.Context, p *prepared) (ferry.JobProgress, error) {
	prog := ferry.JobProgress{JobTask: p.task}
	if ran := r.now().Sub(p.record.StartedAt); ran > p.job.Timeout {
		return prog, &ferry.DataError{Msg: fmt.Sprintf("%s ran %v, longer than its timeout of %v, after %d rows in %d batches; what it committed stays", p.where, ran.Round(time.Second), p.job.Timeout, p.record.Rows, p.record.Batches),
			Fix: "raise --timeout, or let the next run go on with what is left"}
	}
	target := orDefault(r.BatchTarget, 300*time.Millisecond)
	batch := ferry.JobBatch{JobSQL: p.sql, Parts: *p.stmt.Batch, LockTimeout: target, Rows: 0}
	// A batch the server has to stop (and roll back) is retried smaller: no
	// batch holds its locks much longer than a second.
	batch.Timeout = 3 * target
	o := LoopOptions{
		MaxRows: p.job.BatchRows, Target: target, Pause: p.job.Pause, Clock: r.now,
		RolledBack: func(err error) bool { var re *ferry.RetryableError; return errors.As(err, &re) },
		Progress:   r.heartbeat(p),
		Stop:       r.disabled(p.job.Name),
	}
	if dl, ok := ctx.Deadline(); ok {
		o.Deadline = dl.Add(-orDefault(r.Margin, 10*time.Second))
	}
	if p.job.Pause > orDefault(r.MaxSleptPause, time.Minute) {
		o.MaxBatches, o.Pause = 1, 0
		prog.PauseSeconds = int(math.Ceil(p.job.Pause.Seconds()))
	}
	res, err := Loop(ctx, func(ctx context.Context, n int) (int64, error) {
		batch.Rows = n
		return p.db.BatchJob(ctx, batch)
	}, o)
	if err != nil {
		return prog, err
	}
	prog.Done = res.Done || res.Cancelled
	if res.Cancelled {
		prog.Status = RunCancelled
	}
	if prog.Done {
		prog.PauseSeconds = 0
	}
	r.log().InfoContext(ctx, "batches run", "run_id", p.task.RunID, "job", p.job.Name, "company", p.task.CompanyID,
		"rows", res.Rows, "batches", res.Batches, "longest_batch_ms", res.Longest.Milliseconds(), "batch_rows", res.Size)
	return prog, nil
}

// heartbeat records each committed batch and extends the lease.
func (r *Runner) heartbeat(p *prepared) func(ctx context.Context, rows, batches int64) error {
	baseRows, baseBatches := p.record.Rows, p.record.Batches
	return func(ctx context.Context, rows, batches int64) error {
		p.record.Rows, p.record.Batches = baseRows+rows, baseBatches+batches
		if err := r.Book.RecordJobRun(ctx, p.record); err != nil {
			return err
		}
		now := r.now()
		ok, err := r.Book.Claim(ctx, p.job.Name, p.task.CompanyID, p.task.RunID, now, now.Add(orDefault(r.LeaseTTL, 2*time.Minute)))
		if err == nil && !ok {
			err = fmt.Errorf("%s: its lease was taken over by another run (this invocation stalled past the lease); stopping", p.where)
		}
		return err
	}
}

// disabled reports whether the job was disabled or deleted meanwhile.
func (r *Runner) disabled(name string) func(ctx context.Context) (bool, error) {
	return func(ctx context.Context) (bool, error) {
		job, err := r.Book.Job(ctx, name)
		if errors.Is(err, ferry.ErrNotFound) {
			return true, nil
		}
		return err == nil && !job.Active, err
	}
}
