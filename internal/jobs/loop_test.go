package jobs

import (
	"context"
	"errors"
	"testing"
	"time"
)

// fakeTable is a table of rows whose batches cost perRow of virtual time.
type fakeTable struct {
	now       time.Time
	remaining int64
	perRow    time.Duration
	fail      []error // errors returned by the next batches, in order
	sizes     []int
}

func (f *fakeTable) clock() time.Time { return f.now }
func (f *fakeTable) sleep(_ context.Context, d time.Duration) error {
	f.now = f.now.Add(d)
	return nil
}

func (f *fakeTable) batch(_ context.Context, n int) (int64, error) {
	f.sizes = append(f.sizes, n)
	if len(f.fail) > 0 {
		err := f.fail[0]
		f.fail = f.fail[1:]
		f.now = f.now.Add(time.Second)
		return 0, err
	}
	k := min(int64(n), f.remaining)
	f.remaining -= k
	f.now = f.now.Add(time.Duration(k)*f.perRow + time.Millisecond)
	return k, nil
}

func (f *fakeTable) opts(maxRows int) LoopOptions {
	return LoopOptions{MaxRows: maxRows, Clock: f.clock, Sleep: f.sleep}
}

var errLockWait = errors.New("lock wait timeout")

func TestLoopRunsToZero(t *testing.T) {
	f := &fakeTable{now: time.Unix(0, 0), remaining: 1000, perRow: time.Millisecond}
	var progress []int64
	o := f.opts(100)
	o.Progress = func(_ context.Context, rows, batches int64) error {
		progress = append(progress, rows)
		return nil
	}
	r, err := Loop(context.Background(), f.batch, o)
	if err != nil {
		t.Fatal(err)
	}
	// Slow start: 6, 12, 24, 48, 96, then 100 per batch.
	if !r.Done || r.Rows != 1000 || r.Batches != 14 || f.remaining != 0 || len(progress) != 14 || progress[13] != 1000 || f.sizes[0] != 6 {
		t.Fatalf("result %+v, remaining %d, progress %v", r, f.remaining, progress)
	}
}

func TestLoopAdaptsToTarget(t *testing.T) {
	// 10,000 rows take 5s: from its slow start the loop grows the batch
	// until one takes about the target second, and never beyond.
	f := &fakeTable{now: time.Unix(0, 0), remaining: 200_000, perRow: 500 * time.Microsecond}
	o := f.opts(10_000)
	o.Target = time.Second
	r, err := Loop(context.Background(), f.batch, o)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Done || r.Rows != 200_000 {
		t.Fatalf("%+v", r)
	}
	want := []int{625, 1_250, 1_996, 1_997}
	for i, w := range want {
		if f.sizes[i] != w {
			t.Fatalf("sizes %v, want a start of %v", f.sizes[:6], want)
		}
	}
	for _, n := range f.sizes[:len(f.sizes)-1] { // the last, empty batch is cheap whatever its size
		if d := time.Duration(n) * f.perRow; d > 1100*time.Millisecond {
			t.Fatalf("batch of %d rows (%v) after settling; sizes %v", n, d, f.sizes)
		}
	}
	// Fast batches grow back to MaxRows, not beyond.
	if got := nextSize(2_000, 10_000, 10*time.Millisecond, time.Second); got != 4_000 {
		t.Fatalf("nextSize grew to %d, want 4000 (at most doubled)", got)
	}
	if got := nextSize(8_000, 10_000, 10*time.Millisecond, time.Second); got != 10_000 {
		t.Fatalf("nextSize grew to %d, want 10000 (MaxRows)", got)
	}
	if got := nextSize(1, 10, 10*time.Second, time.Second); got != 1 {
		t.Fatalf("nextSize = %d, want 1", got)
	}
}

