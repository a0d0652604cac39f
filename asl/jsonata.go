package asl

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"strings"
	"sync"

	jsonata "github.com/blues/jsonata-go"
)

// Query languages.
const (
	QueryJSONPath = "JSONPath"
	QueryJSONata  = "JSONata"
)

// jexpr is one compiled "{% expression %}" of a JSONata state.
type jexpr struct {
	src   string
	expr  *jsonata.Expr
	names map[string]bool // the $names the expression mentions
	exts  map[string]jsonata.Extension
}

// dollarName matches the $names an expression may refer to.
var dollarName = regexp.MustCompile(`\$[A-Za-z_][A-Za-z0-9_]*`)

// newJexpr compiles src and notes the names it mentions, so that each
// evaluation binds only those variables and functions.
func newJexpr(src string) (*jexpr, error) {
	e, err := jsonata.Compile(src)
	if err != nil {
		return nil, err
	}
	x := &jexpr{src: src, expr: e, names: map[string]bool{}, exts: map[string]jsonata.Extension{}}
	for _, n := range dollarName.FindAllString(src, -1) {
		x.names[n[1:]] = true
		if ext, ok := jsonataFunctions[n[1:]]; ok {
			x.exts[n[1:]] = ext
		}
	}
	return x, nil
}

// jsonataSource returns the expression of a "{% ... %}" string.
func jsonataSource(s string) (string, bool) {
	if len(s) >= 4 && strings.HasPrefix(s, "{%") && strings.HasSuffix(s, "%}") {
		return strings.TrimSpace(s[2 : len(s)-2]), true
	}
	return "", false
}

// jsonataTemplate compiles the JSONata expressions of a field's value:
// every string "{% ... %}" at any depth becomes a *jexpr. Problems
// (expressions that do not compile) are reported under where.
func (p *parser) jsonataTemplate(v any, where string) any {
	switch x := v.(type) {
	case string:
		src, ok := jsonataSource(x)
		if !ok {
			return x
		}
		e, err := newJexpr(src)
		if err != nil {
			p.add(where, "SCHEMA_VALIDATION_FAILED: The JSONata expression '%s' is not valid: %v", src, err)
			return x
		}
		return e
	case map[string]any:
		out := make(map[string]any, len(x))
		for _, k := range sortedKeys(x) {
			out[k] = p.jsonataTemplate(x[k], where+"."+k)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = p.jsonataTemplate(e, fmt.Sprintf("%s[%d]", where, i))
		}
		return out
	}
	return v
}

// jsonataEnv is what a JSONata state's expressions see: $states (input,
// context, result, errorOutput) and the workflow variables.
type jsonataEnv struct {
	states map[string]any
	vars   *vars
	bound  map[string]any // bindings(), built on first use
}

// jenv builds the JSONata environment of a state entry: $states.input is
// the state's input; extra adds result or errorOutput.
func (t *thread) jenv(sr *stateRun, extra map[string]any) *jsonataEnv {
	states := map[string]any{"input": sr.jin.get(sr.raw), "context": t.jsonataContext(sr)}
	for k, v := range extra {
		states[k] = toJSONata(v)
	}
	return &jsonataEnv{states: states, vars: t.vars}
}

// jsonataContext is the context object in the library's representation;
// the execution input (converted once per execution) is not copied again.
func (t *thread) jsonataContext(sr *stateRun) any {
	ctx := t.contextObject(sr).(map[string]any)
	exec := ctx["Execution"].(map[string]any)
	input := exec["Input"]
	delete(exec, "Input")
	conv := toJSONata(ctx).(map[string]any)
	conv["Execution"].(map[string]any)["Input"] = t.r.jinput.get(input)
	return conv
}

// jsonataCache converts a value for the library once (shared by the
// environments of one state entry, or of one execution).
type jsonataCache struct {
	once sync.Once
	v    any
}

func (c *jsonataCache) get(v any) any {
	c.once.Do(func() { c.v = toJSONata(v) })
	return c.v
}

// eval evaluates a template: *jexpr leaves are evaluated, everything else
// is copied. field names the definition field for error causes.
func (e *jsonataEnv) eval(tpl any, field string) (any, error) {
	switch x := tpl.(type) {
	case *jexpr:
		return e.expr(x, field)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, v := range x {
			val, err := e.eval(v, field+"/"+k)
			if err != nil {
				return nil, err
			}
			out[k] = val
		}
		return out, nil
	case []any:
		return mapArray(x, field, e.eval)
	}
	return tpl, nil
}

// jsonataMu serialises evaluations: the library's built-in functions are
// shared objects that it mutates during a call (their name and context), so
// two expressions calling $string at once would race.
var jsonataMu sync.Mutex

