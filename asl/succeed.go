package asl

import "context"

// succeedState is a Succeed state: InputPath then OutputPath; it ends its
// scope successfully.
type succeedState struct {
	dataFlow
}

func (*succeedState) fields() []string { return []string{"InputPath", "OutputPath", "Output"} }

func (s *succeedState) parse(p *parser, st *State, o map[string]any, w string) {
	s.dataFlow.parse(p, st, o, w)
}

func (s *succeedState) run(_ context.Context, t *thread, _ *State, raw any, sr *stateRun) (outcome, error) {
	eff, err := t.effectiveInput(&s.dataFlow, raw, sr)
	if err != nil {
		return outcome{}, err
	}
	res, err := t.passThrough(&s.dataFlow, eff, sr)
	res.next = ""
	return res, err
}
