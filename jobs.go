package ferry

import (
	"context"
	"errors"
	"io"
	"time"
)

// JobKind is what a job does.
type JobKind string

const (
	// JobStatement runs one statement (or one stored procedure call), in a
	// transaction unless the statement cannot run in one.
	JobStatement JobKind = "statement"
	// JobBatched repeats a DELETE or UPDATE in batches of at most BatchRows
	// rows, each batch a short transaction, until a batch affects no row. It
	// may run across many invocations and resumes after a failure.
	JobBatched JobKind = "batched"
	// JobExtract streams a SELECT's result to the store as gzip CSV (the
	// export dialect) under a key pattern.
	JobExtract JobKind = "extract"
)

// JobDatabase is the database a job runs on.
type JobDatabase string

const (
	// JobOnSource runs on the source database.
	JobOnSource JobDatabase = "source"
	// JobOnTarget runs on the target database's default schema.
	JobOnTarget JobDatabase = "target"
	// JobOnCompany runs on each company's target schema (the session's
	// default schema), once per company.
	JobOnCompany JobDatabase = "company"
)

// JobTrigger is when a job runs.
type JobTrigger string

const (
	// JobOnSchedule runs on the job's cron(...) or rate(...) expression,
	// started by the jobs state machine.
	JobOnSchedule JobTrigger = "schedule"
	// JobBeforeRun runs before a copy run plans anything; a failure fails
	// the run before anything is touched.
	JobBeforeRun JobTrigger = "before-run"
	// JobAfterSwap runs for each company whose swap committed, in its
	// branch; a failure fails the company's outcome, not its published
	// tables.
	JobAfterSwap JobTrigger = "after-swap"
	// JobAfterRun runs after every company of a copy run, before the report.
	JobAfterRun JobTrigger = "after-run"
)

// Job is one configured SQL job (a ferry_jobs row).
type Job struct {
	// Name identifies the job ([a-z][a-z0-9_]{0,63}).
	Name     string      `json:"name"`
	Active   bool        `json:"active"`
	Kind     JobKind     `json:"kind"`
	Database JobDatabase `json:"database"`
	// SQL is one statement with named parameters (:run_date, and for a
	// company :company_id, :alias, :since and configuration names), bound
	// by the driver.
	SQL string `json:"sql"`
	// Params lists the parameters SQL uses.
	Params  []string   `json:"params,omitempty"`
	Trigger JobTrigger `json:"trigger"`
	// Schedule is the cron(...) or rate(...) expression of a scheduled job,
	// evaluated in TimeZone (IANA; empty is UTC).
	Schedule string `json:"schedule,omitempty"`
	TimeZone string `json:"timezone,omitempty"`
	// Position orders the jobs of one trigger (then Name).
	Position int `json:"position"`
	// Timeout bounds a statement or extract (one invocation), or a batched
	// job as a whole (across invocations).
	Timeout time.Duration `json:"timeout"`
	// Idempotent says a statement job may be retried after a failure whose
	// outcome is unknown. Batched and extract jobs always may.
	Idempotent bool `json:"idempotent,omitempty"`
	// BatchRows is a batched job's largest batch; Pause its pause between
	// batches.
	BatchRows int           `json:"batch_rows,omitempty"`
	Pause     time.Duration `json:"pause,omitempty"`
	// KeyPattern is an extract's object key, with {job}, {run_date},
	// {run_id}, {alias} and {company_id} placeholders.
	KeyPattern string `json:"key_pattern,omitempty"`
	// NextDue is a scheduled job's next fire time (UTC).
	NextDue *time.Time `json:"next_due,omitempty"`
}

// JobTask is one job for one company (CompanyID 0: not per company) in one
// run: an item of the state machines' job Maps and the input of run-job's
// "run" action. It is small: run-job reads the job from the admin database
// at each invocation.
type JobTask struct {
	RunID     string     `json:"run_id"`
	RunDate   string     `json:"run_date"`
	Job       string     `json:"job"`
	Kind      JobKind    `json:"kind"`
	Trigger   JobTrigger `json:"trigger"`
	CompanyID int64      `json:"company_id"`
	// Alias is always present (empty when not per company): the state
	// machines read it with a JSONPath.
	Alias string `json:"alias"`
	// Idempotent selects the state machine's retry policy: only an
	// idempotent task is retried after an error whose outcome is unknown.
	Idempotent bool `json:"idempotent"`
}

