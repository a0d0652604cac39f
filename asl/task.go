package asl

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// taskState is a Task state: it runs its Resource (a Lambda function, a
// service integration or an activity) through a TaskHandler or a mock.
type taskState struct {
	dataFlow
	errorHandling
	Resource                                 string
	TimeoutSeconds, HeartbeatSeconds         int
	TimeoutSecondsPath, HeartbeatSecondsPath string
	timeoutExpr, heartbeatExpr               any // JSONata expressions
}

func (*taskState) fields() []string {
	return []string{"Next", "End", "InputPath", "OutputPath", "Parameters", "ResultSelector", "ResultPath", "Retry", "Catch", "Assign", "Resource", "TimeoutSeconds", "TimeoutSecondsPath", "HeartbeatSeconds", "HeartbeatSecondsPath", "Credentials", "Arguments", "Output"}
}

func (s *taskState) parse(p *parser, st *State, o map[string]any, w string) {
	s.dataFlow.parse(p, st, o, w)
	s.parseAssign(p, o, w)
	s.errorHandling.parse(p, o, w)
	s.Resource = p.str(o, "Resource", w)
	if s.Resource == "" {
		p.add(w, "a Task state must have a Resource (an ARN)")
	} else if !strings.HasPrefix(s.Resource, "arn:") {
		p.add(w+".Resource", "Resource %q is not an ARN", s.Resource)
	} else {
		p.checkResource(s.Resource, w+".Resource")
	}
	s.parseTimeouts(p, o, w)
}

func (s *taskState) parseTimeouts(p *parser, o map[string]any, w string) {
	s.TimeoutSeconds = defaultTaskTimeoutSeconds
	if e, ok := p.exprField(o, "TimeoutSeconds", w); ok {
		s.timeoutExpr = e
	} else if _, has := o["TimeoutSeconds"]; has {
		s.TimeoutSeconds = p.posInt(o, "TimeoutSeconds", w)
	}
	s.TimeoutSecondsPath = p.strPath(o, "TimeoutSecondsPath", w)
	if e, ok := p.exprField(o, "HeartbeatSeconds", w); ok {
		s.heartbeatExpr = e
	} else if _, has := o["HeartbeatSeconds"]; has {
		s.HeartbeatSeconds = p.posInt(o, "HeartbeatSeconds", w)
	}
	s.HeartbeatSecondsPath = p.strPath(o, "HeartbeatSecondsPath", w)
	p.exclusive(o, w, "TimeoutSeconds", "TimeoutSecondsPath")
	p.exclusive(o, w, "HeartbeatSeconds", "HeartbeatSecondsPath")
	if s.HeartbeatSeconds > 0 && s.HeartbeatSeconds >= s.TimeoutSeconds {
		p.add(w+".HeartbeatSeconds", "must be smaller than TimeoutSeconds (%d)", s.TimeoutSeconds)
	}
}

func (s *taskState) run(ctx context.Context, t *thread, st *State, raw any, sr *stateRun) (outcome, error) {
	return t.withErrorHandling(ctx, &s.errorHandling, raw, sr, func() (outcome, error) {
		return t.attempt(&s.dataFlow, raw, sr, func(eff any) (any, error) {
			return s.invoke(ctx, t, st, eff, sr)
		})
	})
}

// taskCall is one invocation of a Task's resource.
type taskCall struct {
	st                 *State
	res                resource
	input, payload     any      // effective parameters; what the handler gets
	keys               []string // handler lookup keys
	fnRef              string   // the Lambda function reference, if any
	timeout, heartbeat int
	inStr              string
}

// invoke runs the Task's resource once and returns its raw result.
func (s *taskState) invoke(ctx context.Context, t *thread, st *State, eff any, sr *stateRun) (any, error) {
	sr.token = t.nextID("token")
	env := t.env(eff, sr)
	input, err := t.parameters(&s.dataFlow, eff, sr)
	if err != nil {
		return nil, err
	}
	c := &taskCall{st: st, res: parseResource(s.Resource), input: input}
	if c.timeout, c.heartbeat, err = s.timeouts(t, env, eff, sr); err != nil {
		return nil, err
	}
	if err := t.route(c, s.Resource); err != nil {
		return nil, err
	}
	if c.inStr, err = encodeChecked(c.payload, func() string {
		return fmt.Sprintf("The parameters of state/task '%s' have a size exceeding the maximum number of bytes service limit.", st.Name)
	}); err != nil {
		return nil, err
	}
	t.taskStarted(c)
	out, err := t.call(ctx, c)
	if err == nil {
		var outStr string
		if outStr, err = encodeChecked(out, resultTooBig(st.Name)); err == nil {
			t.taskSucceeded(c, outStr)
			return out, nil
		}
	}
	if isCtxErr(err) && ctx.Err() != nil {
		return nil, err
	}
	te := asTaskError(err)
	t.taskFailed(c, te)
	return nil, te
}

