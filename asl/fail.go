package asl

import "context"

// failState is a Fail state: it always fails with the error it names.
// ErrorPath and CausePath (paths or intrinsic functions) must yield
// strings. A Fail state without Error ends the execution with an empty
// error name.
type failState struct {
	Error, Cause, ErrorPath, CausePath string
}

func (*failState) fields() []string { return []string{"Error", "Cause", "ErrorPath", "CausePath"} }

func (s *failState) parse(p *parser, _ *State, o map[string]any, w string) {
	s.Error = p.str(o, "Error", w)
	s.Cause = p.str(o, "Cause", w)
	s.ErrorPath = p.dynPath(o, "ErrorPath", w)
	s.CausePath = p.dynPath(o, "CausePath", w)
	p.exclusive(o, w, "Error", "ErrorPath")
	p.exclusive(o, w, "Cause", "CausePath")
}

func (s *failState) run(_ context.Context, t *thread, st *State, raw any, sr *stateRun) (outcome, error) {
	name, cause := s.Error, s.Cause
	env := t.env(raw, sr)
	get := func(p, field string) (string, error) {
		v, err := env.dynamic(p, field)
		if err != nil {
			return "", err
		}
		str, ok := v.(string)
		if !ok {
			return "", newErr(ErrRuntime, "The value of %s %q in state %q must be a string, got %s", field, p, st.Name, kindOf(v))
		}
		return str, nil
	}
	var err error
	if s.ErrorPath != "" {
		if name, err = get(s.ErrorPath, "ErrorPath"); err != nil {
			return outcome{}, err
		}
	}
	if s.CausePath != "" {
		if cause, err = get(s.CausePath, "CausePath"); err != nil {
			return outcome{}, err
		}
	}
	return outcome{}, &TaskError{Name: name, Cause: cause}
}
