package ferry_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/ferrydata/ferry"
)

// reportAsLambda returns err the way aws-lambda-go reports a handler's
// error to the Lambda service (and so to Step Functions): its errorType and
// errorMessage. It runs a real handler through the library's own invoke path
// (lambda.Function, the go1.x RPC entry point; the provided.al2023 runtime
// loop builds the same InvokeResponse_Error), so the test tracks the
// library's naming, not a copy of it.
func reportAsLambda(t *testing.T, err error) (errorType, errorMessage string) {
	t.Helper()
	t.Setenv("_X_AMZN_TRACE_ID", "") // Invoke sets it; restore it afterwards
	fn := lambda.NewFunction(lambda.NewHandler(func(context.Context, json.RawMessage) (json.RawMessage, error) {
		return nil, err
	}))
	dl := time.Now().Add(time.Minute)
	var resp messages.InvokeResponse
	req := &messages.InvokeRequest{Payload: []byte(`{}`), RequestId: "test",
		Deadline: messages.InvokeRequest_Timestamp{Seconds: dl.Unix(), Nanos: int64(dl.Nanosecond())}}
	if ierr := fn.Invoke(req, &resp); ierr != nil {
		t.Fatalf("invoke: %v", ierr)
	}
	if resp.Error == nil {
		t.Fatalf("the handler's error %v was not reported", err)
	}
	return resp.Error.Type, resp.Error.Message
}

// TestLambdaError checks the contract the state machine's Retry and Catch
// rely on: whatever wraps a typed error, LambdaError puts the typed error
// outermost, aws-lambda-go reports its type name (the literal names
// statemachine/ferry.asl.json matches), and the message still carries the
// whole chain.
func TestLambdaError(t *testing.T) {
	mismatch := &ferry.CountMismatchError{Where: ferry.Where{Table: "orders"}, Staging: 9, Expected: 10}
	lease := &ferry.RunLeaseHeldError{Holder: "nightly-1", Expires: "2026-11-22T03:00:00Z"}
	cfg := &ferry.ConfigError{Where: ferry.Where{Company: "42 (acme)", Table: "orders"}, Msg: "unknown parameter :since", Fix: "add it to params"}
	data := &ferry.DataError{Where: ferry.Where{Table: "orders", Chunk: "orders#3 [200,300)"}, Row: "250", Column: "shipped", Msg: "zero date", Fix: "set zero_dates to null"}
	plain := errors.New("socket: permission denied")
	tests := []struct {
		name     string
		err      error
		wantType string
		// wantIn must all appear in the reported message.
		wantIn []string
	}{
		{"config, bare", cfg, "ConfigError", []string{"company 42 (acme), table orders: unknown parameter :since (fix: add it to params)"}},
		{"config, wrapped twice", fmt.Errorf("list tables: %w", fmt.Errorf("plan company acme: %w", cfg)), "ConfigError",
			[]string{"list tables: plan company acme: company 42 (acme), table orders: unknown parameter :since (fix: add it to params)"}},
		{"data, wrapped", fmt.Errorf("export chunk orders#3: %w", data), "DataError",
			[]string{"export chunk orders#3: ", "row 250: column shipped: zero date (fix: set zero_dates to null)"}},
		{"count mismatch, bare", mismatch, "CountMismatchError", []string{"table orders: staging has 9 rows, the exported chunks have 10"}},
		{"count mismatch, wrapped", fmt.Errorf("swap company 42 (acme): %w", mismatch), "CountMismatchError",
			[]string{"swap company 42 (acme): table orders: staging has 9 rows, the exported chunks have 10; live left unchanged"}},
		{"lease held, wrapped", fmt.Errorf("list tables: %w", lease), "RunLeaseHeldError",
			[]string{"list tables: another run (nightly-1) holds the run lease until 2026-11-22T03:00:00Z"}},
		{"retryable, wrapped", fmt.Errorf("load chunk orders#1: %w", ferry.Retryable("postgres: copy", errors.New("connection reset by peer"))), "RetryableError",
			[]string{"load chunk orders#1: postgres: copy: connection reset by peer"}},
		{"retryable around a config error: permanent wins", ferry.Retryable("mysql: export", cfg), "ConfigError",
			[]string{"mysql: export: company 42 (acme)"}},
		{"data inside a retryable inside a wrap: permanent wins", fmt.Errorf("step: %w", ferry.Retryable("op", data)), "DataError",
			[]string{"step: op: table orders, chunk orders#3 [200,300): row 250"}},
		{"lease beats config", fmt.Errorf("%w; also %w", cfg, lease), "RunLeaseHeldError", []string{"unknown parameter :since", "nightly-1"}},
		{"plain error", fmt.Errorf("load chunk orders#1: %w", plain), "TaskError", []string{"load chunk orders#1: socket: permission denied"}},
		{"task error stays as is", &ferry.TaskError{Err: plain}, "TaskError", []string{"socket: permission denied"}},
		{"wrapped task error", fmt.Errorf("outer: %w", &ferry.TaskError{Err: plain}), "TaskError", []string{"outer: socket: permission denied"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			le := ferry.LambdaError(tt.err)
			gotType, gotMsg := reportAsLambda(t, le)
			if gotType != tt.wantType {
				t.Errorf("aws-lambda-go reports errorType %q, want %q (LambdaError returned %T)", gotType, tt.wantType, le)
			}
			if gotMsg != tt.err.Error() {
				t.Errorf("errorMessage = %q\nwant the whole chain %q", gotMsg, tt.err.Error())
			}
			for _, s := range tt.wantIn {
				if !strings.Contains(gotMsg, s) {
					t.Errorf("errorMessage %q lacks %q", gotMsg, s)
				}
			}
			// Idempotent: a step may pass an edge error through again.
			if again := ferry.LambdaError(le); again.Error() != le.Error() || fmt.Sprintf("%T", again) != fmt.Sprintf("%T", le) {
				t.Errorf("LambdaError twice = %T %q, want %T %q", again, again, le, le)
			}
		})
	}
	if ferry.LambdaError(nil) != nil {
		t.Error("LambdaError(nil) is not nil")
	}
}

