package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// statesGolden compares JSON with a golden file; FERRY_UPDATE_GOLDEN=1
// rewrites it.
func statesGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	var v any
	if err := json.Unmarshal(got, &v); err != nil {
		t.Fatalf("not JSON: %v: %s", err, got)
	}
	pretty, _ := json.MarshalIndent(v, "", "  ")
	pretty = append(pretty, '\n')
	path := filepath.Join("testdata", name)
	if os.Getenv("FERRY_UPDATE_GOLDEN") == "1" {
		if err := os.WriteFile(path, pretty, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (FERRY_UPDATE_GOLDEN=1 creates it)", err)
	}
	if !bytes.Equal(pretty, want) {
		t.Errorf("%s differs:\n--- got\n%s--- want\n%s", name, pretty, want)
	}
}

// TestStatesRunMocked runs a definition with a Map, a Parallel, Retry and
// Catch against a mock configuration through the CLI.
func TestStatesRunMocked(t *testing.T) {
	hist := filepath.Join(t.TempDir(), "history.json")
	var out, errOut bytes.Buffer
	code := mainArgs([]string{"states", "run", "testdata/states_orders.asl.json",
		"--input", `{"orderId":"o-1"}`, "--mock-config", "testdata/states_orders.mock.json", "--test-case", "HappyPath",
		"--name", "cli-test", "--fast", "--history", hist}, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if n := strings.Count(strings.TrimSpace(out.String()), "\n"); n != 0 {
		t.Fatalf("stdout must be exactly one JSON line, got %d lines: %s", n+1, out.String())
	}
	statesGolden(t, "states_run_mocked.golden.json", out.Bytes())
	b, err := os.ReadFile(hist)
	if err != nil {
		t.Fatal(err)
	}
	var h struct {
		Events []struct {
			Type string `json:"type"`
		} `json:"events"`
	}
	if err := json.Unmarshal(b, &h); err != nil || len(h.Events) == 0 || h.Events[0].Type != "ExecutionStarted" || h.Events[len(h.Events)-1].Type != "ExecutionSucceeded" {
		t.Fatalf("history %v: %.300s", err, b)
	}
}

func TestStatesRunStatuses(t *testing.T) {
	dir := t.TempDir()
	input := filepath.Join(dir, "in.json")
	if err := os.WriteFile(input, []byte(`{"orderId":"o-2"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string // substring of stdout
	}{
		{"no handler: the execution fails, the command succeeds", []string{"states", "run", "testdata/states_orders.asl.json", "--input", "@" + input, "--fast"}, 0, `"status":"FAILED","output":null,"error":"Lambda.ResourceNotFoundException"`},
		{"unknown test case", []string{"states", "run", "testdata/states_orders.asl.json", "--mock-config", "testdata/states_orders.mock.json", "--test-case", "Nope"}, 1, ""},
		{"missing definition argument", []string{"states", "run", "--input", "{}"}, 2, ""},
		{"mock config without test case", []string{"states", "run", "testdata/states_orders.asl.json", "--mock-config", "testdata/states_orders.mock.json"}, 2, ""},
		{"bad input JSON", []string{"states", "run", "testdata/states_orders.asl.json", "--input", "{"}, 1, ""},
		{"validate ok", []string{"states", "validate", "testdata/states_orders.asl.json"}, 0, "valid\n"},
		{"run --help", []string{"states", "run", "--help"}, 0, ""},
		{"validate --help", []string{"states", "validate", "--help"}, 0, ""},
		{"states --help", []string{"states", "--help"}, 0, "Subcommands:"},
		{"unknown subcommand", []string{"states", "frobnicate"}, 2, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := mainArgs(tc.args, &out, &errOut)
			if code != tc.wantCode || !strings.Contains(out.String(), tc.wantOut) {
				t.Fatalf("exit %d (want %d)\nstdout: %s\nstderr: %s", code, tc.wantCode, out.String(), errOut.String())
			}
		})
	}
}

func TestStatesValidateProblems(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.asl.json")
	if err := os.WriteFile(bad, []byte(`{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"},"C":{"Type":"Succeed"}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if code := mainArgs([]string{"states", "validate", bad}, &out, &errOut); code != 1 {
		t.Fatalf("exit %d", code)
	}
	want := "States.A: Next target \"B\" is not a state in this scope\nStates.C: state is unreachable from StartAt \"A\"\n"
	if out.String() != want {
		t.Fatalf("got:\n%s\nwant:\n%s", out.String(), want)
	}
}
