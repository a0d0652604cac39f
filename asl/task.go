package asl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"sync"
	"time"
)

// resourceKind classifies a Task Resource.
type resource struct {
	arn          string
	lambdaARN    bool   // arn:aws:lambda:...:function:NAME
	lambdaInvoke bool   // arn:aws:states:::lambda:invoke
	service      string // for arn:aws:states:::SERVICE:ACTION
	action       string
}

func parseResource(arn string) resource {
	r := resource{arn: arn}
	base := strings.TrimSuffix(strings.TrimSuffix(arn, ".waitForTaskToken"), ".sync")
	parts := strings.Split(base, ":")
	switch {
	case len(parts) >= 7 && parts[2] == "lambda" && parts[5] == "function":
		r.lambdaARN = true
	case len(parts) >= 7 && parts[2] == "states" && parts[3] == "" && parts[4] == "":
		r.service, r.action = parts[5], strings.Join(parts[6:], ":")
		r.lambdaInvoke = r.service == "lambda" && r.action == "invoke"
	case len(parts) >= 7 && parts[2] == "states" && parts[5] == "activity":
		r.service, r.action = "activity", parts[6]
	}
	return r
}

// functionName splits a Lambda function reference (name, name:qualifier,
// ACCOUNT:function:name[:q] or a full ARN) into name and qualifier.
func functionName(ref string) (name, qualifier string) {
	parts := strings.Split(ref, ":")
	for i, p := range parts {
		if p == "function" && i+1 < len(parts) {
			name = parts[i+1]
			if i+2 < len(parts) {
				qualifier = parts[i+2]
			}
			return name, qualifier
		}
	}
	if len(parts) == 2 {
		return parts[0], parts[1]
	}
	return ref, ""
}

// lookup finds the handler for a resource or function reference.
func (r *run) lookup(keys ...string) (TaskHandler, bool) {
	for _, k := range keys {
		if k == "" {
			continue
		}
		if h, ok := r.opts.Tasks[k]; ok && h != nil {
			return h, true
		}
	}
	if r.opts.Resolve != nil {
		for _, k := range keys {
			if k == "" {
				continue
			}
			if h, ok := r.opts.Resolve(k); ok && h != nil {
				return h, true
			}
		}
	}
	return nil, false
}

func lambdaKeys(ref, region, account string) []string {
	name, q := functionName(ref)
	arn := fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", region, account, name)
	keys := []string{ref}
	if q != "" {
		keys = append(keys, arn+":"+q, name+":"+q)
	}
	return append(keys, arn, name)
}

