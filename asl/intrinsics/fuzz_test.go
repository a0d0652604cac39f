package intrinsics

import (
	"encoding/json"
	"errors"
	"testing"
)

// FuzzEval checks that no expression makes Eval panic, that every failure
// is an *Error named States.IntrinsicFailure, and that every success is a
// value encoding/json can render.
func FuzzEval(f *testing.F) {
	for _, tc := range loadCases(f) {
		f.Add(tc.Expr)
	}
	for _, s := range []string{
		"States.Format('{}{}', $.a, $.s)",
		"States.Array($['x'], $.a[0], $..b, $.a[?(@.x == ',')])",
		"States.Format('\\{}{}\\}', 1)",
		"States.MathRandom(-9007199254740992, 9007199254740992, -3)",
		"States.ArrayRange(-1e308, 1e308, 1e-308)",
		"States.StringToJson('[[[[[[[[[[1]]]]]]]]]]')",
		"States.Array(1e999, -0, 123456789012345678901234567890)",
		"States.Hash($.o, 'SHA-512')",
		"States.ArrayPartition($.a, 9007199254740993)",
		"States.(",
		"States.Array('\\",
		"States.Array($[",
	} {
		f.Add(s)
	}
	doc := map[string]any{
		"a": []any{1.0, "two", nil, true, map[string]any{"x": []any{}}},
		"s": "{\"k\": [1, 2]}",
		"o": map[string]any{"n": json.Number("123456789012345678901"), "f": 1.5},
	}
	resolve := func(path string) (any, error) {
		switch path {
		case "$":
			return doc, nil
		case "$.a":
			return doc["a"], nil
		case "$.s":
			return doc["s"], nil
		case "$.o":
			return doc["o"], nil
		case "$$.Execution.Id":
			return "arn:aws:states:us-east-1:123456789012:execution:sm:run", nil
		}
		return nil, errors.New("no such path")
	}
	f.Fuzz(func(t *testing.T, expr string) {
		_ = IsIntrinsic(expr)
		v, err := Eval(expr, resolve)
		if err != nil {
			var ie *Error
			if !errors.As(err, &ie) || ie.Name != FailureName || ie.Cause == "" {
				t.Fatalf("Eval(%q) error %#v is not a named *Error", expr, err)
			}
			return
		}
		if _, err := compactJSON(v); err != nil {
			t.Fatalf("Eval(%q) = %#v, which is not JSON: %v", expr, v, err)
		}
	})
}
