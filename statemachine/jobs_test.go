package statemachine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferrydata/ferry/asl"
	"github.com/ferrydata/ferry/statemachine"
)

const runJobARN = "arn:aws:lambda:eu-west-1:123456789012:function:ferry-run-job"

// fakeRunJob is the run-job function as the jobs state machine sees it:
// it answers "due" with tasks, "run" from a script per job, and "finish"
// with a summary of the outcomes it was given.
type fakeRunJob struct {
	mu       sync.Mutex
	tasks    []map[string]any
	script   map[string][]func() (map[string]any, error) // job → successive invocation results
	calls    map[string]int
	outcomes []map[string]any
}

func (f *fakeRunJob) handler(_ context.Context, in json.RawMessage) (json.RawMessage, error) {
	var req map[string]any
	if err := json.Unmarshal(in, &req); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var out any
	switch req["action"] {
	case "due":
		out = map[string]any{"run_id": req["run_id"], "run_date": "2026-12-03", "tasks": f.tasks}
	case "run":
		task := req["task"].(map[string]any)
		job := task["job"].(string)
		i := f.calls[job]
		f.calls[job]++
		steps := f.script[job]
		if i >= len(steps) {
			return nil, fmt.Errorf("job %s invoked %d times, scripted %d", job, i+1, len(steps))
		}
		p, err := steps[i]()
		if err != nil {
			return nil, err
		}
		p["job"] = job
		out = p
	case "finish":
		failed, names := 0, []string{}
		for _, o := range req["outcomes"].([]any) {
			m := o.(map[string]any)
			f.outcomes = append(f.outcomes, m)
			if m["failed"] == true {
				failed++
				names = append(names, fmt.Sprintf("job %v failed: %v", m["job"], m["cause"]))
			}
		}
		out = map[string]any{"failed": failed, "summary": strings.Join(names, "; ")}
	default:
		return nil, fmt.Errorf("unknown action %v", req["action"])
	}
	return json.Marshal(out)
}

func progress(done bool, rows int, pause int) func() (map[string]any, error) {
	return func() (map[string]any, error) {
		return map[string]any{"done": done, "status": "running", "rows": rows, "batches": rows / 10, "pause_seconds": pause}, nil
	}
}

func fails(name, cause string) func() (map[string]any, error) {
	return func() (map[string]any, error) { return nil, &asl.TaskError{Name: name, Cause: cause} }
}

func task(job string, company int, idempotent bool) map[string]any {
	return map[string]any{"run_id": "jobs-1", "run_date": "2026-12-03", "job": job, "kind": "batched", "trigger": "schedule",
		"company_id": company, "alias": "", "idempotent": idempotent}
}

func runJobs(t *testing.T, f *fakeRunJob, input string) *asl.Execution {
	t.Helper()
	def, err := statemachine.Substitute(statemachine.JobsDefinition, map[string]string{
		statemachine.RunJobFunctionArn: runJobARN, statemachine.JobConcurrency: "2"})
	if err != nil {
		t.Fatal(err)
	}
	sm, err := asl.Parse(def)
	if err != nil {
		t.Fatalf("the engine refuses jobs.asl.json: %v", err)
	}
	if f.calls == nil {
		f.calls = map[string]int{}
	}
	ex, err := sm.Execute(context.Background(), json.RawMessage(input), asl.Options{
		Name: "jobs-1", Clock: asl.NewVirtualClock(time.Date(2026, 12, 3, 3, 0, 0, 0, time.UTC)),
		Tasks: map[string]asl.TaskHandler{runJobARN: f.handler},
	})
	if err != nil {
		t.Fatal(err)
	}
	return ex
}

func TestJobsKeysArePlaceholders(t *testing.T) {
	if got := statemachine.Placeholders(statemachine.JobsDefinition); !slices.Equal(got, statemachine.JobsKeys) {
		t.Fatalf("jobs.asl.json placeholders %v, JobsKeys %v", got, statemachine.JobsKeys)
	}
}

func TestJobsNothingDue(t *testing.T) {
	f := &fakeRunJob{}
	ex := runJobs(t, f, `{}`)
	if ex.Status != asl.StatusSucceeded || len(f.outcomes) != 0 || len(f.calls) != 0 {
		t.Fatalf("status %s, outcomes %v, calls %v", ex.Status, f.outcomes, f.calls)
	}
}

