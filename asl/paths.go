package asl

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/ohler55/ojg/jp"
	"github.com/ohler55/ojg/oj"

	"github.com/ferrydata/ferry/asl/intrinsics"
)

// decodeJSON parses JSON into generic values: map[string]any, []any,
// string, int64, float64, bool and nil.
func decodeJSON(b []byte) (any, error) {
	if len(bytes.TrimSpace(b)) == 0 {
		return map[string]any{}, nil
	}
	v, err := oj.Parse(b)
	if err != nil {
		return nil, err
	}
	return v, nil
}

// encodeJSON marshals v compactly with sorted keys and no HTML escaping.
func encodeJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

func mustJSON(v any) string {
	b, err := encodeJSON(v)
	if err != nil {
		return fmt.Sprintf("%v", v)
	}
	return string(b)
}

// normalize converts values produced outside the engine (intrinsics, Go
// maps) into the generic representation.
func normalize(v any) (any, error) {
	switch x := v.(type) {
	case nil, string, bool, int64, float64:
		return v, nil
	case int:
		return int64(x), nil
	case map[string]any:
		for k, e := range x {
			n, err := normalize(e)
			if err != nil {
				return nil, err
			}
			x[k] = n
		}
		return x, nil
	case []any:
		for i, e := range x {
			n, err := normalize(e)
			if err != nil {
				return nil, err
			}
			x[i] = n
		}
		return x, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return decodeJSON(b)
}

// compiledPath is a parsed JSONPath.
type compiledPath struct {
	src      string
	kind     byte // '$' input, 'c' context object, 'v' variable
	varName  string
	expr     jp.Expr
	definite bool // yields exactly one value (no wildcard, filter, slice, union, descent)
	ref      bool // a reference path: only child names and indexes
}

var pathCache sync.Map // string -> *compiledPath or error

// compilePath parses a Path: "$..." (the input), "$$..." (the context
// object) or "$name..." (a workflow variable).
func compilePath(s string) (*compiledPath, error) {
	if v, ok := pathCache.Load(s); ok {
		if cp, ok := v.(*compiledPath); ok {
			return cp, nil
		}
		return nil, v.(error)
	}
	cp, err := parsePath(s)
	if err != nil {
		pathCache.Store(s, err)
		return nil, err
	}
	pathCache.Store(s, cp)
	return cp, nil
}

func parsePath(s string) (*compiledPath, error) {
	if !strings.HasPrefix(s, "$") {
		return nil, fmt.Errorf("path %q must start with '$'", s)
	}
	cp := &compiledPath{src: s, kind: '$'}
	rest := s
	switch {
	case strings.HasPrefix(s, "$$"):
		cp.kind = 'c'
		rest = "$" + s[2:]
	case len(s) > 1 && s[1] != '.' && s[1] != '[':
		i := 1
		for i < len(s) && (s[i] == '_' || s[i] >= 'a' && s[i] <= 'z' || s[i] >= 'A' && s[i] <= 'Z' || i > 1 && s[i] >= '0' && s[i] <= '9') {
			i++
		}
		if i == 1 || (i < len(s) && s[i] != '.' && s[i] != '[') {
			return nil, fmt.Errorf("path %q is not a valid JSONPath or variable reference", s)
		}
		cp.kind = 'v'
		cp.varName = s[1:i]
		rest = "$" + s[i:]
	}
	x, err := jp.ParseString(rest)
	if err != nil {
		return nil, fmt.Errorf("path %q: %v", s, err)
	}
	cp.expr = x
	cp.definite, cp.ref = true, true
	for i, f := range x {
		switch f.(type) {
		case jp.Root:
			if i != 0 {
				cp.ref = false
			}
		case jp.Child, jp.Bracket:
		case jp.Nth:
			if int(f.(jp.Nth)) < 0 {
				cp.ref = false
			}
		default:
			cp.definite, cp.ref = false, false
		}
	}
	return cp, nil
}

// compileRefPath parses a reference path (ResultPath, ItemsPath): it must
// identify a single node by names and indexes only.
func compileRefPath(s string) (*compiledPath, error) {
	cp, err := compilePath(s)
	if err != nil {
		return nil, err
	}
	if !cp.ref {
		return nil, fmt.Errorf("%q is not a reference path: only $, .name, ['name'] and [index] are allowed", s)
	}
	return cp, nil
}

// vars is one scope of workflow variables; reads fall back to the parent.
type vars struct {
	m      map[string]any
	parent *vars
}

func (v *vars) get(name string) (any, bool) {
	for s := v; s != nil; s = s.parent {
		if x, ok := s.m[name]; ok {
			return x, true
		}
	}
	return nil, false
}

func (v *vars) set(name string, x any) {
	if v.m == nil {
		v.m = map[string]any{}
	}
	v.m[name] = x
}

// evalEnv is what paths are evaluated against.
type evalEnv struct {
	input any
	ctx   func() any // the context object, built on demand
	vars  *vars
}

// get evaluates a path. found is false when a definite path matches nothing.
// Indefinite paths always yield an array (possibly empty).
func (e *evalEnv) get(cp *compiledPath) (v any, found bool, err error) {
	var data any
	switch cp.kind {
	case '$':
		data = e.input
	case 'c':
		if e.ctx != nil {
			data = e.ctx()
		}
	case 'v':
		var ok bool
		if e.vars != nil {
			data, ok = e.vars.get(cp.varName)
		}
		if !ok {
			return nil, false, newErr(ErrRuntime, "The variable reference '$%s' in %q could not be resolved: no such variable is assigned", cp.varName, cp.src)
		}
	}
	if len(cp.expr) == 1 {
		return data, true, nil
	}
	res := cp.expr.Get(data)
	if !cp.definite {
		if res == nil {
			res = []any{}
		}
		return res, true, nil
	}
	if len(res) == 0 {
		return nil, false, nil
	}
	return res[0], true, nil
}

// path evaluates a path that must match, or fails with States.Runtime.
func (e *evalEnv) path(s, field string) (any, error) {
	cp, err := compilePath(s)
	if err != nil {
		return nil, newErr(ErrRuntime, "Invalid path %q in %s: %v", s, field, err)
	}
	v, found, err := e.get(cp)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, newErr(ErrRuntime, "The JSONPath '%s' specified for the field '%s' could not be found in the input '%s'", s, field, truncate(mustJSON(e.pick(cp)), 1024))
	}
	return v, nil
}

