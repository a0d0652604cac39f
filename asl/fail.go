package asl

// fail runs a Fail state: it always returns the error it names. ErrorPath
// and CausePath (paths or intrinsic functions) must yield strings. A Fail
// state without Error ends the execution with an empty error name.
func (t *thread) fail(st *State, raw any, sr *stateRun) error {
	name, cause := st.Error, st.Cause
	env := t.env(raw, sr)
	get := func(p, field string) (string, error) {
		v, err := env.dynamic(p, field)
		if err != nil {
			return "", err
		}
		s, ok := v.(string)
		if !ok {
			return "", newErr(ErrRuntime, "The value of %s %q in state %q must be a string, got %s", field, p, st.Name, kindOf(v))
		}
		return s, nil
	}
	var err error
	if st.ErrorPath != "" {
		if name, err = get(st.ErrorPath, "ErrorPath"); err != nil {
			return err
		}
	}
	if st.CausePath != "" {
		if cause, err = get(st.CausePath, "CausePath"); err != nil {
			return err
		}
	}
	return &TaskError{Name: name, Cause: cause}
}
