package asl

import (
	"context"
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"
)

func TestObserverSeesProgress(t *testing.T) {
	var mu atomic.Int32
	var entered, iterations atomic.Int32
	obs := func(o Observation) {
		mu.Add(1)
		switch {
		case strings.HasSuffix(o.Event.Type, "StateEntered"):
			entered.Add(1)
		case o.Event.Type == "MapIterationSucceeded":
			iterations.Add(1)
		}
		if o.ExecutionArn == "" || o.ItemIndex != -1 {
			t.Errorf("observation %+v", o)
		}
	}
	def := `{"StartAt":"M","States":{"M":{"Type":"Map","End":true,"ItemProcessor":{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}}}}`
	ex := runDef(t, def, `[1,2,3,4]`, Options{Observer: obs})
	if ex.Status != StatusSucceeded || entered.Load() != 5 || iterations.Load() != 4 || int(mu.Load()) != len(ex.History()) {
		t.Fatalf("%s entered=%d iterations=%d events=%d/%d", ex.Status, entered.Load(), iterations.Load(), mu.Load(), len(ex.History()))
	}
	// previousEventId chains each iteration back to MapStateStarted.
	var started int64
	for _, e := range ex.History() {
		if e.Type == "MapStateStarted" {
			started = e.ID
		}
		if e.Type == "MapIterationStarted" && e.PreviousEventID != started {
			t.Fatalf("iteration event %d previous %d, want %d", e.ID, e.PreviousEventID, started)
		}
	}
}

func TestRetryWholeMapState(t *testing.T) {
	var calls atomic.Int32
	h := func(_ context.Context, in json.RawMessage) (json.RawMessage, error) {
		if calls.Add(1) == 2 {
			return nil, &TaskError{Name: "Flaky"}
		}
		return in, nil
	}
	def := `{"StartAt":"M","States":{"M":{"Type":"Map","MaxConcurrency":1,"End":true,"Retry":[{"ErrorEquals":["Flaky"],"IntervalSeconds":5}],
		"ItemProcessor":{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:f","End":true}}}}}}`
	clock := NewVirtualClock(epoch)
	ex := runDef(t, def, `[1,2,3]`, Options{Clock: clock, Tasks: map[string]TaskHandler{"f": h}})
	if ex.Status != StatusSucceeded || string(ex.Output) != `[1,2,3]` || calls.Load() != 5 || len(clock.Sleeps()) != 1 {
		t.Fatalf("%s %s calls=%d sleeps=%v", ex.Status, ex.Output, calls.Load(), clock.Sleeps())
	}
}

func TestWriterConfigFlatten(t *testing.T) {
	def := `{"StartAt":"M","States":{"M":{"Type":"Map","End":true,"ResultWriter":{"WriterConfig":{"Transformation":"FLATTEN","OutputType":"JSON"}},
		"ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"STANDARD"},"StartAt":"P","States":{"P":{"Type":"Pass","Parameters":{"pair.$":"States.Array($, $)"},"OutputPath":"$.pair","End":true}}}}}}`
	ex := runDef(t, def, `[1,2]`, Options{})
	if ex.Status != StatusSucceeded || !jsonEq(t, ex.Output, `[1,1,2,2]`) {
		t.Fatalf("%s %s %s %s", ex.Status, ex.Output, ex.Error, ex.Cause)
	}
}

// JSONata (a state's QueryLanguage) runs; a JSONPath field in a JSONata
// state is refused.
func TestJSONataState(t *testing.T) {
	ex := runDef(t, `{"StartAt":"A","States":{"A":{"Type":"Pass","QueryLanguage":"JSONata","Output":"{% $states.input.n + 1 %}","End":true}}}`, `{"n":41}`, Options{})
	if ex.Status != StatusSucceeded || string(ex.Output) != "42" {
		t.Fatalf("%s %s %s %s", ex.Status, ex.Output, ex.Error, ex.Cause)
	}
	_, err := Parse([]byte(`{"QueryLanguage":"JSONata","StartAt":"A","States":{"A":{"Type":"Pass","InputPath":"$.x","End":true}}}`))
	if err == nil || !strings.Contains(err.Error(), `field "InputPath" is not valid with QueryLanguage JSONata`) {
		t.Fatalf("%v", err)
	}
}
