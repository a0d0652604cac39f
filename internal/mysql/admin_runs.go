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

// nullDate is a run date, or NULL for none.
func nullDate(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// StartRun implements admin.Backend.
func (a *Admin) StartRun(ctx context.Context, runID, runDate string, companies int, at time.Time) error {
	_, err := a.q.ExecContext(ctx, "INSERT INTO `ferry_runs` (`run_id`, `run_date`, `started_at`, `status`, `companies`) VALUES (?, ?, ?, ?, ?) "+
		"ON DUPLICATE KEY UPDATE `companies` = VALUES(`companies`), `status` = VALUES(`status`), `finished_at` = NULL",
		runID, nullDate(runDate), at.UTC(), admin.RunRunning, companies)
	return dbErr("admin: start run "+runID, err)
}

// RecordTableLoad implements admin.Backend.
func (a *Admin) RecordTableLoad(ctx context.Context, l admin.TableLoad) error {
	var swapped any
	if l.SwappedAt != nil {
		swapped = l.SwappedAt.UTC()
	}
	_, err := a.q.ExecContext(ctx, "INSERT INTO `ferry_table_loads` (`run_id`, `company_id`, `table_name`, `chunks`, `rows`, `bytes`, `seconds`, `status`, `error`, `swapped_at`) "+
		"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE `chunks` = VALUES(`chunks`), `rows` = VALUES(`rows`), `bytes` = VALUES(`bytes`), "+
		"`seconds` = VALUES(`seconds`), `status` = VALUES(`status`), `error` = VALUES(`error`), `swapped_at` = VALUES(`swapped_at`)",
		l.RunID, l.CompanyID, l.Table, l.Chunks, l.Rows, l.Bytes, l.Seconds, l.Status, nullIfZero(l.Error), swapped)
	return dbErr(fmt.Sprintf("admin: record table load %s/%d/%s", l.RunID, l.CompanyID, l.Table), err)
}

// FinishRun implements admin.Backend.
func (a *Admin) FinishRun(ctx context.Context, r admin.Run) error {
	at := r.FinishedAt.UTC()
	_, err := a.q.ExecContext(ctx, "INSERT INTO `ferry_runs` (`run_id`, `run_date`, `started_at`, `finished_at`, `status`, `companies`, `failed`, `rows`, `summary`) "+
		"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE `finished_at` = VALUES(`finished_at`), `status` = VALUES(`status`), "+
		"`companies` = VALUES(`companies`), `failed` = VALUES(`failed`), `rows` = VALUES(`rows`), `summary` = VALUES(`summary`)",
		r.RunID, nullDate(r.RunDate), at, at, r.Status, r.Companies, r.Failed, r.Rows, r.Summary)
	return dbErr("admin: finish run "+r.RunID, err)
}

const runCols = "`run_id`, `run_date`, `started_at`, `finished_at`, `status`, `companies`, `failed`, `rows`, `summary`"

func scanRun(sc interface{ Scan(...any) error }) (admin.Run, error) {
	var r admin.Run
	var date, started, finished scanTime
	var summary sql.NullString
	if err := sc.Scan(&r.RunID, &date, &started, &finished, &r.Status, &r.Companies, &r.Failed, &r.Rows, &summary); err != nil {
		return r, err
	}
	if date.Valid {
		r.RunDate = date.T.Format("2006-01-02")
	}
	r.StartedAt, r.FinishedAt, r.Summary = started.T, finished.ptr(), summary.String
	return r, nil
}

// Runs implements admin.Backend.
func (a *Admin) Runs(ctx context.Context, limit int) ([]admin.Run, error) {
	return queryAll(ctx, a.q, "admin: list runs", scanRun, "SELECT "+runCols+" FROM `ferry_runs` ORDER BY `started_at` DESC, `run_id` DESC LIMIT ?", limit)
}

// queryAll runs query and scans every row with scan; errors are wrapped
// with op (transient ones retryable).
func queryAll[T any](ctx context.Context, q querier, op string, scan func(interface{ Scan(...any) error }) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, dbErr(op, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, dbErr(op, err)
		}
		out = append(out, v)
	}
	return out, dbErr(op, rows.Err())
}

// Run implements admin.Backend.
func (a *Admin) Run(ctx context.Context, runID string) (admin.Run, error) {
	r, err := scanRun(a.q.QueryRowContext(ctx, "SELECT "+runCols+" FROM `ferry_runs` WHERE `run_id` = ?", runID))
	if errors.Is(err, sql.ErrNoRows) {
		return admin.Run{}, fmt.Errorf("admin: run %s: %w", runID, ferry.ErrNotFound)
	}
	return r, dbErr("admin: get run "+runID, err)
}

const loadCols = "l.`run_id`, l.`company_id`, l.`table_name`, l.`chunks`, l.`rows`, l.`bytes`, l.`seconds`, l.`status`, l.`error`, l.`swapped_at`"

// TableLoads implements admin.Backend.
func (a *Admin) TableLoads(ctx context.Context, runID string) ([]admin.TableLoad, error) {
	return a.loads(ctx, "admin: read table loads of "+runID, "SELECT "+loadCols+" FROM `ferry_table_loads` l WHERE l.`run_id` = ? ORDER BY l.`company_id`, l.`table_name`", runID)
}

// LastSwaps implements admin.Backend.
func (a *Admin) LastSwaps(ctx context.Context) ([]admin.TableLoad, error) {
	return a.loads(ctx, "admin: read freshness", "SELECT "+loadCols+" FROM `ferry_table_loads` l "+
		"JOIN (SELECT `company_id`, `table_name`, MAX(`swapped_at`) AS `m` FROM `ferry_table_loads` WHERE `status` = ? AND `swapped_at` IS NOT NULL GROUP BY `company_id`, `table_name`) x "+
		"ON l.`company_id` = x.`company_id` AND l.`table_name` = x.`table_name` AND l.`swapped_at` = x.`m` WHERE l.`status` = ?",
		admin.LoadSwapped, admin.LoadSwapped)
}

// LoadHistory implements admin.Backend.
func (a *Admin) LoadHistory(ctx context.Context) ([]admin.TableLoad, error) {
	return a.loads(ctx, "admin: read last loads", "SELECT "+loadCols+" FROM `ferry_table_loads` l "+
		"JOIN `ferry_runs` r ON r.`run_id` = l.`run_id` ORDER BY r.`started_at`, r.`run_id`")
}

// loads runs a query selecting loadCols.
func (a *Admin) loads(ctx context.Context, op, query string, args ...any) ([]admin.TableLoad, error) {
	rows, err := a.q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, dbErr(op, err)
	}
	defer rows.Close()
	var out []admin.TableLoad
	for rows.Next() {
		var l admin.TableLoad
		var msg sql.NullString
		var swapped scanTime
		if err := rows.Scan(&l.RunID, &l.CompanyID, &l.Table, &l.Chunks, &l.Rows, &l.Bytes, &l.Seconds, &l.Status, &msg, &swapped); err != nil {
			return nil, dbErr(op, err)
		}
		l.Error, l.SwappedAt = msg.String, swapped.ptr()
		out = append(out, l)
	}
	return out, dbErr(op, rows.Err())
}
