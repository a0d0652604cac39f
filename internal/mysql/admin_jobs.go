package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/admin"
)

var _ admin.JobBackend = (*Admin)(nil)

const jobCols = "`name`, `status`, `kind`, `db`, `sql_text`, `params`, `run_on`, `schedule`, `timezone`, `position`, " +
	"`timeout_seconds`, `idempotent`, `batch_rows`, `pause_ms`, `object_key`, `next_due_at`"

func scanJob(sc interface{ Scan(...any) error }) (ferry.Job, error) {
	var j ferry.Job
	var status string
	var params, schedule, tz, key sql.NullString
	var timeout int64
	var batch, pause sql.NullInt64
	var next scanTime
	if err := sc.Scan(&j.Name, &status, &j.Kind, &j.Database, &j.SQL, &params, &j.Trigger, &schedule, &tz, &j.Position,
		&timeout, &j.Idempotent, &batch, &pause, &key, &next); err != nil {
		return j, err
	}
	j.Active = status == admin.StatusActive
	ps, err := admin.ParseParams(params.String)
	if err != nil {
		ps = []string{params.String}
	}
	j.Params, j.Schedule, j.TimeZone, j.KeyPattern = ps, schedule.String, tz.String, key.String
	j.Timeout = time.Duration(timeout) * time.Second
	j.BatchRows, j.Pause = int(batch.Int64), time.Duration(pause.Int64)*time.Millisecond
	j.NextDue = next.ptr()
	return j, nil
}

// Jobs implements admin.JobBackend.
func (a *Admin) Jobs(ctx context.Context) ([]ferry.Job, error) {
	return queryAll(ctx, a.q, "admin: list jobs", scanJob, "SELECT "+jobCols+" FROM `ferry_jobs` ORDER BY `position`, `name`")
}

// Job implements admin.JobBackend.
func (a *Admin) Job(ctx context.Context, name string) (ferry.Job, error) {
	j, err := scanJob(a.q.QueryRowContext(ctx, "SELECT "+jobCols+" FROM `ferry_jobs` WHERE `name` = ?", name))
	if errors.Is(err, sql.ErrNoRows) {
		return j, fmt.Errorf("admin: job %s: %w", name, ferry.ErrNotFound)
	}
	return j, dbErr("admin: read job "+name, err)
}

func utcPtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC()
}

// PutJob implements admin.JobBackend.
func (a *Admin) PutJob(ctx context.Context, j ferry.Job, replace bool) error {
	status := admin.StatusInactive
	if j.Active {
		status = admin.StatusActive
	}
	q := "INSERT INTO `ferry_jobs` (" + jobCols + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
	if replace {
		q += " ON DUPLICATE KEY UPDATE `status` = VALUES(`status`), `kind` = VALUES(`kind`), `db` = VALUES(`db`), `sql_text` = VALUES(`sql_text`), " +
			"`params` = VALUES(`params`), `run_on` = VALUES(`run_on`), `schedule` = VALUES(`schedule`), `timezone` = VALUES(`timezone`), " +
			"`position` = VALUES(`position`), `timeout_seconds` = VALUES(`timeout_seconds`), `idempotent` = VALUES(`idempotent`), " +
			"`batch_rows` = VALUES(`batch_rows`), `pause_ms` = VALUES(`pause_ms`), `object_key` = VALUES(`object_key`), " +
			"`next_due_at` = VALUES(`next_due_at`), `updated_at` = CURRENT_TIMESTAMP(6)"
	}
	_, err := a.q.ExecContext(ctx, q, j.Name, status, j.Kind, j.Database, j.SQL, admin.FormatParams(j.Params), j.Trigger,
		nullIfZero(j.Schedule), nullIfZero(j.TimeZone), j.Position, int64(j.Timeout/time.Second), j.Idempotent,
		nullIfZero(j.BatchRows), nullIfZero(j.Pause.Milliseconds()), nullIfZero(j.KeyPattern), utcPtr(j.NextDue))
	if mysqlErrNo(err) == 1062 {
		return &ferry.ConfigError{Msg: fmt.Sprintf("job %s already exists", j.Name), Fix: "choose another name, or pass --replace to change it"}
	}
	return dbErr("admin: write job "+j.Name, err)
}

// SetJobStatus implements admin.JobBackend.
func (a *Admin) SetJobStatus(ctx context.Context, name, status string, nextDue *time.Time) (bool, error) {
	_, err := a.q.ExecContext(ctx, "UPDATE `ferry_jobs` SET `status` = ?, `next_due_at` = ?, `updated_at` = CURRENT_TIMESTAMP(6) WHERE `name` = ?", status, utcPtr(nextDue), name)
	if err != nil {
		return false, dbErr("admin: set status of job "+name, err)
	}
	// RowsAffected is 0 for an unchanged row: count instead.
	var found int
	err = a.q.QueryRowContext(ctx, "SELECT COUNT(*) FROM `ferry_jobs` WHERE `name` = ?", name).Scan(&found)
	return found > 0, dbErr("admin: set status of job "+name, err)
}

// SetNextDue implements admin.JobBackend.
func (a *Admin) SetNextDue(ctx context.Context, name string, next *time.Time) error {
	_, err := a.q.ExecContext(ctx, "UPDATE `ferry_jobs` SET `next_due_at` = ? WHERE `name` = ?", utcPtr(next), name)
	return dbErr("admin: set next due of job "+name, err)
}

// ClaimJob implements admin.JobBackend: one statement, so concurrent
// claims have one winner.
func (a *Admin) ClaimJob(ctx context.Context, job string, companyID int64, holder string, now, until time.Time) (bool, error) {
	op := fmt.Sprintf("admin: claim job %s/%d", job, companyID)
	if _, err := a.q.ExecContext(ctx, "INSERT INTO `ferry_job_leases` (`job`, `company_id`, `holder`, `expires_at`) VALUES (?, ?, ?, ?) "+
		// Assignments apply left to right: holder first (from the old
		// expiry), then the expiry when the holder is now ours.
		"ON DUPLICATE KEY UPDATE `holder` = IF(`holder` = VALUES(`holder`) OR `expires_at` <= ?, VALUES(`holder`), `holder`), "+
		"`expires_at` = IF(`holder` = VALUES(`holder`), VALUES(`expires_at`), `expires_at`)",
		job, companyID, holder, until, now); err != nil {
		return false, dbErr(op, err)
	}
	var got string
	err := a.q.QueryRowContext(ctx, "SELECT `holder` FROM `ferry_job_leases` WHERE `job` = ? AND `company_id` = ?", job, companyID).Scan(&got)
	return got == holder, dbErr(op, err)
}

// ReleaseJobs implements admin.JobBackend.
func (a *Admin) ReleaseJobs(ctx context.Context, holder, job string, companyID int64) error {
	q, args := "DELETE FROM `ferry_job_leases` WHERE `holder` = ?", []any{holder}
	if job != "" {
		q, args = q+" AND `job` = ? AND `company_id` = ?", append(args, job, companyID)
	}
	_, err := a.q.ExecContext(ctx, q, args...)
	return dbErr("admin: release the job leases of "+holder, err)
}
