package jobs

import (
	"context"
	"time"

	"github.com/ferrydata/ferry/internal/retry"
)

// BatchFunc runs one batch of at most n rows, in its own short
// transaction, and returns the rows it affected; 0 means the job is done.
type BatchFunc func(ctx context.Context, n int) (int64, error)

// LoopOptions configure one invocation's share of a batched job.
type LoopOptions struct {
	// MaxRows is the largest batch (the job's BatchRows).
	MaxRows int
	// Target is the batch duration the size adapts to (default 300ms): a
	// batch that took longer shrinks the next one, so no batch holds its
	// locks for long; a faster one grows it, up to MaxRows. The first batch
	// is MaxRows/16 (slow start), so not even the first one is long.
	Target time.Duration
	// Pause is slept between batches.
	Pause time.Duration
	// MaxBatches, when > 0, ends the invocation after that many batches
	// (a pause too long to sleep inside an invocation runs one batch per
	// invocation and lets the state machine wait).
	MaxBatches int64
	// Deadline is when this invocation must have returned; no batch starts
	// unless twice the longest batch so far (and the pause) still fit.
	// Zero: no deadline.
	Deadline time.Time
	// Progress is called after each committed batch with the totals of
	// this invocation (it records them and heartbeats the job's lease). An
	// error stops the loop.
	Progress func(ctx context.Context, rows, batches int64) error
	// Stop is called every CheckEvery (default 10s); true ends the loop
	// with Cancelled (the job was disabled while it ran).
	Stop       func(ctx context.Context) (bool, error)
	CheckEvery time.Duration
	// RolledBack reports a transient error after which the batch is known
	// to have been rolled back (deadlock, lock wait timeout): the loop
	// waits and tries again with a smaller batch, at most MaxRetries (default
	// 5) times in a row before it returns the error.
	RolledBack func(error) bool
	MaxRetries int
	// Clock and Sleep default to real time.
	Clock func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
}

// LoopResult is what one invocation did.
type LoopResult struct {
	Rows, Batches int64
	// Done: a batch affected no row. Cancelled: Stop said so. Neither:
	// the deadline came first; invoke again.
	Done, Cancelled bool
	// Longest is the longest batch (the longest a batch held its locks).
	Longest time.Duration
	// Size is the batch size the loop ended with.
	Size int
}

func (o *LoopOptions) defaults() {
	if o.Target <= 0 {
		o.Target = 300 * time.Millisecond
	}
	if o.CheckEvery <= 0 {
		o.CheckEvery = 10 * time.Second
	}
	if o.MaxRetries <= 0 {
		o.MaxRetries = 5
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Sleep == nil {
		o.Sleep = retry.Sleep
	}
	if o.MaxRows <= 0 {
		o.MaxRows = 1
	}
}

// Loop runs batches until one affects no row, Stop says stop, or the
// deadline is near. It always runs at least one batch unless the deadline
// has passed or Stop says stop. Every committed batch is final: a later
// invocation (or a new run) continues with what is left.
func Loop(ctx context.Context, batch BatchFunc, o LoopOptions) (LoopResult, error) {
	o.defaults()
	r := LoopResult{Size: max(1, o.MaxRows/16)}
	lastCheck := time.Time{}
	retries := 0
	for {
		now := o.Clock()
		if now.Sub(lastCheck) >= o.CheckEvery && o.Stop != nil {
			stop, err := o.Stop(ctx)
			if err != nil {
				return r, err
			}
			if stop {
				r.Cancelled = true
				return r, nil
			}
			lastCheck = now
		}
		if !o.Deadline.IsZero() && (r.Batches > 0 || retries > 0) && now.Add(2*r.Longest+o.Pause).After(o.Deadline) {
			return r, nil
		}
		if !o.Deadline.IsZero() && !now.Before(o.Deadline) {
			return r, nil
		}
		start := o.Clock()
		n, err := batch(ctx, r.Size)
		took := o.Clock().Sub(start)
		if took > r.Longest {
			r.Longest = took
		}
		if err != nil {
			if o.RolledBack == nil || !o.RolledBack(err) || retries >= o.MaxRetries || ctx.Err() != nil {
				return r, err
			}
			retries++
			r.Size = max(1, r.Size/2)
			if err := o.Sleep(ctx, retry.Backoff(retries)); err != nil {
				return r, err
			}
			continue
		}
		retries = 0
		if n == 0 {
			r.Done = true
			return r, nil
		}
		r.Rows += n
		r.Batches++
		if o.Progress != nil {
			if err := o.Progress(ctx, r.Rows, r.Batches); err != nil {
				return r, err
			}
		}
		r.Size = nextSize(r.Size, o.MaxRows, took, o.Target)
		if o.MaxBatches > 0 && r.Batches >= o.MaxBatches {
			return r, nil
		}
		if o.Pause > 0 {
			if err := o.Sleep(ctx, o.Pause); err != nil {
				return r, err
			}
		}
	}
}

// nextSize scales the batch toward the target duration: at most halved
// or doubled per batch, never above max nor below 1.
func nextSize(cur, maxRows int, took, target time.Duration) int {
	next := cur * 2
	if took > 0 {
		next = int(float64(cur) * float64(target) / float64(took))
	}
	next = min(max(next, cur/2), cur*2, maxRows)
	return max(next, 1)
}
