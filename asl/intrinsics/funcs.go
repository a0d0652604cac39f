package intrinsics

import (
	"bytes"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"math"
	mrand "math/rand/v2"
	"strings"
	"unicode/utf8"
)

// Limits from the AWS Step Functions developer guide.
const (
	maxRangeItems = 1000  // States.ArrayRange
	maxDataChars  = 10000 // States.Base64Encode/Decode, States.Hash
)

type function struct {
	name     string
	min, max int // max < 0: variadic
	impl     func(c *call) (any, error)
}

func (f *function) checkArity(n int) *Error {
	switch {
	case f.max < 0 && n < f.min:
		return failf("%s takes at least %d argument%s, got %d", f.name, f.min, plural(f.min), n)
	case f.max >= 0 && (n < f.min || n > f.max):
		if f.min == f.max {
			return failf("%s takes exactly %d argument%s, got %d", f.name, f.min, plural(f.min), n)
		}
		return failf("%s takes %d to %d arguments, got %d", f.name, f.min, f.max, n)
	}
	return nil
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

var functions map[string]*function

func init() {
	fs := []*function{
		{name: "States.Format", min: 1, max: -1, impl: fnFormat},
		{name: "States.StringToJson", min: 1, max: 1, impl: fnStringToJSON},
		{name: "States.JsonToString", min: 1, max: 1, impl: fnJSONToString},
		{name: "States.Array", min: 0, max: -1, impl: fnArray},
		{name: "States.ArrayPartition", min: 2, max: 2, impl: fnArrayPartition},
		{name: "States.ArrayContains", min: 2, max: 2, impl: fnArrayContains},
		{name: "States.ArrayRange", min: 3, max: 3, impl: fnArrayRange},
		{name: "States.ArrayGetItem", min: 2, max: 2, impl: fnArrayGetItem},
		{name: "States.ArrayLength", min: 1, max: 1, impl: fnArrayLength},
		{name: "States.ArrayUnique", min: 1, max: 1, impl: fnArrayUnique},
		{name: "States.Base64Encode", min: 1, max: 1, impl: fnBase64Encode},
		{name: "States.Base64Decode", min: 1, max: 1, impl: fnBase64Decode},
		{name: "States.Hash", min: 2, max: 2, impl: fnHash},
		{name: "States.JsonMerge", min: 3, max: 3, impl: fnJSONMerge},
		{name: "States.MathRandom", min: 2, max: 3, impl: fnMathRandom},
		{name: "States.MathAdd", min: 2, max: 2, impl: fnMathAdd},
		{name: "States.StringSplit", min: 2, max: 2, impl: fnStringSplit},
		{name: "States.UUID", min: 0, max: 0, impl: fnUUID},
	}
	functions = make(map[string]*function, len(fs))
	for _, f := range fs {
		functions[f.name] = f
	}
}

// call is one invocation being evaluated: its node and argument values.
type call struct {
	n    *node
	args []any
}

func (n *node) eval(resolve func(string) (any, error)) (any, error) {
	switch n.kind {
	case nString:
		return n.text, nil
	case nNumber:
		return numberValue(n.text), nil
	case nBool:
		return n.b, nil
	case nNull:
		return nil, nil
	case nPath:
		if resolve == nil {
			return nil, failf("cannot resolve Path %s: no resolver given", n.text)
		}
		v, err := resolve(n.text)
		if err != nil {
			return nil, failf("cannot resolve Path %s: %v", n.text, err)
		}
		v, err = normalize(v)
		if err != nil {
			return nil, failf("Path %s yielded a value that is not JSON: %v", n.text, err)
		}
		return v, nil
	}
	c := &call{n: n, args: make([]any, len(n.args))}
	for i, a := range n.args {
		v, err := a.eval(resolve)
		if err != nil {
			var ie *Error
			if errors.As(err, &ie) && a.kind == nPath {
				return nil, failf("%s: argument %d: %s", n.text, i+1, ie.Cause)
			}
			return nil, err
		}
		c.args[i] = v
	}
	return n.fn.impl(c)
}

func (c *call) fail(format string, args ...any) *Error {
	return failf("%s: %s", c.n.text, fmt.Sprintf(format, args...))
}

func (c *call) argErr(i int, want string) *Error {
	return c.fail("argument %d must be %s, got %s", i+1, want, describe(c.args[i]))
}

func (c *call) str(i int) (string, error) {
	s, ok := c.args[i].(string)
	if !ok {
		return "", c.argErr(i, "a string")
	}
	return s, nil
}

func (c *call) array(i int) ([]any, error) {
	a, ok := c.args[i].([]any)
	if !ok {
		return nil, c.argErr(i, "an array")
	}
	return a, nil
}

func (c *call) object(i int) (map[string]any, error) {
	m, ok := c.args[i].(map[string]any)
	if !ok {
		return nil, c.argErr(i, "a JSON object")
	}
	return m, nil
}

// integer returns argument i as an integer. A non-integer number is rounded
// half up, as AWS documents for the integer intrinsics ("Step Functions will
// round it off to the nearest integer"). Only integers of magnitude up to
// 2^53 are accepted.
func (c *call) integer(i int) (int64, error) {
	v := c.args[i]
	if n, ok := exactInt(v); ok {
		if n > maxExact || n < -maxExact {
			return 0, c.fail("argument %d is %d, out of range (at most ±2^53)", i+1, n)
		}
		return n, nil
	}
	f, ok := toFloat(v)
	if !ok {
		return 0, c.argErr(i, "an integer")
	}
	if math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > maxExact {
		return 0, c.fail("argument %d is %s, out of range (at most ±2^53)", i+1, formatNumber(v))
	}
	return int64(javaRound(f)), nil
}

func fnFormat(c *call) (any, error) {
	var parts []string
	if c.n.args[0].kind == nString {
		parts = c.n.args[0].parts
	} else {
		tmpl, ok := c.args[0].(string)
		if !ok {
			return nil, c.argErr(0, "a string (the template)")
		}
		parts = strings.Split(tmpl, "{}")
	}
	holes, given := len(parts)-1, len(c.args)-1
	if holes != given {
		verb := "were"
		if given == 1 {
			verb = "was"
		}
		return nil, c.fail("the template has %d {} placeholder%s but %d value%s %s given", holes, plural(holes), given, plural(given), verb)
	}
	var b strings.Builder
	b.WriteString(parts[0])
	for i, p := range parts[1:] {
		b.WriteString(javaString(c.args[i+1]))
		b.WriteString(p)
	}
	return b.String(), nil
}

func fnStringToJSON(c *call) (any, error) {
	s, err := c.str(0)
	if err != nil {
		return nil, err
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil // AWS returns null for "" and " "
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, c.fail("argument is not valid JSON: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, c.fail("argument is not valid JSON: unexpected data after the first value")
	}
	return fixNumbers(v), nil
}

func fnJSONToString(c *call) (any, error) {
	switch c.n.args[0].kind {
	case nPath, nCall:
	default:
		return nil, c.fail("the argument must be a Path (or an intrinsic function), not a literal")
	}
	s, err := compactJSON(c.args[0])
	if err != nil {
		return nil, c.fail("cannot render the value as JSON: %v", err)
	}
	return s, nil
}

func fnArray(c *call) (any, error) {
	out := make([]any, len(c.args))
	copy(out, c.args)
	return out, nil
}

func fnArrayPartition(c *call) (any, error) {
	a, err := c.array(0)
	if err != nil {
		return nil, err
	}
	size, err := c.integer(1)
	if err != nil {
		return nil, err
	}
	if size <= 0 {
		return nil, c.fail("argument 2 (chunk size) must be a positive integer, got %d", size)
	}
	out := make([]any, 0, (int64(len(a))+size-1)/size)
	for start := int64(0); start < int64(len(a)); start += size {
		end := min(start+size, int64(len(a)))
		chunk := make([]any, end-start)
		copy(chunk, a[start:end])
		out = append(out, chunk)
	}
	return out, nil
}

func fnArrayContains(c *call) (any, error) {
	a, err := c.array(0)
	if err != nil {
		return nil, err
	}
	for _, e := range a {
		if jsonEqual(e, c.args[1]) {
			return true, nil
		}
	}
	return false, nil
}

func fnArrayRange(c *call) (any, error) {
	var v [3]int64
	for i := range v {
		n, err := c.integer(i)
		if err != nil {
			return nil, err
		}
		v[i] = n
	}
	start, end, step := v[0], v[1], v[2]
	if step == 0 {
		return nil, c.fail("argument 3 (step) must not be zero")
	}
	var count int64
	if (step > 0 && end >= start) || (step < 0 && end <= start) {
		count = (end-start)/step + 1
	}
	if count > maxRangeItems {
		return nil, c.fail("the range from %d to %d by %d has %d items, more than the limit of %d", start, end, step, count, maxRangeItems)
	}
	out := make([]any, count)
	for i := range out {
		out[i] = float64(start + int64(i)*step)
	}
	return out, nil
}

func fnArrayGetItem(c *call) (any, error) {
	a, err := c.array(0)
	if err != nil {
		return nil, err
	}
	f, ok := toFloat(c.args[1])
	if !ok || f != math.Trunc(f) {
		return nil, c.argErr(1, "an integer index")
	}
	if f < 0 || f >= float64(len(a)) {
		if len(a) == 0 {
			return nil, c.fail("index %s is out of range for an array of length 0 (the array is empty)", formatNumber(c.args[1]))
		}
		return nil, c.fail("index %s is out of range for an array of length %d (valid: 0 to %d)", formatNumber(c.args[1]), len(a), len(a)-1)
	}
	return a[int(f)], nil
}

func fnArrayLength(c *call) (any, error) {
	a, err := c.array(0)
	if err != nil {
		return nil, err
	}
	return float64(len(a)), nil
}

func fnArrayUnique(c *call) (any, error) {
	a, err := c.array(0)
	if err != nil {
		return nil, err
	}
	out := make([]any, 0, len(a))
	// Fast path for scalars, JSON equality for everything else.
	seen := make(map[string]bool, len(a))
next:
	for _, e := range a {
		if k, ok := scalarKey(e); ok {
			if seen[k] {
				continue
			}
			seen[k] = true
			out = append(out, e)
			continue
		}
		for _, o := range out {
			if jsonEqual(o, e) {
				continue next
			}
		}
		out = append(out, e)
	}
	return out, nil
}

// scalarKey returns a map key identifying a scalar's JSON value, so that
// equal scalars (1, 1.0, json.Number("1")) share a key.
func scalarKey(v any) (string, bool) {
	switch t := v.(type) {
	case nil:
		return "n", true
	case bool:
		if t {
			return "t", true
		}
		return "f", true
	case string:
		return "s" + t, true
	case []any, map[string]any:
		return "", false
	}
	if _, ok := toFloat(v); ok {
		return "#" + formatNumber(v), true
	}
	return "", false
}

func fnBase64Encode(c *call) (any, error) {
	s, err := c.str(0)
	if err != nil {
		return nil, err
	}
	if n := utf16Len(s); n > maxDataChars {
		return nil, c.fail("the string has %d characters, more than the limit of %d", n, maxDataChars)
	}
	return base64.StdEncoding.EncodeToString([]byte(s)), nil
}

func fnBase64Decode(c *call) (any, error) {
	s, err := c.str(0)
	if err != nil {
		return nil, err
	}
	if n := utf16Len(s); n > maxDataChars {
		return nil, c.fail("the string has %d characters, more than the limit of %d", n, maxDataChars)
	}
	// MIME Base64 may be split into lines; line breaks are not data.
	clean := strings.NewReplacer("\r", "", "\n", "").Replace(s)
	b, err := base64.StdEncoding.DecodeString(clean)
	if err != nil {
		return nil, c.fail("the argument is not valid Base64: %v", err)
	}
	if !utf8.Valid(b) {
		return strings.ToValidUTF8(string(b), "\uFFFD"), nil
	}
	return string(b), nil
}

var hashes = map[string]func() hash.Hash{
	"MD5":     md5.New,
	"SHA-1":   sha1.New,
	"SHA-256": sha256.New,
	"SHA-384": sha512.New384,
	"SHA-512": sha512.New,
}

func fnHash(c *call) (any, error) {
	data, ok := c.args[0].(string)
	if !ok {
		// The States Language limits "the stringified version of the first
		// argument": non-strings are hashed as their compact JSON text.
		s, err := compactJSON(c.args[0])
		if err != nil {
			return nil, c.fail("cannot render argument 1 as JSON: %v", err)
		}
		data = s
	}
	if n := utf16Len(data); n > maxDataChars {
		return nil, c.fail("the data has %d characters, more than the limit of %d", n, maxDataChars)
	}
	alg, ok := c.args[1].(string)
	if !ok {
		return nil, c.argErr(1, "a string naming the algorithm (MD5, SHA-1, SHA-256, SHA-384 or SHA-512)")
	}
	newHash, ok := hashes[alg]
	if !ok {
		return nil, c.fail("unsupported algorithm %q: use MD5, SHA-1, SHA-256, SHA-384 or SHA-512", alg)
	}
	h := newHash()
	h.Write([]byte(data))
	return hex.EncodeToString(h.Sum(nil)), nil
}

func fnJSONMerge(c *call) (any, error) {
	a, err := c.object(0)
	if err != nil {
		return nil, err
	}
	b, err := c.object(1)
	if err != nil {
		return nil, err
	}
	deep, ok := c.args[2].(bool)
	if !ok {
		return nil, c.argErr(2, "the boolean false (shallow merge)")
	}
	if deep {
		return nil, c.fail("deep merging (third argument true) is not supported: AWS Step Functions supports only the shallow mode, pass false")
	}
	out := make(map[string]any, len(a)+len(b))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out, nil
}

func fnMathRandom(c *call) (any, error) {
	start, err := c.integer(0)
	if err != nil {
		return nil, err
	}
	end, err := c.integer(1)
	if err != nil {
		return nil, err
	}
	if start >= end {
		return nil, c.fail("the start (%d) must be less than the end (%d): the result is drawn from [start, end)", start, end)
	}
	span := uint64(end - start) // both within ±2^53: no overflow
	var r uint64
	if len(c.args) == 3 {
		seed, err := c.integer(2)
		if err != nil {
			return nil, err
		}
		r = mrand.New(mrand.NewPCG(uint64(seed), 0x5DEECE66D)).Uint64N(span)
	} else {
		r = mrand.Uint64N(span)
	}
	return float64(start + int64(r)), nil
}

func fnMathAdd(c *call) (any, error) {
	var sum int64
	for i := range c.args {
		n, err := c.integer(i)
		if err != nil {
			return nil, err
		}
		if n < math.MinInt32 || n > math.MaxInt32 {
			return nil, c.fail("argument %d is %d, outside the supported range -2147483648 to 2147483647", i+1, n)
		}
		sum += n
	}
	return float64(sum), nil
}

func fnStringSplit(c *call) (any, error) {
	s, err := c.str(0)
	if err != nil {
		return nil, err
	}
	delims, err := c.str(1)
	if err != nil {
		return nil, err
	}
	// Every character of the second argument is a delimiter and empty
	// tokens are dropped: AWS splits ", , ," on "," into [" ", " "] and
	// ",,,," into [].
	fields := strings.FieldsFunc(s, func(r rune) bool { return strings.ContainsRune(delims, r) })
	out := make([]any, len(fields))
	for i, f := range fields {
		out[i] = f
	}
	return out, nil
}

func fnUUID(*call) (any, error) {
	var u [16]byte
	if _, err := rand.Read(u[:]); err != nil {
		return nil, failf("States.UUID: reading random bytes: %v", err)
	}
	u[6] = u[6]&0x0f | 0x40 // version 4
	u[8] = u[8]&0x3f | 0x80 // RFC 4122 variant
	var b bytes.Buffer
	h := hex.EncodeToString(u[:])
	b.WriteString(h[0:8])
	b.WriteByte('-')
	b.WriteString(h[8:12])
	b.WriteByte('-')
	b.WriteString(h[12:16])
	b.WriteByte('-')
	b.WriteString(h[16:20])
	b.WriteByte('-')
	b.WriteString(h[20:32])
	return b.String(), nil
}
