package asl

import (
	"strings"
	"testing"
)

// A JSONata Distributed Map reads its items with ItemReader Arguments
// (MaxItems an expression) and exports its results with ResultWriter
// Arguments.
func TestJSONataDistributedMapReaderAndWriter(t *testing.T) {
	store := &memStore{objects: map[string][]byte{"b/in/items.json": []byte(`[{"id":1},{"id":2},{"id":3}]`)}}
	def := `{"QueryLanguage":"JSONata","StartAt":"M","States":{"M":{"Type":"Map","End":true,
		"ItemReader":{"Resource":"arn:aws:states:::s3:getObject","ReaderConfig":{"InputType":"JSON","MaxItems":"{% $states.input.max %}"},
			"Arguments":{"Bucket":"b","Key":"{% 'in/' & $states.input.name %}"}},
		"ResultWriter":{"Resource":"arn:aws:states:::s3:putObject","Arguments":{"Bucket":"b","Prefix":"{% 'out/' & $states.context.Execution.Name %}"}},
		"ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"STANDARD"},"StartAt":"P","States":{"P":{"Type":"Pass","Output":"{% $states.input.id * 10 %}","End":true}}},
		"Output":"{% $states.result.ResultWriterDetails %}"}}}`
	ex := runDef(t, def, `{"name":"items.json","max":2}`, Options{ItemReader: store, ResultWriter: store})
	if ex.Status != StatusSucceeded || !strings.HasPrefix(string(ex.Output), `{"Bucket":"b","Key":"out/test-exec/`) {
		t.Fatalf("%s %s %s %s", ex.Status, ex.Output, ex.Error, ex.Cause)
	}
	var succeeded string
	for k, v := range store.objects {
		if strings.HasSuffix(k, "/SUCCEEDED_0.json") {
			succeeded = string(v)
		}
	}
	if !strings.Contains(succeeded, `"Output":"10"`) || !strings.Contains(succeeded, `"Output":"20"`) || strings.Contains(succeeded, `"Output":"30"`) {
		t.Fatalf("SUCCEEDED_0.json: %s", succeeded)
	}
}

// Expressions evaluate concurrently: every Map iteration sees its own
// $states and variables.
func TestJSONataConcurrentEvaluation(t *testing.T) {
	def := `{"QueryLanguage":"JSONata","StartAt":"M","States":{"M":{"Type":"Map","End":true,"Items":"{% $range(1, 200, 1) %}",
		"ItemProcessor":{"StartAt":"A","States":{"A":{"Type":"Pass","Assign":{"v":"{% $states.input %}"},"Next":"B"},"B":{"Type":"Pass","Output":"{% $v * 2 %}","End":true}}},
		"Output":"{% $sum($states.result) %}"}}}`
	ex := runDef(t, def, `{}`, Options{})
	if ex.Status != StatusSucceeded || string(ex.Output) != "40200" {
		t.Fatalf("%s %s %s %s", ex.Status, ex.Output, ex.Error, ex.Cause)
	}
}
