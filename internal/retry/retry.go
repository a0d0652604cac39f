// Package retry is the one backoff Ferry's adapters use when they retry a
// statement themselves (a swap waiting for readers' locks, the freshness
// rows after a swap): exponential from 200ms, capped at 5s, with jitter in
// the upper half of each wait. The state machine's own Retry covers
// everything else.
package retry

import (
	"context"
	"math/rand/v2"
	"time"
)

// Backoff is the wait after the attempt-th failed attempt (1-based):
// 200ms·2^(attempt-1), capped at 5s, then a random point in its upper half.
func Backoff(attempt int) time.Duration {
	d := 200 * time.Millisecond << max(attempt-1, 0)
	if d > 5*time.Second || d <= 0 {
		d = 5 * time.Second
	}
	return d/2 + rand.N(d/2+1)
}

// Sleep waits d, or returns ctx's error when ctx ends first.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Policy says how Do retries.
type Policy struct {
	// Attempts is how many times op is tried at most (at least once).
	Attempts int
	// Retryable reports whether a failed attempt may be tried again.
	Retryable func(error) bool
	// Sleep waits between attempts; nil is Sleep. Tests inject a recorder.
	Sleep func(context.Context, time.Duration) error
	// OnRetry, when set, is told about each failed attempt that will be
	// retried and the wait before the next (for a log line).
	OnRetry func(attempt int, wait time.Duration, err error)
}

// Result says how Do ended when op did not succeed.
type Result int

// Ways Do can end.
const (
	// Done: op succeeded.
	Done Result = iota
	// Permanent: op failed with an error Retryable rejected.
	Permanent
	// Exhausted: every attempt failed with a retryable error.
	Exhausted
	// Interrupted: the wait before the next attempt was cut short (ctx
	// ended); the error is op's last.
	Interrupted
)

// Do calls op (with the attempt number, from 1) until it succeeds, fails
// with an error p.Retryable rejects, or has been tried p.Attempts times,
// waiting Backoff(attempt) between tries. It returns how it ended and op's
// last error (nil on success), so that the caller words the error.
func Do(ctx context.Context, p Policy, op func(attempt int) error) (Result, error) {
	sleep := p.Sleep
	if sleep == nil {
		sleep = Sleep
	}
	for attempt := 1; ; attempt++ {
		err := op(attempt)
		switch {
		case err == nil:
			return Done, nil
		case p.Retryable != nil && !p.Retryable(err):
			return Permanent, err
		case attempt >= p.Attempts:
			return Exhausted, err
		}
		wait := Backoff(attempt)
		if p.OnRetry != nil {
			p.OnRetry(attempt, wait, err)
		}
		if sleep(ctx, wait) != nil {
			return Interrupted, err
		}
	}
}