func TestJobsBatchedLoopsUntilDone(t *testing.T) {
	f := &fakeRunJob{
		tasks: []map[string]any{task("purge", 0, true), task("refresh", 42, false)},
		script: map[string][]func() (map[string]any, error){
			// Two invocations end at their deadline, one pauses through the
			// state machine, then a batch finds no row.
			"purge":   {progress(false, 400, 0), progress(false, 800, 120), progress(false, 900, 0), progress(true, 1000, 0)},
			"refresh": {progress(true, 0, 0)},
		},
	}
	ex := runJobs(t, f, `{}`)
	if ex.Status != asl.StatusSucceeded {
		t.Fatalf("status %s %s %s", ex.Status, ex.Error, ex.Cause)
	}
	if f.calls["purge"] != 4 || f.calls["refresh"] != 1 || len(f.outcomes) != 2 {
		t.Fatalf("calls %v outcomes %v", f.calls, f.outcomes)
	}
	for _, o := range f.outcomes {
		if o["job"] == "purge" && (o["rows"] != float64(1000) || o["failed"] != false) {
			t.Fatalf("purge outcome %v", o)
		}
	}
	if d := ex.StopDate.Sub(ex.StartDate); d < 120*time.Second {
		t.Fatalf("the execution took %v of virtual time: the 120 s pause did not wait", d)
	}
}

func TestJobsRetryPolicy(t *testing.T) {
	killed := fails("Lambda.Unknown", "the invocation died")
	tests := []struct {
		name       string
		idempotent bool
		script     []func() (map[string]any, error)
		calls      int
		failed     bool
	}{
		{"idempotent task retried after the invocation died", true, []func() (map[string]any, error){killed, progress(true, 5, 0)}, 2, false},
		{"non-idempotent task not retried after the invocation died", false, []func() (map[string]any, error){killed}, 1, true},
		{"non-idempotent task retried when run-job says nothing was committed", false, []func() (map[string]any, error){fails("RetryableError", "deadlock; rolled back"), progress(true, 1, 0)}, 2, false},
		{"throttled invocation retried", false, []func() (map[string]any, error){fails("Lambda.TooManyRequestsException", "rate"), progress(true, 1, 0)}, 2, false},
		{"permanent error not retried", true, []func() (map[string]any, error){fails("ConfigError", "job j: relation \"x\" does not exist")}, 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeRunJob{tasks: []map[string]any{task("j", 7, tt.idempotent)},
				script: map[string][]func() (map[string]any, error){"j": tt.script}}
			ex := runJobs(t, f, `{}`)
			if f.calls["j"] != tt.calls {
				t.Fatalf("invoked %d times, want %d", f.calls["j"], tt.calls)
			}
			if got := ex.Status == asl.StatusFailed; got != tt.failed || len(f.outcomes) != 1 || f.outcomes[0]["failed"] != tt.failed {
				t.Fatalf("status %s, outcomes %v", ex.Status, f.outcomes)
			}
			if tt.failed && (ex.Error != "Ferry.JobsFailed" || !strings.Contains(ex.Cause, "job j failed")) {
				t.Fatalf("error %q cause %q: the failure must name the job", ex.Error, ex.Cause)
			}
		})
	}
}

func TestJobsOneFailureDoesNotStopTheOthers(t *testing.T) {
	f := &fakeRunJob{
		tasks: []map[string]any{task("bad", 1, true), task("good", 1, true), task("good", 2, true)},
		script: map[string][]func() (map[string]any, error){
			"bad":  {fails("DataError", "job bad: duplicate key")},
			"good": {progress(true, 3, 0), progress(true, 4, 0)},
		},
	}
	ex := runJobs(t, f, `{"jobs": ["bad", "good"], "force": true}`)
	if ex.Status != asl.StatusFailed || !strings.Contains(ex.Cause, "job bad failed: job bad: duplicate key") || f.calls["good"] != 2 {
		t.Fatalf("status %s cause %q calls %v", ex.Status, ex.Cause, f.calls)
	}
}

func TestJobsRefusesBadConcurrency(t *testing.T) {
	f := &fakeRunJob{}
	ex := runJobs(t, f, `{"job_concurrency": "many"}`)
	if ex.Status != asl.StatusFailed || ex.Error != "Ferry.InvalidInput" || len(f.calls) != 0 {
		t.Fatalf("status %s error %s", ex.Status, ex.Error)
	}
}
