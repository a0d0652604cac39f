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

// StartRun implements admin.Backend.
func (a *Admin) StartRun(ctx context.Context, runID, runDate string, companies int, at time.Time) error {
	_, err := a.q.Exec(ctx, `INSERT INTO ferry_runs (run_id, run_date, started_at, status, companies) VALUES ($1, $2::text::date, $3, $4, $5)
		ON CONFLICT (run_id) DO UPDATE SET companies = EXCLUDED.companies, status = EXCLUDED.status, finished_at = NULL`,
		runID, nullIfZero(runDate), at.UTC(), admin.RunRunning, companies)
	return adminErr(ctx, "admin: start run "+runID, err)
}

// RecordTableLoad implements admin.Backend.
func (a *Admin) RecordTableLoad(ctx context.Context, l admin.TableLoad) error {
	var swapped any
	if l.SwappedAt != nil {
		swapped = l.SwappedAt.UTC()
	}
	_, err := a.q.Exec(ctx, `INSERT INTO ferry_table_loads (run_id, company_id, table_name, chunks, "rows", bytes, seconds, status, error, swapped_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		ON CONFLICT (run_id, company_id, table_name) DO UPDATE SET chunks = EXCLUDED.chunks, "rows" = EXCLUDED."rows", bytes = EXCLUDED.bytes,
		seconds = EXCLUDED.seconds, status = EXCLUDED.status, error = EXCLUDED.error, swapped_at = EXCLUDED.swapped_at`,
		l.RunID, l.CompanyID, l.Table, l.Chunks, l.Rows, l.Bytes, l.Seconds, l.Status, nullIfZero(l.Error), swapped)
	return adminErr(ctx, fmt.Sprintf("admin: record table load %s/%d/%s", l.RunID, l.CompanyID, l.Table), err)
}

// FinishRun implements admin.Backend.
func (a *Admin) FinishRun(ctx context.Context, r admin.Run) error {
	at := r.FinishedAt.UTC()
	_, err := a.q.Exec(ctx, `INSERT INTO ferry_runs (run_id, run_date, started_at, finished_at, status, companies, failed, "rows", summary)
		VALUES ($1, $2::text::date, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (run_id) DO UPDATE SET finished_at = EXCLUDED.finished_at, status = EXCLUDED.status,
		companies = EXCLUDED.companies, failed = EXCLUDED.failed, "rows" = EXCLUDED."rows", summary = EXCLUDED.summary`,
		r.RunID, nullIfZero(r.RunDate), at, at, r.Status, r.Companies, r.Failed, r.Rows, r.Summary)
	return adminErr(ctx, "admin: finish run "+r.RunID, err)
}

const runCols = `run_id, to_char(run_date, 'YYYY-MM-DD'), started_at, finished_at, status, companies, failed, "rows", coalesce(summary, '')`

func scanRun(sc pgx.Row) (admin.Run, error) {
	var r admin.Run
	var date *string
	var finished *time.Time
	if err := sc.Scan(&r.RunID, &date, &r.StartedAt, &finished, &r.Status, &r.Companies, &r.Failed, &r.Rows, &r.Summary); err != nil {
		return r, err
	}
	r.RunDate = deref(date)
	r.StartedAt = r.StartedAt.UTC()
	if finished != nil {
		t := finished.UTC()
		r.FinishedAt = &t
	}
	return r, nil
}

// Runs implements admin.Backend.
func (a *Admin) Runs(ctx context.Context, limit int) ([]admin.Run, error) {
	const op = "admin: list runs"
	rows, err := a.q.Query(ctx, `SELECT `+runCols+` FROM ferry_runs ORDER BY started_at DESC, run_id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, adminErr(ctx, op, err)
	}
	defer rows.Close()
	var out []admin.Run
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, adminErr(ctx, op, err)
		}
		out = append(out, r)
	}
	return out, adminErr(ctx, op, rows.Err())
}

// Run implements admin.Backend.
func (a *Admin) Run(ctx context.Context, runID string) (admin.Run, error) {
	r, err := scanRun(a.q.QueryRow(ctx, `SELECT `+runCols+` FROM ferry_runs WHERE run_id = $1`, runID))
	if errors.Is(err, pgx.ErrNoRows) {
		return admin.Run{}, fmt.Errorf("admin: run %s: %w", runID, ferry.ErrNotFound)
	}
	return r, adminErr(ctx, "admin: get run "+runID, err)
}

const loadCols = `l.run_id, l.company_id, l.table_name, l.chunks, l."rows", l.bytes, l.seconds, l.status, coalesce(l.error, ''), l.swapped_at`

// TableLoads implements admin.Backend.
func (a *Admin) TableLoads(ctx context.Context, runID string) ([]admin.TableLoad, error) {
	return a.loads(ctx, "admin: read table loads of "+runID,
		`SELECT `+loadCols+` FROM ferry_table_loads l WHERE l.run_id = $1 ORDER BY l.company_id, l.table_name`, runID)
}

// LastSwaps implements admin.Backend.
func (a *Admin) LastSwaps(ctx context.Context) ([]admin.TableLoad, error) {
	return a.loads(ctx, "admin: read freshness", `SELECT DISTINCT ON (l.company_id, l.table_name) `+loadCols+`
		FROM ferry_table_loads l WHERE l.status = $1 AND l.swapped_at IS NOT NULL
		ORDER BY l.company_id, l.table_name, l.swapped_at DESC, l.run_id DESC`, admin.LoadSwapped)
}

// LoadHistory implements admin.Backend.
func (a *Admin) LoadHistory(ctx context.Context) ([]admin.TableLoad, error) {
	return a.loads(ctx, "admin: read last loads", `SELECT `+loadCols+` FROM ferry_table_loads l
		JOIN ferry_runs r ON r.run_id = l.run_id ORDER BY r.started_at, r.run_id, l.company_id, l.table_name`)
}

// loads runs a query selecting loadCols.
func (a *Admin) loads(ctx context.Context, op, query string, args ...any) ([]admin.TableLoad, error) {
	rows, err := a.q.Query(ctx, query, args...)
	if err != nil {
		return nil, adminErr(ctx, op, err)
	}
	defer rows.Close()
	var out []admin.TableLoad
	for rows.Next() {
		var l admin.TableLoad
		var swapped *time.Time
		if err := rows.Scan(&l.RunID, &l.CompanyID, &l.Table, &l.Chunks, &l.Rows, &l.Bytes, &l.Seconds, &l.Status, &l.Error, &swapped); err != nil {
			return nil, adminErr(ctx, op, err)
		}
		if swapped != nil {
			t := swapped.UTC()
			l.SwappedAt = &t
		}
		out = append(out, l)
	}
	return out, adminErr(ctx, op, rows.Err())
}
