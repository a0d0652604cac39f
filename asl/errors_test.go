package asl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
)

// failing returns a handler that fails n times with err, then returns out.
func failing(n int, err error, out string, calls *atomic.Int32) TaskHandler {
	return func(context.Context, json.RawMessage) (json.RawMessage, error) {
		if int(calls.Add(1)) <= n {
			return nil, err
		}
		return json.RawMessage(out), nil
	}
}

func taskDef(retry, catch string) string {
	s := `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:f","End":true`
	if retry != "" {
		s += `,"Retry":` + retry
	}
	if catch == "" {
		return s + `}}}`
	}
	return s + `,"Catch":` + catch + `},"Recovered":{"Type":"Pass","End":true}}}`
}

func TestRetryDelays(t *testing.T) {
	sec := time.Second
	tests := []struct {
		name      string
		retry     string
		failures  int
		rnd       float64
		wantDelay []time.Duration
		wantCalls int32
		wantOK    bool
	}{
		{"defaults: 1s interval, rate 2, 3 attempts", `[{"ErrorEquals":["States.ALL"]}]`, 10, 0, []time.Duration{sec, 2 * sec, 4 * sec}, 4, false},
		{"succeeds on the third call", `[{"ErrorEquals":["Boom"],"IntervalSeconds":3,"BackoffRate":1.5}]`, 2, 0, []time.Duration{3 * sec, 4500 * time.Millisecond}, 3, true},
		{"MaxDelaySeconds caps the back-off", `[{"ErrorEquals":["Boom"],"IntervalSeconds":1,"BackoffRate":3,"MaxAttempts":5,"MaxDelaySeconds":5}]`, 10, 0, []time.Duration{sec, 3 * sec, 5 * sec, 5 * sec, 5 * sec}, 6, false},
		{"MaxAttempts 0 never retries", `[{"ErrorEquals":["Boom"],"MaxAttempts":0},{"ErrorEquals":["States.ALL"]}]`, 10, 0, nil, 1, false},
		{"JitterStrategy FULL scales by the random draw", `[{"ErrorEquals":["Boom"],"IntervalSeconds":2,"MaxAttempts":2,"JitterStrategy":"FULL"}]`, 10, 0.5, []time.Duration{sec, 2 * sec}, 3, false},
		{"first matching retrier only", `[{"ErrorEquals":["Other"],"MaxAttempts":5},{"ErrorEquals":["Boom"],"MaxAttempts":1,"IntervalSeconds":7}]`, 10, 0, []time.Duration{7 * sec}, 2, false},
		{"States.TaskFailed matches a function error", `[{"ErrorEquals":["States.TaskFailed"],"MaxAttempts":1}]`, 10, 0, []time.Duration{sec}, 2, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int32
			clock := NewVirtualClock(epoch)
			ex := runDef(t, taskDef(tc.retry, ""), `{}`, Options{Clock: clock, Rand: func() float64 { return tc.rnd },
				Tasks: map[string]TaskHandler{"f": failing(tc.failures, &TaskError{Name: "Boom", Cause: "bang"}, `"ok"`, &calls)}})
			if got := clock.Sleeps(); !reflect.DeepEqual(got, tc.wantDelay) {
				t.Errorf("delays %v, want %v", got, tc.wantDelay)
			}
			if calls.Load() != tc.wantCalls {
				t.Errorf("calls %d, want %d", calls.Load(), tc.wantCalls)
			}
			if ok := ex.Status == StatusSucceeded; ok != tc.wantOK {
				t.Errorf("status %s %s", ex.Status, ex.Error)
			}
			if !tc.wantOK && ex.Error != "Boom" {
				t.Errorf("error %q, want Boom", ex.Error)
			}
		})
	}
}

// The retry counters belong to the execution, not the parsed definition:
// running the same *StateMachine twice retries the same number of times.
func TestRetryCountersPerExecution(t *testing.T) {
	sm := mustParse(t, taskDef(`[{"ErrorEquals":["Boom"],"MaxAttempts":2}]`, ""))
	for i := 0; i < 2; i++ {
		var calls atomic.Int32
		ex, err := sm.Execute(context.Background(), json.RawMessage(`{}`), Options{Clock: NewVirtualClock(epoch),
			Tasks: map[string]TaskHandler{"f": failing(100, &TaskError{Name: "Boom"}, `1`, &calls)}})
		if err != nil || ex.Status != StatusFailed || calls.Load() != 3 {
			t.Fatalf("run %d: %v %s calls=%d", i, err, ex.Status, calls.Load())
		}
	}
}