func TestLoopStopsBeforeDeadlineAndResumes(t *testing.T) {
	f := &fakeTable{now: time.Unix(0, 0), remaining: 100_000, perRow: 100 * time.Microsecond}
	o := f.opts(1_000) // 0.1s per batch
	o.Deadline = f.now.Add(5 * time.Second)
	r1, err := Loop(context.Background(), f.batch, o)
	if err != nil {
		t.Fatal(err)
	}
	if r1.Done || r1.Batches == 0 || f.now.After(o.Deadline) {
		t.Fatalf("first invocation %+v ended at %v (deadline %v)", r1, f.now, o.Deadline)
	}
	// The next invocations continue with what is left.
	total := r1.Rows
	for i := 0; i < 100 && f.remaining > 0; i++ {
		o.Deadline = f.now.Add(5 * time.Second)
		r, err := Loop(context.Background(), f.batch, o)
		if err != nil {
			t.Fatal(err)
		}
		total += r.Rows
	}
	r, _ := Loop(context.Background(), f.batch, o)
	if !r.Done || total != 100_000 || f.remaining != 0 {
		t.Fatalf("total %d, remaining %d, last %+v", total, f.remaining, r)
	}
	// A deadline already passed runs nothing.
	o.Deadline = f.now.Add(-time.Second)
	f.remaining = 10
	if r, _ := Loop(context.Background(), f.batch, o); r.Batches != 0 || f.remaining != 10 {
		t.Fatalf("ran %+v past the deadline", r)
	}
}

func TestLoopStopAndRetries(t *testing.T) {
	f := &fakeTable{now: time.Unix(0, 0), remaining: 100, perRow: time.Millisecond}
	o := f.opts(10)
	o.CheckEvery = time.Nanosecond
	calls := 0
	o.Stop = func(context.Context) (bool, error) { calls++; return calls == 3, nil }
	r, err := Loop(context.Background(), f.batch, o)
	if err != nil || !r.Cancelled || r.Batches != 2 {
		t.Fatalf("stop: %+v %v", r, err)
	}

	f = &fakeTable{now: time.Unix(0, 0), remaining: 100, perRow: time.Millisecond, fail: []error{errLockWait, errLockWait}}
	o = f.opts(40)
	o.RolledBack = func(err error) bool { return errors.Is(err, errLockWait) }
	r, err = Loop(context.Background(), f.batch, o)
	if err != nil || !r.Done || r.Rows != 100 || f.sizes[0] != 2 || f.sizes[1] != 1 || f.sizes[2] != 1 {
		t.Fatalf("retries: %+v %v sizes %v", r, err, f.sizes)
	}

	f = &fakeTable{now: time.Unix(0, 0), remaining: 100, perRow: time.Millisecond, fail: []error{errLockWait, errLockWait, errLockWait}}
	o = f.opts(40)
	o.MaxRetries = 2
	o.RolledBack = func(err error) bool { return errors.Is(err, errLockWait) }
	if _, err = Loop(context.Background(), f.batch, o); !errors.Is(err, errLockWait) {
		t.Fatalf("after MaxRetries: %v", err)
	}

	other := errors.New("syntax error")
	f = &fakeTable{now: time.Unix(0, 0), remaining: 100, fail: []error{other}}
	o = f.opts(40)
	o.RolledBack = func(err error) bool { return errors.Is(err, errLockWait) }
	if r, err = Loop(context.Background(), f.batch, o); !errors.Is(err, other) || len(f.sizes) != 1 {
		t.Fatalf("other error: %+v %v", r, err)
	}
}

func TestLoopMaxBatches(t *testing.T) {
	f := &fakeTable{now: time.Unix(0, 0), remaining: 100, perRow: time.Millisecond}
	o := f.opts(10)
	o.MaxBatches = 1
	o.Pause = time.Hour
	r, err := Loop(context.Background(), f.batch, o)
	if err != nil || r.Batches != 1 || r.Done || f.now.Sub(time.Unix(0, 0)) > time.Minute {
		t.Fatalf("%+v %v: one batch, no pause slept", r, err)
	}
}