// timeouts evaluates TimeoutSeconds and HeartbeatSeconds (their Path
// forms, or JSONata expressions).
func (s *taskState) timeouts(t *thread, env *evalEnv, eff any, sr *stateRun) (timeout, heartbeat int, err error) {
	st := sr.st
	if timeout, err = positiveInt(env, st, s.TimeoutSeconds, s.TimeoutSecondsPath, "TimeoutSecondsPath"); err != nil {
		return 0, 0, err
	}
	if heartbeat, err = positiveInt(env, st, s.HeartbeatSeconds, s.HeartbeatSecondsPath, "HeartbeatSecondsPath"); err != nil {
		return 0, 0, err
	}
	if s.timeoutExpr == nil && s.heartbeatExpr == nil {
		return timeout, heartbeat, nil
	}
	jenv := t.jenv(sr, nil)
	if s.timeoutExpr != nil {
		if timeout, err = jenv.integer(s.timeoutExpr, "TimeoutSeconds", 1); err != nil {
			return 0, 0, err
		}
	}
	if s.heartbeatExpr != nil {
		if heartbeat, err = jenv.integer(s.heartbeatExpr, "HeartbeatSeconds", 1); err != nil {
			return 0, 0, err
		}
	}
	return timeout, heartbeat, nil
}

// call answers the task from the mock test case or its handler.
func (t *thread) call(ctx context.Context, c *taskCall) (any, error) {
	r := t.r
	if mocked, out, err := r.mock.response(c.st.Name); mocked {
		return out, err
	}
	h, ok := r.lookup(c.keys...)
	if !ok {
		return nil, t.missingHandler(c.st, c.res, c.fnRef)
	}
	b, err := callHandler(ctx, r.clock, h, []byte(c.inStr), time.Duration(c.timeout)*time.Second, time.Duration(c.heartbeat)*time.Second)
	if err != nil {
		return nil, err
	}
	var out any
	if len(strings.TrimSpace(string(b))) > 0 {
		if out, err = decodeJSON(b); err != nil {
			return nil, newErr(ErrRuntime, "state %q: the task returned invalid JSON: %v", c.st.Name, err)
		}
	}
	if c.res.lambdaInvoke {
		out = t.invokeResult(c.fnRef, out)
	}
	return out, nil
}

// taskStarted records the scheduled and started events.
func (t *thread) taskStarted(c *taskCall) {
	if c.res.lambdaARN {
		t.event("LambdaFunctionScheduled", func(e *Event) {
			e.LambdaFunctionScheduledEventDetails = &LambdaScheduledDetails{Resource: c.res.arn, Input: c.inStr, TimeoutInSeconds: int64(c.timeout)}
		})
		t.event("LambdaFunctionStarted", nil)
		return
	}
	params, _ := encodeJSON(c.input)
	resType, resName := c.res.service, c.res.action
	t.event("TaskScheduled", func(e *Event) {
		e.TaskScheduledEventDetails = &TaskScheduledDetails{ResourceType: resType, Resource: resName, Region: t.r.opts.Region, Parameters: string(params), TimeoutInSeconds: int64(c.timeout)}
	})
	t.event("TaskStarted", func(e *Event) { e.TaskStartedEventDetails = &TaskDetails{ResourceType: resType, Resource: resName} })
}

func (t *thread) taskSucceeded(c *taskCall, outStr string) {
	if c.res.lambdaARN {
		t.event("LambdaFunctionSucceeded", func(e *Event) { e.LambdaFunctionSucceededEventDetails = &OutputDetails{Output: outStr} })
		return
	}
	t.event("TaskSucceeded", func(e *Event) {
		e.TaskSucceededEventDetails = &TaskSucceededDetails{ResourceType: c.res.service, Resource: c.res.action, Output: outStr}
	})
}

func (t *thread) taskFailed(c *taskCall, te *TaskError) {
	timedOut := te.Name == ErrTimeout || te.Name == ErrHeartbeatTimeout
	resType, resName := c.res.service, c.res.action
	switch {
	case c.res.lambdaARN && timedOut:
		t.event("LambdaFunctionTimedOut", func(e *Event) { e.LambdaFunctionTimedOutEventDetails = &ErrorDetails{Error: te.Name, Cause: te.Cause} })
	case c.res.lambdaARN:
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
}
