package asl

import (
	"fmt"
	"testing"
)

// Each rule is tried against the input; the state goes to "Yes" when it
// matches and to "No" (Default) otherwise.
func TestChoiceOperators(t *testing.T) {
	input := `{"s":"beta","n":10,"f":2.5,"b":true,"ts":"2026-01-02T03:04:05Z","ts2":"2026-01-02T03:04:06Z","nul":null,
		"other":"beta","m":10,"arr":[1,2],"file":"log-2026.txt","star":"a*b"}`
	tests := []struct {
		rule string
		want bool
	}{
		{`"Variable":"$.s","StringEquals":"beta"`, true},
		{`"Variable":"$.s","StringEquals":"alpha"`, false},
		{`"Variable":"$.s","StringLessThan":"gamma"`, true},
		{`"Variable":"$.s","StringGreaterThan":"alpha"`, true},
		{`"Variable":"$.s","StringLessThanEquals":"beta"`, true},
		{`"Variable":"$.s","StringGreaterThanEquals":"zeta"`, false},
		{`"Variable":"$.s","StringEqualsPath":"$.other"`, true},
		{`"Variable":"$.s","StringLessThanPath":"$.other"`, false},
		{`"Variable":"$.file","StringMatches":"log-*.txt"`, true},
		{`"Variable":"$.file","StringMatches":"*.csv"`, false},
		{`"Variable":"$.star","StringMatches":"a\\*b"`, true},
		{`"Variable":"$.file","StringMatches":"log-2026.txt"`, true},
		{`"Variable":"$.n","NumericEquals":10`, true},
		{`"Variable":"$.n","NumericEquals":10.0`, true},
		{`"Variable":"$.f","NumericLessThan":3`, true},
		{`"Variable":"$.f","NumericGreaterThan":3`, false},
		{`"Variable":"$.n","NumericLessThanEquals":10`, true},
		{`"Variable":"$.n","NumericGreaterThanEquals":11`, false},
		{`"Variable":"$.n","NumericEqualsPath":"$.m"`, true},
		{`"Variable":"$.f","NumericGreaterThanPath":"$.m"`, false},
		{`"Variable":"$.s","NumericEquals":10`, false}, // type mismatch is false
		{`"Variable":"$.b","BooleanEquals":true`, true},
		{`"Variable":"$.b","BooleanEqualsPath":"$.b"`, true},
		{`"Variable":"$.ts","TimestampEquals":"2026-01-02T03:04:05Z"`, true},
		{`"Variable":"$.ts","TimestampLessThan":"2026-01-02T03:04:06Z"`, true},
		{`"Variable":"$.ts","TimestampGreaterThan":"2026-01-02T03:04:06Z"`, false},
		{`"Variable":"$.ts","TimestampLessThanEquals":"2026-01-02T03:04:05Z"`, true},
		{`"Variable":"$.ts","TimestampGreaterThanEquals":"2026-01-02T03:04:05.000Z"`, true},
		{`"Variable":"$.ts","TimestampLessThanPath":"$.ts2"`, true},
		{`"Variable":"$.s","TimestampEquals":"2026-01-02T03:04:05Z"`, false},
		{`"Variable":"$.nul","IsNull":true`, true},
		{`"Variable":"$.s","IsNull":true`, false},
		{`"Variable":"$.s","IsPresent":true`, true},
		{`"Variable":"$.missing","IsPresent":false`, true},
		{`"Variable":"$.missing","IsPresent":true`, false},
		{`"Variable":"$.f","IsNumeric":true`, true},
		{`"Variable":"$.s","IsNumeric":false`, true},
		{`"Variable":"$.s","IsString":true`, true},
		{`"Variable":"$.b","IsBoolean":true`, true},
		{`"Variable":"$.ts","IsTimestamp":true`, true},
		{`"Variable":"$.s","IsTimestamp":true`, false},
		{`"And":[{"Variable":"$.n","NumericGreaterThan":1},{"Variable":"$.b","BooleanEquals":true}]`, true},
		{`"And":[{"Variable":"$.n","NumericGreaterThan":1},{"Variable":"$.b","BooleanEquals":false}]`, false},
		{`"Or":[{"Variable":"$.n","NumericGreaterThan":100},{"Variable":"$.b","BooleanEquals":true}]`, true},
		{`"Not":{"Variable":"$.s","StringEquals":"beta"}`, false},
		{`"Not":{"Or":[{"Variable":"$.n","NumericEquals":1},{"Variable":"$.n","NumericEquals":2}]}`, true},
		{`"Variable":"$$.State.Name","StringEquals":"C"`, true},
		{`"Variable":"$.arr[1]","NumericEquals":2`, true},
		// Every *Path variant compares with the value its path selects.
		{`"Variable":"$.s","StringGreaterThanPath":"$.other"`, false},
		{`"Variable":"$.s","StringLessThanEqualsPath":"$.other"`, true},
		{`"Variable":"$.s","StringGreaterThanEqualsPath":"$.file"`, false},
		{`"Variable":"$.f","NumericLessThanPath":"$.m"`, true},
		{`"Variable":"$.n","NumericLessThanEqualsPath":"$.m"`, true},
		{`"Variable":"$.f","NumericGreaterThanEqualsPath":"$.m"`, false},
		{`"Variable":"$.ts","TimestampEqualsPath":"$.ts2"`, false},
		{`"Variable":"$.ts2","TimestampGreaterThanPath":"$.ts"`, true},
		{`"Variable":"$.ts2","TimestampLessThanEqualsPath":"$.ts"`, false},
		{`"Variable":"$.ts","TimestampGreaterThanEqualsPath":"$.ts"`, true},
		{`"Variable":"$.n","BooleanEqualsPath":"$.b"`, false},
		{`"Variable":"$.s","IsBoolean":true`, false},
		{`"Variable":"$.n","IsString":true`, false},
	}
	for _, tc := range tests {
		t.Run(tc.rule, func(t *testing.T) {
			def := fmt.Sprintf(`{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{%s,"Next":"Yes"}],"Default":"No"},
				"Yes":{"Type":"Pass","Result":true,"End":true},"No":{"Type":"Pass","Result":false,"End":true}}}`, tc.rule)
			ex := runDef(t, def, input, Options{})
			if ex.Status != StatusSucceeded {
				t.Fatalf("%s %s %s", ex.Status, ex.Error, ex.Cause)
			}
			if got := string(ex.Output) == "true"; got != tc.want {
				t.Fatalf("matched=%v, want %v", got, tc.want)
			}
		})
	}
}