func TestRetryCountInContext(t *testing.T) {
	var seen []string
	h := func(_ context.Context, in json.RawMessage) (json.RawMessage, error) {
		seen = append(seen, string(in))
		if len(seen) < 3 {
			return nil, &TaskError{Name: "Boom"}
		}
		return in, nil
	}
	def := `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:f","Parameters":{"n.$":"$$.State.RetryCount"},"Retry":[{"ErrorEquals":["Boom"]}],"End":true}}}`
	ex := runDef(t, def, `{}`, Options{Tasks: map[string]TaskHandler{"f": h}})
	if ex.Status != StatusSucceeded || strings.Join(seen, ",") != `{"n":0},{"n":1},{"n":2}` {
		t.Fatalf("%s %v", ex.Status, seen)
	}
}

func TestCatch(t *testing.T) {
	tests := []struct {
		name, catch, wantStatus, wantOut, wantErr string
		err                                       error
	}{
		{"default ResultPath replaces the input with the error output", `[{"ErrorEquals":["Boom"],"Next":"Recovered"}]`, StatusSucceeded, `{"Error":"Boom","Cause":"bang"}`, "", &TaskError{Name: "Boom", Cause: "bang"}},
		{"ResultPath keeps the input", `[{"ErrorEquals":["States.ALL"],"ResultPath":"$.err","Next":"Recovered"}]`, StatusSucceeded, `{"in":1,"err":{"Error":"Boom","Cause":"bang"}}`, "", &TaskError{Name: "Boom", Cause: "bang"}},
		{"no matching catcher", `[{"ErrorEquals":["Other"],"Next":"Recovered"}]`, StatusFailed, "", "Boom", &TaskError{Name: "Boom", Cause: "bang"}},
		{"States.ALL does not catch States.Runtime", `[{"ErrorEquals":["States.ALL"],"Next":"Recovered"}]`, StatusFailed, "", ErrRuntime, &TaskError{Name: ErrRuntime, Cause: "x"}},
		{"States.ALL does not catch States.DataLimitExceeded", `[{"ErrorEquals":["States.ALL"],"Next":"Recovered"}]`, StatusFailed, "", ErrDataLimitExceeded, &TaskError{Name: ErrDataLimitExceeded, Cause: "x"}},
		{"plain Go errors are named like Lambda names them", `[{"ErrorEquals":["errorString"],"ResultPath":"$.err","Next":"Recovered"}]`, StatusSucceeded, `{"in":1,"err":{"Error":"errorString","Cause":"{\"errorMessage\":\"plain\",\"errorType\":\"errorString\"}"}}`, "", errors.New("plain")},
		{"catcher Assign sees the error output", `[{"ErrorEquals":["Boom"],"ResultPath":null,"Assign":{"e.$":"$.Error"},"Next":"Recovered"}]`, StatusSucceeded, `{"in":1}`, "", &TaskError{Name: "Boom"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int32
			ex := runDef(t, taskDef("", tc.catch), `{"in":1}`, Options{Tasks: map[string]TaskHandler{"f": failing(100, tc.err, "", &calls)}})
			if ex.Status != tc.wantStatus {
				t.Fatalf("status %s (%s: %s), want %s", ex.Status, ex.Error, ex.Cause, tc.wantStatus)
			}
			if tc.wantErr != "" && ex.Error != tc.wantErr {
				t.Fatalf("error %s, want %s", ex.Error, tc.wantErr)
			}
			if tc.wantOut != "" && !jsonEq(t, ex.Output, tc.wantOut) {
				t.Fatalf("output %s, want %s", ex.Output, tc.wantOut)
			}
			if tc.wantStatus == StatusSucceeded {
				h := ex.History()
				if e := h[len(h)-2]; e.Type != "PassStateExited" || e.StateExitedEventDetails.Name != "Recovered" {
					t.Fatalf("the catcher's Next did not run: last state event %s", e.Type)
				}
			}
		})
	}
}