func (e *evalEnv) pick(cp *compiledPath) any {
	switch cp.kind {
	case 'c':
		if e.ctx != nil {
			return e.ctx()
		}
		return nil
	case 'v':
		v, _ := e.vars.get(cp.varName)
		return v
	}
	return e.input
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// template evaluates a payload template (Parameters, ResultSelector,
// ItemSelector, BatchInput, Assign): keys ending in ".$" take their value
// from a path or an intrinsic function call.
func (e *evalEnv) template(t any, field string) (any, error) {
	switch x := t.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, v := range x {
			if strings.HasSuffix(k, ".$") {
				s, _ := v.(string)
				val, err := e.dynamic(s, field+"."+k)
				if err != nil {
					return nil, err
				}
				out[k[:len(k)-2]] = val
				continue
			}
			val, err := e.template(v, field+"."+k)
			if err != nil {
				return nil, err
			}
			out[k] = val
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, v := range x {
			val, err := e.template(v, fmt.Sprintf("%s[%d]", field, i))
			if err != nil {
				return nil, err
			}
			out[i] = val
		}
		return out, nil
	}
	return t, nil
}

// dynamic evaluates the string value of a ".$" key.
func (e *evalEnv) dynamic(s, field string) (any, error) {
	if intrinsics.IsIntrinsic(s) {
		v, err := intrinsics.Eval(s, func(p string) (any, error) { return e.path(p, field) })
		if err != nil {
			var ie *intrinsics.Error
			if errors.As(err, &ie) {
				return nil, &TaskError{Name: ie.Name, Cause: ie.Cause}
			}
			var te *TaskError
			if errors.As(err, &te) {
				return nil, te
			}
			return nil, newErr(ErrIntrinsicFailure, "%s: %v", field, err)
		}
		return normalize(v)
	}
	return e.path(s, field)
}

// setRef returns root with value placed at the reference path, copying
// (never mutating) the objects and arrays along the way and creating
// missing objects.
func setRef(root any, cp *compiledPath, value any) (any, error) {
	frags := cp.expr
	for len(frags) > 0 {
		if _, ok := frags[0].(jp.Root); !ok {
			break
		}
		frags = frags[1:]
	}
	return setAt(root, frags, value, cp.src)
}

func setAt(cur any, frags []jp.Frag, value any, src string) (any, error) {
	for len(frags) > 0 {
		if _, ok := frags[0].(jp.Bracket); !ok {
			break
		}
		frags = frags[1:]
	}
	if len(frags) == 0 {
		return value, nil
	}
	switch f := frags[0].(type) {
	case jp.Child:
		var m map[string]any
		switch c := cur.(type) {
		case map[string]any:
			m = make(map[string]any, len(c)+1)
			for k, v := range c {
				m[k] = v
			}
		case nil:
			m = map[string]any{}
		default:
			return nil, newErr(ErrResultPathMatchFailure, "Unable to apply ResultPath %q: the input at %q is a %s, not an object", src, string(f), kindOf(cur))
		}
		child, err := setAt(m[string(f)], frags[1:], value, src)
		if err != nil {
			return nil, err
		}
		m[string(f)] = child
		return m, nil
	case jp.Nth:
		a, ok := cur.([]any)
		if !ok || int(f) >= len(a) {
			return nil, newErr(ErrResultPathMatchFailure, "Unable to apply ResultPath %q: index %d does not exist in the input", src, int(f))
		}
		na := append([]any(nil), a...)
		child, err := setAt(na[f], frags[1:], value, src)
		if err != nil {
			return nil, err
		}
		na[f] = child
		return na, nil
	}
	return nil, newErr(ErrResultPathMatchFailure, "Unable to apply ResultPath %q", src)
}

func kindOf(v any) string {
	switch v.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case bool:
		return "boolean"
	case int64, float64:
		return "number"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}
