package asl

import "time"

// stateRun is the per-entry state of one state.
type stateRun struct {
	st         *State
	entered    time.Time
	enteredID  int64 // the StateEntered event's id
	raw        any   // the state's input ($states.input of a JSONata state)
	jin        *jsonataCache
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
