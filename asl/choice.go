package asl

import (
	"context"
	"fmt"
	"strings"
)

// choiceState is a Choice state: the first matching rule's Next, else
// Default, else States.NoChoiceMatched.
type choiceState struct {
	dataFlow
	Choices []*ChoiceRule
	Default string
}

// ChoiceRule is a Choice rule or a nested boolean expression.
type ChoiceRule struct {
	Variable string
	Operator string // e.g. "StringEquals", "And", "Not", "IsPresent"
	Value    any    // comparison value; a path string for *Path operators
	And, Or  []*ChoiceRule
	Not      *ChoiceRule
	Next     string
	Assign   map[string]any

	// JSONata rules: Condition, and the Output used when the rule matches.
	Condition any
	Output    any
	HasOutput bool
}

// comparison operators: name -> the Go kind of their literal value.
var choiceOps = map[string]string{
	"StringEquals": "string", "StringLessThan": "string", "StringGreaterThan": "string",
	"StringLessThanEquals": "string", "StringGreaterThanEquals": "string", "StringMatches": "string",
	"NumericEquals": "number", "NumericLessThan": "number", "NumericGreaterThan": "number",
	"NumericLessThanEquals": "number", "NumericGreaterThanEquals": "number",
	"BooleanEquals":   "bool",
	"TimestampEquals": "timestamp", "TimestampLessThan": "timestamp", "TimestampGreaterThan": "timestamp",
	"TimestampLessThanEquals": "timestamp", "TimestampGreaterThanEquals": "timestamp",
	"IsNull": "bool", "IsPresent": "bool", "IsNumeric": "bool", "IsString": "bool", "IsBoolean": "bool", "IsTimestamp": "bool",
}

func init() {
	for _, base := range []string{"String", "Numeric", "Boolean", "Timestamp"} {
		for _, cmp := range []string{"Equals", "LessThan", "GreaterThan", "LessThanEquals", "GreaterThanEquals"} {
			if base == "Boolean" && cmp != "Equals" {
				continue
			}
			choiceOps[base+cmp+"Path"] = "path"
		}
	}
}

func (*choiceState) fields() []string {
	return []string{"InputPath", "OutputPath", "Choices", "Default", "Assign", "Output"}
}

func (s *choiceState) parse(p *parser, st *State, o map[string]any, w string) {
	s.dataFlow.parse(p, st, o, w)
	s.parseAssign(p, o, w)
	s.Default = p.str(o, "Default", w)
	arr, ok := o["Choices"].([]any)
	if !ok || len(arr) == 0 {
		p.add(w, "a Choice state must have a non-empty Choices array")
		return
	}
	for i, e := range arr {
		rw := fmt.Sprintf("%s.Choices[%d]", w, i)
		ro, ok := e.(map[string]any)
		if !ok {
			p.add(rw, "a choice rule must be an object")
			continue
		}
		if r := p.rule(ro, rw, true); r != nil {
			s.Choices = append(s.Choices, r)
		}
	}
}

func (s *choiceState) targets(w string) []target {
	out := []target{{w, "Default", s.Default}}
	for i, r := range s.Choices {
		out = append(out, target{fmt.Sprintf("%s.Choices[%d]", w, i), "Next", r.Next})
	}
	return out
}

// jsonataRule parses a JSONata choice rule: Condition, Next, Output, Assign.
func (p *parser) jsonataRule(o map[string]any, w string) *ChoiceRule {
	p.onlyFields(o, w, "in a JSONata choice rule", "Condition", "Next", "Output", "Assign", "Comment")
	r := &ChoiceRule{Next: p.str(o, "Next", w)}
	if r.Next == "" {
		p.add(w, "a top-level choice rule must have Next")
	}
	if v, has := o["Condition"]; has {
		r.Condition = p.jsonataTemplate(v, w+".Condition")
	} else {
		p.add(w, "a JSONata choice rule must have a Condition")
	}
	if v, has := o["Output"]; has {
		r.Output, r.HasOutput = p.jsonataTemplate(v, w+".Output"), true
	}
	r.Assign = p.jsonataAssign(o, w)
	return r
}

