package asl

import "context"

// failState is a Fail state: it always fails with the error it names.
// ErrorPath and CausePath (paths or intrinsic functions) must yield
// strings. A Fail state without Error ends the execution with an empty
// error name.
type failState struct {
	Error, Cause, ErrorPath, CausePath string
	errorExpr, causeExpr               any // JSONata: templates of Error and Cause
}

func (*failState) fields() []string { return []string{"Error", "Cause", "ErrorPath", "CausePath"} }

func (s *failState) parse(p *parser, st *State, o map[string]any, w string) {
	s.Error = p.str(o, "Error", w)
	s.Cause = p.str(o, "Cause", w)
	if st.QueryLanguage == QueryJSONata {
		s.errorExpr = p.jsonataTemplate(s.Error, w+".Error")
		s.causeExpr = p.jsonataTemplate(s.Cause, w+".Cause")
	}
	s.ErrorPath = p.dynPath(o, "ErrorPath", w)
	s.CausePath = p.dynPath(o, "CausePath", w)
	p.exclusive(o, w, "Error", "ErrorPath")
	p.exclusive(o, w, "Cause", "CausePath")
}

func (s *failState) run(_ context.Context, t *thread, st *State, raw any, sr *stateRun) (outcome, error) {
	if st.QueryLanguage == QueryJSONata {
		return outcome{}, s.jsonataError(t, raw, sr)
	}
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

// jsonataError evaluates a JSONata Fail state's Error and Cause, which must
// be strings.
func (s *failState) jsonataError(t *thread, raw any, sr *stateRun) error {
	env := t.jenv(sr, nil)
	var out [2]string
	for i, f := range []struct {
		name string
		tpl  any
	}{{"Error", s.errorExpr}, {"Cause", s.causeExpr}} {
		v, err := env.eval(f.tpl, f.name)
		if err != nil {
			return err
		}
		str, ok := v.(string)
		if !ok {
			return newErr(ErrQueryEvaluationError, "The value of the field '%s' must be a string, got %s", f.name, kindOf(v))
		}
		out[i] = str
	}
	return &TaskError{Name: out[0], Cause: out[1]}
}
