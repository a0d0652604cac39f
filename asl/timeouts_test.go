package asl

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// worker returns a handler that simulates work on a VirtualClock: for each
// step it advances the clock by step and, when beat is set, sends a
// heartbeat; then it returns "done". If its context ends first it returns
// the context's error, as a well-behaved handler does.
func worker(clock *VirtualClock, steps int, step time.Duration, beat bool) TaskHandler {
	return func(ctx context.Context, _ json.RawMessage) (json.RawMessage, error) {
		for i := 0; i < steps; i++ {
			clock.Advance(step)
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if beat {
				Heartbeat(ctx)
			}
		}
		return json.RawMessage(`"done"`), nil
	}
}

// Task timeouts and heartbeat timeouts are measured on the execution's
// clock: on a VirtualClock a handler that advances the clock past
// TimeoutSeconds or HeartbeatSeconds times out at once (no real waiting).
func TestTaskTimeoutAndHeartbeatOnVirtualClock(t *testing.T) {
	const fn = "arn:aws:lambda:us-east-1:123456789012:function:f"
	tests := []struct {
		name      string
		resource  string
		fields    string // TimeoutSeconds, HeartbeatSeconds...
		input     string
		steps     int
		step      time.Duration
		beat      bool
		catch     string // ErrorEquals of the only catcher
		wantOut   string // SUCCEEDED output, or
		wantErr   string // the FAILED execution's Error
		wantEvent string // the history event of the task's outcome
	}{
		{"finishes within TimeoutSeconds", fn, `"TimeoutSeconds":10`, `{}`, 3, 3 * time.Second, false, "", `"done"`, "", "LambdaFunctionSucceeded"},
		{"runs past TimeoutSeconds", fn, `"TimeoutSeconds":10`, `{}`, 4, 3 * time.Second, false, "", "", ErrTimeout, "LambdaFunctionTimedOut"},
		{"lambda:invoke runs past TimeoutSeconds", "arn:aws:states:::lambda:invoke", `"TimeoutSeconds":10,"Parameters":{"FunctionName":"f"}`, `{}`, 11, time.Second, false, "", "", ErrTimeout, "TaskTimedOut"},
		{"TimeoutSecondsPath", fn, `"TimeoutSecondsPath":"$.t"`, `{"t":5}`, 6, time.Second, false, "", "", ErrTimeout, "LambdaFunctionTimedOut"},
		{"no heartbeat within HeartbeatSeconds", fn, `"TimeoutSeconds":100,"HeartbeatSeconds":3`, `{}`, 1, 4 * time.Second, false, "", "", ErrHeartbeatTimeout, "LambdaFunctionTimedOut"},
		{"regular heartbeats keep a long task alive", fn, `"TimeoutSeconds":100,"HeartbeatSeconds":3`, `{}`, 10, 2 * time.Second, true, "", `"done"`, "", "LambdaFunctionSucceeded"},
		{"heartbeats do not extend TimeoutSeconds", fn, `"TimeoutSeconds":10,"HeartbeatSeconds":3`, `{}`, 6, 2 * time.Second, true, "", "", ErrTimeout, "LambdaFunctionTimedOut"},
		{"HeartbeatSecondsPath", "arn:aws:states:::lambda:invoke", `"HeartbeatSecondsPath":"$.hb","Parameters":{"FunctionName":"f"}`, `{"hb":2}`, 1, 3 * time.Second, false, "", "", ErrHeartbeatTimeout, "TaskTimedOut"},
		{"States.Timeout catches a heartbeat timeout", fn, `"HeartbeatSeconds":3`, `{}`, 1, 4 * time.Second, false, ErrTimeout, `{"Error":"States.HeartbeatTimeout","Cause":"Task sent no heartbeat for 3s (HeartbeatSeconds)"}`, "", "LambdaFunctionTimedOut"},
		{"States.HeartbeatTimeout catches it", fn, `"HeartbeatSeconds":3`, `{}`, 1, 4 * time.Second, false, ErrHeartbeatTimeout, `{"Error":"States.HeartbeatTimeout","Cause":"Task sent no heartbeat for 3s (HeartbeatSeconds)"}`, "", "LambdaFunctionTimedOut"},
		{"States.ALL catches it", fn, `"HeartbeatSeconds":3`, `{}`, 1, 4 * time.Second, false, ErrAll, `{"Error":"States.HeartbeatTimeout","Cause":"Task sent no heartbeat for 3s (HeartbeatSeconds)"}`, "", "LambdaFunctionTimedOut"},
		{"States.TaskFailed does not catch it", fn, `"HeartbeatSeconds":3`, `{}`, 1, 4 * time.Second, false, ErrTaskFailed, "", ErrHeartbeatTimeout, "LambdaFunctionTimedOut"},
		{"States.TaskFailed does not catch States.Timeout", fn, `"TimeoutSeconds":3`, `{}`, 1, 4 * time.Second, false, ErrTaskFailed, "", ErrTimeout, "LambdaFunctionTimedOut"},
		{"States.Timeout catches States.Timeout", fn, `"TimeoutSeconds":3`, `{}`, 1, 4 * time.Second, false, ErrTimeout, `{"Error":"States.Timeout","Cause":"Task timed out after 3s"}`, "", "LambdaFunctionTimedOut"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			catch := ""
			if tc.catch != "" {
				catch = fmt.Sprintf(`,"Catch":[{"ErrorEquals":[%q],"Next":"Caught"}]},"Caught":{"Type":"Pass","End":true`, tc.catch)
			}
			def := fmt.Sprintf(`{"StartAt":"T","States":{"T":{"Type":"Task","Resource":%q,%s,"End":true%s}}}`, tc.resource, tc.fields, catch)
			clock := NewVirtualClock(epoch)
			start := time.Now()
			ex := runDef(t, def, tc.input, Options{Clock: clock, Tasks: map[string]TaskHandler{"f": worker(clock, tc.steps, tc.step, tc.beat)}})
			if tc.wantErr != "" {
				if ex.Status != StatusFailed || ex.Error != tc.wantErr {
					t.Fatalf("got %s %s (%s), want FAILED %s", ex.Status, ex.Error, ex.Cause, tc.wantErr)
				}
			} else {
				if ex.Status != StatusSucceeded {
					t.Fatalf("got %s %s (%s), want SUCCEEDED", ex.Status, ex.Error, ex.Cause)
				}
				out := ex.Output
				if strings.Contains(tc.resource, ":states:") && tc.catch == "" {
					var w struct{ Payload json.RawMessage }
					_ = json.Unmarshal(out, &w)
					out = w.Payload
				}
				if !jsonEq(t, out, tc.wantOut) {
					t.Fatalf("output %s, want %s", out, tc.wantOut)
				}
			}
			var types []string
			for _, e := range ex.History() {
				types = append(types, e.Type)
			}
			if !strings.Contains(strings.Join(types, ","), tc.wantEvent) {
				t.Errorf("no %s event in %v", tc.wantEvent, types)
			}
			// The timers are virtual: nothing waited for the real backstop.
			if el := time.Since(start); el > 3*time.Second {
				t.Errorf("the execution took %s of real time: the virtual clock's timers did not fire", el)
			}
		})
	}
}