// rule parses a choice rule (top: a rule of Choices, with Next and Assign).
func (p *parser) rule(o map[string]any, w string, top bool) *ChoiceRule {
	if p.ql == QueryJSONata {
		return p.jsonataRule(o, w)
	}
	r := &ChoiceRule{}
	ops := p.ruleKeys(o, w, top)
	if top {
		r.Next = p.str(o, "Next", w)
		if r.Next == "" {
			p.add(w, "a top-level choice rule must have Next")
		}
		r.Assign = p.assign(o, w)
	}
	if len(ops) != 1 {
		p.add(w, "a choice rule needs exactly one comparison operator or And/Or/Not (found %d: %s)", len(ops), strings.Join(ops, ", "))
		return r
	}
	r.Operator = ops[0]
	switch r.Operator {
	case "And", "Or":
		p.ruleList(r, o, w)
	case "Not":
		if _, has := o["Variable"]; has {
			p.add(w, "Variable is not allowed with Not")
		}
		so, ok := o["Not"].(map[string]any)
		if !ok {
			p.add(w+".Not", "must be a choice rule object")
			return r
		}
		r.Not = p.rule(so, w+".Not", false)
	default:
		p.comparison(r, o, w)
	}
	return r
}

// ruleKeys checks a rule's fields and returns its operators.
func (p *parser) ruleKeys(o map[string]any, w string, top bool) []string {
	var ops []string
	for _, k := range sortedKeys(o) {
		switch {
		case k == "Variable" || k == "Comment":
		case k == "Next" || k == "Assign":
			if !top {
				p.add(w, "%s is only allowed in a top-level choice rule", k)
			}
		case k == "And" || k == "Or" || k == "Not":
			ops = append(ops, k)
		case k == "Condition":
			p.add(w, "field \"Condition\" is only valid with QueryLanguage JSONata")
		case choiceOps[k] != "":
			ops = append(ops, k)
		default:
			p.add(w, "field %q is not valid in a choice rule", k)
		}
	}
	return ops
}

// ruleList parses the sub-rules of And or Or.
func (p *parser) ruleList(r *ChoiceRule, o map[string]any, w string) {
	op := r.Operator
	if _, has := o["Variable"]; has {
		p.add(w, "Variable is not allowed with %s", op)
	}
	arr, ok := o[op].([]any)
	if !ok || len(arr) == 0 {
		p.add(w+"."+op, "must be a non-empty array of choice rules")
		return
	}
	for i, e := range arr {
		so, ok := e.(map[string]any)
		if !ok {
			p.add(fmt.Sprintf("%s.%s[%d]", w, op, i), "must be an object")
			continue
		}
		sub := p.rule(so, fmt.Sprintf("%s.%s[%d]", w, op, i), false)
		if op == "And" {
			r.And = append(r.And, sub)
		} else {
			r.Or = append(r.Or, sub)
		}
	}
}

// comparison parses a rule with Variable and one comparison operator.
func (p *parser) comparison(r *ChoiceRule, o map[string]any, w string) {
	op := r.Operator
	r.Variable = p.str(o, "Variable", w)
	if r.Variable == "" {
		p.add(w, "Variable is required with %s", op)
	} else {
		p.checkPath(r.Variable, w+".Variable", anyPath)
	}
	r.Value = o[op]
	switch choiceOps[op] {
	case "string":
		if _, ok := r.Value.(string); !ok {
			p.add(w+"."+op, "must be a string")
		}
	case "number":
		if _, ok := toFloat(r.Value); !ok {
			p.add(w+"."+op, "must be a number")
		}
	case "bool":
		if _, ok := r.Value.(bool); !ok {
			p.add(w+"."+op, "must be a boolean")
		}
	case "timestamp":
		s, _ := r.Value.(string)
		if _, err := parseTimestamp(s); err != nil {
			p.add(w+"."+op, "%v", err)
		}
	case "path":
		if s, ok := r.Value.(string); !ok {
			p.add(w+"."+op, "must be a path string")
		} else {
			p.checkPath(s, w+"."+op, anyPath)
		}
	}
}

