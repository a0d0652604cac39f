package asl

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
)

// Execution statuses.
const (
	StatusRunning   = "RUNNING"
	StatusSucceeded = "SUCCEEDED"
	StatusFailed    = "FAILED"
	StatusTimedOut  = "TIMED_OUT"
	StatusAborted   = "ABORTED"
)

// TaskHandler runs a Task state's work: it gets the task's JSON input
// (the Lambda payload) and returns its JSON result. Returning a *TaskError
// names the error for Retry/Catch; any other error is named as AWS Lambda
// names Go errors (see ErrorName). A panic becomes an error, never a crash.
type TaskHandler func(ctx context.Context, input json.RawMessage) (json.RawMessage, error)

// Options configure one execution. The zero value works: real clock,
// generated names, no task handlers.
type Options struct {
	Name             string // execution name; default a generated UUID
	StateMachineName string // default "StateMachine"; also selects the mock config's state machine
	Region           string // default "us-east-1"
	Account          string // default "123456789012"
	RoleArn          string // $$.Execution.RoleArn; default arn:aws:iam::ACCOUNT:role/DummyRole

	Clock Clock // default RealClock{}; use a *VirtualClock to never sleep

	// Tasks maps a Task Resource ARN, a Lambda function ARN (with or
	// without alias) or a bare function name to its handler.
	Tasks map[string]TaskHandler
	// Resolve is asked when Tasks has no entry (with the full resource
	// ARN, or the function name/ARN given to lambda:invoke).
	Resolve func(resource string) (TaskHandler, bool)

	ItemReader   ItemReader   // fetches Distributed Map ItemReader objects
	ResultWriter ResultWriter // stores Distributed Map ResultWriter objects

	// Mock, when set, answers the Task states it names instead of
	// dispatching (see MockConfig.TestCase).
	Mock *MockTestCase

	Observer Observer // sees every history event, including child executions'

	// MaxConcurrency caps every Map and Parallel state's concurrency
	// (0: no cap beyond the state's own MaxConcurrency).
	MaxConcurrency int

	// Rand returns a number in [0,1) for JitterStrategy FULL; default math/rand/v2.
	Rand func() float64

	Logger *slog.Logger // default: discard
}

// Execution is the result (and history) of one run of a state machine.
type Execution struct {
	Arn             string
	Name            string
	StateMachineArn string
	Status          string // SUCCEEDED, FAILED, TIMED_OUT or ABORTED
	Input           json.RawMessage
	Output          json.RawMessage // set when SUCCEEDED
	Error, Cause    string          // set otherwise
	StartDate       time.Time
	StopDate        time.Time

	hist *history
}

// run is the per-execution state shared by all threads of one execution
// (and, for the shared parts, its Distributed Map children).
type run struct {
	opts     *Options
	clock    Clock
	exec     *Execution
	hist     *history
	input    any
	smArn    string
	smName   string
	deadline time.Time // virtual-time execution deadline; zero if none
	mock     *mockState
	obs      *observerHub
	execCtx  context.Context
	log      *slog.Logger
	jinput   jsonataCache // the execution input converted for JSONata
}

// thread is one line of control: the execution itself, a Parallel branch
// or a Map iteration.
type thread struct {
	r    *run
	vars *vars
	prev int64  // previous event id on this thread
	path string // stable identity, for deterministic generated ids
	seq  int    // per-thread counter for generated ids
}

var errExecTimeout = errors.New("asl: execution timed out")

