package intrinsics

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// goldenCase is one row of testdata/cases.json. Doc names the source of the
// expected value when it comes from the AWS guide, the States Language
// specification or an output AWS recorded.
type goldenCase struct {
	Name    string          `json:"name"`
	Doc     string          `json:"doc,omitempty"`
	Expr    string          `json:"expr"`
	Input   any             `json:"input,omitempty"`
	Context any             `json:"context,omitempty"`
	Vars    map[string]any  `json:"vars,omitempty"`
	Want    json.RawMessage `json:"want,omitempty"`
	WantErr string          `json:"wantErr,omitempty"`
}

// testResolver resolves the Path subset the tests use: "$", "$$", "$name",
// followed by .field, [n], ['name'] or .['name'] steps.
func testResolver(input, context any, vars map[string]any) func(string) (any, error) {
	return func(path string) (any, error) {
		var cur any
		rest := ""
		switch {
		case strings.HasPrefix(path, "$$"):
			cur, rest = context, path[2:]
		case len(path) > 1 && path[1] != '.' && path[1] != '[':
			end := strings.IndexAny(path[1:], ".[")
			name := path[1:]
			if end >= 0 {
				name, rest = path[1:1+end], path[1+end:]
			}
			v, ok := vars[name]
			if !ok {
				return nil, fmt.Errorf("no variable %q", name)
			}
			cur = v
		default:
			cur, rest = input, path[1:]
		}
		for rest != "" {
			var key string
			idx := -1
			switch {
			case strings.HasPrefix(rest, ".['") || strings.HasPrefix(rest, "['"):
				rest = strings.TrimPrefix(rest, ".")
				end := strings.Index(rest, "']")
				if end < 0 {
					return nil, fmt.Errorf("bad path %q", path)
				}
				key, rest = rest[2:end], rest[end+2:]
			case strings.HasPrefix(rest, "["):
				end := strings.Index(rest, "]")
				n, err := strconv.Atoi(rest[1:max(end, 1)])
				if end < 0 || err != nil {
					return nil, fmt.Errorf("bad path %q", path)
				}
				idx, rest = n, rest[end+1:]
			case strings.HasPrefix(rest, "."):
				end := strings.IndexAny(rest[1:], ".[")
				if end < 0 {
					key, rest = rest[1:], ""
				} else {
					key, rest = rest[1:1+end], rest[1+end:]
				}
			default:
				return nil, fmt.Errorf("bad path %q", path)
			}
			if idx >= 0 {
				a, ok := cur.([]any)
				if !ok || idx >= len(a) {
					return nil, fmt.Errorf("no element %d", idx)
				}
				cur = a[idx]
				continue
			}
			m, ok := cur.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("no field %q", key)
			}
			v, ok := m[key]
			if !ok {
				return nil, fmt.Errorf("no field %q", key)
			}
			cur = v
		}
		return cur, nil
	}
}

func loadCases(t testing.TB) []goldenCase {
	t.Helper()
	b, err := os.ReadFile("testdata/cases.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []goldenCase
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatalf("testdata/cases.json: %v", err)
	}
	return cases
}

// canon renders a value as compact JSON for comparison.
func canon(t *testing.T, v any) string {
	t.Helper()
	s, err := compactJSON(v)
	if err != nil {
		t.Fatalf("cannot render %#v: %v", v, err)
	}
	return s
}

