package steps

import (
	"context"
	"fmt"
	"time"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/jobs"
	"github.com/ferrydata/ferry/internal/plan"
)

// Actions of the run-job Lambda function (JobRequest).
const (
	// ActionPlan returns the tasks of a copy run's jobs at one point:
	// before-run, after a company's swap, after-run.
	ActionPlan = "plan"
	// ActionDue returns the tasks of the scheduled jobs due now (the jobs
	// state machine's first step) and claims their leases.
	ActionDue = "due"
	// ActionRun runs one invocation of a task.
	ActionRun = "run"
	// ActionFinish (shared with list-tables) records outcomes and releases
	// leases.
)

// JobRequest is the run-job Lambda's input, routed by Action:
//
//	{"action": "due", "run_id": "jobs-1", "at": "2026-12-03T03:00:00Z", "jobs": [], "companies": [], "force": false}
//	{"action": "plan", "run_id": "run-1", "run_date": "2026-12-03", "trigger": "after-swap", "company": {...CompanyRun}}
//	{"action": "run", "task": {...JobTask}}
//	{"action": "finish", "run_id": "jobs-1", "outcomes": [{"job": "purge", "company_id": 0, "alias": "", "failed": false}]}
//
// The jobs state machine's status-change rule sends {"action": "finish",
// "run_id": <execution name>, "execution_status": "FAILED" | "TIMED_OUT" |
// "ABORTED"}: the run's leases are released.
type JobRequest struct {
	Action    string           `json:"action"`
	RunID     string           `json:"run_id,omitempty"`
	RunDate   string           `json:"run_date,omitempty"`
	At        time.Time        `json:"at,omitzero"`
	Jobs      []string         `json:"jobs,omitempty"`
	Companies []int64          `json:"companies,omitempty"`
	Force     bool             `json:"force,omitempty"`
	Trigger   ferry.JobTrigger `json:"trigger,omitempty"`
	// ScheduledTime and TimeZone give a before-run plan its run date when
	// RunDate is empty, as ListTables computes it (RunDate).
	ScheduledTime   string             `json:"scheduled_time,omitempty"`
	TimeZone        string             `json:"time_zone,omitempty"`
	Company         *ferry.CompanyRun  `json:"company,omitempty"`
	Task            *ferry.JobTask     `json:"task,omitempty"`
	Outcomes        []ferry.JobOutcome `json:"outcomes,omitempty"`
	ExecutionStatus string             `json:"execution_status,omitempty"`
}

// runner is the job runner over the steps' dependencies.
func (s *Steps) runner() *jobs.Runner {
	return &jobs.Runner{
		Book: s.d.Jobs, DB: s.d.JobDBs, Store: s.d.Extracts,
		Margin: 2 * time.Second, Clock: s.d.Clock, Logger: s.d.Logger, Metrics: s.d.Metrics,
		LeaseTTL: s.d.JobLeaseTTL,
	}
}

// RunJob is the run-job Lambda handler: it routes JobRequest by Action and
// returns a jobs.PlanOutput, jobs.DueOutput, ferry.JobProgress or
// jobs.FinishOutput. Every action is idempotent (run: a batched job goes on
// with what is left; a statement job that may have committed is only
// retried when it is idempotent). An unknown action is a ConfigError.
func (s *Steps) RunJob(ctx context.Context, req JobRequest) (any, error) {
	log := s.d.Logger.With("step", "run-job", "action", req.Action, "run_id", req.RunID)
	if req.Action == ActionPlan && s.d.Jobs == nil {
		// Wired without job bookkeeping: a copy run has no jobs to run.
		return jobs.PlanOutput{Tasks: []ferry.JobTask{}}, nil
	}
	if err := s.check("run-job", NeedsRunJob); err != nil {
		return nil, s.fail(ctx, log, "run-job", err)
	}
	ctx, cancel := s.withDeadline(ctx)
	defer cancel()
	r := s.runner()
	var out any
	var err error
	switch req.Action {
	case ActionPlan:
		out, err = s.planJobs(ctx, r, req)
	case ActionDue:
		out, err = r.Due(ctx, jobs.DueInput{RunID: req.RunID, At: req.At, Jobs: req.Jobs, Companies: req.Companies, Force: req.Force})
	case ActionRun:
		if req.Task == nil {
			return nil, s.fail(ctx, log, "run-job", &ferry.ConfigError{Msg: "run: no task", Fix: "pass an item of the due or plan action's tasks"})
		}
		// Run returns its errors through its own retry policy.
		return r.Run(ctx, *req.Task)
	case ActionFinish:
		out, err = r.Finish(ctx, jobs.FinishInput{RunID: req.RunID, Outcomes: req.Outcomes, ExecutionStatus: req.ExecutionStatus})
	default:
		err = &ferry.ConfigError{Msg: fmt.Sprintf("unknown action %q", req.Action), Fix: `use "due", "plan", "run" or "finish"`}
	}
	if err != nil {
		return nil, s.fail(ctx, log, "run-job", err)
	}
	return out, nil
}

// planJobs is the plan action: the run date is the run's, computed as
// ListTables does when the state machine has none yet (before-run).
func (s *Steps) planJobs(ctx context.Context, r *jobs.Runner, req JobRequest) (jobs.PlanOutput, error) {
	date, err := RunDate(ferry.ListTablesInput{RunDate: req.RunDate, ScheduledTime: req.ScheduledTime, TimeZone: req.TimeZone}, s.now())
	if err != nil {
		return jobs.PlanOutput{}, err
	}
	return r.Plan(ctx, jobs.PlanInput{RunID: req.RunID, RunDate: date.Format(plan.DateLayout), Trigger: req.Trigger, Company: req.Company, Companies: req.Companies})
}
