package asl

// pass runs a Pass state: its result is Result, else Parameters applied to
// the effective input, else the effective input.
func (t *thread) pass(st *State, raw any, sr *stateRun) (any, map[string]any, error) {
	eff, err := t.applyPath(st.InputPath, "InputPath", raw, sr)
	if err != nil {
		return nil, nil, err
	}
	result := eff
	switch {
	case st.HasResult:
		result = st.Result
	case st.HasParameters:
		result, err = t.env(eff, sr).template(st.Parameters, "Parameters")
		if err != nil {
			return nil, nil, err
		}
	}
	return t.output(st, raw, result, sr)
}