// Execute runs the state machine on input. The returned error is only for
// unusable input or options; a failed execution is reported in
// Execution.Status, Error and Cause. Cancelling ctx aborts the execution
// (Status ABORTED). Execute is safe to call concurrently.
func (sm *StateMachine) Execute(ctx context.Context, input json.RawMessage, opts Options) (*Execution, error) {
	o := opts
	if o.Region == "" {
		o.Region = "us-east-1"
	}
	if o.Account == "" {
		o.Account = "123456789012"
	}
	if o.StateMachineName == "" {
		o.StateMachineName = "StateMachine"
	}
	if o.RoleArn == "" {
		o.RoleArn = "arn:aws:iam::" + o.Account + ":role/DummyRole"
	}
	if o.Clock == nil {
		o.Clock = RealClock{}
	}
	if o.Rand == nil {
		o.Rand = rand.Float64
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Name == "" {
		o.Name = newUUID(fmt.Sprintf("%d-%d", time.Now().UnixNano(), rand.Int64()))
	}
	in, err := decodeJSON(input)
	if err != nil {
		return nil, fmt.Errorf("asl: execution input is not valid JSON: %w", err)
	}
	smArn := fmt.Sprintf("arn:aws:states:%s:%s:stateMachine:%s", o.Region, o.Account, o.StateMachineName)
	execArn := fmt.Sprintf("arn:aws:states:%s:%s:execution:%s:%s", o.Region, o.Account, o.StateMachineName, o.Name)
	r := &run{
		opts: &o, clock: o.Clock, input: in, smArn: smArn, smName: o.StateMachineName,
		mock: newMockState(o.Mock), obs: &observerHub{fn: o.Observer}, log: o.Logger,
	}
	r.exec = &Execution{Arn: execArn, Name: o.Name, StateMachineArn: smArn}
	r.hist = &history{obs: r.obs, arn: execArn, index: -1}
	r.exec.hist = r.hist
	r.runExecution(ctx, sm, in, "")
	return r.exec, nil
}

// runExecution runs sm to completion and fills r.exec.
func (r *run) runExecution(ctx context.Context, sm *StateMachine, in any, threadPath string) {
	start := r.clock.Now()
	r.exec.StartDate = start
	inJSON, _ := encodeJSON(in)
	r.exec.Input = inJSON
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	if sm.TimeoutSeconds > 0 {
		d := time.Duration(sm.TimeoutSeconds) * time.Second
		r.deadline = start.Add(d)
		stop := afterFunc(r.clock, d, func() { cancel(errExecTimeout) })
		defer stop()
	}
	r.execCtx = ctx
	t := &thread{r: r, vars: &vars{}, path: threadPath}
	t.prev = r.hist.add(0, start, "ExecutionStarted", func(e *Event) {
		e.ExecutionStartedEventDetails = &ExecutionStartedDetails{Input: string(inJSON), RoleArn: r.opts.RoleArn}
	})
	var out any
	var err error
	if len(inJSON) > maxPayloadBytes {
		err = &TaskError{Name: ErrDataLimitExceeded, Cause: fmt.Sprintf("The execution input has a size of %d bytes (UTF-8), exceeding the maximum number of bytes service limit (%d).", len(inJSON), maxPayloadBytes)}
	} else {
		out, err = t.runMachine(ctx, sm, in)
	}
	r.finish(ctx, t, out, err)
}

func (r *run) finish(ctx context.Context, t *thread, out any, err error) {
	e := r.exec
	now := r.clock.Now()
	e.StopDate = now
	if err == nil {
		b, encErr := encodeJSON(out)
		if encErr == nil && len(b) > maxPayloadBytes {
			err = &TaskError{Name: ErrDataLimitExceeded, Cause: fmt.Sprintf("The execution output has a size of %d bytes (UTF-8), exceeding the maximum number of bytes service limit (%d).", len(b), maxPayloadBytes)}
		} else if encErr != nil {
			err = newErr(ErrRuntime, "cannot encode the execution output: %v", encErr)
		} else {
			e.Status, e.Output = StatusSucceeded, b
			r.hist.add(t.prev, now, "ExecutionSucceeded", func(ev *Event) {
				ev.ExecutionSucceededEventDetails = &OutputDetails{Output: string(b)}
			})
			return
		}
	}
	var te *TaskError
	switch {
	case errors.Is(context.Cause(ctx), errExecTimeout) || errors.Is(err, errExecTimeout):
		e.Status, e.Error, e.Cause = StatusTimedOut, ErrTimeout, executionTimedOutCause
		r.hist.add(t.prev, now, "ExecutionTimedOut", func(ev *Event) {
			ev.ExecutionTimedOutEventDetails = &ErrorDetails{Error: e.Error, Cause: e.Cause}
		})
	case ctx.Err() != nil || errors.Is(err, errAborted):
		e.Status, e.Error, e.Cause = StatusAborted, ErrAborted, "The execution was aborted: its context was cancelled"
		if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
			e.Cause = "The execution was aborted: " + cause.Error()
		}
		r.hist.add(t.prev, now, "ExecutionAborted", func(ev *Event) {
			ev.ExecutionAbortedEventDetails = &ErrorDetails{Error: e.Error, Cause: e.Cause}
		})
	default:
		te = asTaskError(err)
		e.Status, e.Error, e.Cause = StatusFailed, te.Name, te.Cause
		r.hist.add(t.prev, now, "ExecutionFailed", func(ev *Event) {
			ev.ExecutionFailedEventDetails = &ErrorDetails{Error: e.Error, Cause: e.Cause}
		})
	}
}

