package asl

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"

	jsonata "github.com/blues/jsonata-go"
)

// Query languages.
const (
	QueryJSONPath = "JSONPath"
	QueryJSONata  = "JSONata"
)

// jexpr is one compiled "{% expression %}" of a JSONata state.
type jexpr struct {
	src  string
	expr *jsonata.Expr
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
		e, err := jsonata.Compile(src)
		if err != nil {
			p.add(where, "SCHEMA_VALIDATION_FAILED: The JSONata expression '%s' is not valid: %v", src, err)
			return x
		}
		return &jexpr{src: src, expr: e}
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
}

// jenv builds the JSONata environment of a state entry: $states.input is
// the state's input; extra adds result or errorOutput.
func (t *thread) jenv(input any, sr *stateRun, extra map[string]any) *jsonataEnv {
	states := map[string]any{"input": input, "context": t.contextObject(sr)}
	for k, v := range extra {
		states[k] = v
	}
	return &jsonataEnv{states: states, vars: t.vars}
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

// expr evaluates one expression with $states, the variables and the
// functions Step Functions adds. A failure or an undefined result is
// States.QueryEvaluationError.
func (e *jsonataEnv) expr(x *jexpr, field string) (any, error) {
	ex := *x.expr // a private copy: the bindings below go into its registry
	if err := ex.RegisterExts(jsonataFunctions); err != nil {
		return nil, newErr(ErrQueryEvaluationError, "cannot register the JSONata functions: %v", err)
	}
	if err := ex.RegisterVars(e.bindings()); err != nil {
		return nil, newErr(ErrQueryEvaluationError, "cannot bind the variables for the JSONata expression '%s': %v", x.src, err)
	}
	v, err := ex.Eval(nil)
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
// the library's representation.
func (e *jsonataEnv) bindings() map[string]any {
	m := map[string]any{}
	var scopes []*vars
	for s := e.vars; s != nil; s = s.parent {
		scopes = append(scopes, s)
	}
	for i := len(scopes) - 1; i >= 0; i-- {
		for k, v := range scopes[i].m {
			m[k] = toJSONata(v)
		}
	}
	m["states"] = toJSONata(e.states)
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