func (s *choiceState) run(_ context.Context, t *thread, st *State, raw any, sr *stateRun) (outcome, error) {
	if s.jsonata {
		return s.runJSONata(t, st, raw, sr)
	}
	eff, err := t.effectiveInput(&s.dataFlow, raw, sr)
	if err != nil {
		return outcome{}, err
	}
	env := t.env(eff, sr)
	var match *ChoiceRule
	for _, r := range s.Choices {
		ok, err := evalRule(env, r)
		if err != nil {
			return outcome{}, err
		}
		if ok {
			match = r
			break
		}
	}
	if match == nil && s.Default == "" {
		return outcome{}, newErr(ErrNoChoiceMatched, "No Choice Rule in state %q matched the input and there is no Default", st.Name)
	}
	res, err := t.passThrough(&s.dataFlow, eff, sr)
	if err != nil {
		return outcome{}, err
	}
	res.next = s.Default
	if match != nil {
		res.next = match.Next
		if res.assign, err = t.mergeAssign(res.assign, match.Assign, eff, sr); err != nil {
			return outcome{}, err
		}
	}
	return res, nil
}

// runJSONata runs a JSONata Choice state: the first rule whose Condition
// is true gives Next (and its Output and Assign, besides the state's).
func (s *choiceState) runJSONata(t *thread, st *State, raw any, sr *stateRun) (outcome, error) {
	env := t.jenv(sr, nil)
	var match *ChoiceRule
	for i, r := range s.Choices {
		v, err := env.eval(r.Condition, fmt.Sprintf("Choices[%d].Condition", i))
		if err != nil {
			return outcome{}, err
		}
		b, ok := v.(bool)
		if !ok {
			return outcome{}, newErr(ErrQueryEvaluationError, "The Condition of choice rule %d must evaluate to a boolean, got %s", i, kindOf(v))
		}
		if b {
			match = r
			break
		}
	}
	if match == nil && s.Default == "" {
		return outcome{}, newErr(ErrNoChoiceMatched, "No Choice Rule in state %q matched the input and there is no Default", st.Name)
	}
	d := s.dataFlow
	next := s.Default
	if match != nil {
		next = match.Next
		if match.HasOutput {
			d.Output, d.HasOutput = match.Output, true
		}
		d.Assign = mergeTemplates(d.Assign, match.Assign)
	}
	return t.jsonataOutput(&d, env, raw, next)
}

// mergeTemplates is a state's Assign with a rule's on top.
func mergeTemplates(state, rule map[string]any) map[string]any {
	if len(rule) == 0 {
		return state
	}
	m := make(map[string]any, len(state)+len(rule))
	for k, v := range state {
		m[k] = v
	}
	for k, v := range rule {
		m[k] = v
	}
	return m
}

// mergeAssign adds a matched rule's Assign to the state's.
func (t *thread) mergeAssign(assign, rule map[string]any, eff any, sr *stateRun) (map[string]any, error) {
	if rule == nil {
		return assign, nil
	}
	ra, err := t.evalAssign(rule, eff, sr)
	if err != nil {
		return nil, err
	}
	if assign == nil {
		assign = map[string]any{}
	}
	for k, v := range ra {
		assign[k] = v
	}
	return assign, nil
}

// evalRule evaluates a choice rule. A comparison whose Variable does not
// exist fails with States.Runtime, except IsPresent. A type mismatch
// between the variable and the operator is false.
func evalRule(env *evalEnv, r *ChoiceRule) (bool, error) {
	switch r.Operator {
	case "And":
		for _, s := range r.And {
			ok, err := evalRule(env, s)
			if err != nil || !ok {
				return false, err
			}
		}
		return true, nil
	case "Or":
		for _, s := range r.Or {
			ok, err := evalRule(env, s)
			if err != nil || ok {
				return ok, err
			}
		}
		return false, nil
	case "Not":
		ok, err := evalRule(env, r.Not)
		return !ok && err == nil, err
	}
	return evalComparison(env, r)
}

