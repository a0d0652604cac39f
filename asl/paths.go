package asl

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"

	"github.com/ohler55/ojg/jp"

	"github.com/ferrydata/ferry/asl/intrinsics"
)

// compiledPath is a parsed JSONPath.
type compiledPath struct {
	src      string
	kind     byte // '$' input, 'c' context object, 'v' variable
	varName  string
	expr     jp.Expr
	definite bool // yields exactly one value (no wildcard, filter, slice, union, descent)
	ref      bool // a reference path: only child names and indexes
	steps    []pathStep
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
	x, err := jp.ParseString(bracketNames(rest))
	if err != nil {
		return nil, fmt.Errorf("path %q: %v", s, err)
	}
	cp.expr = x
	cp.classify()
	return cp, nil
}

// classify sets definite, ref and, for a path of names and indexes only,
// the steps that get walks without the general evaluator.
func (cp *compiledPath) classify() {
	cp.definite, cp.ref = true, true
	var steps []pathStep
	for i, f := range cp.expr {
		switch f := f.(type) {
		case jp.Root:
			if i != 0 {
				cp.ref = false
			}
		case jp.Bracket:
		case jp.Child:
			steps = append(steps, pathStep{key: string(f)})
		case jp.Nth:
			if int(f) < 0 {
				cp.ref = false
			}
			steps = append(steps, pathStep{index: int(f), isIndex: true})
		default:
			cp.definite, cp.ref = false, false
		}
	}
	if cp.ref {
		cp.steps = steps
	}
}

// pathStep is one step of a reference path: an object member or an array
// index.
type pathStep struct {
	key     string
	index   int
	isIndex bool
}

// walk follows a reference path's steps from data.
func (cp *compiledPath) walk(data any) (any, bool) {
	for i, st := range cp.steps {
		if st.isIndex {
			a, ok := data.([]any)
			if !ok {
				return nil, false
			}
			if st.index >= len(a) {
				// As on AWS, an index past the end of an array is null
				// when it is the path's last step.
				return nil, i == len(cp.steps)-1
			}
			data = a[st.index]
			continue
		}
		m, ok := data.(map[string]any)
		if !ok {
			return nil, false
		}
		if data, ok = m[st.key]; !ok {
			return nil, false
		}
	}
	return data, true
}

// bracketNames rewrites the dot-notation member names of a JSONPath that
// are not plain identifiers (such as "delivery-partner") into bracket
// notation, as the Jayway JsonPath dialect that Step Functions uses reads
// them: a dot-notation name runs to the next "." or "[". Brackets,
// filters and quoted names are left as they are.
func bracketNames(p string) string {
	var b strings.Builder
	depth := 0
	var quote byte
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case quote != 0:
			if c == '\\' && i+1 < len(p) {
				b.WriteByte(c)
				i++
				c = p[i]
			} else if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			if depth > 0 {
				quote = c
			}
		case c == '[' || c == '(':
			depth++
		case c == ']' || c == ')':
			depth--
		case c == '.' && depth == 0 && i+1 < len(p) && p[i+1] != '.' && p[i+1] != '*' && p[i+1] != '[':
			j := i + 1
			for j < len(p) && p[j] != '.' && p[j] != '[' {
				j++
			}
			if name := p[i+1 : j]; !plainName(name) {
				b.WriteString("['")
				b.WriteString(strings.NewReplacer("\\", "\\\\", "'", "\\'").Replace(name))
				b.WriteString("']")
				i = j - 1
				continue
			}
		}
		b.WriteByte(c)
	}
	return b.String()
}

// plainName reports whether a dot-notation name is one the general
// JSONPath parser reads as is.
func plainName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
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

	mu sync.Mutex     // guards j: child threads read a parent's scope concurrently
	j  map[string]any // the values converted for JSONata, filled on demand
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
	v.mu.Lock()
	delete(v.j, name)
	v.mu.Unlock()
}

