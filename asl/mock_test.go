package asl

import (
	"context"
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

func loadOrders(t *testing.T) (*StateMachine, *MockTestCase) {
	t.Helper()
	def, err := os.ReadFile("testdata/orders.asl.json")
	if err != nil {
		t.Fatal(err)
	}
	sm := mustParse(t, string(def))
	b, err := os.ReadFile("testdata/orders.mock.json")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := ParseMockConfig(b)
	if err != nil {
		t.Fatal(err)
	}
	tc, err := cfg.TestCase("Orders", "HappyPath")
	if err != nil {
		t.Fatal(err)
	}
	return sm, tc
}

// TestMockedExecutionGolden runs a definition using Task retries, Catch,
// Parallel, an inline Map, Choice and Wait against a Step Functions Local
// mock configuration, and compares output and full history with goldens.
func TestMockedExecutionGolden(t *testing.T) {
	sm, tc := loadOrders(t)
	clock := NewVirtualClock(epoch)
	ex, err := sm.Execute(context.Background(), json.RawMessage(`{"orderId":"o-1"}`), Options{
		Name: "golden", StateMachineName: "Orders", Clock: clock, Mock: tc, MaxConcurrency: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	if ex.Status != StatusSucceeded {
		t.Fatalf("%s %s %s", ex.Status, ex.Error, ex.Cause)
	}
	golden(t, "orders.output.golden.json", ex.Output)
	// Retry back-off 2s, 4s, 8s, then the 30s Wait.
	if got, want := clock.Sleeps(), []time.Duration{2 * time.Second, 4 * time.Second, 8 * time.Second, 30 * time.Second}; !reflect.DeepEqual(got, want) {
		t.Errorf("sleeps %v, want %v", got, want)
	}
	h, err := ex.HistoryJSON()
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "orders.history.golden.json", h)
}

func TestMockConfigErrors(t *testing.T) {
	b, _ := os.ReadFile("testdata/orders.mock.json")
	cfg, err := ParseMockConfig(b)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cfg.TestCase("Orders", "Nope"); err == nil || !strings.Contains(err.Error(), "HappyPath") {
		t.Errorf("unknown test case: %v", err)
	}
	if _, err := cfg.TestCase("Other", "HappyPath"); err == nil || !strings.Contains(err.Error(), "Orders") {
		t.Errorf("unknown state machine: %v", err)
	}
	if _, err := cfg.TestCase("", "HappyPath"); err != nil {
		t.Errorf("single state machine not chosen by default: %v", err)
	}
	bad, _ := ParseMockConfig([]byte(`{"StateMachines":{"S":{"TestCases":{"T":{"A":"Missing"}}}},"MockedResponses":{}}`))
	if _, err := bad.TestCase("S", "T"); err == nil || !strings.Contains(err.Error(), "Missing") {
		t.Errorf("missing response: %v", err)
	}
}