func TestDataLimitExceeded(t *testing.T) {
	big := `"` + strings.Repeat("x", maxPayloadBytes) + `"`
	t.Run("task result", func(t *testing.T) {
		ex := runDef(t, taskDef("", `[{"ErrorEquals":["States.ALL"],"Next":"Recovered"}]`), `{}`, Options{Tasks: map[string]TaskHandler{"f": static(big)}})
		if ex.Status != StatusFailed || ex.Error != ErrDataLimitExceeded {
			t.Fatalf("%s %s", ex.Status, ex.Error)
		}
	})
	t.Run("execution input", func(t *testing.T) {
		ex := runDef(t, `{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}`, `{"a":`+big+`}`, Options{})
		if ex.Status != StatusFailed || ex.Error != ErrDataLimitExceeded {
			t.Fatalf("%s %s", ex.Status, ex.Error)
		}
	})
	for _, tc := range []struct {
		size int
		want string
	}{{256 * 1024, StatusSucceeded}, {256*1024 + 1, StatusFailed}} {
		t.Run(fmt.Sprintf("state output of %d bytes", tc.size), func(t *testing.T) {
			in := `"` + strings.Repeat("y", tc.size-2) + `"` // exactly tc.size bytes of JSON
			def := `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:f","End":true,"Catch":[{"ErrorEquals":["States.ALL"],"Next":"X"}]},"X":{"Type":"Pass","End":true}}}`
			ex := runDef(t, def, `{}`, Options{Tasks: map[string]TaskHandler{"f": static(in)}})
			if ex.Status != tc.want || (tc.want == StatusFailed && ex.Error != ErrDataLimitExceeded) {
				t.Fatalf("%s %s %s", ex.Status, ex.Error, ex.Cause)
			}
		})
	}
	t.Run("just under the limit passes", func(t *testing.T) {
		ok := `"` + strings.Repeat("x", maxPayloadBytes-10) + `"`
		ex := runDef(t, `{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}`, ok, Options{})
		if ex.Status != StatusSucceeded {
			t.Fatalf("%s %s", ex.Status, ex.Error)
		}
	})
}

