package admin

import (
	"context"
	"fmt"
	"time"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/jobs"
)

// JobBackend is the engine-specific part of the job bookkeeping:
// ferry_jobs (definitions), ferry_job_runs (each job task of a run) and
// ferry_job_leases (a job never overlaps itself). Reads of one thing
// return an error wrapping ferry.ErrNotFound when it is missing.
type JobBackend interface {
	// Jobs returns every job ordered by position, then name; Job one.
	Jobs(ctx context.Context) ([]ferry.Job, error)
	Job(ctx context.Context, name string) (ferry.Job, error)
	// PutJob inserts a job, or replaces the definition of an existing one
	// when replace; without replace an existing name is a ConfigError.
	PutJob(ctx context.Context, j ferry.Job, replace bool) error
	// SetJobStatus sets a job's status and next fire time; found is false
	// when there is no such job.
	SetJobStatus(ctx context.Context, name, status string, nextDue *time.Time) (found bool, err error)
	// SetNextDue records a scheduled job's next fire time (nil: never).
	SetNextDue(ctx context.Context, name string, next *time.Time) error
	// ClaimJob takes or extends the lease of job × company for holder;
	// false when another holder's lease is valid at now.
	ClaimJob(ctx context.Context, job string, companyID int64, holder string, now, until time.Time) (bool, error)
	// ReleaseJobs drops holder's lease of job × company ("" job: all of
	// holder's leases).
	ReleaseJobs(ctx context.Context, holder, job string, companyID int64) error
	// JobRun returns one job run; RecordJobRun upserts one; JobRuns
	// returns a run's job runs ordered by started_at, job, company; and
	// LastJobRuns the newest run of each job (for listings).
	JobRun(ctx context.Context, runID, job string, companyID int64) (jobs.JobRun, error)
	RecordJobRun(ctx context.Context, r jobs.JobRun) error
	JobRuns(ctx context.Context, runID string) ([]jobs.JobRun, error)
	LastJobRuns(ctx context.Context) ([]jobs.JobRun, error)
	// AbandonJobRuns marks failed the records of job × company still
	// running in other runs than runID (see jobs.Book).
	AbandonJobRuns(ctx context.Context, job string, companyID int64, runID, msg string, at time.Time) error
}

// Job status values are those of companies and tables (StatusActive,
// StatusInactive).

// jobBackend returns the backend's job bookkeeping.
func (db *DB) jobBackend() (JobBackend, error) {
	jb, ok := db.b.(JobBackend)
	if !ok {
		return nil, fmt.Errorf("admin: this admin database engine keeps no jobs: %w", ferry.ErrNotFound)
	}
	return jb, nil
}

// Jobs is the admin database as the job runner uses it (jobs.Book).
func (db *DB) Jobs() (jobs.Book, error) {
	jb, err := db.jobBackend()
	if err != nil {
		return nil, err
	}
	return book{db: db, jb: jb}, nil
}

// JobAdmin is the job side of the admin database for `ferry job`.
func (db *DB) JobAdmin() (JobBackend, error) { return db.jobBackend() }

// book adapts DB to jobs.Book.
type book struct {
	db *DB
	jb JobBackend
}

var _ jobs.Book = book{}

func (b book) Job(ctx context.Context, name string) (ferry.Job, error) { return b.jb.Job(ctx, name) }
func (b book) Jobs(ctx context.Context) ([]ferry.Job, error)           { return b.jb.Jobs(ctx) }
func (b book) Companies(ctx context.Context, ids []int64) ([]ferry.Company, error) {
	return b.db.ActiveCompanies(ctx, ids)
}
func (b book) SetNextDue(ctx context.Context, job string, next *time.Time) error {
	return b.jb.SetNextDue(ctx, job, next)
}
func (b book) Claim(ctx context.Context, job string, companyID int64, holder string, now, until time.Time) (bool, error) {
	return b.jb.ClaimJob(ctx, job, companyID, holder, now.UTC(), until.UTC())
}
func (b book) Release(ctx context.Context, holder, job string, companyID int64) error {
	return b.jb.ReleaseJobs(ctx, holder, job, companyID)
}
func (b book) JobRun(ctx context.Context, runID, job string, companyID int64) (jobs.JobRun, error) {
	return b.jb.JobRun(ctx, runID, job, companyID)
}
func (b book) RecordJobRun(ctx context.Context, r jobs.JobRun) error {
	return b.jb.RecordJobRun(ctx, r)
}
func (b book) AbandonJobRuns(ctx context.Context, job string, companyID int64, runID, msg string, at time.Time) error {
	return b.jb.AbandonJobRuns(ctx, job, companyID, runID, msg, at.UTC())
}
