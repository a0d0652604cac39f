package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/ferrydata/ferry"
)

// PlanInput is run-job's "plan" action: the tasks of the jobs a copy run
// starts at one point (before-run, after-run, or after one company's swap).
type PlanInput struct {
	RunID   string           `json:"run_id"`
	RunDate string           `json:"run_date"`
	Trigger ferry.JobTrigger `json:"trigger"`
	// Company is the company whose swap committed (after-swap); Companies
	// the run's companies, for per-company before/after-run jobs (empty:
	// every active company).
	Company   *ferry.CompanyRun `json:"company,omitempty"`
	Companies []int64           `json:"companies,omitempty"`
}

// PlanOutput is the tasks, in the order they run (position, then name).
type PlanOutput struct {
	Tasks []ferry.JobTask `json:"tasks"`
}

// Plan returns the tasks of the active jobs of in.Trigger.
func (r *Runner) Plan(ctx context.Context, in PlanInput) (PlanOutput, error) {
	out := PlanOutput{Tasks: []ferry.JobTask{}}
	switch in.Trigger {
	case ferry.JobBeforeRun, ferry.JobAfterRun:
	case ferry.JobAfterSwap:
		if in.Company == nil {
			return out, &ferry.ConfigError{Msg: "plan after-swap jobs: no company given", Fix: "pass the company the swap was for"}
		}
	default:
		return out, &ferry.ConfigError{Msg: fmt.Sprintf("plan jobs: trigger %q is not before-run, after-swap or after-run", in.Trigger), Fix: "scheduled jobs are planned by the due action"}
	}
	all, err := r.Book.Jobs(ctx)
	if err != nil {
		return out, err
	}
	var companies []ferry.Company
	if in.Company != nil {
		companies = []ferry.Company{{ID: in.Company.CompanyID, Alias: in.Company.Alias, Schema: in.Company.Schema}}
	} else if companies, err = r.Book.Companies(ctx, in.Companies); err != nil {
		return out, err
	}
	for _, j := range all {
		if j.Active && j.Trigger == in.Trigger {
			out.Tasks = append(out.Tasks, r.tasks(j, in.RunID, in.RunDate, companies)...)
		}
	}
	return out, nil
}

// FinishInput is run-job's "finish" action: the jobs state machine's
// Report, or the outcomes of a copy run's jobs.
type FinishInput struct {
	RunID    string             `json:"run_id"`
	Outcomes []ferry.JobOutcome `json:"outcomes"`
	// ExecutionStatus is set by the safety-net rule when an execution
	// ended FAILED, TIMED_OUT or ABORTED (possibly without Report).
	ExecutionStatus string `json:"execution_status,omitempty"`
}

// The summary is the Fail state's Cause (at most 32,768 characters): it
// lists at most maxListed failures and is cut at maxSummary bytes.
const (
	maxListed  = 20
	maxSummary = 24 << 10
)

// FinishOutput summarises a jobs execution; Failed > 0 fails it.
type FinishOutput struct {
	RunID   string `json:"run_id"`
	Jobs    int    `json:"jobs"`
	Failed  int    `json:"failed"`
	Rows    int64  `json:"rows"`
	Summary string `json:"summary"`
}

// Finish records each outcome (a failure the task could not record itself,
// such as an invocation that died, is recorded here), releases every lease
// the run holds and returns the summary, naming each failed job.
// Idempotent.
func (r *Runner) Finish(ctx context.Context, in FinishInput) (FinishOutput, error) {
	out := FinishOutput{RunID: in.RunID, Jobs: len(in.Outcomes)}
	var failures []string
	for _, o := range in.Outcomes {
		out.Rows += o.Rows
		if !o.Failed {
			continue
		}
		out.Failed++
		t := ferry.JobTask{RunID: in.RunID, Job: o.Job, CompanyID: o.CompanyID, Alias: o.Alias}
		msg := outcomeMessage(o)
		failures = append(failures, taskName(t)+" failed: "+msg)
		if err := r.recordFailure(ctx, t, msg); err != nil {
			return out, err
		}
	}
	if err := r.Book.Release(ctx, in.RunID, "", 0); err != nil {
		return out, err
	}
	if in.ExecutionStatus != "" && out.Failed == 0 {
		failures = append(failures, fmt.Sprintf("the execution ended %s", in.ExecutionStatus))
	}
	out.Summary = fmt.Sprintf("%d job task(s), %d failed, %d rows", out.Jobs, out.Failed, out.Rows)
	if len(failures) > maxListed {
		failures = append(failures[:maxListed], fmt.Sprintf("and %d more (see `ferry runs show %s`)", len(failures)-maxListed, in.RunID))
	}
	if len(failures) > 0 {
		out.Summary += ": " + strings.Join(failures, "; ")
	}
	if len(out.Summary) > maxSummary {
		out.Summary = strings.ToValidUTF8(out.Summary[:maxSummary], "") + " …"
	}
	return out, nil
}

func outcomeMessage(o ferry.JobOutcome) string {
	msg := o.Cause
	if msg == "" {
		msg = o.Error
	}
	// A Lambda error's cause is its JSON ({"errorMessage": ..., "errorType": ...}).
	if m := errorMessage(msg); m != "" {
		msg = m
	}
	return msg
}

// recordFailure marks a task failed unless it already ended.
func (r *Runner) recordFailure(ctx context.Context, t ferry.JobTask, msg string) error {
	rec, err := r.Book.JobRun(ctx, t.RunID, t.Job, t.CompanyID)
	if err != nil {
		rec = JobRun{RunID: t.RunID, Job: t.Job, CompanyID: t.CompanyID, StartedAt: r.now()}
	}
	if rec.Status == RunFailed || rec.Status == RunSucceeded || rec.Status == RunCancelled {
		return nil
	}
	rec.Status, rec.Error = RunFailed, msg
	at := r.now()
	rec.FinishedAt = &at
	return r.Book.RecordJobRun(ctx, rec)
}

// errorMessage is the errorMessage of a Lambda error's JSON cause, or "".
func errorMessage(cause string) string {
	var e struct {
		ErrorMessage string `json:"errorMessage"`
	}
	if json.Unmarshal([]byte(cause), &e) != nil {
		return ""
	}
	return e.ErrorMessage
}
