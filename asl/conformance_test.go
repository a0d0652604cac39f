package asl

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// conformanceCase is one rule of the States Language as AWS Step Functions
// applies it, from the developer guide (Doc): a definition that AWS either
// refuses at CreateStateMachine (Problems) or runs to Status, Output,
// Error and Cause. Mocks answer Task states, per state name and
// invocation ("0", "1-2"), in the Step Functions Local mock format.
type conformanceCase struct {
	Rule       string                                `json:"rule"`
	Doc        string                                `json:"doc"`
	Type       string                                `json:"type,omitempty"`
	Definition json.RawMessage                       `json:"definition"`
	Input      json.RawMessage                       `json:"input,omitempty"`
	Mocks      map[string]map[string]json.RawMessage `json:"mocks,omitempty"`
	Expect     struct {
		Problems []Problem       `json:"problems,omitempty"`
		Status   string          `json:"status,omitempty"`
		Output   json.RawMessage `json:"output,omitempty"`
		Error    *string         `json:"error,omitempty"`
		Cause    *string         `json:"cause,omitempty"`
	} `json:"expect"`
}

// TestConformance runs every case in testdata/conformance: one file per
// rule, checked exactly (all validation problems, or the execution's
// status, output, error and cause).
func TestConformance(t *testing.T) {
	files, err := filepath.Glob("testdata/conformance/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no conformance cases: %v", err)
	}
	sort.Strings(files)
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".json"), func(t *testing.T) {
			var c conformanceCase
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, &c); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if c.Rule == "" || !strings.HasPrefix(c.Doc, "https://docs.aws.amazon.com/") {
				t.Fatalf("%s: a case names its rule and the AWS documentation page it comes from", f)
			}
			c.check(t)
		})
	}
	t.Logf("%d conformance rules", len(files))
}

func (c *conformanceCase) check(t *testing.T) {
	sm, err := ParseWith(c.Definition, ParseOptions{Type: c.Type})
	if c.Expect.Problems != nil {
		var ve *ValidationError
		if !errors.As(err, &ve) {
			t.Fatalf("definition accepted (%v), want problems %+v", err, c.Expect.Problems)
		}
		got, _ := json.MarshalIndent(ve.Problems, "", "  ")
		want, _ := json.MarshalIndent(c.Expect.Problems, "", "  ")
		if string(got) != string(want) {
			t.Fatalf("problems\n got %s\nwant %s", got, want)
		}
		return
	}
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	opts := Options{Name: "conformance", StateMachineName: "Conformance", Clock: NewVirtualClock(epoch)}
	if len(c.Mocks) > 0 {
		opts.Mock = c.mockCase(t)
	}
	input := c.Input
	if input == nil {
		input = json.RawMessage(`{}`)
	}
	ex, err := sm.Execute(context.Background(), input, opts)
	if err != nil {
		t.Fatalf("Execute: %v", err)
	}
	if ex.Status != c.Expect.Status {
		t.Fatalf("status %s (%s: %s), want %s", ex.Status, ex.Error, ex.Cause, c.Expect.Status)
	}
	if c.Expect.Output != nil && !jsonEq(t, ex.Output, string(c.Expect.Output)) {
		t.Errorf("output\n got %s\nwant %s", ex.Output, c.Expect.Output)
	}
	if c.Expect.Error != nil && ex.Error != *c.Expect.Error {
		t.Errorf("error %q, want %q", ex.Error, *c.Expect.Error)
	}
	if c.Expect.Cause != nil && ex.Cause != *c.Expect.Cause {
		t.Errorf("cause\n got %q\nwant %q", ex.Cause, *c.Expect.Cause)
	}
}

// mockCase turns the case's mocks into a Step Functions Local test case.
func (c *conformanceCase) mockCase(t *testing.T) *MockTestCase {
	cfg := map[string]any{}
	tc := map[string]string{}
	responses := map[string]any{}
	for state, resp := range c.Mocks {
		tc[state] = "R_" + state
		responses["R_"+state] = resp
	}
	cfg["StateMachines"] = map[string]any{"Conformance": map[string]any{"TestCases": map[string]any{"Case": tc}}}
	cfg["MockedResponses"] = responses
	b, _ := json.Marshal(cfg)
	mc, err := ParseMockConfig(b)
	if err != nil {
		t.Fatal(err)
	}
	m, err := mc.TestCase("Conformance", "Case")
	if err != nil {
		t.Fatal(err)
	}
	return m
}