func TestTaskTimeout(t *testing.T) {
	block := func(ctx context.Context, _ json.RawMessage) (json.RawMessage, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	def := `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"f"},"TimeoutSecondsPath":"$.timeout","End":true,
		"Catch":[{"ErrorEquals":["States.Timeout"],"Next":"Recovered"}]},"Recovered":{"Type":"Pass","End":true}}}`
	ex := runDef(t, def, `{"timeout":1}`, Options{Tasks: map[string]TaskHandler{"f": block}})
	if ex.Status != StatusSucceeded || !jsonEq(t, ex.Output, `{"Error":"States.Timeout","Cause":"Task timed out after 1s"}`) {
		t.Fatalf("%s %s %s %s", ex.Status, ex.Output, ex.Error, ex.Cause)
	}
	var types []string
	for _, e := range ex.History() {
		types = append(types, e.Type)
	}
	if !strings.Contains(strings.Join(types, ","), "TaskTimedOut") {
		t.Fatalf("no TaskTimedOut event: %v", types)
	}
}

func TestExecutionTimeout(t *testing.T) {
	def := `{"TimeoutSeconds":60,"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":30,"Next":"W2"},"W2":{"Type":"Wait","Seconds":45,"End":true}}}`
	ex := runDef(t, def, `{}`, Options{})
	if ex.Status != StatusTimedOut || ex.Error != ErrTimeout {
		t.Fatalf("%s %s %s", ex.Status, ex.Error, ex.Cause)
	}
	last := ex.History()[len(ex.History())-1]
	if last.Type != "ExecutionTimedOut" {
		t.Fatalf("last event %s", last.Type)
	}
}

func TestAbort(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	h := func(ctx context.Context, _ json.RawMessage) (json.RawMessage, error) {
		cancel()
		<-ctx.Done()
		return nil, ctx.Err()
	}
	sm := mustParse(t, taskDef(`[{"ErrorEquals":["States.ALL"]}]`, `[{"ErrorEquals":["States.ALL"],"Next":"Recovered"}]`))
	ex, err := sm.Execute(ctx, json.RawMessage(`{}`), Options{Clock: NewVirtualClock(epoch), Tasks: map[string]TaskHandler{"f": h}})
	if err != nil || ex.Status != StatusAborted {
		t.Fatalf("%v %s %s %s", err, ex.Status, ex.Error, ex.Cause)
	}
}

func TestPanicBecomesError(t *testing.T) {
	h := func(context.Context, json.RawMessage) (json.RawMessage, error) { panic("kaboom") }
	ex := runDef(t, taskDef("", ""), `{}`, Options{Tasks: map[string]TaskHandler{"f": h}})
	if ex.Status != StatusFailed || ex.Error != "string" || !strings.Contains(ex.Cause, "kaboom") {
		t.Fatalf("%s %s %s", ex.Status, ex.Error, ex.Cause)
	}
}

func TestFailState(t *testing.T) {
	def := `{"StartAt":"F","States":{"F":{"Type":"Fail","ErrorPath":"$.e","CausePath":"States.Format('bad {}', $.n)"}}}`
	ex := runDef(t, def, `{"e":"MyError","n":3}`, Options{})
	if ex.Status != StatusFailed || ex.Error != "MyError" || ex.Cause != "bad 3" {
		t.Fatalf("%s %q %q", ex.Status, ex.Error, ex.Cause)
	}
}

// MyLambdaError is a typed error a Lambda function returns.
type MyLambdaError struct{ Table string }

func (e *MyLambdaError) Error() string { return "table " + e.Table + " is locked" }

func TestLambdaHandlerErrorNames(t *testing.T) {
	type in struct {
		Mode string `json:"mode"`
	}
	fn := func(_ context.Context, x in) (map[string]string, error) {
		switch x.Mode {
		case "typed":
			return nil, &MyLambdaError{Table: "t1"}
		case "wrapped":
			return nil, fmt.Errorf("load: %w", &MyLambdaError{Table: "t1"})
		case "plain":
			return nil, errors.New("plain")
		case "panic":
			var m map[string]int
			m["x"] = 1
		}
		return map[string]string{"mode": x.Mode}, nil
	}
	h := LambdaHandler(lambda.NewHandler(fn))
	tests := []struct{ resource, mode, wantErr, wantCause, wantOut string }{
		{"arn:aws:lambda:us-east-1:123456789012:function:f", "typed", "MyLambdaError", `{"errorMessage":"table t1 is locked","errorType":"MyLambdaError"}`, ""},
		{"arn:aws:lambda:us-east-1:123456789012:function:f", "wrapped", "wrapError", `{"errorMessage":"load: table t1 is locked","errorType":"wrapError"}`, ""},
		{"arn:aws:lambda:us-east-1:123456789012:function:f:live", "plain", "errorString", `{"errorMessage":"plain","errorType":"errorString"}`, ""},
		{"arn:aws:lambda:us-east-1:123456789012:function:f", "ok", "", "", `{"mode":"ok"}`},
		{"arn:aws:states:::lambda:invoke", "typed", "MyLambdaError", `{"errorMessage":"table t1 is locked","errorType":"MyLambdaError"}`, ""},
		{"arn:aws:lambda:us-east-1:123456789012:function:f", "panic", "", "assignment to entry in nil map", ""},
	}
	for _, tc := range tests {
		t.Run(tc.resource+"/"+tc.mode, func(t *testing.T) {
			params := `"Parameters":{"mode.$":"$.mode"}`
			if strings.Contains(tc.resource, ":states:") {
				params = `"Parameters":{"FunctionName":"arn:aws:lambda:us-east-1:123456789012:function:f","Payload":{"mode.$":"$.mode"}}`
			}
			def := fmt.Sprintf(`{"StartAt":"T","States":{"T":{"Type":"Task","Resource":%q,%s,"End":true}}}`, tc.resource, params)
			ex := runDef(t, def, fmt.Sprintf(`{"mode":%q}`, tc.mode), Options{Tasks: map[string]TaskHandler{"f": h}})
			if tc.wantOut != "" {
				if ex.Status != StatusSucceeded || !jsonEq(t, ex.Output, tc.wantOut) {
					t.Fatalf("%s %s %s %s", ex.Status, ex.Output, ex.Error, ex.Cause)
				}
				return
			}
			if ex.Status != StatusFailed || (tc.wantErr != "" && ex.Error != tc.wantErr) || !strings.Contains(ex.Cause, tc.wantCause) {
				t.Fatalf("got %s %q %q, want %q %q", ex.Status, ex.Error, ex.Cause, tc.wantErr, tc.wantCause)
			}
		})
	}
}

func TestLambdaInvokeResultShape(t *testing.T) {
	def := `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"f","Payload.$":"$"},"End":true}}}`
	ex := runDef(t, def, `{"a":1}`, Options{Tasks: map[string]TaskHandler{"f": echo}})
	if ex.Status != StatusSucceeded {
		t.Fatalf("%s %s %s", ex.Status, ex.Error, ex.Cause)
	}
	golden(t, "lambda_invoke_result.golden.json", ex.Output)
}

func TestUnknownResources(t *testing.T) {
	tests := []struct{ resource, params, wantErr, wantCause string }{
		{"arn:aws:lambda:us-east-1:123456789012:function:nothere", `{}`, "Lambda.ResourceNotFoundException", "no handler is registered"},
		{"arn:aws:states:::lambda:invoke", `{"FunctionName":"nothere"}`, "Lambda.ResourceNotFoundException", `function name "nothere"`},
		{"arn:aws:states:::sqs:sendMessage", `{}`, ErrRuntime, "not supported"},
	}
	for _, tc := range tests {
		def := fmt.Sprintf(`{"StartAt":"T","States":{"T":{"Type":"Task","Resource":%q,"Parameters":%s,"End":true,"Catch":[{"ErrorEquals":["States.TaskFailed"],"Next":"X"}]},"X":{"Type":"Pass","End":true}}}`, tc.resource, tc.params)
		ex := runDef(t, def, `{}`, Options{})
		if tc.wantErr == ErrRuntime {
			if ex.Status != StatusFailed || ex.Error != tc.wantErr || !strings.Contains(ex.Cause, tc.wantCause) {
				t.Errorf("%s: %s %s %s", tc.resource, ex.Status, ex.Error, ex.Cause)
			}
			continue
		}
		// States.TaskFailed catches the missing function.
		if ex.Status != StatusSucceeded || !strings.Contains(string(ex.Output), tc.wantErr) || !strings.Contains(string(ex.Output), "no handler") {
			t.Errorf("%s: %s %s %s", tc.resource, ex.Status, ex.Output, ex.Cause)
		}
	}
}

// A retry back-off that runs past the execution's TimeoutSeconds times the
// execution out (virtual clock).
func TestExecutionTimeoutDuringRetry(t *testing.T) {
	def := `{"TimeoutSeconds":10,"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:f","End":true,
		"Retry":[{"ErrorEquals":["Boom"],"IntervalSeconds":4,"MaxAttempts":5}],"Catch":[{"ErrorEquals":["States.ALL"],"Next":"X"}]},"X":{"Type":"Pass","End":true}}}`
	var calls atomic.Int32
	ex := runDef(t, def, `{}`, Options{Tasks: map[string]TaskHandler{"f": failing(100, &TaskError{Name: "Boom"}, "", &calls)}})
	if ex.Status != StatusTimedOut || calls.Load() != 2 { // back-offs 4s then 8s: the second one ends past 10s
		t.Fatalf("%s %s calls=%d", ex.Status, ex.Error, calls.Load())
	}
}

// A handler's own context.DeadlineExceeded (say, a statement timeout) is an
// ordinary task error: retried and caught, not taken for an abort.
func TestHandlerDeadlineErrorIsRetried(t *testing.T) {
	var calls atomic.Int32
	ex := runDef(t, taskDef(`[{"ErrorEquals":["deadlineExceededError"],"MaxAttempts":1}]`, `[{"ErrorEquals":["States.ALL"],"Next":"Recovered"}]`), `{}`,
		Options{Tasks: map[string]TaskHandler{"f": failing(100, context.DeadlineExceeded, "", &calls)}})
	if ex.Status != StatusSucceeded || calls.Load() != 2 || !strings.Contains(string(ex.Output), "deadlineExceededError") {
		t.Fatalf("%s %s calls=%d", ex.Status, ex.Output, calls.Load())
	}
}