// TestLambdaErrorKeepsFields: the fields a local caller may read survive.
func TestLambdaErrorKeepsFields(t *testing.T) {
	var me *ferry.CountMismatchError
	err := ferry.LambdaError(fmt.Errorf("swap: %w", &ferry.CountMismatchError{Where: ferry.Where{Table: "t"}, Staging: 1, Expected: 2}))
	if !errors.As(err, &me) || me.Staging != 1 || me.Expected != 2 || me.Table != "t" {
		t.Errorf("CountMismatchError fields lost: %#v", err)
	}
	var le *ferry.RunLeaseHeldError
	err = ferry.LambdaError(fmt.Errorf("list: %w", &ferry.RunLeaseHeldError{Holder: "h", Expires: "e"}))
	if !errors.As(err, &le) || le.Holder != "h" || le.Expires != "e" {
		t.Errorf("RunLeaseHeldError fields lost: %#v", err)
	}
	var re *ferry.RetryableError
	if err := ferry.LambdaError(ferry.Retryable("op", errors.New("x"))); !errors.As(err, &re) {
		t.Errorf("retryable: %#v", err)
	}
}

func TestRetryable(t *testing.T) {
	if ferry.Retryable("op", nil) != nil {
		t.Error("Retryable(op, nil) is not nil")
	}
	base := errors.New("connection refused")
	r := ferry.Retryable("mysql: connect", base)
	if r.Error() != "mysql: connect: connection refused" || !errors.Is(r, base) {
		t.Errorf("Retryable = %q, Is(base) = %v", r, errors.Is(r, base))
	}
	// Marking twice does not stack operations.
	if r2 := ferry.Retryable("again", fmt.Errorf("wrap: %w", r)); r2.Error() != "wrap: mysql: connect: connection refused" {
		t.Errorf("Retryable of a retryable = %q", r2)
	}
	if got := (&ferry.RetryableError{Err: base}).Error(); got != "connection refused" {
		t.Errorf("RetryableError without op = %q", got)
	}
}

func TestWhereAndMessages(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{&ferry.ConfigError{Msg: "m"}, "m"},
		{&ferry.ConfigError{Where: ferry.Where{Company: "c"}, Msg: "m", Fix: "f"}, "company c: m (fix: f)"},
		{&ferry.DataError{Where: ferry.Where{Table: "t", Chunk: "t#1 [1,2)"}, Row: "5", Column: "d", Msg: "m"}, "table t, chunk t#1 [1,2): row 5: column d: m"},
		{&ferry.DataError{Msg: "m", Fix: "f"}, "m (fix: f)"},
		{&ferry.CountMismatchError{Staging: 1, Expected: 2}, "staging has 1 rows, the exported chunks have 2; live left unchanged (fix: rerun the workflow)"},
		{&ferry.TaskError{Err: errors.New("x")}, "x"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("%T.Error() = %q, want %q", tt.err, got, tt.want)
		}
	}
}

// TestLambdaErrorWithoutDetail: database details that may quote row values
// (DataError.Detail) never reach a Step Functions cause; the rest of the
// message, errors.Join's lines included, does.
func TestLambdaErrorWithoutDetail(t *testing.T) {
	const private = "private.person@example.com"
	de := &ferry.DataError{Where: ferry.Where{Company: "42 (acme)", Table: "people"}, Msg: `duplicate key value violates unique constraint "people_email"`,
		Fix: "fix the source", Detail: "Key (email)=(" + private + ") already exists.\nCOPY people, line 4"}
	if !strings.Contains(de.Error(), private) || strings.Count(de.Error(), "\n"+ferry.DetailMark) != 2 {
		t.Fatalf("DataError.Error() = %q: the detail belongs on marked lines of its own", de.Error())
	}
	joined := errors.Join(&ferry.ConfigError{Msg: "first problem"}, fmt.Errorf("load: %w", de), &ferry.ConfigError{Msg: "last problem"})
	for _, err := range []error{fmt.Errorf("load company 42 (acme): %w", de), joined, fmt.Errorf("x: %w", ferry.Retryable("op", de))} {
		got := ferry.LambdaError(err).Error()
		if strings.Contains(got, private) || strings.Contains(got, ferry.DetailMark) {
			t.Errorf("LambdaError(%q) = %q", err.Error(), got)
		}
		if !strings.Contains(got, "duplicate key value") {
			t.Errorf("LambdaError(%q) = %q lost the message", err.Error(), got)
		}
	}
	if got := ferry.LambdaError(joined).Error(); !strings.Contains(got, "first problem\n") || !strings.Contains(got, "\nlast problem") {
		t.Errorf("LambdaError of a joined error = %q, want every problem", got)
	}
	var got *ferry.DataError
	if !errors.As(ferry.LambdaError(fmt.Errorf("x: %w", de)), &got) {
		t.Error("the DataError type was lost")
	}
	plain := errors.New("no detail\nsecond line")
	if ferry.LambdaError(plain).Error() != plain.Error() {
		t.Error("a message without details changed")
	}
}