// task runs a Task state's resource once and returns its raw result.
func (t *thread) task(ctx context.Context, st *State, eff any, sr *stateRun) (any, error) {
	sr.token = t.nextID("token")
	env := t.env(eff, sr)
	input := eff
	if st.HasParameters {
		var err error
		if input, err = env.template(st.Parameters, "Parameters"); err != nil {
			return nil, err
		}
	}
	timeout := st.TimeoutSeconds
	if st.TimeoutSecondsPath != "" {
		v, err := env.path(st.TimeoutSecondsPath, "TimeoutSecondsPath")
		if err != nil {
			return nil, err
		}
		f, ok := toFloat(v)
		if !ok || f < 1 {
			return nil, newErr(ErrRuntime, "TimeoutSecondsPath %q of state %q must select a positive integer, got %s", st.TimeoutSecondsPath, st.Name, mustJSON(v))
		}
		timeout = int(f)
	}
	heartbeat := st.HeartbeatSeconds
	if st.HeartbeatSecondsPath != "" {
		v, err := env.path(st.HeartbeatSecondsPath, "HeartbeatSecondsPath")
		if err != nil {
			return nil, err
		}
		f, ok := toFloat(v)
		if !ok || f < 1 {
			return nil, newErr(ErrRuntime, "HeartbeatSecondsPath %q of state %q must select a positive integer, got %s", st.HeartbeatSecondsPath, st.Name, mustJSON(v))
		}
		heartbeat = int(f)
	}
	res := parseResource(st.Resource)
	r := t.r
	var payload any = input
	var keys []string
	var fnRef string
	switch {
	case res.lambdaARN:
		fnRef = st.Resource
		keys = lambdaKeys(st.Resource, r.opts.Region, r.opts.Account)
	case res.lambdaInvoke:
		m, _ := input.(map[string]any)
		fnRef, _ = m["FunctionName"].(string)
		if fnRef == "" {
			return nil, newErr(ErrRuntime, "state %q: the lambda:invoke integration needs Parameters.FunctionName", st.Name)
		}
		if q, _ := m["Qualifier"].(string); q != "" {
			if _, fq := functionName(fnRef); fq == "" {
				fnRef += ":" + q
			}
		}
		payload = m["Payload"]
		if _, has := m["Payload"]; !has {
			payload = map[string]any{}
		}
		keys = lambdaKeys(fnRef, r.opts.Region, r.opts.Account)
	default:
		keys = []string{st.Resource}
	}
	inStr, err := encodeChecked(payload, fmt.Sprintf("input of task %q", st.Name))
	if err != nil {
		return nil, err
	}
	// Scheduled / started events.
	resType, resName := res.service, res.action
	if res.lambdaARN {
		t.event("LambdaFunctionScheduled", func(e *Event) {
			e.LambdaFunctionScheduledEventDetails = &LambdaScheduledDetails{Resource: st.Resource, Input: inStr, TimeoutInSeconds: int64(timeout)}
		})
		t.event("LambdaFunctionStarted", nil)
	} else {
		params, _ := encodeJSON(input)
		t.event("TaskScheduled", func(e *Event) {
			e.TaskScheduledEventDetails = &TaskScheduledDetails{ResourceType: resType, Resource: resName, Region: r.opts.Region, Parameters: string(params), TimeoutInSeconds: int64(timeout)}
		})
		t.event("TaskStarted", func(e *Event) { e.TaskStartedEventDetails = &TaskDetails{ResourceType: resType, Resource: resName} })
	}

	var out any
	mocked, mockOut, mockErr := r.mock.response(st.Name)
	switch {
	case mocked:
		out, err = mockOut, mockErr
	default:
		h, ok := r.lookup(keys...)
		if !ok {
			err = t.missingHandler(st, res, fnRef)
			break
		}
		var b []byte
		b, err = callHandler(ctx, r.clock, h, []byte(inStr), time.Duration(timeout)*time.Second, time.Duration(heartbeat)*time.Second)
		if err == nil {
			if len(strings.TrimSpace(string(b))) == 0 {
				out = nil
			} else if out, err = decodeJSON(b); err != nil {
				err = newErr(ErrRuntime, "state %q: the task returned invalid JSON: %v", st.Name, err)
			}
		}
		if err == nil && res.lambdaInvoke {
			out = t.invokeResult(fnRef, out)
		}
	}
	if err == nil {
		var outStr string
		if outStr, err = encodeChecked(out, fmt.Sprintf("result of task %q", st.Name)); err == nil {
			if res.lambdaARN {
				t.event("LambdaFunctionSucceeded", func(e *Event) { e.LambdaFunctionSucceededEventDetails = &OutputDetails{Output: outStr} })
			} else {
				t.event("TaskSucceeded", func(e *Event) {
					e.TaskSucceededEventDetails = &TaskSucceededDetails{ResourceType: resType, Resource: resName, Output: outStr}
				})
			}
			return out, nil
		}
	}
	if isCtxErr(err) && ctx.Err() != nil {
		return nil, err
	}
	te := asTaskError(err)
	timedOut := te.Name == ErrTimeout || te.Name == ErrHeartbeatTimeout
	switch {
	case res.lambdaARN && timedOut:
		t.event("LambdaFunctionTimedOut", func(e *Event) { e.LambdaFunctionTimedOutEventDetails = &ErrorDetails{Error: te.Name, Cause: te.Cause} })
	case res.lambdaARN:
		t.event("LambdaFunctionFailed", func(e *Event) { e.LambdaFunctionFailedEventDetails = &ErrorDetails{Error: te.Name, Cause: te.Cause} })
	case timedOut:
		t.event("TaskTimedOut", func(e *Event) {
			e.TaskTimedOutEventDetails = &TaskFailedDetails{ResourceType: resType, Resource: resName, Error: te.Name, Cause: te.Cause}
		})
	default:
		t.event("TaskFailed", func(e *Event) {
			e.TaskFailedEventDetails = &TaskFailedDetails{ResourceType: resType, Resource: resName, Error: te.Name, Cause: te.Cause}
		})
	}
	return nil, te
}

func (t *thread) missingHandler(st *State, res resource, fnRef string) error {
	switch {
	case res.lambdaARN || res.lambdaInvoke:
		name, _ := functionName(fnRef)
		return &TaskError{Name: "Lambda.ResourceNotFoundException", Cause: fmt.Sprintf(
			"Function not found: %s (state %q): no handler is registered for it; register one in Options.Tasks under the function name %q or its ARN, or mock the state", fnRef, st.Name, name)}
	case res.service != "":
		return &TaskError{Name: ErrRuntime, Cause: fmt.Sprintf(
			"state %q: the service integration %q is not supported by this engine unless a handler is registered for it in Options.Tasks or the state is mocked", st.Name, st.Resource)}
	}
	return &TaskError{Name: ErrRuntime, Cause: fmt.Sprintf("state %q: unknown Task resource %q: no handler is registered for it", st.Name, st.Resource)}
}