func TestGolden(t *testing.T) {
	cases := loadCases(t)
	seen := map[string]bool{}
	for _, tc := range cases {
		if seen[tc.Name] {
			t.Fatalf("duplicate case name %q", tc.Name)
		}
		seen[tc.Name] = true
		t.Run(tc.Name, func(t *testing.T) {
			if (tc.Want == nil) == (tc.WantErr == "") {
				t.Fatal("a case needs exactly one of want and wantErr")
			}
			got, err := Eval(tc.Expr, testResolver(tc.Input, tc.Context, tc.Vars))
			if tc.WantErr != "" {
				if err == nil {
					t.Fatalf("Eval(%s) = %s, want error containing %q", tc.Expr, canon(t, got), tc.WantErr)
				}
				var ie *Error
				if !errors.As(err, &ie) || ie.Name != "States.IntrinsicFailure" {
					t.Fatalf("error %v is %T, want *Error named States.IntrinsicFailure", err, err)
				}
				if !strings.Contains(err.Error(), tc.WantErr) {
					t.Fatalf("Eval(%s) error\n  %v\nwant it to contain\n  %s", tc.Expr, err, tc.WantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Eval(%s): %v", tc.Expr, err)
			}
			var want any
			if err := json.Unmarshal(tc.Want, &want); err != nil {
				t.Fatal(err)
			}
			if g, w := canon(t, got), canon(t, want); g != w {
				t.Fatalf("Eval(%s)\n got %s\nwant %s", tc.Expr, g, w)
			}
		})
	}
}

func TestIsIntrinsic(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"States.Format('x')", true},
		{"States.UUID()", true},
		{"States.Array($.a, States.Array())", true},
		{"States.Unknown(1)", true}, // a call; Eval reports the unknown name
		{"States.Format", false},
		{"States.Format ('x')", false},
		{"States.(1)", false},
		{"$.a", false},
		{"$$.Execution.Id", false},
		{"$var", false},
		{"Foo.Bar(1)", false},
		{" States.Format('x')", false},
		{"", false},
	} {
		if got := IsIntrinsic(tc.in); got != tc.want {
			t.Errorf("IsIntrinsic(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

// TestNumberTypes checks that every number type a JSON decoder or a Go
// caller may hand over is accepted, and that formatting matches AWS
// ("3", "3.5", integers digit for digit).
func TestNumberTypes(t *testing.T) {
	for _, tc := range []struct {
		name string
		val  any
		expr string
		want string // compact JSON of the result
	}{
		{"json.Number int format", json.Number("3"), "States.Format('{}', $.v)", `"3"`},
		{"json.Number decimal format", json.Number("3.5"), "States.Format('{}', $.v)", `"3.5"`},
		{"json.Number 3.0 format", json.Number("3.0"), "States.Format('{}', $.v)", `"3"`},
		{"json.Number huge int format", json.Number("123456789012345678901234567890"), "States.Format('{}', $.v)", `"123456789012345678901234567890"`},
		{"float64 int format", float64(3), "States.Format('{}', $.v)", `"3"`},
		{"float64 big int format", float64(1e20), "States.Format('{}', $.v)", `"100000000000000000000"`},
		{"float64 tiny format", 1e-7, "States.Format('{}', $.v)", `"1e-7"`},
		{"int format", 42, "States.Format('{}', $.v)", `"42"`},
		{"int64 format", int64(-7), "States.Format('{}', $.v)", `"-7"`},
		{"uint64 format", uint64(18446744073709551615), "States.Format('{}', $.v)", `"18446744073709551615"`},
		{"float32 format", float32(0.5), "States.Format('{}', $.v)", `"0.5"`},
		{"json.Number MathAdd", json.Number("2"), "States.MathAdd($.v, 3)", `5`},
		{"int MathAdd", 2, "States.MathAdd($.v, 3)", `5`},
		{"uint8 ArrayGetItem index", uint8(1), "States.ArrayGetItem(States.Array('a', 'b'), $.v)", `"b"`},
		{"json.Number ArrayRange", json.Number("3"), "States.ArrayRange(1, $.v, 1)", `[1,2,3]`},
		{"json.Number equals float", json.Number("2"), "States.ArrayContains(States.Array(1, 2.0), $.v)", `true`},
		{"json.Number unique", []any{json.Number("1"), float64(1), 1, json.Number("1.0")}, "States.ArrayUnique($.v)", `[1]`},
		{"huge json.Number equality is exact", []any{json.Number("9007199254740993"), json.Number("9007199254740992")}, "States.ArrayLength(States.ArrayUnique($.v))", `2`},
		{"json.Number JsonToString", map[string]any{"n": json.Number("12345678901234567890")}, "States.JsonToString($.v)", `"{\"n\":12345678901234567890}"`},
		{"StringToJson keeps big ints", "[9007199254740993, 1.5]", "States.JsonToString(States.StringToJson($.v))", `"[9007199254740993,1.5]"`},
		{"struct is normalised", struct {
			A []string `json:"a"`
		}{A: []string{"x", "y"}}, "States.JsonToString($.v)", `"{\"a\":[\"x\",\"y\"]}"`},
		{"typed slice is normalised", []string{"x", "y", "x"}, "States.ArrayUnique($.v)", `["x","y"]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resolve := func(path string) (any, error) {
				switch path {
				case "$.v":
					return tc.val, nil
				}
				return nil, fmt.Errorf("unexpected path %s", path)
			}
			got, err := Eval(tc.expr, resolve)
			if err != nil {
				t.Fatal(err)
			}
			if g := canon(t, got); g != tc.want {
				t.Fatalf("got %s, want %s", g, tc.want)
			}
		})
	}
}

func TestArrayRangeLimit(t *testing.T) {
	for _, tc := range []struct {
		expr    string
		wantLen int
		wantErr string
	}{
		{"States.ArrayRange(1, 1000, 1)", 1000, ""},
		{"States.ArrayRange(0, -999, -1)", 1000, ""},
		{"States.ArrayRange(0, 1998, 2)", 1000, ""},
		{"States.ArrayRange(0, 2000, 2)", 0, "1001 items, more than the limit of 1000"},
		{"States.ArrayRange(-9007199254740992, 9007199254740992, 1)", 0, "more than the limit of 1000"},
		{"States.ArrayRange(0, 1e300, 1)", 0, "out of range"},
	} {
		got, err := Eval(tc.expr, nil)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: error %v, want %q", tc.expr, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.expr, err)
			continue
		}
		if n := len(got.([]any)); n != tc.wantLen {
			t.Errorf("%s: %d items, want %d", tc.expr, n, tc.wantLen)
		}
	}
}

func TestMathRandom(t *testing.T) {
	// Docs example: start 1, end 999; the end is exclusive.
	for i := 0; i < 500; i++ {
		v, err := Eval("States.MathRandom(1, 999)", nil)
		if err != nil {
			t.Fatal(err)
		}
		f := v.(float64)
		if f < 1 || f >= 999 || f != float64(int64(f)) {
			t.Fatalf("MathRandom(1, 999) = %v, want an integer in [1, 999)", f)
		}
	}
	// A span of one has one possible value: the end is never returned.
	for i := 0; i < 50; i++ {
		v, err := Eval("States.MathRandom(-5, -4)", nil)
		if err != nil || v.(float64) != -5 {
			t.Fatalf("MathRandom(-5, -4) = %v, %v; want -5", v, err)
		}
	}
	// Non-integer bounds are rounded: [13, 45).
	for i := 0; i < 200; i++ {
		v, err := Eval("States.MathRandom(12.5, 44.51)", nil)
		if err != nil {
			t.Fatal(err)
		}
		if f := v.(float64); f < 13 || f >= 45 {
			t.Fatalf("MathRandom(12.5, 44.51) = %v, want in [13, 45)", f)
		}
	}
	// The same seed gives the same number; all draws stay in range.
	seen := map[float64]bool{}
	for seed := 0; seed < 50; seed++ {
		expr := fmt.Sprintf("States.MathRandom(0, 999, %d)", seed)
		a, err := Eval(expr, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := Eval(expr, nil)
		if a != b {
			t.Fatalf("%s gave %v then %v; a seed must make it deterministic", expr, a, b)
		}
		if f := a.(float64); f < 0 || f >= 999 {
			t.Fatalf("%s = %v, out of [0, 999)", expr, f)
		}
		seen[a.(float64)] = true
	}
	if len(seen) < 10 {
		t.Fatalf("50 seeds gave only %d distinct values", len(seen))
	}
	if _, err := Eval("States.MathRandom(1, 2, 'x')", nil); err == nil || !strings.Contains(err.Error(), "argument 3 must be an integer") {
		t.Fatalf("string seed: error %v", err)
	}
}

func TestUUID(t *testing.T) {
	v4 := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for i := 0; i < 100; i++ {
		v, err := Eval("States.UUID()", nil)
		if err != nil {
			t.Fatal(err)
		}
		s := v.(string)
		if !v4.MatchString(s) {
			t.Fatalf("States.UUID() = %q, not a version 4 UUID", s)
		}
		if seen[s] {
			t.Fatalf("States.UUID() repeated %q", s)
		}
		seen[s] = true
	}
}

// TestDataLimits checks the 10,000-character limits, counted like Java's
// String.length() (UTF-16 code units).
func TestDataLimits(t *testing.T) {
	resolveS := func(s string) func(string) (any, error) {
		return func(string) (any, error) { return s, nil }
	}
	emoji := "😀" // two UTF-16 code units
	for _, tc := range []struct {
		name    string
		expr    string
		data    string
		wantErr string
	}{
		{"encode at limit", "States.Base64Encode($.s)", strings.Repeat("a", 10000), ""},
		{"encode over limit", "States.Base64Encode($.s)", strings.Repeat("a", 10001), "States.Base64Encode: the string has 10001 characters, more than the limit of 10000"},
		{"encode multibyte at limit", "States.Base64Encode($.s)", strings.Repeat("é", 10000), ""},
		{"encode surrogate pairs over limit", "States.Base64Encode($.s)", strings.Repeat(emoji, 5001), "10002 characters"},
		{"decode over limit", "States.Base64Decode($.s)", strings.Repeat("A", 10004), "States.Base64Decode: the string has 10004 characters"},
		{"hash at limit", "States.Hash($.s, 'MD5')", strings.Repeat("a", 10000), ""},
		{"hash over limit", "States.Hash($.s, 'MD5')", strings.Repeat("a", 10001), "States.Hash: the data has 10001 characters"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Eval(tc.expr, resolveS(tc.data))
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func TestBase64RoundTrip(t *testing.T) {
	for _, s := range []string{"", "a", "ab", "abc", "Data to encode", "é😀 <&> '{}'"} {
		got, err := Eval("States.Base64Decode(States.Base64Encode($.s))", func(string) (any, error) { return s, nil })
		if err != nil || got != s {
			t.Errorf("round trip of %q = %q, %v", s, got, err)
		}
	}
	// Bytes that are not UTF-8 become U+FFFD, as a Java String would.
	got, err := Eval("States.Base64Decode('/w==')", nil)
	if err != nil || got != "\uFFFD" {
		t.Errorf("decode of 0xFF = %q, %v", got, err)
	}
}

func TestNestingLimit(t *testing.T) {
	build := func(depth int) string {
		return strings.Repeat("States.Array(", depth) + strings.Repeat(")", depth)
	}
	if _, err := Eval(build(maxNesting), nil); err != nil {
		t.Fatalf("depth %d: %v", maxNesting, err)
	}
	_, err := Eval(build(maxNesting+1), nil)
	if err == nil || !strings.Contains(err.Error(), "nested more than") {
		t.Fatalf("depth %d: error %v, want a nesting error", maxNesting+1, err)
	}
}

func TestResolverCalls(t *testing.T) {
	var paths []string
	resolve := func(p string) (any, error) {
		paths = append(paths, p)
		return "v", nil
	}
	_, err := Eval(`States.Format('{}{}{}{}{}', $, $.a.b, $$.Execution.Id, $var.f, $['x y'])`, resolve)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"$", "$.a.b", "$$.Execution.Id", "$var.f", "$['x y']"}
	if strings.Join(paths, "|") != strings.Join(want, "|") {
		t.Fatalf("resolver saw %q, want %q (verbatim, left to right)", paths, want)
	}
	if _, err := Eval("States.Array($.a)", nil); err == nil || !strings.Contains(err.Error(), "no resolver") {
		t.Fatalf("nil resolver: error %v", err)
	}
}

func TestErrorShape(t *testing.T) {
	_, err := Eval("States.ArrayGetItem(States.Array(1, 2, 3), 3)", nil)
	var ie *Error
	if !errors.As(err, &ie) {
		t.Fatalf("error %T, want *Error", err)
	}
	if ie.Name != "States.IntrinsicFailure" || ie.Cause != "States.ArrayGetItem: index 3 is out of range for an array of length 3 (valid: 0 to 2)" {
		t.Fatalf("got Name %q Cause %q", ie.Name, ie.Cause)
	}
	if err.Error() != ie.Name+": "+ie.Cause {
		t.Fatalf("Error() = %q", err.Error())
	}
}

// TestFormatJSONIsRaw guards the difference between States.Format (natural
// string form) and States.JsonToString (JSON text) for the same value.
func TestFormatJSONIsRaw(t *testing.T) {
	resolve := func(string) (any, error) { return map[string]any{"b": "x", "a": []any{1.0, nil}}, nil }
	f, err := Eval("States.Format('{}', $.o)", resolve)
	if err != nil {
		t.Fatal(err)
	}
	j, err := Eval("States.JsonToString($.o)", resolve)
	if err != nil {
		t.Fatal(err)
	}
	if f != "{a=[1, null], b=x}" || j != `{"a":[1,null],"b":"x"}` {
		t.Fatalf("Format gave %q, JsonToString gave %q", f, j)
	}
}
