package asl

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
)

// TestValidationGolden checks that every problem of a bad definition is
// reported at once, with its location.
func TestValidationGolden(t *testing.T) {
	def, err := os.ReadFile("testdata/invalid.asl.json")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Parse(def)
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("Parse error %v is not a *ValidationError", err)
	}
	b, _ := json.Marshal(ve.Problems)
	golden(t, "invalid.problems.golden.json", b)
}

func TestValidation(t *testing.T) {
	pass := `{"Type":"Pass","End":true}`
	tests := []struct {
		name, def, want string
	}{
		{"not JSON", `{`, "not valid JSON"},
		{"no StartAt", `{"States":{"A":` + pass + `}}`, "StartAt is required"},
		{"StartAt unknown", `{"StartAt":"B","States":{"A":` + pass + `}}`, `StartAt "B" is not a state`},
		{"unknown Next", `{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"}}}`, `MISSING_TRANSITION_TARGET: Missing 'Next' target: B`},
		{"unreachable", `{"StartAt":"A","States":{"A":` + pass + `,"B":` + pass + `}}`, "UNREACHABLE_STATE: State 'B' is not reachable"},
		{"missing End/Next", `{"StartAt":"A","States":{"A":{"Type":"Pass"}}}`, "must have Next or End"},
		{"both End and Next", `{"StartAt":"A","States":{"A":{"Type":"Pass","End":true,"Next":"A"}}}`, "both Next and End"},
		{"field invalid for type", `{"StartAt":"A","States":{"A":{"Type":"Succeed","Resource":"arn:x"}}}`, `field "Resource" is not valid for a Succeed state`},
		{"Result on Task", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:lambda:r:1:function:f","Result":1,"End":true}}}`, `field "Result" is not valid for a Task state`},
		{"unknown type", `{"StartAt":"A","States":{"A":{"Type":"Nope","End":true}}}`, "unknown state type"},
		{"States.ALL not alone", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:lambda:r:1:function:f","End":true,"Retry":[{"ErrorEquals":["States.ALL","X"]}]}}}`, "must appear alone"},
		{"States.ALL not last", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:lambda:r:1:function:f","End":true,"Catch":[{"ErrorEquals":["States.ALL"],"Next":"A"},{"ErrorEquals":["X"],"Next":"A"}]}}}`, "must be the last one"},
		{"bad ResultPath", `{"StartAt":"A","States":{"A":{"Type":"Pass","ResultPath":"$..x","End":true}}}`, "not a reference path"},
		{"ResultPath to the context", `{"StartAt":"A","States":{"A":{"Type":"Pass","ResultPath":"$$.x","End":true}}}`, "must refer to the state's input"},
		{"bad InputPath", `{"StartAt":"A","States":{"A":{"Type":"Pass","InputPath":"x","End":true}}}`, "must start with '$'"},
		{"bad Parameters path", `{"StartAt":"A","States":{"A":{"Type":"Pass","Parameters":{"x.$":"$.a[?(@.b ==]"},"End":true}}}`, "Parameters.x.$"},
		{"Choice rule without Next", `{"StartAt":"A","States":{"A":{"Type":"Choice","Choices":[{"Variable":"$.a","IsPresent":true}]}}}`, "must have Next"},
		{"Choice two operators", `{"StartAt":"A","States":{"A":{"Type":"Choice","Choices":[{"Variable":"$.a","IsPresent":true,"IsNull":true,"Next":"A"}]}}}`, "exactly one comparison operator"},
		{"Choice Default unknown", `{"StartAt":"A","States":{"A":{"Type":"Choice","Choices":[{"Variable":"$.a","IsPresent":true,"Next":"A"}],"Default":"Z"}}}`, `MISSING_TRANSITION_TARGET: Missing 'Default' target: Z`},
		{"nested Next", `{"StartAt":"A","States":{"A":{"Type":"Choice","Choices":[{"Not":{"Variable":"$.a","IsPresent":true,"Next":"A"},"Next":"A"}]}}}`, "only allowed in a top-level choice rule"},
		{"Wait without duration", `{"StartAt":"A","States":{"A":{"Type":"Wait","End":true}}}`, "exactly one of Seconds"},
		{"Fail Error and ErrorPath", `{"StartAt":"A","States":{"A":{"Type":"Fail","Error":"E","ErrorPath":"$.e"}}}`, "mutually exclusive"},
		{"Task without Resource", `{"StartAt":"A","States":{"A":{"Type":"Task","End":true}}}`, "must have a Resource"},
		{"Heartbeat not below timeout", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:lambda:r:1:function:f","TimeoutSeconds":5,"HeartbeatSeconds":5,"End":true}}}`, "smaller than TimeoutSeconds"},
		{"MaxAttempts negative", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:lambda:r:1:function:f","End":true,"Retry":[{"ErrorEquals":["X"],"MaxAttempts":-1}]}}}`, "must not be negative"},
		{"Map without processor", `{"StartAt":"A","States":{"A":{"Type":"Map","End":true}}}`, "needs an ItemProcessor"},
		{"ItemReader on an inline Map", `{"StartAt":"A","States":{"A":{"Type":"Map","End":true,"ItemReader":{"Resource":"arn:aws:states:::s3:getObject","Parameters":{"Bucket":"b","Key":"k"}},"ItemProcessor":{"StartAt":"P","States":{"P":` + pass + `}}}}}`, "only valid when ItemProcessor.ProcessorConfig.Mode is DISTRIBUTED"},
		{"Next leaving the Map scope", `{"StartAt":"A","States":{"A":{"Type":"Map","End":true,"ItemProcessor":{"StartAt":"P","States":{"P":{"Type":"Pass","Next":"A"}}}}}}`, `MISSING_TRANSITION_TARGET: Missing 'Next' target: A`},
		{"duplicate state names across scopes", `{"StartAt":"A","States":{"A":{"Type":"Parallel","End":true,"Branches":[{"StartAt":"A","States":{"A":` + pass + `}}]}}}`, "DUPLICATE_STATE_NAME: Duplicate State name: A"},
		{"JSONPath state in a JSONata machine", `{"QueryLanguage":"JSONata","StartAt":"A","States":{"A":{"Type":"Pass","QueryLanguage":"JSONPath","End":true}}}`, "cannot use QueryLanguage JSONPath"},
		{"JSONata field refused", `{"StartAt":"A","States":{"A":{"Type":"Pass","Output":{},"End":true}}}`, "only valid with QueryLanguage JSONata"},
		{"bad Assign name", `{"StartAt":"A","States":{"A":{"Type":"Pass","Assign":{"a-b":1},"End":true}}}`, "invalid variable name"},
		{"ItemBatcher empty", `{"StartAt":"A","States":{"A":{"Type":"Map","End":true,"ItemBatcher":{},"ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"STANDARD"},"StartAt":"P","States":{"P":` + pass + `}}}}}`, "needs MaxItemsPerBatch"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.def))
			if err == nil {
				t.Fatalf("accepted, want error containing %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v\nwant it to contain %q", err, tc.want)
			}
		})
	}
}

func TestValidDefinitionsParse(t *testing.T) {
	for _, def := range []string{
		`{"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}}`,
		`{"Comment":"c","Version":"1.0","TimeoutSeconds":10,"QueryLanguage":"JSONPath","StartAt":"A","States":{"A":{"Type":"Succeed"}}}`,
		`{"StartAt":"M","States":{"M":{"Type":"Map","Iterator":{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}},"Parameters":{"x.$":"$$.Map.Item.Value"},"End":true}}}`,
	} {
		if _, err := Parse([]byte(def)); err != nil {
			t.Errorf("%s: %v", def, err)
		}
	}
}