// invokeResult wraps a function's output as the lambda:invoke integration
// returns it.
func (t *thread) invokeResult(fnRef string, payload any) any {
	_, q := functionName(fnRef)
	version := "$LATEST"
	if q != "" && strings.Trim(q, "0123456789") == "" {
		version = q
	}
	rid := t.nextID("request")
	headers := map[string]any{
		"Content-Type":           "application/json",
		"X-Amz-Executed-Version": version,
		"x-amzn-RequestId":       rid,
	}
	all := map[string]any{}
	for k, v := range headers {
		all[k] = []any{v}
	}
	return map[string]any{
		"ExecutedVersion": version,
		"Payload":         payload,
		"SdkHttpMetadata": map[string]any{
			"AllHttpHeaders": all,
			"HttpHeaders":    headers,
			"HttpStatusCode": int64(200),
		},
		"SdkResponseMetadata": map[string]any{"RequestId": rid},
		"StatusCode":          int64(200),
	}
}

var (
	errTaskTimedOut      = errors.New("asl: task timed out")
	errHeartbeatTimedOut = errors.New("asl: task heartbeat timed out")
)

type heartbeatKey struct{}

// Heartbeat tells the engine that the task whose handler got ctx is still
// making progress, as SendTaskHeartbeat does on AWS: it restarts the
// state's HeartbeatSeconds countdown. A task whose handler lets
// HeartbeatSeconds pass without a heartbeat (counting from its start or
// its last heartbeat) fails with States.HeartbeatTimeout. Heartbeat reports
// false, and does nothing, when ctx belongs to no task with HeartbeatSeconds.
func Heartbeat(ctx context.Context) bool {
	beat, ok := ctx.Value(heartbeatKey{}).(func())
	if ok {
		beat()
	}
	return ok
}

// callHandler runs h with the task timeout and the heartbeat timeout (0:
// none) measured on clock, turning panics into errors and a timeout into
// States.Timeout or States.HeartbeatTimeout. The handler's context is
// cancelled when either timeout fires.
func callHandler(ctx context.Context, clock Clock, h TaskHandler, in []byte, timeout, heartbeat time.Duration) ([]byte, error) {
	cctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stopTimeout := afterFunc(clock, timeout, func() { cancel(errTaskTimedOut) })
	defer stopTimeout()
	if heartbeat > 0 {
		var mu sync.Mutex
		stopBeat := afterFunc(clock, heartbeat, func() { cancel(errHeartbeatTimedOut) })
		cctx = context.WithValue(cctx, heartbeatKey{}, func() {
			mu.Lock()
			defer mu.Unlock()
			if cctx.Err() != nil || !stopBeat() {
				return // too late: the countdown already ran out
			}
			stopBeat = afterFunc(clock, heartbeat, func() { cancel(errHeartbeatTimedOut) })
		})
		defer func() {
			mu.Lock()
			defer mu.Unlock()
			stopBeat()
		}()
	}
	type result struct {
		b   []byte
		err error
	}
	ch := make(chan result, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				name := typeName(p)
				msg := fmt.Sprint(p)
				ch <- result{err: &TaskError{Name: name, Cause: panicCause(name, msg, string(debug.Stack()))}}
			}
		}()
		b, err := h(cctx, json.RawMessage(in))
		ch <- result{b, err}
	}()
	timedOut := func() error {
		if errors.Is(context.Cause(cctx), errHeartbeatTimedOut) {
			return &TaskError{Name: ErrHeartbeatTimeout, Cause: fmt.Sprintf("Task sent no heartbeat for %s (HeartbeatSeconds)", heartbeat)}
		}
		return &TaskError{Name: ErrTimeout, Cause: fmt.Sprintf("Task timed out after %s", timeout)}
	}
	select {
	case res := <-ch:
		if res.err != nil && ctx.Err() == nil && cctx.Err() != nil {
			return nil, timedOut()
		}
		return res.b, res.err
	case <-cctx.Done():
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, timedOut()
	}
}

func panicCause(name, msg, stack string) string {
	lines := strings.Split(strings.TrimSpace(stack), "\n")
	if len(lines) > 12 {
		lines = lines[:12]
	}
	b, _ := json.Marshal(map[string]any{"errorMessage": msg, "errorType": name, "stackTrace": lines})
	return string(b)
}
