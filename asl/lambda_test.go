package asl

import (
	"context"
	"strings"
	"testing"
)

type quotaError struct{ table string }

func (e *quotaError) Error() string { return "quota exceeded for <" + e.table + "> & more" }

// A Lambda function error's Cause is the payload the Go runtime posts to
// the Lambda API, byte for byte: json.Marshal of {"errorMessage",
// "errorType"[,"stackTrace"]}, HTML characters escaped as json.Marshal does.
func TestLambdaErrorCauseIsTheRuntimePayload(t *testing.T) {
	def := `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:f","End":true}}}`
	fail := func(context.Context, map[string]any) (map[string]any, error) { return nil, &quotaError{"orders"} }
	ex := runDef(t, def, `{}`, Options{Tasks: map[string]TaskHandler{"f": LambdaFunction(fail)}})
	want := `{"errorMessage":"quota exceeded for \u003corders\u003e \u0026 more","errorType":"quotaError"}`
	if ex.Status != StatusFailed || ex.Error != "quotaError" || ex.Cause != want {
		t.Fatalf("%s %q %q\nwant cause %q", ex.Status, ex.Error, ex.Cause, want)
	}

	boom := func(context.Context, map[string]any) (map[string]any, error) { panic("boom") }
	ex = runDef(t, def, `{}`, Options{Tasks: map[string]TaskHandler{"f": LambdaFunction(boom)}})
	if ex.Error != "string" || !strings.HasPrefix(ex.Cause, `{"errorMessage":"boom","errorType":"string","stackTrace":[{"path":`) {
		t.Fatalf("panic: %q %q", ex.Error, ex.Cause)
	}
}
