package ferry

import (
	"path"
	"time"
)

// ListTablesInput starts a run. The state machine passes the execution name
// as RunID, and, for RunDate, the time the run was scheduled for (or
// started) and the schedule's time zone.
type ListTablesInput struct {
	// RunID identifies the run; it prefixes every object key. Required.
	RunID string `json:"run_id"`
	// RunDate (YYYY-MM-DD) anchors date windows: :run_date, and :since =
	// RunDate - N days for the "last N days" configuration. Empty: the date
	// of ScheduledTime in TimeZone (else today, UTC).
	RunDate string `json:"run_date,omitempty"`
	// ScheduledTime (RFC 3339) is the instant the run was scheduled for:
	// EventBridge Scheduler's <aws.scheduler.scheduled-time>, else the
	// execution's start. The same for every retry and redrive.
	ScheduledTime string `json:"scheduled_time,omitempty"`
	// TimeZone (IANA, e.g. Europe/Berlin) is the schedule's; empty is UTC.
	TimeZone string `json:"time_zone,omitempty"`
	// Companies restricts the run to these company ids; empty means all
	// active companies.
	Companies []int64 `json:"companies,omitempty"`
	// Concurrency is what the execution asks for; the connection budget
	// may lower it (ListTablesOutput.Concurrency). Zeros mean unlimited.
	Concurrency
}

// CompanyRun is one company's part of a run: small, whatever the number of
// chunks. It is the item ForEachCompany iterates over.
type CompanyRun struct {
	RunID       string `json:"run_id"`
	CompanyID   int64  `json:"company_id"`
	Alias       string `json:"alias"`
	Schema      string `json:"schema"`
	ManifestKey string `json:"manifest_key"`
	// PlanKey is where the company's Manifest (plan.json) is; empty means
	// PlanKey(RunID, Alias).
	PlanKey string `json:"plan_key,omitempty"`
	Tables  int    `json:"tables"`
	Chunks  int    `json:"chunks"`
}

// ListTablesOutput is the plan's summary: keys and counts, whatever the
// number of companies. The companies are at CompaniesKey, a JSON array of
// CompanyRun, which ForEachCompany's ItemReader reads.
type ListTablesOutput struct {
	RunID        string `json:"run_id"`
	RunDate      string `json:"run_date"`
	Bucket       string `json:"bucket,omitempty"`
	CompaniesKey string `json:"companies_key"`
	Companies    int    `json:"companies"`
	Tables       int    `json:"tables"`
	Chunks       int    `json:"chunks"`
	// Concurrency is what the run uses: the requested one, lowered to fit
	// the connection budget (Budget.Fit).
	Concurrency
}

// PlanKey is the object key of a company's Manifest (plan.json), next to
// its chunk manifest at ManifestKey.
func PlanKey(runID, alias string) string {
	return path.Join(runID, alias, "plan.json")
}

// Manifest is what list-tables writes at PlanKey: the company's tables,
// including those with no rows (and so no chunks). The chunks themselves are
// at ManifestKey, a bare JSON array of ChunkTask, which is what the
// Distributed Map's ItemReader reads.
type Manifest struct {
	Company   CompanyRun  `json:"company"`
	RunDate   string      `json:"run_date"`
	PlannedAt time.Time   `json:"planned_at"`
	Tables    []TablePlan `json:"tables"`
	// Refused, when set, is why the company is not copied this run (a
	// table whose policy refuses the schema change its query makes): the
	// chunk manifest is empty and swap-tables fails the company with it,
	// leaving every live table as it was.
	Refused *ConfigError `json:"refused,omitempty"`
}

// TablePlan is one table of a company's plan.
type TablePlan struct {
	Table   string `json:"table"`
	Staging string `json:"staging"`
	Chunks  int    `json:"chunks"`
	// EstRows is the query's row count at planning time: the rows planned.
	EstRows int64 `json:"est_rows"`
	// ChunkColumn is the table's chunk column.
	ChunkColumn string `json:"chunk_column"`
	// MaxShrinkPct is the table's shrink guard (ferry.TableSpec).
	MaxShrinkPct int `json:"max_shrink_pct,omitempty"`
	// MaxDriftPct is the company's max_drift_pct configuration when set;
	// nil is DefaultMaxDriftPct.
	MaxDriftPct *float64 `json:"max_drift_pct,omitempty"`
}

// DefaultMaxDriftPct is how far, in percent of the rows planned, the rows
// exported of a table may differ from them before swap-tables refuses the
// company (the chunk key is not stable: rows changed their key, or were
// written in bulk, between planning and export). A company's
// max_drift_pct configuration replaces it.
const DefaultMaxDriftPct = 5.0

// SwapTablesInput is a CompanyRun: swap-tables reads the manifest and the
// ChunkDone markers itself.
type SwapTablesInput = CompanyRun

// TableResult is one swapped table.
type TableResult struct {
	Table  string `json:"table"`
	Rows   int64  `json:"rows"`
	Chunks int    `json:"chunks"`
	Bytes  int64  `json:"bytes"`
}

// SwapTablesOutput says what swap-tables did for one company.
type SwapTablesOutput struct {
	RunID          string        `json:"run_id"`
	CompanyID      int64         `json:"company_id"`
	Alias          string        `json:"alias"`
	Tables         []TableResult `json:"tables"`
	Rows           int64         `json:"rows"`
	AlreadySwapped bool          `json:"already_swapped"`
	SwappedAt      time.Time     `json:"swapped_at"`
}

// CompanyOutcome is one ForEachCompany iteration's result as the state
// machine shapes it: the swap output, or the caught error.
type CompanyOutcome struct {
	CompanyID int64  `json:"company_id"`
	Alias     string `json:"alias"`
	Failed    bool   `json:"failed"`
	Rows      int64  `json:"rows,omitempty"`
	Error     string `json:"error,omitempty"`
	Cause     string `json:"cause,omitempty"`
}

// FinishRunInput closes a run: it is the Report state's input. It is sent to
// the list-tables function with Action "finish".
type FinishRunInput struct {
	// Action is "finish" on the wire (see internal/steps.Request).
	Action string `json:"action,omitempty"`
	RunID  string `json:"run_id"`
	// Results is where ForEachCompany's ResultWriter put the companies'
	// outcomes (its manifest.json); nil when the outcomes are given.
	Results *MapResults `json:"results,omitempty"`
	// Outcomes are given directly when there are no Results (ForEachCompany
	// itself failed, or a caller that has them).
	Outcomes []CompanyOutcome `json:"outcomes"`
}

// MapResults is a Distributed Map's ResultWriterDetails: the manifest of
// the results it exported.
type MapResults struct {
	Bucket string `json:"Bucket"`
	Key    string `json:"Key"`
}

// FinishRunOutput is the run summary. Failed > 0 fails the execution.
type FinishRunOutput struct {
	RunID string `json:"run_id"`
	// Status is "succeeded" (Failed == 0) or "failed".
	Status    string   `json:"status"`
	Companies int      `json:"companies"`
	Failed    int      `json:"failed"`
	Rows      int64    `json:"rows"`
	Summary   string   `json:"summary"`
	Failures  []string `json:"failures,omitempty"`
}
