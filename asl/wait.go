package asl

import (
	"context"
	"fmt"
	"time"
)

// waitState is a Wait state: it waits Seconds, until Timestamp, or for
// what SecondsPath or TimestampPath select, on the execution's clock.
type waitState struct {
	dataFlow
	Seconds                               *float64
	Timestamp, SecondsPath, TimestampPath string
}

func (*waitState) fields() []string {
	return []string{"Next", "End", "InputPath", "OutputPath", "Seconds", "Timestamp", "SecondsPath", "TimestampPath", "Assign", "Output"}
}

func (s *waitState) parse(p *parser, _ *State, o map[string]any, w string) {
	s.dataFlow.parse(p, o, w)
	s.parseAssign(p, o, w)
	n := 0
	if _, has := o["Seconds"]; has {
		n++
		if sec, ok := p.num(o, "Seconds", w); ok {
			if sec < 0 {
				p.add(w+".Seconds", "must not be negative")
			}
			s.Seconds = &sec
		}
	}
	if _, has := o["Timestamp"]; has {
		n++
		s.Timestamp = p.str(o, "Timestamp", w)
		if _, err := parseTimestamp(s.Timestamp); err != nil {
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

// parseTimestamp parses an RFC 3339 timestamp (uppercase T, as the spec
// requires).
func parseTimestamp(s string) (time.Time, error) {
	ts, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("timestamp %q is not RFC 3339 (e.g. 2016-03-14T01:59:00Z)", s)
	}
	return ts, nil
}

func (s *waitState) run(ctx context.Context, t *thread, st *State, raw any, sr *stateRun) (outcome, error) {
	eff, err := t.effectiveInput(&s.dataFlow, raw, sr)
	if err != nil {
		return outcome{}, err
	}
	now := t.r.clock.Now()
	d, err := s.duration(t.env(eff, sr), st, now)
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

// duration is how long the state waits from now.
func (s *waitState) duration(env *evalEnv, st *State, now time.Time) (time.Duration, error) {
	switch {
	case s.Seconds != nil:
		return time.Duration(*s.Seconds * float64(time.Second)), nil
	case s.Timestamp != "":
		ts, _ := parseTimestamp(s.Timestamp)
		return ts.Sub(now), nil
	case s.SecondsPath != "":
		v, err := env.path(s.SecondsPath, "SecondsPath")
		if err != nil {
			return 0, err
		}
		f, ok := toFloat(v)
		if !ok || f < 0 {
			return 0, newErr(ErrRuntime, "The SecondsPath %q of state %q must select a non-negative number, got %s", s.SecondsPath, st.Name, mustJSON(v))
		}
		return time.Duration(f * float64(time.Second)), nil
	default:
		v, err := env.path(s.TimestampPath, "TimestampPath")
		if err != nil {
			return 0, err
		}
		str, _ := v.(string)
		ts, perr := parseTimestamp(str)
		if perr != nil {
			return 0, newErr(ErrRuntime, "The TimestampPath %q of state %q: %v", s.TimestampPath, st.Name, perr)
		}
		return ts.Sub(now), nil
	}
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
