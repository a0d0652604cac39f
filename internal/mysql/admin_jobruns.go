package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/jobs"
)

const jobRunCols = "`run_id`, `job`, `company_id`, `run_on`, `status`, `started_at`, `finished_at`, `rows`, `batches`, `invocations`, `seconds`, `object_key`, `bytes`, `sha256`, `error`"

func scanJobRun(sc interface{ Scan(...any) error }) (jobs.JobRun, error) {
	var r jobs.JobRun
	var started, finished scanTime
	var key, sha, msg sql.NullString
	var bytes sql.NullInt64
	err := sc.Scan(&r.RunID, &r.Job, &r.CompanyID, &r.Trigger, &r.Status, &started, &finished, &r.Rows, &r.Batches, &r.Invocations, &r.Seconds, &key, &bytes, &sha, &msg)
	r.StartedAt, r.FinishedAt = started.T, finished.ptr()
	r.Key, r.Bytes, r.SHA256, r.Error = key.String, bytes.Int64, sha.String, msg.String
	return r, err
}

// JobRun implements admin.JobBackend.
func (a *Admin) JobRun(ctx context.Context, runID, job string, companyID int64) (jobs.JobRun, error) {
	r, err := scanJobRun(a.q.QueryRowContext(ctx, "SELECT "+jobRunCols+" FROM `ferry_job_runs` WHERE `run_id` = ? AND `job` = ? AND `company_id` = ?", runID, job, companyID))
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("admin: job run %s/%s/%d: %w", runID, job, companyID, ferry.ErrNotFound)
	}
	return r, dbErr("admin: read job run", err)
}

// RecordJobRun implements admin.JobBackend.
func (a *Admin) RecordJobRun(ctx context.Context, r jobs.JobRun) error {
	_, err := a.q.ExecContext(ctx, "INSERT INTO `ferry_job_runs` ("+jobRunCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "+
		"ON DUPLICATE KEY UPDATE `status` = VALUES(`status`), `finished_at` = VALUES(`finished_at`), `rows` = VALUES(`rows`), `batches` = VALUES(`batches`), "+
		"`invocations` = VALUES(`invocations`), `seconds` = VALUES(`seconds`), `object_key` = VALUES(`object_key`), `bytes` = VALUES(`bytes`), "+
		"`sha256` = VALUES(`sha256`), `error` = VALUES(`error`)",
		r.RunID, r.Job, r.CompanyID, string(r.Trigger), r.Status, r.StartedAt.UTC(), utcPtr(r.FinishedAt), r.Rows, r.Batches, r.Invocations, r.Seconds,
		nullIfZero(r.Key), nullIfZero(r.Bytes), nullIfZero(r.SHA256), nullIfZero(r.Error))
	return dbErr(fmt.Sprintf("admin: record job run %s/%s/%d", r.RunID, r.Job, r.CompanyID), err)
}

// JobRuns implements admin.JobBackend.
func (a *Admin) JobRuns(ctx context.Context, runID string) ([]jobs.JobRun, error) {
	return queryAll(ctx, a.q, "admin: read the job runs of "+runID, scanJobRun,
		"SELECT "+jobRunCols+" FROM `ferry_job_runs` WHERE `run_id` = ? ORDER BY `started_at`, `job`, `company_id`", runID)
}

// LastJobRuns implements admin.JobBackend.
func (a *Admin) LastJobRuns(ctx context.Context) ([]jobs.JobRun, error) {
	return queryAll(ctx, a.q, "admin: read the last job runs", scanJobRun,
		"SELECT "+jobRunCols+" FROM `ferry_job_runs` r WHERE `started_at` = (SELECT MAX(`started_at`) FROM `ferry_job_runs` l WHERE l.`job` = r.`job`) ORDER BY `job`, `company_id`")
}

// AbandonJobRuns implements admin.JobBackend.
func (a *Admin) AbandonJobRuns(ctx context.Context, job string, companyID int64, runID, msg string, at time.Time) error {
	_, err := a.q.ExecContext(ctx, "UPDATE `ferry_job_runs` SET `status` = ?, `error` = ?, `finished_at` = ? "+
		"WHERE `job` = ? AND `company_id` = ? AND `status` = ? AND `run_id` <> ?", jobs.RunFailed, msg, at, job, companyID, jobs.RunRunning, runID)
	return dbErr(fmt.Sprintf("admin: mark the abandoned runs of job %s/%d", job, companyID), err)
}
