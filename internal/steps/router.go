package steps

import (
	"context"
	"fmt"

	"github.com/ferrydata/ferry"
)

// Actions of Request.
const (
	// ActionList (or an empty action) plans a run: ListTables.
	ActionList = "list"
	// ActionFinish closes a run: FinishRun.
	ActionFinish = "finish"
)

// Request is the list-tables Lambda's input: a ferry.ListTablesInput, or,
// with "action": "finish", a ferry.FinishRunInput. One function serves both
// so that the state machine's Report state needs no fifth function.
//
//	{"run_id": "exec-1", "run_date": "2026-11-22", "companies": [42]}
//	{"run_id": "exec-1", "scheduled_time": "2026-11-22T02:00:00Z", "time_zone": "Europe/Berlin", "company_concurrency": 4, "chunk_concurrency": 8}
//	{"action": "finish", "run_id": "exec-1", "results": {"Bucket": "b", "Key": "map-results/companies/…/manifest.json"}}
//	{"action": "finish", "run_id": "exec-1", "outcomes": [{"company_id": 42, "alias": "acme", "failed": false, "rows": 10}]}
//
// The EventBridge rule on the state machine's status changes sends
// {"action": "finish", "run_id": <execution name>, "execution_status":
// "FAILED" | "TIMED_OUT" | "ABORTED"} when an execution ended, possibly
// without reaching its Report state: see EndRun.
type Request struct {
	Action string `json:"action,omitempty"`
	RunID  string `json:"run_id"`
	// ExecutionStatus is set by the status-change rule only.
	ExecutionStatus string `json:"execution_status,omitempty"`
	// The plan's inputs (ferry.ListTablesInput).
	RunDate       string  `json:"run_date,omitempty"`
	ScheduledTime string  `json:"scheduled_time,omitempty"`
	TimeZone      string  `json:"time_zone,omitempty"`
	Companies     []int64 `json:"companies,omitempty"`
	// CompanyConcurrency and ChunkConcurrency are what the execution asks
	// for (the connection budget may lower them).
	CompanyConcurrency int `json:"company_concurrency,omitempty"`
	ChunkConcurrency   int `json:"chunk_concurrency,omitempty"`
	// The finish's inputs (ferry.FinishRunInput).
	Results  *ferry.MapResults      `json:"results,omitempty"`
	Outcomes []ferry.CompanyOutcome `json:"outcomes,omitempty"`
}

// Function is the list-tables Lambda handler: it routes Request by Action
// and returns a ferry.ListTablesOutput or a ferry.FinishRunOutput. An
// unknown action is a ConfigError.
func (s *Steps) Function(ctx context.Context, req Request) (any, error) {
	switch req.Action {
	case "", ActionList:
		return s.ListTables(ctx, ferry.ListTablesInput{RunID: req.RunID, RunDate: req.RunDate, ScheduledTime: req.ScheduledTime, TimeZone: req.TimeZone,
			Companies: req.Companies, Concurrency: ferry.Concurrency{Companies: req.CompanyConcurrency, Chunks: req.ChunkConcurrency}})
	case ActionFinish:
		if req.ExecutionStatus != "" {
			return s.EndRun(ctx, req.RunID, req.ExecutionStatus)
		}
		return s.FinishRun(ctx, ferry.FinishRunInput{Action: req.Action, RunID: req.RunID, Results: req.Results, Outcomes: req.Outcomes})
	default:
		return nil, ferry.LambdaError(&ferry.ConfigError{Msg: fmt.Sprintf("unknown action %q", req.Action), Fix: `use "finish" to close a run, or no action to start one`})
	}
}
