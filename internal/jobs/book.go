package jobs

import (
	"context"
	"time"

	"github.com/ferrydata/ferry"
)

// Job run status values (ferry_job_runs.status).
const (
	RunRunning   = "running"
	RunSucceeded = "succeeded"
	RunFailed    = "failed"
	// RunCancelled: the job was disabled (or deleted) while it ran; what
	// it committed stays.
	RunCancelled = "cancelled"
)

// JobRun is one job task's record in a run (a ferry_job_runs row).
type JobRun struct {
	RunID       string           `json:"run_id"`
	Job         string           `json:"job"`
	CompanyID   int64            `json:"company_id"`
	Trigger     ferry.JobTrigger `json:"trigger"`
	Status      string           `json:"status"`
	StartedAt   time.Time        `json:"started_at"`
	FinishedAt  *time.Time       `json:"finished_at,omitempty"`
	Rows        int64            `json:"rows"`
	Batches     int64            `json:"batches"`
	Invocations int              `json:"invocations"`
	Seconds     float64          `json:"seconds"`
	Key         string           `json:"key,omitempty"`
	Bytes       int64            `json:"bytes,omitempty"`
	SHA256      string           `json:"sha256,omitempty"`
	Error       string           `json:"error,omitempty"`
}

// Book is the admin database as jobs use it: the definitions, the
// companies, the per-job leases and the run records. Reads of one thing
// return an error wrapping ferry.ErrNotFound when it is missing.
type Book interface {
	// Job returns one job; Jobs every job ordered by position, then name.
	Job(ctx context.Context, name string) (ferry.Job, error)
	Jobs(ctx context.Context) ([]ferry.Job, error)
	// Companies returns the active companies with their configuration
	// (only ids, when ids is not empty), ordered by id.
	Companies(ctx context.Context, ids []int64) ([]ferry.Company, error)
	// SetNextDue records a scheduled job's next fire time (nil: never).
	SetNextDue(ctx context.Context, job string, next *time.Time) error
	// Claim takes or extends the lease of job × company for holder until
	// until; false when another holder's lease is still valid at now.
	Claim(ctx context.Context, job string, companyID int64, holder string, now, until time.Time) (bool, error)
	// Release drops holder's lease of job × company ("" job: all of
	// holder's leases).
	Release(ctx context.Context, holder, job string, companyID int64) error
	// JobRun returns one job run record; RecordJobRun upserts one.
	JobRun(ctx context.Context, runID, job string, companyID int64) (JobRun, error)
	RecordJobRun(ctx context.Context, r JobRun) error
	// AbandonJobRuns marks failed, with msg, the records of job × company
	// still "running" in runs other than runID: their run died (runID
	// holds the lease now).
	AbandonJobRuns(ctx context.Context, job string, companyID int64, runID, msg string, at time.Time) error
}

// Databases opens (or returns the open) database a job runs on.
type Databases func(ctx context.Context, on ferry.JobDatabase) (ferry.JobDB, error)
