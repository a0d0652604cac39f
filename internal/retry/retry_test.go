package retry

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestBackoffGrowsWithinBounds(t *testing.T) {
	for attempt := 1; attempt <= 10; attempt++ {
		base := 200 * time.Millisecond << (attempt - 1)
		if base > 5*time.Second {
			base = 5 * time.Second
		}
		for i := 0; i < 50; i++ {
			if d := Backoff(attempt); d < base/2 || d > base {
				t.Fatalf("Backoff(%d) = %v, want within [%v, %v]", attempt, d, base/2, base)
			}
		}
	}
	if Backoff(2) <= 200*time.Millisecond/2 {
		t.Fatal("the second wait may not be shorter than half the first")
	}
}

func TestDo(t *testing.T) {
	errTransient, errPermanent := errors.New("lock wait"), errors.New("syntax")
	tests := []struct {
		name      string
		results   []error // op's result per attempt
		attempts  int
		sleepErr  error
		wantErr   error
		want      Result
		wantCalls int
		wantWaits int
	}{
		{"first try", []error{nil}, 3, nil, nil, Done, 1, 0},
		{"second try", []error{errTransient, nil}, 3, nil, nil, Done, 2, 1},
		{"permanent stops at once", []error{errPermanent}, 3, nil, errPermanent, Permanent, 1, 0},
		{"exhausted", []error{errTransient, errTransient, errTransient}, 3, nil, errTransient, Exhausted, 3, 2},
		{"interrupted wait", []error{errTransient, nil}, 3, context.Canceled, errTransient, Interrupted, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls, waits, retried := 0, 0, 0
			res, err := Do(context.Background(), Policy{
				Attempts:  tt.attempts,
				Retryable: func(err error) bool { return err == errTransient },
				Sleep:     func(context.Context, time.Duration) error { waits++; return tt.sleepErr },
				OnRetry:   func(int, time.Duration, error) { retried++ },
			}, func(attempt int) error {
				calls++
				if attempt != calls {
					t.Fatalf("attempt %d on call %d", attempt, calls)
				}
				return tt.results[attempt-1]
			})
			if err != tt.wantErr || res != tt.want || calls != tt.wantCalls || waits != tt.wantWaits || retried != tt.wantWaits {
				t.Fatalf("Do = %v, %v after %d calls, %d waits, %d retry notes; want %v, %v, %d, %d", err, res, calls, waits, retried, tt.wantErr, tt.want, tt.wantCalls, tt.wantWaits)
			}
		})
	}
}

func TestSleepEndsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Fatalf("Sleep on a cancelled context = %v", err)
	}
	if err := Sleep(context.Background(), time.Millisecond); err != nil {
		t.Fatal(err)
	}
}
