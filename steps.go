package ferry

import "time"

// ListTablesInput starts a run. The state machine passes the execution name
// as RunID and the execution start time as RunDate's source.
type ListTablesInput struct {
	// RunID identifies the run; it prefixes every object key. Required.
	RunID string `json:"run_id"`
	// RunDate (YYYY-MM-DD) anchors date windows: :run_date, and :since =
	// RunDate - N days for the "last N days" configuration. Empty: today (UTC).
	RunDate string `json:"run_date,omitempty"`
	// Companies restricts the run to these company ids; empty means all
	// active companies.
	Companies []int64 `json:"companies,omitempty"`
}

// CompanyRun is one company's part of a run: small, whatever the number of
// chunks. It is the item ForEachCompany iterates over.
type CompanyRun struct {
	RunID       string `json:"run_id"`
	CompanyID   int64  `json:"company_id"`
	Alias       string `json:"alias"`
	Schema      string `json:"schema"`
	ManifestKey string `json:"manifest_key"`
	Tables      int    `json:"tables"`
	Chunks      int    `json:"chunks"`
}

// ListTablesOutput is the plan's summary.
type ListTablesOutput struct {
	RunID     string       `json:"run_id"`
	RunDate   string       `json:"run_date"`
	Bucket    string       `json:"bucket,omitempty"`
	Companies []CompanyRun `json:"companies"`
	Tables    int          `json:"tables"`
	Chunks    int          `json:"chunks"`
}

// Manifest is what list-tables writes at ManifestKey: the company's tables
// and, flattened, its chunks (the Distributed Map reads Items).
type Manifest struct {
	Company CompanyRun  `json:"company"`
	Tables  []TablePlan `json:"tables"`
	Items   []ChunkTask `json:"items"`
}

// TablePlan is one table of a company's plan.
type TablePlan struct {
	Table   string `json:"table"`
	Staging string `json:"staging"`
	Chunks  int    `json:"chunks"`
	EstRows int64  `json:"est_rows"`
}

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
	RunID    string           `json:"run_id"`
	Outcomes []CompanyOutcome `json:"outcomes"`
}

// FinishRunOutput is the run summary. Failed > 0 fails the execution.
type FinishRunOutput struct {
	RunID     string   `json:"run_id"`
	Companies int      `json:"companies"`
	Failed    int      `json:"failed"`
	Rows      int64    `json:"rows"`
	Summary   string   `json:"summary"`
	Failures  []string `json:"failures,omitempty"`
}