// JobProgress is what one run-job invocation returns. Done false means a
// batched job has more batches: the state machine invokes it again, after
// PauseSeconds.
type JobProgress struct {
	JobTask
	Done bool `json:"done"`
	// Status is "succeeded", "cancelled" (the job was disabled while it
	// ran) or "running".
	Status       string  `json:"status"`
	Rows         int64   `json:"rows"`
	Batches      int64   `json:"batches"`
	Seconds      float64 `json:"seconds"`
	PauseSeconds int     `json:"pause_seconds"`
	// Key, Bytes and SHA256 describe an extract's object.
	Key    string `json:"key,omitempty"`
	Bytes  int64  `json:"bytes,omitempty"`
	SHA256 string `json:"sha256,omitempty"`
}

// JobOutcome is one job task's result as the state machines shape it: the
// progress, or the caught error.
type JobOutcome struct {
	Job       string `json:"job"`
	CompanyID int64  `json:"company_id"`
	Alias     string `json:"alias"`
	Failed    bool   `json:"failed"`
	Rows      int64  `json:"rows,omitempty"`
	Error     string `json:"error,omitempty"`
	Cause     string `json:"cause,omitempty"`
}

// ErrOutcomeUnknown is wrapped by a JobDB error when the connection broke
// after a statement or a COMMIT was sent: the server may or may not have
// committed it. Only an idempotent job is retried after it.
var ErrOutcomeUnknown = errors.New("the connection broke after the statement was sent: it may or may not have committed")

// JobSQL is one statement of a job as a JobDB runs it.
type JobSQL struct {
	// SQL is one statement with named parameters; Params their values,
	// bound by the driver.
	SQL    string
	Params map[string]Param
	// Schema is the session's default schema (PostgreSQL search_path,
	// MySQL database) for unqualified names; empty keeps the connection's.
	Schema string
	// Timeout is the statement's server-side limit (also bounded by the
	// context's deadline).
	Timeout time.Duration
}

// BatchParts are the parts of a single-table DELETE or UPDATE that a JobDB
// reassembles into one batch of at most Rows rows.
type BatchParts struct {
	// Update is true for UPDATE, false for DELETE.
	Update bool
	// Table is the table reference as written, alias included
	// ("bi.events", `"Events" AS e`); Name its unquoted name parts
	// (["bi", "events"]) and Alias the alias, if any.
	Table string
	Name  []string
	Alias string
	// Set is an UPDATE's assignment list as written ("a = 1, b = :x").
	Set string
	// Where is the predicate as written, without WHERE; empty: every row.
	Where string
}

// JobBatch is one batch of a batched job.
type JobBatch struct {
	JobSQL
	Parts BatchParts
	// Rows is the most rows the batch may affect.
	Rows int
	// LockTimeout bounds how long the batch waits for a row lock before it
	// gives up (and is rolled back).
	LockTimeout time.Duration
}

// JobDB is a database jobs run on (a source or target engine adapter).
// Every method runs under ctx's deadline and classifies its errors:
// transient ones as RetryableError (wrapping ErrOutcomeUnknown when the
// statement may have committed), the SQL's or the account's faults as
// ConfigError, bad data as DataError.
type JobDB interface {
	Engine() Engine
	// CheckJob validates a statement without running it: parameters bound
	// and, where the engine can, EXPLAIN (of the batch statement for
	// batched jobs: parts non-nil). It changes nothing.
	CheckJob(ctx context.Context, q JobSQL, parts *BatchParts) error
	// ExecJob runs one statement, in a transaction unless it cannot run in
	// one, and returns the rows it affected (0 when the engine does not say).
	ExecJob(ctx context.Context, q JobSQL) (int64, error)
	// BatchJob runs one batch in its own short transaction and returns the
	// rows it affected: 0 only when no row matches any more.
	BatchJob(ctx context.Context, b JobBatch) (int64, error)
	// ExtractJob streams a SELECT's result as the csvcodec dialect (header
	// first) into w, holding no more than one row in memory.
	ExtractJob(ctx context.Context, q JobSQL, w io.Writer) (ExportStats, error)
}
