package asl

import (
	"strings"
)

// jsonpathOnly fields are refused in JSONata states (transforming-data:
// JSONata states have Arguments and Output instead of the five JSONPath
// fields, and expressions instead of the *Path fields).
var jsonpathOnly = map[string]bool{
	"InputPath": true, "OutputPath": true, "Parameters": true, "ResultSelector": true, "ResultPath": true, "Result": true,
	"ItemsPath": true, "TimeoutSecondsPath": true, "HeartbeatSecondsPath": true, "SecondsPath": true, "TimestampPath": true,
	"MaxConcurrencyPath": true, "ToleratedFailurePercentagePath": true, "ToleratedFailureCountPath": true,
	"ErrorPath": true, "CausePath": true, "Iterator": true,
}

// parseJSONata reads Arguments and Output of a JSONata state.
func (d *dataFlow) parseJSONata(p *parser, o map[string]any, w string) {
	if v, has := o["Arguments"]; has {
		d.Arguments, d.HasArguments = p.jsonataTemplate(v, w+".Arguments"), true
	}
	if v, has := o["Output"]; has {
		d.Output, d.HasOutput = p.jsonataTemplate(v, w+".Output"), true
	}
}

// jsonataAssign reads a JSONata state's (or rule's, or catcher's) Assign:
// variable names without ".$", values that may hold expressions.
func (p *parser) jsonataAssign(o map[string]any, where string) map[string]any {
	v, has := o["Assign"]
	if !has {
		return nil
	}
	m, ok := p.object(v, where+".Assign")
	if !ok {
		return nil
	}
	out := make(map[string]any, len(m))
	for _, k := range sortedKeys(m) {
		if strings.HasSuffix(k, ".$") || !validVariableName(k) {
			p.add(where+".Assign."+k, "invalid variable name %q (JSONata states name variables without \".$\")", k)
		}
		if k == "states" {
			p.add(where+".Assign."+k, "\"states\" is a reserved variable name")
		}
		out[k] = p.jsonataTemplate(m[k], where+".Assign."+k)
	}
	return out
}

// validVariableName: a letter or underscore, then letters, digits and
// underscores.
func validVariableName(s string) bool {
	cp, err := parsePath("$" + s)
	return err == nil && cp.kind == 'v' && len(cp.expr) == 1
}

// jsonataOutput evaluates Assign and Output (both with the variables as
// the state found them); Output defaults to def ($states.result, or
// $states.input for states without a result).
func (t *thread) jsonataOutput(d *dataFlow, env *jsonataEnv, def any, next string) (outcome, error) {
	assign, err := evalJSONataAssign(env, d.Assign)
	if err != nil {
		return outcome{}, err
	}
	out := def
	if d.HasOutput {
		if out, err = env.eval(d.Output, "Output"); err != nil {
			return outcome{}, err
		}
	}
	return outcome{out: out, next: next, assign: assign}, nil
}

// evalJSONataAssign evaluates a JSONata Assign block.
func evalJSONataAssign(env *jsonataEnv, a map[string]any) (map[string]any, error) {
	if len(a) == 0 {
		return nil, nil
	}
	out := make(map[string]any, len(a))
	for k, tpl := range a {
		v, err := env.eval(tpl, "Assign/"+k)
		if err != nil {
			return nil, err
		}
		out[k] = v
	}
	return out, nil
}
