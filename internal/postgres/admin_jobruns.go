package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/jobs"
	"github.com/jackc/pgx/v5"
)

const jobRunCols = `run_id, job, company_id, run_on, status, started_at, finished_at, "rows", batches, invocations, seconds,
	coalesce(object_key, ''), coalesce(bytes, 0), coalesce(sha256, ''), coalesce(error, '')`

func scanJobRun(sc pgx.Row) (jobs.JobRun, error) {
	var r jobs.JobRun
	var finished *time.Time
	err := sc.Scan(&r.RunID, &r.Job, &r.CompanyID, &r.Trigger, &r.Status, &r.StartedAt, &finished, &r.Rows, &r.Batches, &r.Invocations, &r.Seconds,
		&r.Key, &r.Bytes, &r.SHA256, &r.Error)
	r.StartedAt, r.FinishedAt = r.StartedAt.UTC(), utcTime(finished)
	return r, err
}

// JobRun implements admin.JobBackend.
func (a *Admin) JobRun(ctx context.Context, runID, job string, companyID int64) (jobs.JobRun, error) {
	r, err := scanJobRun(a.q.QueryRow(ctx, `SELECT `+jobRunCols+` FROM ferry_job_runs WHERE run_id = $1 AND job = $2 AND company_id = $3`, runID, job, companyID))
	if errors.Is(err, pgx.ErrNoRows) {
		return r, fmt.Errorf("admin: job run %s/%s/%d: %w", runID, job, companyID, ferry.ErrNotFound)
	}
	return r, adminErr(ctx, "admin: read job run", err)
}

// RecordJobRun implements admin.JobBackend.
func (a *Admin) RecordJobRun(ctx context.Context, r jobs.JobRun) error {
	_, err := a.q.Exec(ctx, `INSERT INTO ferry_job_runs (run_id, job, company_id, run_on, status, started_at, finished_at, "rows", batches,
		invocations, seconds, object_key, bytes, sha256, error) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
		ON CONFLICT (run_id, job, company_id) DO UPDATE SET status = EXCLUDED.status, finished_at = EXCLUDED.finished_at, "rows" = EXCLUDED."rows",
		batches = EXCLUDED.batches, invocations = EXCLUDED.invocations, seconds = EXCLUDED.seconds, object_key = EXCLUDED.object_key,
		bytes = EXCLUDED.bytes, sha256 = EXCLUDED.sha256, error = EXCLUDED.error`,
		r.RunID, r.Job, r.CompanyID, string(r.Trigger), r.Status, r.StartedAt.UTC(), utcTime(r.FinishedAt), r.Rows, r.Batches, r.Invocations, r.Seconds,
		nullIfZero(r.Key), nullIfZero(r.Bytes), nullIfZero(r.SHA256), nullIfZero(r.Error))
	return adminErr(ctx, fmt.Sprintf("admin: record job run %s/%s/%d", r.RunID, r.Job, r.CompanyID), err)
}

// JobRuns implements admin.JobBackend.
func (a *Admin) JobRuns(ctx context.Context, runID string) ([]jobs.JobRun, error) {
	return queryRows(ctx, a.q, "admin: read the job runs of "+runID, scanJobRun,
		`SELECT `+jobRunCols+` FROM ferry_job_runs WHERE run_id = $1 ORDER BY started_at, job, company_id`, runID)
}

// LastJobRuns implements admin.JobBackend.
func (a *Admin) LastJobRuns(ctx context.Context) ([]jobs.JobRun, error) {
	return queryRows(ctx, a.q, "admin: read the last job runs", scanJobRun,
		`SELECT `+jobRunCols+` FROM ferry_job_runs r WHERE started_at = (SELECT max(started_at) FROM ferry_job_runs l WHERE l.job = r.job) ORDER BY job, company_id`)
}

// AbandonJobRuns implements admin.JobBackend.
func (a *Admin) AbandonJobRuns(ctx context.Context, job string, companyID int64, runID, msg string, at time.Time) error {
	_, err := a.q.Exec(ctx, `UPDATE ferry_job_runs SET status = $1, error = $2, finished_at = $3
		WHERE job = $4 AND company_id = $5 AND status = $6 AND run_id <> $7`, jobs.RunFailed, msg, at.UTC(), job, companyID, jobs.RunRunning, runID)
	return adminErr(ctx, fmt.Sprintf("admin: mark the abandoned runs of job %s/%d", job, companyID), err)
}
