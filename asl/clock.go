package asl

import (
	"context"
	"sync"
	"time"
)

// Clock is the engine's source of time. Wait states and Retry back-offs call
// Sleep; timestamps in the history and the context object come from Now.
type Clock interface {
	Now() time.Time
	// Sleep waits for d or until ctx is done, returning ctx.Err() then.
	Sleep(ctx context.Context, d time.Duration) error
}

// RealClock is the wall clock.
type RealClock struct{}

// Now returns time.Now().
func (RealClock) Now() time.Time { return time.Now() }

// Sleep sleeps for d unless ctx ends first.
func (RealClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// TimerClock is a Clock that can also run a function once a duration has
// passed on it. The engine measures task timeouts (TimeoutSeconds),
// heartbeat timeouts (HeartbeatSeconds) and the execution's TimeoutSeconds
// with AfterFunc when the Clock implements it, and with real timers
// otherwise. RealClock and *VirtualClock implement it.
type TimerClock interface {
	Clock
	// AfterFunc calls f in its own goroutine once d has passed on the
	// clock. stop cancels the call; it reports whether it did so.
	AfterFunc(d time.Duration, f func()) (stop func() bool)
}

// AfterFunc is time.AfterFunc.
func (RealClock) AfterFunc(d time.Duration, f func()) func() bool {
	return time.AfterFunc(d, f).Stop
}

// afterFunc runs f after d on c, on real time when c is no TimerClock.
func afterFunc(c Clock, d time.Duration, f func()) func() bool {
	if tc, ok := c.(TimerClock); ok {
		return tc.AfterFunc(d, f)
	}
	return time.AfterFunc(d, f).Stop
}

// VirtualClock is a Clock that never really sleeps: Sleep advances its time
// by d at once and records d. It is safe for concurrent use; concurrent
// sleeps add up, so use it for timestamps and delays, not for wall-clock
// accuracy across parallel branches.
//
// Its timers (AfterFunc: task, heartbeat and execution timeouts) count
// the virtual time that Advance adds, which is how a test handler
// simulates work, and fire as soon as an Advance reaches their deadline,
// before it returns: a handler that advances the clock past TimeoutSeconds
// times out at once, deterministically. Sleep (the engine's Wait states and
// Retry back-offs) moves Now but not the timers' remaining time, because
// concurrent sleeps add up: a back-off in one Map iteration must never
// time out a task running in another. (The execution's TimeoutSeconds is
// still checked against Now after every state and sleep.) A timer also
// fires once d has really elapsed, since a handler's real running time is
// part of its time on any clock: a task that really hangs still times out.
type VirtualClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
	timers map[*vtimer]struct{}
}

type vtimer struct {
	at   time.Time
	f    func()
	once sync.Once
	real *time.Timer
}

func (t *vtimer) fire() { t.once.Do(t.f) }

// NewVirtualClock returns a VirtualClock starting at start.
func NewVirtualClock(start time.Time) *VirtualClock { return &VirtualClock{now: start} }

// Now returns the virtual time.
func (c *VirtualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Sleep advances the virtual time by d (if positive) without blocking and
// records d; it fires no timer (see the type's doc).
func (c *VirtualClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sleeps = append(c.sleeps, d)
	if d > 0 {
		c.now = c.now.Add(d)
		for t := range c.timers {
			t.at = t.at.Add(d) // a sleep is not work: see the type's doc
		}
	}
	return nil
}

// Advance moves the virtual time forward by d (if positive) without
// recording a sleep, and runs the functions of the timers that fall due
// before it returns. A test handler can call it to simulate work that
// takes time.
func (c *VirtualClock) Advance(d time.Duration) {
	if d <= 0 {
		return
	}
	c.mu.Lock()
	c.now = c.now.Add(d)
	var due []*vtimer
	for t := range c.timers {
		if !t.at.After(c.now) {
			due = append(due, t)
			delete(c.timers, t)
		}
	}
	c.mu.Unlock()
	for _, t := range due {
		t.real.Stop()
		t.fire()
	}
}

// AfterFunc calls f once the virtual time reaches Now()+d (in the
// goroutine that advances the clock) or once d has really elapsed (in its
// own goroutine), whichever comes first. f must not block.
func (c *VirtualClock) AfterFunc(d time.Duration, f func()) func() bool {
	if d <= 0 {
		go f()
		return func() bool { return false }
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &vtimer{at: c.now.Add(d), f: f}
	if c.timers == nil {
		c.timers = map[*vtimer]struct{}{}
	}
	c.timers[t] = struct{}{}
	t.real = time.AfterFunc(d, func() {
		c.mu.Lock()
		_, pending := c.timers[t]
		delete(c.timers, t)
		c.mu.Unlock()
		if pending {
			t.fire()
		}
	})
	return func() bool {
		c.mu.Lock()
		_, pending := c.timers[t]
		delete(c.timers, t)
		c.mu.Unlock()
		t.real.Stop()
		return pending
	}
}

// Sleeps returns every duration passed to Sleep, in call order.
func (c *VirtualClock) Sleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.sleeps...)
}