// checkAlive fails when the execution was aborted or timed out.
func (t *thread) checkAlive(ctx context.Context) error {
	if !t.r.deadline.IsZero() && t.r.clock.Now().After(t.r.deadline) {
		return errExecTimeout
	}
	if ctx.Err() != nil {
		if c := context.Cause(ctx); c != nil {
			return c
		}
		return ctx.Err()
	}
	return nil
}

// runMachine runs the states of one scope from StartAt to a terminal state.
func (t *thread) runMachine(ctx context.Context, sm *StateMachine, input any) (any, error) {
	name := sm.StartAt
	inStr := "" // the input's JSON when the previous state already encoded it
	for {
		if err := t.checkAlive(ctx); err != nil {
			return nil, err
		}
		st := sm.States[name]
		out, outStr, next, err := t.runState(ctx, st, input, inStr)
		if err != nil {
			return nil, err
		}
		if next == "" {
			return out, nil
		}
		name, input, inStr = next, out, outStr
	}
}

func (t *thread) event(typ string, fill func(*Event)) {
	t.prev = t.r.hist.add(t.prev, t.r.clock.Now(), typ, fill)
}

// nextID returns a deterministic UUID for something created on this thread.
func (t *thread) nextID(kind string) string {
	t.seq++
	return newUUID(fmt.Sprintf("%s|%s|%s|%d", t.r.exec.Arn, t.path, kind, t.seq))
}

func newUUID(seed string) string {
	h := sha256.Sum256([]byte(seed))
	h[6] = (h[6] & 0x0f) | 0x40
	h[8] = (h[8] & 0x3f) | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

func isoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// encodeChecked encodes a payload and checks its size in UTF-8 bytes
// (the encoding is UTF-8) against the 256 KiB limit; tooBig builds the
// States.DataLimitExceeded cause.
func encodeChecked(v any, tooBig func() string) (string, error) {
	b, err := encodeJSON(v)
	if err != nil {
		return "", newErr(ErrRuntime, "The value could not be encoded as JSON: %v", err)
	}
	if len(b) > maxPayloadBytes {
		return "", &TaskError{Name: ErrDataLimitExceeded, Cause: tooBig()}
	}
	return string(b), nil
}

// resultTooBig is AWS's cause for a state or task result over the limit.
func resultTooBig(name string) func() string {
	return func() string {
		return fmt.Sprintf("The state/task '%s' returned a result with a size exceeding the maximum number of bytes service limit.", name)
	}
}

// fork returns a child thread for a branch or iteration.
func (t *thread) fork(path string, prev int64) *thread {
	return &thread{r: t.r, vars: &vars{parent: t.vars}, prev: prev, path: t.path + "/" + path}
}

// limit returns the effective concurrency limit for n units with the
// state's own limit (0 = unlimited), capped by Options.MaxConcurrency.
func (r *run) limit(own int) int {
	l := own
	if cap := r.opts.MaxConcurrency; cap > 0 && (l == 0 || l > cap) {
		l = cap
	}
	if l <= 0 {
		return -1
	}
	return l
}

// forEach calls fn for 0..n-1 on at most limit goroutines at once (limit
// < 0: n), each worker taking the next index, so a large Map reuses a few
// goroutines. The first error cancels the context fn gets and stops the
// start of further calls; forEach returns that error.
func forEach(ctx context.Context, n, limit int, fn func(ctx context.Context, i int) error) error {
	workers := limit
	if workers < 0 || workers > n {
		workers = n
	}
	g, gctx := errgroup.WithContext(ctx)
	var next atomic.Int64
	for range workers {
		g.Go(func() error {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || gctx.Err() != nil {
					return nil
				}
				if err := fn(gctx, i); err != nil {
					return err
				}
			}
		})
	}
	return g.Wait()
}