// A handler that really hangs on a VirtualClock (as under `ferry states run
// --fast`) still times out once HeartbeatSeconds have really passed.
func TestHeartbeatTimeoutOfAHungHandler(t *testing.T) {
	hang := func(ctx context.Context, _ json.RawMessage) (json.RawMessage, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	def := `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:f","HeartbeatSeconds":1,"End":true}}}`
	ex := runDef(t, def, `{}`, Options{Tasks: map[string]TaskHandler{"f": hang}})
	if ex.Status != StatusFailed || ex.Error != ErrHeartbeatTimeout {
		t.Fatalf("%s %s %s", ex.Status, ex.Error, ex.Cause)
	}
}

// Heartbeat reports whether the context belongs to a task with
// HeartbeatSeconds.
func TestHeartbeatOutsideAHeartbeatTask(t *testing.T) {
	var with, without atomic.Bool
	h := func(ctx context.Context, in json.RawMessage) (json.RawMessage, error) {
		if string(in) == `{"hb":true}` {
			with.Store(Heartbeat(ctx))
		} else {
			without.Store(!Heartbeat(ctx))
		}
		return in, nil
	}
	def := `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:f","Parameters":{"hb":true},"HeartbeatSeconds":30,"ResultPath":null,"Next":"B"},
		"B":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:f","Parameters":{"hb":false},"End":true}}}`
	ex := runDef(t, def, `{}`, Options{Tasks: map[string]TaskHandler{"f": h}})
	if ex.Status != StatusSucceeded || !with.Load() || !without.Load() || Heartbeat(context.Background()) {
		t.Fatalf("%s: Heartbeat with HeartbeatSeconds %v, without %v", ex.Status, with.Load(), !without.Load())
	}
}

// The execution's TimeoutSeconds is measured on its clock too: a task that
// advances the virtual clock past it ends the execution as TIMED_OUT at
// once, with the task's context cancelled.
func TestExecutionTimeoutWhileATaskRuns(t *testing.T) {
	clock := NewVirtualClock(epoch)
	var cancelled atomic.Bool
	h := func(ctx context.Context, _ json.RawMessage) (json.RawMessage, error) {
		clock.Advance(61 * time.Second)
		<-ctx.Done()
		cancelled.Store(true)
		return nil, ctx.Err()
	}
	def := `{"TimeoutSeconds":60,"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:f","End":true,
		"Catch":[{"ErrorEquals":["States.ALL"],"Next":"X"}]},"X":{"Type":"Pass","End":true}}}`
	start := time.Now()
	ex := runDef(t, def, `{}`, Options{Clock: clock, Tasks: map[string]TaskHandler{"f": h}})
	if ex.Status != StatusTimedOut || ex.Error != ErrTimeout || ex.History()[len(ex.History())-1].Type != "ExecutionTimedOut" {
		t.Fatalf("%s %s %s", ex.Status, ex.Error, ex.Cause)
	}
	if !cancelled.Load() {
		t.Error("the task's context was not cancelled")
	}
	if el := time.Since(start); el > 30*time.Second {
		t.Errorf("took %s of real time", el)
	}
}

// Which predefined error names each ErrorEquals entry matches (spec
// appendix A and the Step Functions error-handling guide).
func TestErrorNameMatching(t *testing.T) {
	names := []string{ErrTaskFailed, ErrTimeout, ErrHeartbeatTimeout, ErrRuntime, ErrDataLimitExceeded,
		ErrExceedToleratedFailure, ErrBranchFailed, ErrNoChoiceMatched, ErrIntrinsicFailure, ErrPermissions,
		ErrResultPathMatchFailure, ErrParameterPathFailure, ErrItemReaderFailed, ErrResultWriterFailed,
		"Lambda.ServiceException", "MyError", "errorString"}
	tests := []struct {
		rule    string
		matches []string // every other name must not match
	}{
		{ErrAll, []string{ErrTaskFailed, ErrTimeout, ErrHeartbeatTimeout, ErrExceedToleratedFailure, ErrBranchFailed, ErrNoChoiceMatched,
			ErrIntrinsicFailure, ErrPermissions, ErrResultPathMatchFailure, ErrParameterPathFailure, ErrItemReaderFailed, ErrResultWriterFailed,
			"Lambda.ServiceException", "MyError", "errorString"}},
		{ErrTaskFailed, []string{ErrTaskFailed, ErrExceedToleratedFailure, ErrBranchFailed, ErrNoChoiceMatched,
			ErrIntrinsicFailure, ErrPermissions, ErrResultPathMatchFailure, ErrParameterPathFailure, ErrItemReaderFailed, ErrResultWriterFailed,
			"Lambda.ServiceException", "MyError", "errorString"}},
		{ErrTimeout, []string{ErrTimeout, ErrHeartbeatTimeout}},
		{ErrHeartbeatTimeout, []string{ErrHeartbeatTimeout}},
		{ErrRuntime, []string{ErrRuntime}},
		{ErrDataLimitExceeded, []string{ErrDataLimitExceeded}},
		{ErrExceedToleratedFailure, []string{ErrExceedToleratedFailure}},
		{"MyError", []string{"MyError"}},
	}
	for _, tc := range tests {
		t.Run(tc.rule, func(t *testing.T) {
			want := map[string]bool{}
			for _, n := range tc.matches {
				want[n] = true
			}
			for _, n := range names {
				if got := matchRule([][]string{{tc.rule}}, n) == 0; got != want[n] {
					t.Errorf("ErrorEquals [%q] matches %q: %v, want %v", tc.rule, n, got, want[n])
				}
			}
		})
	}
}

// Retry counters belong to one execution: the same *StateMachine executed
// many times at once retries each execution MaxAttempts times, and each
// sees its own $$.State.RetryCount sequence.
func TestRetryCountersConcurrentExecutions(t *testing.T) {
	sm := mustParse(t, `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:f",
		"Parameters":{"n.$":"$$.State.RetryCount"},"Retry":[{"ErrorEquals":["Boom"],"MaxAttempts":3,"IntervalSeconds":1}],"End":true}}}`)
	const runs = 16
	var wg sync.WaitGroup
	errs := make(chan string, runs)
	for i := 0; i < runs; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			var seen []string
			h := func(_ context.Context, in json.RawMessage) (json.RawMessage, error) {
				seen = append(seen, string(in))
				if i%2 == 0 || len(seen) < 3 { // even runs always fail, odd runs succeed on the third call
					return nil, &TaskError{Name: "Boom"}
				}
				return in, nil
			}
			clock := NewVirtualClock(epoch)
			ex, err := sm.Execute(context.Background(), json.RawMessage(`{}`), Options{Name: fmt.Sprint("run-", i), Clock: clock, Tasks: map[string]TaskHandler{"f": h}})
			want, wantStatus := `{"n":0},{"n":1},{"n":2},{"n":3}`, StatusFailed
			if i%2 == 1 {
				want, wantStatus = `{"n":0},{"n":1},{"n":2}`, StatusSucceeded
			}
			switch {
			case err != nil:
				errs <- err.Error()
			case ex.Status != wantStatus || strings.Join(seen, ",") != want:
				errs <- fmt.Sprintf("run %d: %s, calls %v, want %s %s", i, ex.Status, seen, wantStatus, want)
			case len(clock.Sleeps()) != len(seen)-1:
				errs <- fmt.Sprintf("run %d: %d back-offs for %d calls", i, len(clock.Sleeps()), len(seen))
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// A Map state runs exactly up to its concurrency limit at once: the
// handlers block until the limit is reached, so a lower limit would hang
// (the test fails after 20s) and a higher one shows as more in flight.
func TestMapConcurrencyLimitIsReachedNotExceeded(t *testing.T) {
	tests := []struct {
		name, mode string
		own, cap   int // the state's MaxConcurrency, Options.MaxConcurrency
		want       int
	}{
		{"inline MaxConcurrency 3", "INLINE", 3, 0, 3},
		{"distributed MaxConcurrency 4", "DISTRIBUTED", 4, 0, 4},
		{"inline 0 is unlimited", "INLINE", 0, 0, 40},
		{"Options.MaxConcurrency caps unlimited", "DISTRIBUTED", 0, 5, 5},
		{"Options.MaxConcurrency caps a higher limit", "INLINE", 8, 2, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var cur, peak atomic.Int32
			release := make(chan struct{})
			var once sync.Once
			h := func(ctx context.Context, in json.RawMessage) (json.RawMessage, error) {
				n := cur.Add(1)
				defer cur.Add(-1)
				for m := peak.Load(); n > m && !peak.CompareAndSwap(m, n); m = peak.Load() {
				}
				if int(n) >= tc.want {
					once.Do(func() { close(release) })
				}
				select {
				case <-release:
				case <-ctx.Done():
					return nil, ctx.Err()
				}
				return in, nil
			}
			items := make([]string, 40)
			for i := range items {
				items[i] = fmt.Sprint(i)
			}
			def := fmt.Sprintf(`{"StartAt":"M","States":{"M":{"Type":"Map","MaxConcurrency":%d,"End":true,"ItemProcessor":{"ProcessorConfig":{"Mode":%q,"ExecutionType":"STANDARD"},
				"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:f","End":true}}}}}}`, tc.own, tc.mode)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			sm := mustParse(t, def)
			ex, err := sm.Execute(ctx, json.RawMessage("["+strings.Join(items, ",")+"]"), Options{MaxConcurrency: tc.cap, Clock: NewVirtualClock(epoch), Tasks: map[string]TaskHandler{"f": h}})
			if err != nil || ex.Status != StatusSucceeded {
				t.Fatalf("%v %s %s (peak %d in flight, want %d)", err, ex.Status, ex.Error, peak.Load(), tc.want)
			}
			if got := peak.Load(); int(got) != tc.want {
				t.Fatalf("peak %d in flight, want %d", got, tc.want)
			}
			if string(ex.Output) != "["+strings.Join(items, ",")+"]" {
				t.Fatalf("results out of item order: %s", ex.Output)
			}
		})
	}
}

// Concurrent sleeps add up on a VirtualClock, so they must not count
// against a running task: a 100 s Wait in one Parallel branch does not
// time out a 10 s task running in the other.
func TestVirtualSleepsDoNotTimeOutOtherBranches(t *testing.T) {
	running, waited := make(chan struct{}), make(chan struct{})
	slow := func(ctx context.Context, in json.RawMessage) (json.RawMessage, error) {
		close(running) // its timers are set: now let the other branch sleep
		select {
		case <-waited:
			return json.RawMessage(`"task"`), nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	signal := func(_ context.Context, in json.RawMessage) (json.RawMessage, error) {
		if string(in) == `{"when":"before"}` {
			<-running
		} else {
			close(waited)
		}
		return json.RawMessage(`"waited"`), nil
	}
	def := `{"StartAt":"P","States":{"P":{"Type":"Parallel","End":true,"Branches":[
		{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:slow","TimeoutSeconds":10,"HeartbeatSeconds":5,"End":true}}},
		{"StartAt":"R","States":{"R":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:signal","Parameters":{"when":"before"},"Next":"W"},"W":{"Type":"Wait","Seconds":100,"Next":"S"},"S":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:signal","End":true}}}]}}}`
	ex := runDef(t, def, `{}`, Options{Tasks: map[string]TaskHandler{"slow": slow, "signal": signal}})
	if ex.Status != StatusSucceeded || !jsonEq(t, ex.Output, `["task","waited"]`) {
		t.Fatalf("%s %s %s %s", ex.Status, ex.Output, ex.Error, ex.Cause)
	}
}