// evalComparison evaluates a rule with Variable and one operator.
func evalComparison(env *evalEnv, r *ChoiceRule) (bool, error) {
	cp, err := compilePath(r.Variable)
	if err != nil {
		return false, newErr(ErrRuntime, "invalid Variable %q: %v", r.Variable, err)
	}
	v, found, err := env.get(cp)
	if err != nil {
		return false, err
	}
	if r.Operator == "IsPresent" {
		return found == r.Value.(bool), nil
	}
	if !found {
		return false, newErr(ErrRuntime, "Invalid path '%s': The choice state's condition path references an invalid value.", r.Variable)
	}
	op, want := r.Operator, r.Value
	if strings.HasSuffix(op, "Path") {
		op = strings.TrimSuffix(op, "Path")
		if want, err = env.path(r.Value.(string), r.Operator); err != nil {
			return false, err
		}
	}
	if ok, isTest := typeTest(op, v, want); isTest {
		return ok, nil
	}
	c, ok := compareValues(op, v, want)
	if !ok {
		return false, nil
	}
	return compareResult(r.Operator, op, c)
}

// typeTest evaluates the Is* operators, BooleanEquals and StringMatches.
func typeTest(op string, v, want any) (result, isTest bool) {
	switch op {
	case "IsNull":
		return (v == nil) == want.(bool), true
	case "IsNumeric":
		_, isNum := toFloat(v)
		return isNum == want.(bool), true
	case "IsString":
		_, isStr := v.(string)
		return isStr == want.(bool), true
	case "IsBoolean":
		_, isBool := v.(bool)
		return isBool == want.(bool), true
	case "IsTimestamp":
		s, isStr := v.(string)
		isTS := false
		if isStr {
			_, perr := parseTimestamp(s)
			isTS = perr == nil
		}
		return isTS == want.(bool), true
	case "BooleanEquals":
		a, ok1 := v.(bool)
		b, ok2 := want.(bool)
		return ok1 && ok2 && a == b, true
	case "StringMatches":
		a, ok1 := v.(string)
		b, ok2 := want.(string)
		return ok1 && ok2 && stringMatches(a, b), true
	}
	return false, false
}

// compareValues compares v with want for a String*, Numeric* or
// Timestamp* operator; ok is false when either is not of the operator's
// type.
func compareValues(op string, v, want any) (c int, ok bool) {
	switch {
	case strings.HasPrefix(op, "String"):
		a, ok1 := v.(string)
		b, ok2 := want.(string)
		return strings.Compare(a, b), ok1 && ok2
	case strings.HasPrefix(op, "Numeric"):
		a, ok1 := toFloat(v)
		b, ok2 := toFloat(want)
		return cmpFloat(a, b), ok1 && ok2
	case strings.HasPrefix(op, "Timestamp"):
		as, ok1 := v.(string)
		bs, ok2 := want.(string)
		if !ok1 || !ok2 {
			return 0, false
		}
		a, e1 := parseTimestamp(as)
		b, e2 := parseTimestamp(bs)
		return a.Compare(b), e1 == nil && e2 == nil
	}
	return 0, false
}

// compareResult turns a comparison into the operator's answer.
func compareResult(operator, op string, c int) (bool, error) {
	for _, base := range []string{"String", "Numeric", "Timestamp"} {
		op = strings.TrimPrefix(op, base)
	}
	switch op {
	case "Equals":
		return c == 0, nil
	case "LessThan":
		return c < 0, nil
	case "GreaterThan":
		return c > 0, nil
	case "LessThanEquals":
		return c <= 0, nil
	case "GreaterThanEquals":
		return c >= 0, nil
	}
	return false, newErr(ErrRuntime, "unknown comparison operator %q", operator)
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// stringMatches matches s against a pattern where * matches any run of
// characters and \* and \\ are literal.
func stringMatches(s, pattern string) bool {
	// Tokenize the pattern into literal runs separated by wildcards.
	var parts []string
	var cur strings.Builder
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		switch {
		case c == '\\' && i+1 < len(pattern):
			i++
			cur.WriteByte(pattern[i])
		case c == '*':
			parts = append(parts, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	parts = append(parts, cur.String())
	if len(parts) == 1 {
		return s == parts[0]
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return strings.HasSuffix(s, last)
}
