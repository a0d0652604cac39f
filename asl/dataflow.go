package asl

import "fmt"

// dataFlow holds the input and output processing fields a state may have:
// InputPath, Parameters, ResultSelector, ResultPath, OutputPath and Assign.
// Which of them a type allows is its fields() list; parse reads those
// present.
type dataFlow struct {
	InputPath, OutputPath, ResultPath optPath
	Parameters, ResultSelector        any
	HasParameters, HasResultSelector  bool
	Assign                            map[string]any

	// JSONata states: Arguments and Output (templates with *jexpr
	// leaves); Assign then holds a template per variable.
	jsonata                 bool
	Arguments, Output       any
	HasArguments, HasOutput bool
}

// optPath is an optional path field: absent (default "$"), null, or a path.
type optPath struct {
	Set, Null bool
	Path      string
}

func (d *dataFlow) parse(p *parser, st *State, o map[string]any, w string) {
	if d.jsonata = st.QueryLanguage == QueryJSONata; d.jsonata {
		d.parseJSONata(p, o, w)
		return
	}
	d.InputPath = p.pathField(o, "InputPath", w, anyPath)
	d.OutputPath = p.pathField(o, "OutputPath", w, anyPath)
	d.ResultPath = p.pathField(o, "ResultPath", w, resultPath)
	if v, has := o["Parameters"]; has {
		d.Parameters, d.HasParameters = v, true
		p.template(v, w+".Parameters")
	}
	if v, has := o["ResultSelector"]; has {
		d.ResultSelector, d.HasResultSelector = v, true
		p.template(v, w+".ResultSelector")
	}
}

// parseAssign reads Assign; it comes after the type's Result (Pass) so
// that problems keep the definition's field order.
func (d *dataFlow) parseAssign(p *parser, o map[string]any, w string) {
	if d.jsonata {
		d.Assign = p.jsonataAssign(o, w)
		return
	}
	d.Assign = p.assign(o, w)
}

// effectiveInput applies InputPath to the raw input (JSONata: the raw
// input).
func (t *thread) effectiveInput(d *dataFlow, raw any, sr *stateRun) (any, error) {
	if d.jsonata {
		return raw, nil
	}
	return t.applyPath(d.InputPath, "InputPath", raw, sr)
}

// parameters applies Parameters (JSONata: Arguments), when set, to the
// effective input.
func (t *thread) parameters(d *dataFlow, eff any, sr *stateRun) (any, error) {
	switch {
	case d.jsonata && d.HasArguments:
		return t.jenv(sr, nil).eval(d.Arguments, "Arguments")
	case d.jsonata || !d.HasParameters:
		return eff, nil
	}
	return t.env(eff, sr).template(d.Parameters, "Parameters")
}

// selectResult applies ResultSelector (when set) to a raw result.
func (t *thread) selectResult(d *dataFlow, result any, sr *stateRun) (any, error) {
	if d.jsonata || !d.HasResultSelector {
		return result, nil
	}
	return t.env(result, sr).template(d.ResultSelector, "ResultSelector")
}

// output finishes a state's input/output pipeline once it has its result:
// Assign (evaluated against the result), ResultPath (merging the result into
// the raw input), then OutputPath.
func (t *thread) output(d *dataFlow, raw, result any, sr *stateRun) (outcome, error) {
	if d.jsonata {
		return t.jsonataOutput(d, t.jenv(sr, map[string]any{"result": result}), result, sr.st.Next)
	}
	assign, err := t.evalAssign(d.Assign, result, sr)
	if err != nil {
		return outcome{}, err
	}
	out, err := applyResultPath(d.ResultPath, raw, result)
	if err != nil {
		return outcome{}, err
	}
	out, err = t.applyPath(d.OutputPath, "OutputPath", out, sr)
	return outcome{out: out, next: sr.st.Next, assign: assign}, err
}

// passThrough is the pipeline of states without a result (Choice, Wait,
// Succeed): Assign against the effective input, then OutputPath.
func (t *thread) passThrough(d *dataFlow, eff any, sr *stateRun) (outcome, error) {
	if d.jsonata {
		return t.jsonataOutput(d, t.jenv(sr, nil), eff, sr.st.Next)
	}
	assign, err := t.evalAssign(d.Assign, eff, sr)
	if err != nil {
		return outcome{}, err
	}
	out, err := t.applyPath(d.OutputPath, "OutputPath", eff, sr)
	return outcome{out: out, next: sr.st.Next, assign: assign}, err
}

// applyPath applies InputPath or OutputPath: absent means "$", null means {}.
func (t *thread) applyPath(p optPath, field string, v any, sr *stateRun) (any, error) {
	if !p.Set || p.Path == "$" {
		return v, nil
	}
	if p.Null {
		return map[string]any{}, nil
	}
	return t.env(v, sr).selectPath(p.Path)
}

// applyResultPath combines a state's raw input with its result.
func applyResultPath(p optPath, rawInput, result any) (any, error) {
	if !p.Set || p.Path == "$" {
		return result, nil
	}
	if p.Null {
		return rawInput, nil
	}
	cp, err := compileRefPath(p.Path)
	if err != nil {
		return nil, newErr(ErrResultPathMatchFailure, "%v", err)
	}
	return setRef(rawInput, cp, result)
}

// evalAssign evaluates an Assign block against value ($), with the
// variables as they were when the state was entered.
func (t *thread) evalAssign(a map[string]any, value any, sr *stateRun) (map[string]any, error) {
	if len(a) == 0 {
		return nil, nil
	}
	v, err := t.env(value, sr).template(a, "Assign")
	if err != nil {
		return nil, err
	}
	m := v.(map[string]any)
	for k, x := range m {
		if _, err := encodeChecked(x, func() string {
			return fmt.Sprintf("The value of variable '%s' assigned by state '%s' has a size exceeding the maximum number of bytes service limit.", k, sr.st.Name)
		}); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// attempt runs one attempt of a state that has a result (Task, Parallel,
// Map): InputPath, the type's work on the effective input, ResultSelector,
// then the output pipeline.
func (t *thread) attempt(d *dataFlow, raw any, sr *stateRun, work func(eff any) (any, error)) (outcome, error) {
	eff, err := t.effectiveInput(d, raw, sr)
	if err != nil {
		return outcome{}, err
	}
	result, err := work(eff)
	if err != nil {
		return outcome{}, err
	}
	if result, err = t.selectResult(d, result, sr); err != nil {
		return outcome{}, err
	}
	return t.output(d, raw, result, sr)
}
