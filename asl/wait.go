package asl

import (
	"context"
	"fmt"
	"time"
)

// parseTimestamp parses an RFC 3339 timestamp (uppercase T, as the spec
// requires).
func parseTimestamp(s string) (time.Time, error) {
	ts, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("timestamp %q is not RFC 3339 (e.g. 2016-03-14T01:59:00Z)", s)
	}
	return ts, nil
}

// wait runs a Wait state on the execution's clock.
func (t *thread) wait(ctx context.Context, st *State, raw any, sr *stateRun) (any, map[string]any, error) {
	eff, err := t.applyPath(st.InputPath, "InputPath", raw, sr)
	if err != nil {
		return nil, nil, err
	}
	var d time.Duration
	now := t.r.clock.Now()
	env := t.env(eff, sr)
	switch {
	case st.Seconds != nil:
		d = time.Duration(*st.Seconds * float64(time.Second))
	case st.Timestamp != "":
		ts, _ := parseTimestamp(st.Timestamp)
		d = ts.Sub(now)
	case st.SecondsPath != "":
		v, err := env.path(st.SecondsPath, "SecondsPath")
		if err != nil {
			return nil, nil, err
		}
		f, ok := toFloat(v)
		if !ok || f < 0 {
			return nil, nil, newErr(ErrRuntime, "The SecondsPath %q of state %q must select a non-negative number, got %s", st.SecondsPath, st.Name, mustJSON(v))
		}
		d = time.Duration(f * float64(time.Second))
	case st.TimestampPath != "":
		v, err := env.path(st.TimestampPath, "TimestampPath")
		if err != nil {
			return nil, nil, err
		}
		s, _ := v.(string)
		ts, perr := parseTimestamp(s)
		if perr != nil {
			return nil, nil, newErr(ErrRuntime, "The TimestampPath %q of state %q: %v", st.TimestampPath, st.Name, perr)
		}
		d = ts.Sub(now)
	}
	if !t.r.deadline.IsZero() && now.Add(d).After(t.r.deadline) {
		// The execution times out during the wait.
		_ = t.r.clock.Sleep(ctx, t.r.deadline.Sub(now)+time.Millisecond)
		return nil, nil, errExecTimeout
	}
	if d > 0 {
		if err := t.r.clock.Sleep(ctx, d); err != nil {
			return nil, nil, err
		}
	}
	assign, err := t.evalAssign(st.Assign, eff, sr)
	if err != nil {
		return nil, nil, err
	}
	out, err := t.applyPath(st.OutputPath, "OutputPath", eff, sr)
	return out, assign, err
}

func toFloat(v any) (float64, bool) {
	switch n := v.(type) {
	case int64:
		return float64(n), true
	case float64:
		return n, true
	case int:
		return float64(n), true
	}
	return 0, false
}
