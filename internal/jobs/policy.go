package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/metrics"
)

// Retry reports whether a failed invocation may be retried: a transient
// error, unless the statement may have committed (ferry.ErrOutcomeUnknown)
// and the job is not idempotent.
func Retry(err error, idempotent bool) bool {
	var re *ferry.RetryableError
	if !errors.As(err, &re) && !errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	return idempotent || !errors.Is(err, ferry.ErrOutcomeUnknown)
}

// failed records a failed invocation and returns the Lambda's error. A
// retryable one leaves the task running (the state machine retries it); any
// other ends it: recorded failed, lease released, metrics emitted. A
// transient error whose statement may have committed is not retryable
// for a job that is not idempotent: its message says so and how to go on.
func (r *Runner) failed(ctx context.Context, t ferry.JobTask, start time.Time, p *prepared, err error) error {
	idempotent := p == nil || Idempotent(p.job, p.stmt)
	err = fmt.Errorf("%s: %w", taskName(t), err)
	retry := Retry(err, idempotent)
	if errors.Is(err, context.DeadlineExceeded) && retry {
		err = ferry.Retryable("deadline", err)
	}
	if !retry && errors.Is(err, ferry.ErrOutcomeUnknown) {
		err = &ferry.TaskError{Err: fmt.Errorf("%s; not retried, because job %s is not idempotent (fix: check whether it took effect, then run it again with `ferry job run %s`, or mark the job --idempotent if running it twice is harmless)", err, t.Job, t.Job)}
	}
	rec, rerr := r.Book.JobRun(ctx, t.RunID, t.Job, t.CompanyID)
	if errors.Is(rerr, ferry.ErrNotFound) {
		rec, rerr = JobRun{RunID: t.RunID, Job: t.Job, CompanyID: t.CompanyID, Trigger: t.Trigger, StartedAt: start}, nil
	}
	if rerr == nil {
		rec.Error = ferry.WithoutDetail(err.Error()) // detail lines may quote row values
		rec.Seconds += r.now().Sub(start).Seconds()
		rec.Status = RunRunning
		if !retry {
			rec.Status = RunFailed
			at := r.now()
			rec.FinishedAt = &at
		}
		rerr = r.Book.RecordJobRun(context.WithoutCancel(ctx), rec)
	}
	if rerr != nil {
		r.log().WarnContext(ctx, "job failure not recorded (Report records it)", "job", t.Job, "error", rerr)
	}
	if !retry {
		r.ended(context.WithoutCancel(ctx), t, rec, true)
	}
	out := ferry.LambdaError(err)
	r.log().ErrorContext(ctx, "job invocation failed", "run_id", t.RunID, "job", t.Job, "company", t.CompanyID,
		"retry", retry, "error_type", fmt.Sprintf("%T", out), "error", err.Error())
	return out
}

func metricsOf(rec JobRun, failed bool) metrics.JobStats {
	return metrics.JobStats{Rows: rec.Rows, Batches: rec.Batches, Seconds: rec.Seconds, Failed: failed}
}
