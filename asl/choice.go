package asl

import (
	"strings"
	"time"
)

// choice runs a Choice state: the first matching rule's Next, else
// Default, else States.NoChoiceMatched.
func (t *thread) choice(st *State, raw any, sr *stateRun) (any, string, map[string]any, error) {
	eff, err := t.applyPath(st.InputPath, "InputPath", raw, sr)
	if err != nil {
		return nil, "", nil, err
	}
	env := t.env(eff, sr)
	next := ""
	var ruleAssign map[string]any
	for _, r := range st.Choices {
		ok, err := evalRule(env, r)
		if err != nil {
			return nil, "", nil, err
		}
		if ok {
			next, ruleAssign = r.Next, r.Assign
			break
		}
	}
	if next == "" {
		if st.Default == "" {
			return nil, "", nil, newErr(ErrNoChoiceMatched, "No Choice Rule in state %q matched the input and there is no Default", st.Name)
		}
		next = st.Default
	}
	assign, err := t.evalAssign(st.Assign, eff, sr)
	if err != nil {
		return nil, "", nil, err
	}
	if ruleAssign != nil {
		ra, err := t.evalAssign(ruleAssign, eff, sr)
		if err != nil {
			return nil, "", nil, err
		}
		if assign == nil {
			assign = map[string]any{}
		}
		for k, v := range ra {
			assign[k] = v
		}
	}
	out, err := t.applyPath(st.OutputPath, "OutputPath", eff, sr)
	return out, next, assign, err
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
		want, err = env.path(r.Value.(string), r.Operator)
		if err != nil {
			return false, err
		}
	}
	switch op {
	case "IsNull":
		return (v == nil) == want.(bool), nil
	case "IsNumeric":
		_, isNum := toFloat(v)
		return isNum == want.(bool), nil
	case "IsString":
		_, isStr := v.(string)
		return isStr == want.(bool), nil
	case "IsBoolean":
		_, isBool := v.(bool)
		return isBool == want.(bool), nil
	case "IsTimestamp":
		s, isStr := v.(string)
		isTS := false
		if isStr {
			_, perr := parseTimestamp(s)
			isTS = perr == nil
		}
		return isTS == want.(bool), nil
	case "BooleanEquals":
		a, ok1 := v.(bool)
		b, ok2 := want.(bool)
		return ok1 && ok2 && a == b, nil
	case "StringMatches":
		a, ok1 := v.(string)
		b, ok2 := want.(string)
		return ok1 && ok2 && stringMatches(a, b), nil
	}
	var c int
	var ok bool
	switch {
	case strings.HasPrefix(op, "String"):
		a, ok1 := v.(string)
		b, ok2 := want.(string)
		ok = ok1 && ok2
		c = strings.Compare(a, b)
		op = strings.TrimPrefix(op, "String")
	case strings.HasPrefix(op, "Numeric"):
		a, ok1 := toFloat(v)
		b, ok2 := toFloat(want)
		ok = ok1 && ok2
		c = cmpFloat(a, b)
		op = strings.TrimPrefix(op, "Numeric")
	case strings.HasPrefix(op, "Timestamp"):
		var a, b time.Time
		as, ok1 := v.(string)
		bs, ok2 := want.(string)
		if ok1 && ok2 {
			var e1, e2 error
			a, e1 = parseTimestamp(as)
			b, e2 = parseTimestamp(bs)
			ok = e1 == nil && e2 == nil
		}
		c = a.Compare(b)
		op = strings.TrimPrefix(op, "Timestamp")
	}
	if !ok {
		return false, nil
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
	return false, newErr(ErrRuntime, "unknown comparison operator %q", r.Operator)
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
