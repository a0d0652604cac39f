package asl

import "context"

// passState is a Pass state: its result is Result, else Parameters applied
// to the effective input, else the effective input.
type passState struct {
	dataFlow
	Result    any
	HasResult bool
}

func (*passState) fields() []string {
	return []string{"Next", "End", "InputPath", "OutputPath", "Parameters", "ResultPath", "Result", "Assign", "Output"}
}

func (s *passState) parse(p *parser, st *State, o map[string]any, w string) {
	s.dataFlow.parse(p, st, o, w)
	if v, has := o["Result"]; has {
		s.Result, s.HasResult = v, true
	}
	s.parseAssign(p, o, w)
}

func (s *passState) run(_ context.Context, t *thread, _ *State, raw any, sr *stateRun) (outcome, error) {
	eff, err := t.effectiveInput(&s.dataFlow, raw, sr)
	if err != nil {
		return outcome{}, err
	}
	result := eff
	switch {
	case s.HasResult:
		result = s.Result
	case s.HasParameters:
		if result, err = t.parameters(&s.dataFlow, eff, sr); err != nil {
			return outcome{}, err
		}
	}
	return t.output(&s.dataFlow, raw, result, sr)
}
