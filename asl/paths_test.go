package asl

import (
	"strings"
	"testing"
)

// Input and output processing, from the spec's "Input and Output
// Processing" section and the developer guide's examples.
func TestInputOutputProcessing(t *testing.T) {
	tests := []struct {
		name, def, input string
		want             string // output JSON when SUCCEEDED
		wantErr          string // error name when FAILED
		wantCause        string // substring of the cause
	}{
		{
			name:  "InputPath selects, default ResultPath replaces",
			def:   `{"StartAt":"P","States":{"P":{"Type":"Pass","InputPath":"$.a","End":true}}}`,
			input: `{"a":{"b":1},"c":2}`, want: `{"b":1}`,
		},
		{
			name:  "ResultPath merges into the raw input, not the effective input",
			def:   `{"StartAt":"P","States":{"P":{"Type":"Pass","InputPath":"$.a","Result":"x","ResultPath":"$.a.r","End":true}}}`,
			input: `{"a":{"b":1},"c":2}`, want: `{"a":{"b":1,"r":"x"},"c":2}`,
		},
		{
			name:  "ResultPath creates missing objects",
			def:   `{"StartAt":"P","States":{"P":{"Type":"Pass","Result":7,"ResultPath":"$.x.y.z","End":true}}}`,
			input: `{}`, want: `{"x":{"y":{"z":7}}}`,
		},
		{
			name:  "ResultPath null discards the result",
			def:   `{"StartAt":"P","States":{"P":{"Type":"Pass","Result":7,"ResultPath":null,"End":true}}}`,
			input: `{"k":1}`, want: `{"k":1}`,
		},
		{
			name:  "InputPath null gives {}",
			def:   `{"StartAt":"P","States":{"P":{"Type":"Pass","InputPath":null,"End":true}}}`,
			input: `{"k":1}`, want: `{}`,
		},
		{
			name:  "OutputPath selects and null gives {}",
			def:   `{"StartAt":"P","States":{"P":{"Type":"Pass","OutputPath":"$.k","Next":"Q"},"Q":{"Type":"Pass","Result":{"z":1},"OutputPath":null,"End":true}}}`,
			input: `{"k":{"v":1}}`, want: `{}`,
		},
		{
			name:  "Parameters static, path, nested and array values",
			def:   `{"StartAt":"P","States":{"P":{"Type":"Pass","Parameters":{"s":"lit","n.$":"$.n","o":{"x.$":"$.o.x","y":[1,{"z.$":"$.n"}]}},"End":true}}}`,
			input: `{"n":3,"o":{"x":"X"}}`, want: `{"s":"lit","n":3,"o":{"x":"X","y":[1,{"z":3}]}}`,
		},
		{
			name:  "Parameters filter expression yields an array",
			def:   `{"StartAt":"P","States":{"P":{"Type":"Pass","Parameters":{"failed.$":"$.results[?(@.failed == true)].id"},"End":true}}}`,
			input: `{"results":[{"id":1,"failed":true},{"id":2,"failed":false},{"id":3,"failed":true}]}`, want: `{"failed":[1,3]}`,
		},
		{
			name:  "indefinite path with no match yields an empty array",
			def:   `{"StartAt":"P","States":{"P":{"Type":"Pass","Parameters":{"x.$":"$.a[*].b"},"End":true}}}`,
			input: `{"a":[]}`, want: `{"x":[]}`,
		},
		{
			name:  "context object",
			def:   `{"StartAt":"P","States":{"P":{"Type":"Pass","Parameters":{"id.$":"$$.Execution.Id","name.$":"$$.Execution.Name","start.$":"$$.Execution.StartTime","in.$":"$$.Execution.Input.k","sm.$":"$$.StateMachine.Name","smid.$":"$$.StateMachine.Id","state.$":"$$.State.Name","entered.$":"$$.State.EnteredTime","retry.$":"$$.State.RetryCount"},"End":true}}}`,
			input: `{"k":"v"}`,
			want: `{"id":"arn:aws:states:us-east-1:123456789012:execution:StateMachine:test-exec","name":"test-exec","start":"2026-01-02T03:04:05.000Z","in":"v",
				"sm":"StateMachine","smid":"arn:aws:states:us-east-1:123456789012:stateMachine:StateMachine","state":"P","entered":"2026-01-02T03:04:05.000Z","retry":0}`,
		},
		{
			name: "variables: Assign, then read in a later state, with $ the state result",
			def: `{"StartAt":"A","States":{"A":{"Type":"Pass","Result":{"v":5},"Assign":{"x.$":"$.v","lit":"L"},"ResultPath":null,"Next":"B"},
				"B":{"Type":"Pass","Parameters":{"x.$":"$x","lit.$":"$lit","in.$":"$.k"},"End":true}}}`,
			input: `{"k":1}`, want: `{"x":5,"lit":"L","in":1}`,
		},
		{
			name: "Assign sees the variables as they were on entering the state",
			def: `{"StartAt":"A","States":{"A":{"Type":"Pass","Assign":{"x":1},"Next":"B"},
				"B":{"Type":"Pass","Assign":{"x":2,"old.$":"$x"},"Next":"C"},
				"C":{"Type":"Pass","Parameters":{"x.$":"$x","old.$":"$old"},"End":true}}}`,
			input: `{}`, want: `{"x":2,"old":1}`,
		},
		{
			name:  "unknown variable fails with States.Runtime",
			def:   `{"StartAt":"A","States":{"A":{"Type":"Pass","Parameters":{"x.$":"$nope"},"End":true}}}`,
			input: `{}`, wantErr: ErrRuntime, wantCause: "$nope",
		},
		{
			name:  "intrinsic function in Parameters",
			def:   `{"StartAt":"P","States":{"P":{"Type":"Pass","Parameters":{"msg.$":"States.Format('hello {} from {}', $.who, $$.State.Name)"},"End":true}}}`,
			input: `{"who":"ann"}`, want: `{"msg":"hello ann from P"}`,
		},
		{
			name:  "failing intrinsic is States.IntrinsicFailure",
			def:   `{"StartAt":"P","States":{"P":{"Type":"Pass","Parameters":{"x.$":"States.ArrayGetItem($.a, 5)"},"End":true}}}`,
			input: `{"a":[1]}`, wantErr: ErrIntrinsicFailure,
		},
		{
			name:  "missing path in Parameters is States.Runtime",
			def:   `{"StartAt":"P","States":{"P":{"Type":"Pass","Parameters":{"x.$":"$.missing"},"End":true}}}`,
			input: `{"a":1}`, wantErr: ErrRuntime, wantCause: `An error occurred while executing the state 'P' (entered at the event id #2). The JSONPath '$.missing' specified for the field 'x.$' could not be found in the input '{"a":1}'`,
		},
		{
			name:  "missing InputPath is States.Runtime",
			def:   `{"StartAt":"P","States":{"P":{"Type":"Pass","InputPath":"$.nope","End":true}}}`,
			input: `{}`, wantErr: ErrRuntime,
		},
		{
			name:  "ResultPath into a non-object is States.ResultPathMatchFailure",
			def:   `{"StartAt":"P","States":{"P":{"Type":"Pass","Result":1,"ResultPath":"$.a.b","End":true}}}`,
			input: `{"a":"str"}`, wantErr: ErrResultPathMatchFailure,
		},
		{
			name: "Task: Parameters, ResultSelector, ResultPath, OutputPath in order",
			def: `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:echo",
				"InputPath":"$.in","Parameters":{"p.$":"$.v"},"ResultSelector":{"got.$":"$.p"},"ResultPath":"$.res","OutputPath":"$.res","End":true}}}`,
			input: `{"in":{"v":42},"other":true}`, want: `{"got":42}`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ex := runDef(t, tc.def, tc.input, Options{Tasks: map[string]TaskHandler{"echo": echo}})
			if tc.wantErr != "" {
				if ex.Status != StatusFailed || ex.Error != tc.wantErr || !strings.Contains(ex.Cause, tc.wantCause) {
					t.Fatalf("got %s %q %q, want FAILED %q containing %q", ex.Status, ex.Error, ex.Cause, tc.wantErr, tc.wantCause)
				}
				return
			}
			if ex.Status != StatusSucceeded {
				t.Fatalf("status %s: %s %s", ex.Status, ex.Error, ex.Cause)
			}
			if !jsonEq(t, ex.Output, tc.want) {
				t.Fatalf("output %s, want %s", ex.Output, tc.want)
			}
		})
	}
}

func TestReferencePathsOnly(t *testing.T) {
	for _, p := range []string{"$", "$.a", "$.a.b[0]", "$['a b'].c", "$[1]"} {
		if _, err := compileRefPath(p); err != nil {
			t.Errorf("%q: %v", p, err)
		}
	}
	for _, p := range []string{"$.a[*]", "$..a", "$.a[?(@.x == 1)]", "$.a[0:2]", "$.a[0,1]", "a.b", "$.a[-1]"} {
		if _, err := compileRefPath(p); err == nil {
			t.Errorf("%q: accepted as a reference path", p)
		}
	}
}