func TestChoiceErrors(t *testing.T) {
	tests := []struct{ name, def, input, wantErr string }{
		{"no match and no Default", `{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Variable":"$.n","NumericEquals":1,"Next":"E"}]},"E":{"Type":"Succeed"}}}`, `{"n":2}`, ErrNoChoiceMatched},
		{"missing variable", `{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Variable":"$.x","NumericEquals":1,"Next":"E"}],"Default":"E"},"E":{"Type":"Succeed"}}}`, `{"n":2}`, ErrRuntime},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ex := runDef(t, tc.def, tc.input, Options{})
			if ex.Status != StatusFailed || ex.Error != tc.wantErr {
				t.Fatalf("got %s %s (%s), want FAILED %s", ex.Status, ex.Error, ex.Cause, tc.wantErr)
			}
		})
	}
}

func TestChoiceAssignAndOutputPath(t *testing.T) {
	def := `{"StartAt":"C","States":{"C":{"Type":"Choice","InputPath":"$.in","OutputPath":"$.v","Assign":{"all":1},
		"Choices":[{"Variable":"$.v","NumericEquals":3,"Next":"E","Assign":{"rule.$":"$.v"}}]},
		"E":{"Type":"Pass","Parameters":{"v.$":"$","rule.$":"$rule","all.$":"$all"},"End":true}}}`
	ex := runDef(t, def, `{"in":{"v":3}}`, Options{})
	if ex.Status != StatusSucceeded || !jsonEq(t, ex.Output, `{"v":3,"rule":3,"all":1}`) {
		t.Fatalf("%s %s %s %s", ex.Status, ex.Output, ex.Error, ex.Cause)
	}
}

func TestWait(t *testing.T) {
	tests := []struct {
		name, state, input string
		want               string // virtual time after the wait
	}{
		{"Seconds", `"Seconds":10`, `{}`, "2026-01-02T03:04:15Z"},
		{"SecondsPath", `"SecondsPath":"$.s"`, `{"s":90}`, "2026-01-02T03:05:35Z"},
		{"Timestamp", `"Timestamp":"2026-01-02T04:00:00Z"`, `{}`, "2026-01-02T04:00:00Z"},
		{"TimestampPath", `"TimestampPath":"$.t"`, `{"t":"2026-01-03T00:00:00Z"}`, "2026-01-03T00:00:00Z"},
		{"Timestamp in the past does not wait", `"Timestamp":"2020-01-01T00:00:00Z"`, `{}`, "2026-01-02T03:04:05Z"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock := NewVirtualClock(epoch)
			def := fmt.Sprintf(`{"StartAt":"W","States":{"W":{"Type":"Wait",%s,"Next":"P"},"P":{"Type":"Pass","Parameters":{"t.$":"$$.State.EnteredTime"},"End":true}}}`, tc.state)
			ex := runDef(t, def, tc.input, Options{Clock: clock})
			if ex.Status != StatusSucceeded {
				t.Fatalf("%s %s %s", ex.Status, ex.Error, ex.Cause)
			}
			if got := clock.Now().Format("2006-01-02T15:04:05Z07:00"); got != tc.want {
				t.Fatalf("clock %s, want %s", got, tc.want)
			}
		})
	}
}
