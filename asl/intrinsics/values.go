package intrinsics

import (
	"bytes"
	"encoding/json"
	"math"
	"sort"
	"strconv"
	"strings"
)

// maxExact is the largest magnitude up to which every integer is exactly
// representable as a float64.
const maxExact = 1 << 53

// numberValue turns a JSON number literal into this package's number value:
// float64 when that is exact enough, json.Number for integers beyond ±2^53
// (and for literals out of float64 range), so that no digit is lost.
func numberValue(text string) any {
	if !strings.ContainsAny(text, ".eE") {
		if n, err := strconv.ParseInt(text, 10, 64); err == nil && n >= -maxExact && n <= maxExact {
			return float64(n)
		}
		return json.Number(text)
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsInf(f, 0) {
		return json.Number(text)
	}
	if f == 0 {
		return float64(0) // "-0" and "-0.0" are plain 0, as in AWS
	}
	return f
}

// isCanonical reports whether v is already one of the JSON value types this
// package works on (recursively).
func isCanonical(v any) bool {
	switch t := v.(type) {
	case nil, string, bool, float64, json.Number,
		int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32:
		return true
	case []any:
		for _, e := range t {
			if !isCanonical(e) {
				return false
			}
		}
		return true
	case map[string]any:
		for _, e := range t {
			if !isCanonical(e) {
				return false
			}
		}
		return true
	}
	return false
}

// normalize converts a value returned by a resolver into the canonical JSON
// types, through a JSON round trip when it holds other Go types (structs,
// typed slices or maps).
func normalize(v any) (any, error) {
	if isCanonical(v) {
		return v, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var out any
	if err := dec.Decode(&out); err != nil {
		return nil, err
	}
	return fixNumbers(out), nil
}

// fixNumbers replaces json.Number values by numberValue's choice.
func fixNumbers(v any) any {
	switch t := v.(type) {
	case json.Number:
		return numberValue(string(t))
	case []any:
		for i, e := range t {
			t[i] = fixNumbers(e)
		}
	case map[string]any:
		for k, e := range t {
			t[k] = fixNumbers(e)
		}
	}
	return v
}

// typeName names the JSON type of v for error messages.
func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case bool:
		return "boolean"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	if _, ok := toFloat(v); ok {
		return "number"
	}
	return "unknown"
}

// describe renders v briefly for error messages: its type and a clipped JSON
// form.
func describe(v any) string {
	s, err := compactJSON(v)
	if err != nil {
		return typeName(v)
	}
	return typeName(v) + " " + clip(s)
}

// toFloat returns the numeric value of any number type.
func toFloat(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case float32:
		return float64(n), true
	case json.Number:
		f, err := strconv.ParseFloat(string(n), 64)
		if err != nil && !isRangeErr(err) {
			return 0, false
		}
		return f, true
	case int:
		return float64(n), true
	case int8:
		return float64(n), true
	case int16:
		return float64(n), true
	case int32:
		return float64(n), true
	case int64:
		return float64(n), true
	case uint:
		return float64(n), true
	case uint8:
		return float64(n), true
	case uint16:
		return float64(n), true
	case uint32:
		return float64(n), true
	case uint64:
		return float64(n), true
	}
	return 0, false
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// exactInt returns v as an int64 when v is an integer type or a json.Number
// integer literal that fits, without going through float64.
func exactInt(v any) (int64, bool) {
	switch n := v.(type) {
	case int:
		return int64(n), true
	case int8:
		return int64(n), true
	case int16:
		return int64(n), true
	case int32:
		return int64(n), true
	case int64:
		return n, true
	case uint8:
		return int64(n), true
	case uint16:
		return int64(n), true
	case uint32:
		return int64(n), true
	case uint:
		if uint64(n) <= math.MaxInt64 {
			return int64(n), true
		}
	case uint64:
		if n <= math.MaxInt64 {
			return int64(n), true
		}
	case json.Number:
		if i, err := strconv.ParseInt(string(n), 10, 64); err == nil {
			return i, true
		}
	}
	return 0, false
}

// javaRound rounds half up, like Java's Math.round, which AWS applies to
// non-integer arguments of the integer intrinsics (States.MathAdd(1.5, 0)
// is 2 and States.MathAdd(-1.5, 0) is -1).
func javaRound(f float64) float64 { return math.Floor(f + 0.5) }

// formatNumber renders a number the way States.Format shows it: integers
// without a fraction ("3"), others in shortest form ("3.5"); very large or
// small magnitudes in exponent form, as encoding/json does.
func formatNumber(v any) string {
	if n, ok := v.(json.Number); ok {
		s := string(n)
		if !strings.ContainsAny(s, ".eE") {
			if _, err := strconv.ParseInt(s, 10, 64); err == nil || isRangeErr(err) {
				if s == "-0" {
					return "0"
				}
				return s // exact integer text, however long
			}
		}
	}
	if i, ok := exactInt(v); ok {
		return strconv.FormatInt(i, 10)
	}
	if u, ok := v.(uint64); ok {
		return strconv.FormatUint(u, 10)
	}
	if u, ok := v.(uint); ok {
		return strconv.FormatUint(uint64(u), 10)
	}
	f, _ := toFloat(v)
	if f == 0 {
		return "0"
	}
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	if f == math.Trunc(f) && math.Abs(f) < 1e21 {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	b, _ := json.Marshal(f)
	return string(b)
}

// compactJSON renders v as compact JSON text with no insignificant white
// space and without HTML escaping, like AWS's States.JsonToString
// ({"name":"Foo","year":2020}). Object keys are sorted.
func compactJSON(v any) (string, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimSuffix(buf.String(), "\n"), nil
}

// javaString renders a value the way AWS's States.Format renders a
// non-string argument: strings raw, null as "null", numbers per
// formatNumber, arrays as "[a, b]" and objects as "{k=v, k2=v2}" (Java's
// collection toString; AWS renders {"Arg1":1,"Arg2":[]} as
// "{Arg1=1, Arg2=[]}"). Object keys are sorted.
func javaString(v any) string {
	var b strings.Builder
	writeJava(&b, v)
	return b.String()
}

func writeJava(b *strings.Builder, v any) {
	switch t := v.(type) {
	case nil:
		b.WriteString("null")
	case string:
		b.WriteString(t)
	case bool:
		b.WriteString(strconv.FormatBool(t))
	case []any:
		b.WriteByte('[')
		for i, e := range t {
			if i > 0 {
				b.WriteString(", ")
			}
			writeJava(b, e)
		}
		b.WriteByte(']')
	case map[string]any:
		b.WriteByte('{')
		for i, k := range sortedKeys(t) {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(k)
			b.WriteByte('=')
			writeJava(b, t[k])
		}
		b.WriteByte('}')
	default:
		b.WriteString(formatNumber(v))
	}
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// jsonEqual is JSON value equality: numbers compare by value (1 equals 1.0
// and json.Number("1")), arrays element-wise, objects key-wise.
func jsonEqual(a, b any) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case string:
		y, ok := b.(string)
		return ok && x == y
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !jsonEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, xv := range x {
			yv, ok := y[k]
			if !ok || !jsonEqual(xv, yv) {
				return false
			}
		}
		return true
	}
	fa, ok := toFloat(a)
	if !ok {
		return false
	}
	fb, ok := toFloat(b)
	if !ok {
		return false
	}
	if fa != fb {
		return false
	}
	// Beyond 2^53 distinct integers can share a float64: compare exactly.
	if math.Abs(fa) >= maxExact {
		return formatNumber(a) == formatNumber(b)
	}
	return true
}

// utf16Len counts UTF-16 code units, the unit of Java's String.length(),
// which AWS's "10,000 characters" limits count in.
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		if r > 0xFFFF {
			n += 2
		} else {
			n++
		}
	}
	return n
}
