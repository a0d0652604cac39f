package asl

// succeed runs a Succeed state: InputPath then OutputPath.
func (t *thread) succeed(st *State, raw any, sr *stateRun) (any, error) {
	eff, err := t.applyPath(st.InputPath, "InputPath", raw, sr)
	if err != nil {
		return nil, err
	}
	return t.applyPath(st.OutputPath, "OutputPath", eff, sr)
}
