package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/admin"
	"github.com/jackc/pgx/v5"
)

var _ admin.JobBackend = (*Admin)(nil)

const jobCols = `name, status, kind, db, sql_text, params, run_on, schedule, timezone, position,
	timeout_seconds, idempotent, batch_rows, pause_ms, object_key, next_due_at`

func scanJob(sc pgx.Row) (ferry.Job, error) {
	var j ferry.Job
	var status string
	var params, schedule, tz, key *string
	var timeout int64
	var idempotent int16
	var batch, pause *int32
	var next *time.Time
	if err := sc.Scan(&j.Name, &status, &j.Kind, &j.Database, &j.SQL, &params, &j.Trigger, &schedule, &tz, &j.Position,
		&timeout, &idempotent, &batch, &pause, &key, &next); err != nil {
		return j, err
	}
	j.Active, j.Idempotent = status == admin.StatusActive, idempotent != 0
	ps, err := admin.ParseParams(deref(params))
	if err != nil {
		ps = []string{deref(params)}
	}
	j.Params, j.Schedule, j.TimeZone, j.KeyPattern = ps, deref(schedule), deref(tz), deref(key)
	j.Timeout = time.Duration(timeout) * time.Second
	if batch != nil {
		j.BatchRows = int(*batch)
	}
	if pause != nil {
		j.Pause = time.Duration(*pause) * time.Millisecond
	}
	j.NextDue = utcTime(next)
	return j, nil
}

// utcTime is *t in UTC, nil for nil.
func utcTime(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// queryRows runs query and scans every row with scan.
func queryRows[T any](ctx context.Context, q adminQuerier, op string, scan func(pgx.Row) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, adminErr(ctx, op, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, adminErr(ctx, op, err)
		}
		out = append(out, v)
	}
	return out, adminErr(ctx, op, rows.Err())
}

// Jobs implements admin.JobBackend.
func (a *Admin) Jobs(ctx context.Context) ([]ferry.Job, error) {
	return queryRows(ctx, a.q, "admin: list jobs", scanJob, `SELECT `+jobCols+` FROM ferry_jobs ORDER BY position, name`)
}

// Job implements admin.JobBackend.
func (a *Admin) Job(ctx context.Context, name string) (ferry.Job, error) {
	j, err := scanJob(a.q.QueryRow(ctx, `SELECT `+jobCols+` FROM ferry_jobs WHERE name = $1`, name))
	if errors.Is(err, pgx.ErrNoRows) {
		return j, fmt.Errorf("admin: job %s: %w", name, ferry.ErrNotFound)
	}
	return j, adminErr(ctx, "admin: read job "+name, err)
}

// PutJob implements admin.JobBackend.
func (a *Admin) PutJob(ctx context.Context, j ferry.Job, replace bool) error {
	status, idem := admin.StatusInactive, 0
	if j.Active {
		status = admin.StatusActive
	}
	if j.Idempotent {
		idem = 1
	}
	q := `INSERT INTO ferry_jobs (` + jobCols + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`
	if replace {
		q += ` ON CONFLICT (name) DO UPDATE SET status = EXCLUDED.status, kind = EXCLUDED.kind, db = EXCLUDED.db, sql_text = EXCLUDED.sql_text,
			params = EXCLUDED.params, run_on = EXCLUDED.run_on, schedule = EXCLUDED.schedule, timezone = EXCLUDED.timezone,
			position = EXCLUDED.position, timeout_seconds = EXCLUDED.timeout_seconds, idempotent = EXCLUDED.idempotent,
			batch_rows = EXCLUDED.batch_rows, pause_ms = EXCLUDED.pause_ms, object_key = EXCLUDED.object_key,
			next_due_at = EXCLUDED.next_due_at, updated_at = now()`
	}
	_, err := a.q.Exec(ctx, q, j.Name, status, string(j.Kind), string(j.Database), j.SQL, admin.FormatParams(j.Params), string(j.Trigger),
		nullIfZero(j.Schedule), nullIfZero(j.TimeZone), j.Position, int64(j.Timeout/time.Second), idem,
		nullIfZero(j.BatchRows), nullIfZero(j.Pause.Milliseconds()), nullIfZero(j.KeyPattern), utcTime(j.NextDue))
	if pgCode(err) == "23505" {
		return &ferry.ConfigError{Msg: fmt.Sprintf("job %s already exists", j.Name), Fix: "choose another name, or pass --replace to change it"}
	}
	return adminErr(ctx, "admin: write job "+j.Name, err)
}

// SetJobStatus implements admin.JobBackend.
func (a *Admin) SetJobStatus(ctx context.Context, name, status string, nextDue *time.Time) (bool, error) {
	tag, err := a.q.Exec(ctx, `UPDATE ferry_jobs SET status = $1, next_due_at = $2, updated_at = now() WHERE name = $3`, status, utcTime(nextDue), name)
	return tag.RowsAffected() > 0, adminErr(ctx, "admin: set status of job "+name, err)
}

// SetNextDue implements admin.JobBackend.
func (a *Admin) SetNextDue(ctx context.Context, name string, next *time.Time) error {
	_, err := a.q.Exec(ctx, `UPDATE ferry_jobs SET next_due_at = $1 WHERE name = $2`, utcTime(next), name)
	return adminErr(ctx, "admin: set next due of job "+name, err)
}

// ClaimJob implements admin.JobBackend: one statement whose conflict arm
// takes the row lock, so concurrent claims have one winner.
func (a *Admin) ClaimJob(ctx context.Context, job string, companyID int64, holder string, now, until time.Time) (bool, error) {
	op := fmt.Sprintf("admin: claim job %s/%d", job, companyID)
	var got string
	err := a.q.QueryRow(ctx, `INSERT INTO ferry_job_leases AS l (job, company_id, holder, expires_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (job, company_id) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
		WHERE l.holder = EXCLUDED.holder OR l.expires_at <= $5
		RETURNING holder`, job, companyID, holder, until.UTC(), now.UTC()).Scan(&got)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil // another holder's lease is still valid: the update did not apply
	}
	return got == holder, adminErr(ctx, op, err)
}

// ReleaseJobs implements admin.JobBackend.
func (a *Admin) ReleaseJobs(ctx context.Context, holder, job string, companyID int64) error {
	_, err := a.q.Exec(ctx, `DELETE FROM ferry_job_leases WHERE holder = $1 AND ($2::text IS NULL OR (job = $2 AND company_id = $3))`,
		holder, nullIfZero(job), companyID)
	return adminErr(ctx, "admin: release the job leases of "+holder, err)
}