// jsonataValues adds this scope's variables to m in the JSONata library's
// representation, converting each value once.
func (v *vars) jsonataValues(m map[string]any) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for k, x := range v.m {
		c, ok := v.j[k]
		if !ok {
			if v.j == nil {
				v.j = map[string]any{}
			}
			c = toJSONata(x)
			v.j[k] = c
		}
		m[k] = c
	}
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
	if cp.ref {
		v, found := cp.walk(data)
		return v, found, nil
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

// lookup compiles and evaluates a path.
func (e *evalEnv) lookup(s string) (v any, found bool, cp *compiledPath, err error) {
	if cp, err = compilePath(s); err != nil {
		return nil, false, nil, newErr(ErrRuntime, "Invalid path '%s': %v", s, err)
	}
	v, found, err = e.get(cp)
	return v, found, cp, err
}

// path evaluates a path in a payload template or a *Path field that must
// match, or fails with States.Runtime as AWS does: "The JSONPath '$.x'
// specified for the field 'k.$' could not be found in the input '{...}'".
func (e *evalEnv) path(s, field string) (any, error) {
	v, found, cp, err := e.lookup(s)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, newErr(ErrRuntime, "The JSONPath '%s' specified for the field '%s' could not be found in the input '%s'", s, field, mustJSON(e.pick(cp)))
	}
	return v, nil
}

// selectPath evaluates InputPath, OutputPath or ItemsPath, failing as AWS
// does when nothing matches: "Invalid path '$.x' : No results for path:
// $['x']".
func (e *evalEnv) selectPath(s string) (any, error) {
	v, found, cp, err := e.lookup(s)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, newErr(ErrRuntime, "Invalid path '%s' : No results for path: %s", s, cp.normalized())
	}
	return v, nil
}

// normalized renders a path as Jayway JsonPath reports it: $['a']['b'][0].
func (cp *compiledPath) normalized() string {
	if !cp.ref {
		return cp.src
	}
	var b strings.Builder
	b.WriteString("$")
	for _, st := range cp.steps {
		if st.isIndex {
			fmt.Fprintf(&b, "[%d]", st.index)
		} else {
			b.WriteString("['" + st.key + "']")
		}
	}
	return b.String()
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
				val, err := e.dynamic(s, k)
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
		return mapArray(x, field, e.template)
	}
	return t, nil
}

// mapArray evaluates each element of a template array (field[i]).
func mapArray(x []any, field string, eval func(v any, field string) (any, error)) ([]any, error) {
	out := make([]any, len(x))
	for i, v := range x {
		val, err := eval(v, fmt.Sprintf("%s[%d]", field, i))
		if err != nil {
			return nil, err
		}
		out[i] = val
	}
	return out, nil
}

// dynamic evaluates the string value of a ".$" key (field is the key):
// a path or an intrinsic function. A Path argument of an intrinsic that
// matches nothing fails with States.Runtime, as on AWS.
func (e *evalEnv) dynamic(s, field string) (any, error) {
	if !intrinsics.IsIntrinsic(s) {
		return e.path(s, field)
	}
	var missing error
	v, err := intrinsics.Eval(s, func(p string) (any, error) {
		v, found, cp, err := e.lookup(p)
		if err == nil && !found {
			err = newErr(ErrRuntime, "The function '%s' had the following error: The JsonPath argument for the field '%s' could not be found in the input '%s'", s, p, mustJSON(e.pick(cp)))
		}
		if err != nil && missing == nil {
			missing = err
		}
		return v, err
	})
	if err == nil {
		return integralInts(normalize(v))
	}
	if missing != nil {
		return nil, missing
	}
	var ie *intrinsics.Error
	if errors.As(err, &ie) {
		return nil, newErr(ie.Name, "The function '%s' had the following error: %s", s, ie.Cause)
	}
	return nil, newErr(ErrIntrinsicFailure, "The function '%s' had the following error: %v", s, err)
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

// integralInts turns the integral float64 numbers an intrinsic returns
// into int64, as AWS's intrinsics return integers (States.StringToJson('4')
// is 4, not 4.0).
func integralInts(v any, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	switch x := v.(type) {
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int64(x), nil
		}
	case map[string]any:
		for k, e := range x {
			x[k], _ = integralInts(e, nil)
		}
	case []any:
		for i, e := range x {
			x[i], _ = integralInts(e, nil)
		}
	}
	return v, nil
}
