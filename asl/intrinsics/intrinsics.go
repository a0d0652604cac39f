// Package intrinsics evaluates the intrinsic functions of the Amazon States
// Language (JSONPath query language): States.Format, States.StringToJson,
// States.JsonToString, States.Array, States.ArrayPartition,
// States.ArrayContains, States.ArrayRange, States.ArrayGetItem,
// States.ArrayLength, States.ArrayUnique, States.Base64Encode,
// States.Base64Decode, States.Hash, States.JsonMerge, States.MathRandom,
// States.MathAdd, States.StringSplit and States.UUID.
//
// The package is self-contained: it parses an expression such as
//
//	States.Format('Hello, {}!', States.ArrayGetItem($.names, 0))
//
// with a real tokenizer and recursive-descent parser, asks the caller to
// resolve every Path argument, and evaluates the calls inner-first.
//
// # Values
//
// Values are JSON-decoded Go values: map[string]any, []any, string, bool,
// nil, and numbers as float64, json.Number or any Go integer type. Values of
// other Go types returned by the resolver are normalised through a JSON
// round trip. Numbers created by this package are float64, except where a
// float64 would lose precision (an integer literal or a StringToJson integer
// beyond ±2^53), where a json.Number is returned instead.
//
// # Compatibility notes
//
// Behaviour follows the AWS Step Functions developer guide and the States
// Language specification, and, where they are silent, outputs AWS recorded:
// States.Format renders objects and arrays the way AWS does
// ({"Arg1":1,"Arg2":[]} becomes "{Arg1=1, Arg2=[]}"), States.StringSplit
// drops empty tokens, States.StringToJson of "" or " " is null, and the
// integer intrinsics round non-integers half up (Java's Math.round).
// Known differences: object keys come out sorted (AWS keeps input order),
// and a seeded States.MathRandom is deterministic but does not reproduce
// AWS's numbers.
//
// # Errors
//
// Every failure (syntax, unknown function, argument count or type, range,
// resolver failure) is returned as *Error with Name "States.IntrinsicFailure",
// the error name the States Language specifies for a failed intrinsic.
package intrinsics

import (
	"fmt"
	"strings"
)

// FailureName is the States Language error name of every *Error returned by
// this package.
const FailureName = "States.IntrinsicFailure"

// Error is a failed intrinsic: Name is always "States.IntrinsicFailure" and
// Cause says which function failed and why (suitable as the Cause of an ASL
// failure event).
type Error struct{ Name, Cause string }

func (e *Error) Error() string { return e.Name + ": " + e.Cause }

func failf(format string, args ...any) *Error {
	return &Error{Name: FailureName, Cause: fmt.Sprintf(format, args...)}
}

// IsIntrinsic reports whether s is an intrinsic call expression: it begins
// with "States.", continues with a function name of the characters
// A-Z a-z 0-9 . _ and is immediately followed by "(". It does not check the
// rest of the expression; Eval does.
func IsIntrinsic(s string) bool {
	const p = "States."
	if !strings.HasPrefix(s, p) {
		return false
	}
	i := len(p)
	for i < len(s) && isIdentChar(s[i]) {
		i++
	}
	return i > len(p) && i < len(s) && s[i] == '('
}

// Eval parses and evaluates the intrinsic expression expr.
//
// Path arguments ("$", "$.a.b", "$['a b']", "$$.Execution.Id", and workflow
// variable references "$name" / "$name.field") are passed verbatim to
// resolve, once per occurrence, left to right; resolve may be nil when expr
// has no Path argument. Eval has no side effects besides calling resolve and
// is safe for concurrent use. The result may share sub-values (elements,
// nested objects) with the values resolve returned: treat both as read-only.
func Eval(expr string, resolve func(path string) (any, error)) (any, error) {
	n, err := parse(expr)
	if err != nil {
		return nil, err
	}
	return n.eval(resolve)
}

// Check parses expr without evaluating it, as a definition is validated:
// syntax, escapes in string literals, function names and argument counts.
// It returns the same *Error that Eval would for those problems.
func Check(expr string) error {
	if _, err := parse(expr); err != nil {
		return err
	}
	return nil
}
