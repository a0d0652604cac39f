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
	want := "States.A.Next: MISSING_TRANSITION_TARGET: Missing 'Next' target: B (no state of that name in this scope)\nStates.C: UNREACHABLE_STATE: State 'C' is not reachable from StartAt 'A'\n"
	if out.String() != want {
		t.Fatalf("got:\n%s\nwant:\n%s", out.String(), want)
	}
}

// TestStatesRunOutputShape checks the exact stdout object for each status,
// the ARNs shaped by --name, --state-machine-name, --region and --account,
// and that --fast never really sleeps (the Wait below is an hour long).
func TestStatesRunOutputShape(t *testing.T) {
	dir := t.TempDir()
	write := func(name, def string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(def), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ctxDef := write("ctx.asl.json", `{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":3600,"Next":"P"},"P":{"Type":"Pass","Parameters":{"exec.$":"$$.Execution.Id","sm.$":"$$.StateMachine.Id","name.$":"$$.Execution.Name"},"End":true}}}`)
	timeoutDef := write("timeout.asl.json", `{"TimeoutSeconds":60,"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":3600,"End":true}}}`)
	failDef := write("fail.asl.json", `{"StartAt":"F","States":{"F":{"Type":"Fail","Error":"Nope","Cause":"because"}}}`)
	tests := []struct {
		name string
		args []string
		want string // the whole stdout line
	}{
		{"SUCCEEDED with ARNs from the flags", []string{ctxDef, "--fast", "--name", "n1", "--state-machine-name", "SM", "--region", "eu-west-1", "--account", "111122223333"},
			`{"status":"SUCCEEDED","output":{"exec":"arn:aws:states:eu-west-1:111122223333:execution:SM:n1","name":"n1","sm":"arn:aws:states:eu-west-1:111122223333:stateMachine:SM"},"error":null,"cause":null}`},
		{"state machine name defaults to the file name", []string{ctxDef, "--fast", "--name", "n2"},
			`{"status":"SUCCEEDED","output":{"exec":"arn:aws:states:us-east-1:123456789012:execution:ctx:n2","name":"n2","sm":"arn:aws:states:us-east-1:123456789012:stateMachine:ctx"},"error":null,"cause":null}`},
		{"TIMED_OUT exits 0", []string{timeoutDef, "--fast"},
			`{"status":"TIMED_OUT","output":null,"error":"States.Timeout","cause":"The execution timed out: it ran longer than the state machine's TimeoutSeconds."}`},
		{"FAILED exits 0", []string{failDef},
			`{"status":"FAILED","output":null,"error":"Nope","cause":"because"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			if code := mainArgs(append([]string{"states", "run"}, tc.args...), &out, &errOut); code != 0 {
				t.Fatalf("exit %d: %s", code, errOut.String())
			}
			if got := strings.TrimSuffix(out.String(), "\n"); got != tc.want {
				t.Fatalf("stdout\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}

// TestStatesRunJSONata runs the README's JSONata example: a Map over Items
// with ItemSelector, a Choice Condition, Assign, and $partition and $range,
// whose outputs the Step Functions guide documents ([[1,2,3],[4,5,6],
// [7,8,9]] for $partition([1..9], 3); [0,2,4,6,8,10] for $range(0, 10, 2)).
func TestStatesRunJSONata(t *testing.T) {
	var out, errOut bytes.Buffer
	code := mainArgs([]string{"states", "run", "testdata/states_jsonata.asl.json", "--input", `{"orders":[1,2,3,4,5,6,7,8,9,10]}`}, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	want := `{"status":"SUCCEEDED","output":{"batches":[{"batch":0,"full":true,"total":6},{"batch":1,"full":true,"total":15},{"batch":2,"full":true,"total":24},{"batch":3,"full":false,"total":10}],"evens":[0,2,4,6,8,10]},"error":null,"cause":null}` + "\n"
	if out.String() != want {
		t.Fatalf("got  %s\nwant %s", out.String(), want)
	}
}
