package asl

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/ferrydata/ferry/asl/intrinsics"
)

// parser collects every validation problem of a definition while it builds
// the StateMachine.
type parser struct {
	problems []Problem
	names    map[string]string // state name -> where first defined
	labels   map[string]string // Map Label -> where first used
	express  bool              // the definition is for an EXPRESS state machine
	ql       string            // the query language states inherit here
	topQL    string            // the state machine's query language
}

func (p *parser) add(where, format string, args ...any) {
	p.problems = append(p.problems, Problem{Where: where, Message: fmt.Sprintf(format, args...)})
}

func sortedKeys(m map[string]any) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// onlyFields reports the fields of o not in allowed ("field %q is not
// valid <what>").
func (p *parser) onlyFields(o map[string]any, where, what string, allowed ...string) {
	for _, k := range sortedKeys(o) {
		ok := false
		for _, a := range allowed {
			ok = ok || a == k
		}
		if !ok {
			p.add(where, "field %q is not valid %s", k, what)
		}
	}
}

func (p *parser) str(obj map[string]any, k, where string) string {
	v, ok := obj[k]
	if !ok {
		return ""
	}
	s, ok := v.(string)
	if !ok {
		p.add(where+"."+k, "must be a string")
	}
	return s
}

func (p *parser) num(obj map[string]any, k, where string) (float64, bool) {
	v, ok := obj[k]
	if !ok {
		return 0, false
	}
	switch n := v.(type) {
	case int64:
		return float64(n), true
	case float64:
		return n, true
	}
	p.add(where+"."+k, "must be a number")
	return 0, false
}

func (p *parser) intField(obj map[string]any, k, where string) (int, bool) {
	v, ok := obj[k]
	if !ok {
		return 0, false
	}
	switch n := v.(type) {
	case int64:
		return int(n), true
	case float64:
		if n == float64(int(n)) {
			return int(n), true
		}
	}
	p.add(where+"."+k, "must be an integer")
	return 0, false
}

func (p *parser) posInt(obj map[string]any, k, where string) int {
	n, ok := p.intField(obj, k, where)
	if ok && n <= 0 {
		p.add(where+"."+k, "must be a positive integer")
	}
	return n
}

// pathRule is what a path field accepts.
type pathRule int

const (
	anyPath    pathRule = iota // a Path: input, context object or variable
	refPath                    // a reference path (names and indexes) with any root
	resultPath                 // a reference path into the state's input (ResultPath)
)

func (p *parser) pathField(obj map[string]any, k, where string, rule pathRule) optPath {
	v, ok := obj[k]
	if !ok {
		return optPath{}
	}
	if v == nil {
		return optPath{Set: true, Null: true}
	}
	s, ok := v.(string)
	if !ok {
		p.add(where+"."+k, "must be a string path or null")
		return optPath{}
	}
	p.checkPath(s, where+"."+k, rule)
	return optPath{Set: true, Path: s}
}

func (p *parser) strPath(obj map[string]any, k, where string) string {
	s := p.str(obj, k, where)
	if s != "" {
		p.checkPath(s, where+"."+k, anyPath)
	}
	return s
}

// dynPath reads a field that takes a path or an intrinsic function.
func (p *parser) dynPath(obj map[string]any, k, where string) string {
	s := p.str(obj, k, where)
	if s != "" {
		p.checkDynamic(s, where+"."+k)
	}
	return s
}

// checkDynamic validates a path or an intrinsic function call (its syntax,
// string escapes, function names and argument counts, as AWS checks them
// when the state machine is created).
func (p *parser) checkDynamic(s, where string) {
	if !intrinsics.IsIntrinsic(s) {
		p.checkPath(s, where, anyPath)
		return
	}
	if err := intrinsics.Check(s); err != nil {
		var ie *intrinsics.Error
		cause := err.Error()
		if errors.As(err, &ie) {
			cause = ie.Cause
		}
		p.add(where, "SCHEMA_VALIDATION_FAILED: The value for the field must be a valid JSONPath or a valid intrinsic function call: %s", cause)
	}
}

func (p *parser) checkPath(s, where string, rule pathRule) {
	var err error
	if rule != anyPath {
		var cp *compiledPath
		cp, err = compileRefPath(s)
		if err == nil && rule == resultPath && cp.kind != '$' {
			err = fmt.Errorf("%q must refer to the state's input ($...), not the context object or a variable", s)
		}
	} else {
		_, err = compilePath(s)
	}
	if err != nil {
		p.add(where, "invalid path: %v", err)
	}
}

// template validates a payload template's ".$" entries.
func (p *parser) template(v any, where string) {
	switch x := v.(type) {
	case map[string]any:
		for _, k := range sortedKeys(x) {
			w := where + "." + k
			if !strings.HasSuffix(k, ".$") {
				p.template(x[k], w)
				continue
			}
			s, ok := x[k].(string)
			if !ok {
				p.add(w, "a field ending in \".$\" must have a string value (a path or an intrinsic function)")
				continue
			}
			p.checkDynamic(s, w)
		}
	case []any:
		for i, e := range x {
			p.template(e, fmt.Sprintf("%s[%d]", where, i))
		}
	}
}

func (p *parser) assign(obj map[string]any, where string) map[string]any {
	v, has := obj["Assign"]
	if !has {
		return nil
	}
	m, ok := p.object(v, where+".Assign")
	if !ok {
		return nil
	}
	for k := range m {
		name := strings.TrimSuffix(k, ".$")
		cp, err := parsePath("$" + name)
		if err != nil || cp.kind != 'v' || len(cp.expr) != 1 {
			p.add(where+".Assign."+k, "invalid variable name %q", name)
		}
		if name == "states" {
			p.add(where+".Assign."+k, "\"states\" is a reserved variable name")
		}
	}
	p.template(m, where+".Assign")
	return m
}

// object returns v as a JSON object, or reports that it must be one.
func (p *parser) object(v any, w string) (map[string]any, bool) {
	o, ok := v.(map[string]any)
	if !ok {
		p.add(w, "must be an object")
	}
	return o, ok
}

// exclusive reports a state that has both field a and field b.
func (p *parser) exclusive(o map[string]any, w, a, b string) {
	_, hasA := o[a]
	_, hasB := o[b]
	if hasA && hasB {
		p.add(w, "%s and %s are mutually exclusive", a, b)
	}
}

// positiveInt evaluates a positive integer field or its Path form (for
// TimeoutSecondsPath, HeartbeatSecondsPath and the ItemBatcher limits).
func positiveInt(env *evalEnv, st *State, fixed int, path, field string) (int, error) {
	if path == "" {
		return fixed, nil
	}
	v, err := env.path(path, field)
	if err != nil {
		return 0, err
	}
	f, ok := toFloat(v)
	if !ok || f < 1 {
		return 0, newErr(ErrRuntime, "%s %q of state %q must select a positive integer, got %s", field, path, st.Name, mustJSON(v))
	}
	return int(f), nil
}

// exprField returns field k of a JSONata state compiled, when it is a
// "{% expression %}" string (JSONata lets numeric and timestamp fields be
// expressions).
func (p *parser) exprField(o map[string]any, k, w string) (any, bool) {
	if p.ql != QueryJSONata {
		return nil, false
	}
	s, ok := o[k].(string)
	if _, isExpr := jsonataSource(s); !ok || !isExpr {
		return nil, false
	}
	return p.jsonataTemplate(s, w+"."+k), true
}
