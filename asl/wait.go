package asl

import (
	"context"
	"fmt"
	"regexp"
	"time"
)

// waitState is a Wait state: it waits Seconds, until Timestamp, or for
// what SecondsPath or TimestampPath select, on the execution's clock.
type waitState struct {
	dataFlow
	Seconds                               *float64
	Timestamp, SecondsPath, TimestampPath string
	secondsExpr, timestampExpr            any // JSONata expressions
}

func (*waitState) fields() []string {
	return []string{"Next", "End", "InputPath", "OutputPath", "Seconds", "Timestamp", "SecondsPath", "TimestampPath", "Assign", "Output"}
}

func (s *waitState) parse(p *parser, st *State, o map[string]any, w string) {
	s.dataFlow.parse(p, st, o, w)
	s.parseAssign(p, o, w)
	n := 0
	if e, ok := p.exprField(o, "Seconds", w); ok {
		n++
		s.secondsExpr = e
	} else if _, has := o["Seconds"]; has {
		n++
		if sec, ok := p.intField(o, "Seconds", w); ok {
			if sec < 0 {
				p.add(w+".Seconds", "must not be negative")
			}
			f := float64(sec)
			s.Seconds = &f
		}
	}
	if e, ok := p.exprField(o, "Timestamp", w); ok {
		n++
		s.timestampExpr = e
	} else if _, has := o["Timestamp"]; has {
		n++
		s.Timestamp = p.str(o, "Timestamp", w)
		if _, err := parseWaitTimestamp(s.Timestamp); err != nil {
			p.add(w+".Timestamp", "%v", err)
		}
	}
	if _, has := o["SecondsPath"]; has {
		n++
		s.SecondsPath = p.strPath(o, "SecondsPath", w)
	}
	if _, has := o["TimestampPath"]; has {
		n++
		s.TimestampPath = p.strPath(o, "TimestampPath", w)
	}
	if n != 1 {
		p.add(w, "a Wait state needs exactly one of Seconds, Timestamp, SecondsPath, TimestampPath (found %d)", n)
	}
}

// timestampPattern is the form Step Functions accepts for Wait timestamps:
// an RFC 3339 date-time with an uppercase T and Z (UTC), optionally with a
// fraction of a second, which the wait truncates to seconds.
var timestampPattern = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$`)

// parseTimestamp parses an RFC 3339 timestamp (uppercase T, as the spec
// requires).
func parseTimestamp(s string) (time.Time, error) {
	ts, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("timestamp %q is not RFC 3339 (e.g. 2016-03-14T01:59:00Z)", s)
	}
	return ts, nil
}

// parseWaitTimestamp parses a Wait state's Timestamp or TimestampPath
// value: the timestampPattern form, truncated to seconds.
func parseWaitTimestamp(s string) (time.Time, error) {
	if !timestampPattern.MatchString(s) {
		return time.Time{}, fmt.Errorf("timestamp %q is not an ISO-8601 extended date-time in UTC such as 2016-03-14T01:59:00Z", s)
	}
	ts, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("timestamp %q is not a valid date-time: %v", s, err)
	}
	return ts.Truncate(time.Second), nil
}

func (s *waitState) run(ctx context.Context, t *thread, st *State, raw any, sr *stateRun) (outcome, error) {
	eff, err := t.effectiveInput(&s.dataFlow, raw, sr)
	if err != nil {
		return outcome{}, err
	}
	now := t.r.clock.Now()
	var d time.Duration
	if s.jsonata {
		d, err = s.jsonataDuration(t.jenv(sr, nil), now)
	} else {
		d, err = s.duration(t.env(eff, sr), st, now)
	}
	if err != nil {
		return outcome{}, err
	}
	if !t.r.deadline.IsZero() && now.Add(d).After(t.r.deadline) {
		// The execution times out during the wait.
		_ = t.r.clock.Sleep(ctx, t.r.deadline.Sub(now)+time.Millisecond)
		return outcome{}, errExecTimeout
	}
	if d > 0 {
		if err := t.r.clock.Sleep(ctx, d); err != nil {
			return outcome{}, err
		}
	}
	return t.passThrough(&s.dataFlow, eff, sr)
}

// duration is how long the state waits from now. SecondsPath must select
// a non-negative integer and TimestampPath a timestamp in the form
// timestampPattern describes; AWS's causes are kept.
func (s *waitState) duration(env *evalEnv, _ *State, now time.Time) (time.Duration, error) {
	switch {
	case s.Seconds != nil:
		return time.Duration(*s.Seconds * float64(time.Second)), nil
	case s.Timestamp != "":
		ts, _ := parseWaitTimestamp(s.Timestamp)
		return ts.Sub(now), nil
	case s.SecondsPath != "":
		v, err := env.path(s.SecondsPath, "SecondsPath")
		if err != nil {
			return 0, err
		}
		n, ok := v.(int64)
		switch {
		case !ok:
			return 0, newErr(ErrRuntime, "The SecondsPath parameter cannot be parsed as a long value: %s == %s", s.SecondsPath, rawValue(v))
		case n < 0:
			return 0, newErr(ErrRuntime, "The SecondsPath parameter references a negative value: %s == %d", s.SecondsPath, n)
		}
		return time.Duration(n) * time.Second, nil
	default:
		v, err := env.path(s.TimestampPath, "TimestampPath")
		if err != nil {
			return 0, err
		}
		str, _ := v.(string)
		ts, perr := parseWaitTimestamp(str)
		if perr != nil {
			return 0, newErr(ErrRuntime, "The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: %s == %s", s.TimestampPath, rawValue(v))
		}
		return ts.Sub(now), nil
	}
}

// jsonataDuration evaluates a JSONata Wait state's Seconds or Timestamp.
func (s *waitState) jsonataDuration(env *jsonataEnv, now time.Time) (time.Duration, error) {
	switch {
	case s.secondsExpr != nil:
		n, err := env.integer(s.secondsExpr, "Seconds", 0)
		return time.Duration(n) * time.Second, err
	case s.timestampExpr != nil:
		v, err := env.eval(s.timestampExpr, "Timestamp")
		if err != nil {
			return 0, err
		}
		str, _ := v.(string)
		ts, perr := parseWaitTimestamp(str)
		if perr != nil {
			return 0, newErr(ErrQueryEvaluationError, "The Timestamp field does not evaluate to a valid ISO-8601 extended offset date-time format string: %s", rawValue(v))
		}
		return ts.Sub(now), nil
	}
	return s.duration(nil, nil, now)
}

// rawValue renders a value in an error cause: a string as is, anything
// else as JSON.
func rawValue(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return mustJSON(v)
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
