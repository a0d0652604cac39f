package asl

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"time"
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
	RoleArn          string // $$.Execution.RoleArn

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
		err = newErr(ErrDataLimitExceeded, "The state machine's input has %d bytes, more than the %d bytes allowed", len(inJSON), maxPayloadBytes)
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
			err = newErr(ErrDataLimitExceeded, "The execution output has %d bytes, more than the %d bytes allowed", len(b), maxPayloadBytes)
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
	for {
		if err := t.checkAlive(ctx); err != nil {
			return nil, err
		}
		st := sm.States[name]
		out, next, err := t.runState(ctx, st, input)
		if err != nil {
			return nil, err
		}
		if next == "" {
			return out, nil
		}
		name, input = next, out
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

// stateRun is the per-entry state of one state.
type stateRun struct {
	st         *State
	entered    time.Time
	retryCount int
	token      string
	item       map[string]any // $$.Map.Item while evaluating an ItemSelector
}

// contextObject builds $$ for a state.
func (t *thread) contextObject(sr *stateRun) any {
	r := t.r
	c := map[string]any{
		"Execution": map[string]any{
			"Id": r.exec.Arn, "Name": r.exec.Name, "StartTime": isoTime(r.exec.StartDate),
			"Input": r.input, "RoleArn": r.opts.RoleArn, "RedriveCount": int64(0),
		},
		"StateMachine": map[string]any{"Id": r.smArn, "Name": r.smName},
	}
	if sr != nil {
		c["State"] = map[string]any{"Name": sr.st.Name, "EnteredTime": isoTime(sr.entered), "RetryCount": int64(sr.retryCount)}
		if sr.token != "" {
			c["Task"] = map[string]any{"Token": sr.token}
		}
		if sr.item != nil {
			c["Map"] = map[string]any{"Item": sr.item}
		}
	}
	return c
}

func (t *thread) env(input any, sr *stateRun) *evalEnv {
	return &evalEnv{input: input, vars: t.vars, ctx: func() any { return t.contextObject(sr) }}
}

// applyPath applies InputPath or OutputPath: absent means "$", null means {}.
func (t *thread) applyPath(p optPath, field string, v any, sr *stateRun) (any, error) {
	if !p.Set || p.Path == "$" {
		return v, nil
	}
	if p.Null {
		return map[string]any{}, nil
	}
	return t.env(v, sr).path(p.Path, field)
}

// applyResultPath combines a state's raw input with its result.
func applyResultPath(p optPath, rawInput, result any) (any, error) {
	if !p.Set || p.Path == "$" {
		return result, nil
	}
	if p.Null {
		return rawInput, nil
	}
	cp, err := compileRefPath(p.Path)
	if err != nil {
		return nil, newErr(ErrResultPathMatchFailure, "%v", err)
	}
	return setRef(rawInput, cp, result)
}

func encodeChecked(v any, what string) (string, error) {
	b, err := encodeJSON(v)
	if err != nil {
		return "", newErr(ErrRuntime, "cannot encode %s as JSON: %v", what, err)
	}
	if len(b) > maxPayloadBytes {
		return "", newErr(ErrDataLimitExceeded, "The %s has %d bytes, more than the %d bytes (256 KiB) allowed", what, len(b), maxPayloadBytes)
	}
	return string(b), nil
}

// runState runs one state: it returns the state output and the next state
// name ("" when the scope ends), or the error the state failed with.
func (t *thread) runState(ctx context.Context, st *State, raw any) (any, string, error) {
	sr := &stateRun{st: st, entered: t.r.clock.Now()}
	inStr, err := encodeChecked(raw, fmt.Sprintf("input of state %q", st.Name))
	if err != nil {
		return nil, "", err
	}
	t.event(st.Type+"StateEntered", func(e *Event) {
		e.StateEnteredEventDetails = &StateEnteredDetails{Name: st.Name, Input: inStr}
	})
	var out any
	var next string
	var assign map[string]any
	switch st.Type {
	case "Pass":
		out, assign, err = t.pass(st, raw, sr)
		next = st.Next
	case "Choice":
		out, next, assign, err = t.choice(st, raw, sr)
	case "Wait":
		out, assign, err = t.wait(ctx, st, raw, sr)
		next = st.Next
	case "Succeed":
		out, err = t.succeed(st, raw, sr)
	case "Fail":
		err = t.fail(st, raw, sr)
		return nil, "", err
	case "Task", "Parallel", "Map":
		out, next, assign, err = t.withErrorHandling(ctx, st, raw, sr)
	default:
		err = newErr(ErrRuntime, "unknown state type %q", st.Type)
	}
	if err != nil {
		return nil, "", err
	}
	outStr, err := encodeChecked(out, fmt.Sprintf("output of state %q", st.Name))
	if err != nil {
		return nil, "", err
	}
	for k, v := range assign {
		t.vars.set(k, v)
	}
	t.event(st.Type+"StateExited", func(e *Event) {
		e.StateExitedEventDetails = &StateExitedDetails{Name: st.Name, Output: outStr}
	})
	return out, next, nil
}

// evalAssign evaluates an Assign block against value ($), with the
// variables as they were when the state was entered.
func (t *thread) evalAssign(a map[string]any, value any, sr *stateRun) (map[string]any, error) {
	if len(a) == 0 {
		return nil, nil
	}
	v, err := t.env(value, sr).template(a, "Assign")
	if err != nil {
		return nil, err
	}
	m := v.(map[string]any)
	for k, x := range m {
		if _, err := encodeChecked(x, fmt.Sprintf("variable %q", k)); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// withErrorHandling runs a Task, Parallel or Map state with its Retry and
// Catch rules. Retry counters live here, per state entry.
func (t *thread) withErrorHandling(ctx context.Context, st *State, raw any, sr *stateRun) (any, string, map[string]any, error) {
	counts := make([]int, len(st.Retry))
	for {
		out, assign, err := t.attempt(ctx, st, raw, sr)
		if err == nil {
			return out, st.Next, assign, nil
		}
		if ctx.Err() != nil || errors.Is(err, errExecTimeout) {
			return nil, "", nil, err
		}
		if aerr := t.checkAlive(ctx); aerr != nil {
			return nil, "", nil, aerr
		}
		te := asTaskError(err)
		if i := matchRule(retryLists(st.Retry), te.Name); i >= 0 && counts[i] < st.Retry[i].MaxAttempts {
			rt := st.Retry[i]
			d := retryDelay(rt, counts[i], t.r.opts.Rand)
			counts[i]++
			sr.retryCount++
			t.r.log.Debug("asl: retrying", "state", st.Name, "error", te.Name, "attempt", sr.retryCount, "delay", d)
			if err := t.r.clock.Sleep(ctx, d); err != nil {
				return nil, "", nil, err
			}
			if err := t.checkAlive(ctx); err != nil {
				return nil, "", nil, err
			}
			continue
		}
		if i := matchRule(catchLists(st.Catch), te.Name); i >= 0 {
			c := st.Catch[i]
			errOut := map[string]any{"Error": te.Name, "Cause": te.Cause}
			out, rerr := applyResultPath(c.ResultPath, raw, errOut)
			if rerr != nil {
				return nil, "", nil, rerr
			}
			assign, aerr := t.evalAssign(c.Assign, errOut, sr)
			if aerr != nil {
				return nil, "", nil, aerr
			}
			return out, c.Next, assign, nil
		}
		return nil, "", nil, te
	}
}

func retryLists(rs []*Retrier) [][]string {
	out := make([][]string, len(rs))
	for i, r := range rs {
		out[i] = r.ErrorEquals
	}
	return out
}

func catchLists(cs []*Catcher) [][]string {
	out := make([][]string, len(cs))
	for i, c := range cs {
		out[i] = c.ErrorEquals
	}
	return out
}

// matchRule returns the index of the first rule whose ErrorEquals matches
// name, or -1. States.ALL matches every error except the terminal
// States.Runtime and States.DataLimitExceeded; States.Timeout also matches
// States.HeartbeatTimeout (a task that failed to heartbeat timed out);
// States.TaskFailed matches what States.ALL matches except both timeouts.
func matchRule(lists [][]string, name string) int {
	terminal := name == statesALLExcludedRuntime || name == statesALLExcludedDataLimit
	for i, l := range lists {
		for _, e := range l {
			switch {
			case e == name,
				e == ErrAll && !terminal,
				e == ErrTimeout && name == ErrHeartbeatTimeout,
				e == ErrTaskFailed && !terminal && name != ErrTimeout && name != ErrHeartbeatTimeout:
				return i
			}
		}
	}
	return -1
}

// retryDelay computes the wait before retry number n (0-based) of rt:
// IntervalSeconds × BackoffRate^n, capped by MaxDelaySeconds, then drawn
// uniformly from [0, delay) with JitterStrategy FULL.
func retryDelay(rt *Retrier, n int, rnd func() float64) time.Duration {
	secs := rt.IntervalSeconds * math.Pow(rt.BackoffRate, float64(n))
	if rt.MaxDelaySeconds > 0 && secs > rt.MaxDelaySeconds {
		secs = rt.MaxDelaySeconds
	}
	if rt.JitterStrategy == "FULL" {
		secs *= rnd()
	}
	return time.Duration(secs * float64(time.Second))
}

// output finishes a state's input/output pipeline once it has its result:
// Assign (evaluated against the result), ResultPath (merging the result into
// the raw input), then OutputPath. It returns the output and the assignments.
func (t *thread) output(st *State, raw, result any, sr *stateRun) (any, map[string]any, error) {
	assign, err := t.evalAssign(st.Assign, result, sr)
	if err != nil {
		return nil, nil, err
	}
	out, err := applyResultPath(st.ResultPath, raw, result)
	if err != nil {
		return nil, nil, err
	}
	out, err = t.applyPath(st.OutputPath, "OutputPath", out, sr)
	return out, assign, err
}

// attempt runs one attempt of a Task, Parallel or Map state through its
// whole input/output pipeline.
func (t *thread) attempt(ctx context.Context, st *State, raw any, sr *stateRun) (any, map[string]any, error) {
	eff, err := t.applyPath(st.InputPath, "InputPath", raw, sr)
	if err != nil {
		return nil, nil, err
	}
	var result any
	switch st.Type {
	case "Task":
		result, err = t.task(ctx, st, eff, sr)
	case "Parallel":
		result, err = t.parallel(ctx, st, eff, sr)
	case "Map":
		result, err = t.mapState(ctx, st, eff, sr)
	}
	if err != nil {
		return nil, nil, err
	}
	if st.HasResultSelector {
		result, err = t.env(result, sr).template(st.ResultSelector, "ResultSelector")
		if err != nil {
			return nil, nil, err
		}
	}
	return t.output(st, raw, result, sr)
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