// expr evaluates one expression with $states, the variables and the
// functions Step Functions adds. A failure or an undefined result is
// States.QueryEvaluationError.
func (e *jsonataEnv) expr(x *jexpr, field string) (any, error) {
	// A private copy: the bindings below go into its registry, which
	// Compile left nil (nothing is registered package-wide).
	ex := *x.expr
	if len(x.exts) > 0 {
		if err := ex.RegisterExts(x.exts); err != nil {
			return nil, newErr(ErrQueryEvaluationError, "cannot register the JSONata functions: %v", err)
		}
	}
	all := e.bindings()
	vars := make(map[string]any, len(x.names))
	for n := range x.names {
		if v, ok := all[n]; ok {
			vars[n] = v
		}
	}
	if err := ex.RegisterVars(vars); err != nil {
		return nil, newErr(ErrQueryEvaluationError, "cannot bind the variables for the JSONata expression '%s': %v", x.src, err)
	}
	jsonataMu.Lock()
	v, err := ex.Eval(nil)
	jsonataMu.Unlock()
	switch {
	case errors.Is(err, jsonata.ErrUndefined):
		return nil, newErr(ErrQueryEvaluationError, "The JSONata expression '%s' specified for the field '%s' returned nothing (undefined).", x.src, field)
	case err != nil:
		return nil, newErr(ErrQueryEvaluationError, "An error occurred while evaluating the JSONata expression '%s' specified for the field '%s': %v", x.src, field, err)
	}
	out, ok := fromJSONata(v)
	if !ok {
		return nil, newErr(ErrQueryEvaluationError, "The JSONata expression '%s' specified for the field '%s' returned an unsupported result type.", x.src, field)
	}
	return out, nil
}

// bindings are the variables in scope (inner scopes win) and $states, in
// the library's representation; built once per environment (one state
// entry), which only one goroutine uses.
func (e *jsonataEnv) bindings() map[string]any {
	if e.bound != nil {
		return e.bound
	}
	m := map[string]any{}
	var scopes []*vars
	for s := e.vars; s != nil; s = s.parent {
		scopes = append(scopes, s)
	}
	for i := len(scopes) - 1; i >= 0; i-- {
		scopes[i].jsonataValues(m)
	}
	m["states"] = e.states
	e.bound = m
	return m
}

// jsonataNull is how the library represents JSON null (a nil interface is
// undefined to it).
var jsonataNull *any

// toJSONata converts an engine value for the library: null becomes
// jsonataNull.
func toJSONata(v any) any {
	switch x := v.(type) {
	case nil:
		return jsonataNull
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = toJSONata(e)
		}
		return m
	case []any:
		a := make([]any, len(x))
		for i, e := range x {
			a[i] = toJSONata(e)
		}
		return a
	}
	return v
}

// fromJSONata converts a result of the library to an engine value:
// numbers are int64 when integral (as JSON cannot tell 2 from 2.0) and
// float64 otherwise; ok is false for what JSON cannot hold (a function).
func fromJSONata(v any) (any, bool) {
	switch x := v.(type) {
	case nil, string, bool, int64:
		return v, true
	case *any:
		if x == nil {
			return nil, true
		}
		return fromJSONata(*x)
	case float64:
		if math.IsInf(x, 0) || math.IsNaN(x) {
			return nil, false
		}
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int64(x), true
		}
		return x, true
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			val, ok := fromJSONata(e)
			if !ok {
				return nil, false
			}
			m[k] = val
		}
		return m, true
	case []any:
		a := make([]any, len(x))
		for i, e := range x {
			val, ok := fromJSONata(e)
			if !ok {
				return nil, false
			}
			a[i] = val
		}
		return a, true
	}
	return fromReflect(reflect.ValueOf(v))
}

// fromReflect converts the other Go values the library returns (sized
// integers and floats, typed slices and maps).
func fromReflect(rv reflect.Value) (any, bool) {
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int(), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return int64(rv.Uint()), true
	case reflect.Float32:
		return fromJSONata(rv.Float())
	case reflect.Slice, reflect.Array:
		a := make([]any, rv.Len())
		for i := range a {
			val, ok := fromJSONata(rv.Index(i).Interface())
			if !ok {
				return nil, false
			}
			a[i] = val
		}
		return a, true
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			return nil, false
		}
		m := make(map[string]any, rv.Len())
		for it := rv.MapRange(); it.Next(); {
			val, ok := fromJSONata(it.Value().Interface())
			if !ok {
				return nil, false
			}
			m[it.Key().String()] = val
		}
		return m, true
	}
	return nil, false
}

// integer evaluates a JSONata numeric field that must be an integer of at
// least min.
func (e *jsonataEnv) integer(tpl any, field string, min int64) (int, error) {
	v, err := e.eval(tpl, field)
	if err != nil {
		return 0, err
	}
	n, ok := v.(int64)
	if !ok || n < min {
		return 0, newErr(ErrQueryEvaluationError, "The JSONata expression specified for the field '%s' must give an integer of at least %d, got %s", field, min, mustJSON(v))
	}
	return int(n), nil
}
