package admin

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/ferrydata/ferry"
)

// Run status values of ferry_runs.status.
const (
	RunRunning   = "running"
	RunSucceeded = "succeeded"
	RunFailed    = "failed"
)

// Table load status values of ferry_table_loads.status.
const (
	LoadSwapped = "swapped"
	LoadFailed  = "failed"
)

// Run is a ferry_runs row.
type Run struct {
	RunID      string     `json:"run_id"`
	RunDate    string     `json:"run_date,omitempty"`
	StartedAt  time.Time  `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
	Status     string     `json:"status"`
	Companies  int        `json:"companies"`
	Failed     int        `json:"failed"`
	Rows       int64      `json:"rows"`
	Summary    string     `json:"summary,omitempty"`
}

// TableLoad is a ferry_table_loads row: one table of one company in a run.
type TableLoad struct {
	RunID     string     `json:"run_id"`
	CompanyID int64      `json:"company_id"`
	Table     string     `json:"table"`
	Chunks    int        `json:"chunks"`
	Rows      int64      `json:"rows"`
	Bytes     int64      `json:"bytes"`
	Seconds   float64    `json:"seconds"`
	Status    string     `json:"status"`
	Error     string     `json:"error,omitempty"`
	SwappedAt *time.Time `json:"swapped_at,omitempty"`
}

func nullDate(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// StartRun records a run as running. Calling it again for the same run (a
// retried list-tables) updates the company count and keeps started_at.
func StartRun(ctx context.Context, q Querier, runID, runDate string, companies int, at time.Time) error {
	_, err := q.ExecContext(ctx, "INSERT INTO `ferry_runs` (`run_id`, `run_date`, `started_at`, `status`, `companies`) VALUES (?, ?, ?, ?, ?) "+
		"ON DUPLICATE KEY UPDATE `companies` = VALUES(`companies`), `status` = VALUES(`status`), `finished_at` = NULL",
		runID, nullDate(runDate), at.UTC(), RunRunning, companies)
	return dbErr("admin: start run "+runID, err)
}

// RecordTableLoad upserts one table's result in a run. Idempotent.
func RecordTableLoad(ctx context.Context, q Querier, l TableLoad) error {
	var swapped any
	if l.SwappedAt != nil {
		swapped = l.SwappedAt.UTC()
	}
	var msg any
	if l.Error != "" {
		msg = l.Error
	}
	_, err := q.ExecContext(ctx, "INSERT INTO `ferry_table_loads` (`run_id`, `company_id`, `table_name`, `chunks`, `rows`, `bytes`, `seconds`, `status`, `error`, `swapped_at`) "+
		"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE `chunks` = VALUES(`chunks`), `rows` = VALUES(`rows`), `bytes` = VALUES(`bytes`), "+
		"`seconds` = VALUES(`seconds`), `status` = VALUES(`status`), `error` = VALUES(`error`), `swapped_at` = VALUES(`swapped_at`)",
		l.RunID, l.CompanyID, l.Table, l.Chunks, l.Rows, l.Bytes, l.Seconds, l.Status, msg, swapped)
	return dbErr(fmt.Sprintf("admin: record table load %s/%d/%s", l.RunID, l.CompanyID, l.Table), err)
}

// FinishRun records a run's end. A run that was never started (list-tables
// refused it) is inserted, so every finished run has a row. Idempotent.
func FinishRun(ctx context.Context, q Querier, r Run) error {
	at := time.Now().UTC()
	if r.FinishedAt != nil {
		at = r.FinishedAt.UTC()
	}
	_, err := q.ExecContext(ctx, "INSERT INTO `ferry_runs` (`run_id`, `run_date`, `started_at`, `finished_at`, `status`, `companies`, `failed`, `rows`, `summary`) "+
		"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE `finished_at` = VALUES(`finished_at`), `status` = VALUES(`status`), "+
		"`companies` = VALUES(`companies`), `failed` = VALUES(`failed`), `rows` = VALUES(`rows`), `summary` = VALUES(`summary`)",
		r.RunID, nullDate(r.RunDate), at, at, r.Status, r.Companies, r.Failed, r.Rows, r.Summary)
	return dbErr("admin: finish run "+r.RunID, err)
}

const runCols = "`run_id`, `run_date`, `started_at`, `finished_at`, `status`, `companies`, `failed`, `rows`, `summary`"

func scanRun(sc interface{ Scan(...any) error }) (Run, error) {
	var r Run
	var date, started, finished dbTime
	var summary sql.NullString
	if err := sc.Scan(&r.RunID, &date, &started, &finished, &r.Status, &r.Companies, &r.Failed, &r.Rows, &summary); err != nil {
		return r, err
	}
	if date.Valid {
		r.RunDate = date.T.Format("2006-01-02")
	}
	r.StartedAt = started.T
	if finished.Valid {
		t := finished.T
		r.FinishedAt = &t
	}
	r.Summary = summary.String
	return r, nil
}

// ListRuns returns the newest runs first, at most limit (0: 50).
func ListRuns(ctx context.Context, q Querier, limit int) ([]Run, error) {
	if limit <= 0 {
		limit = 50
	}
	rows, err := q.QueryContext(ctx, "SELECT "+runCols+" FROM `ferry_runs` ORDER BY `started_at` DESC, `run_id` DESC LIMIT ?", limit)
	if err != nil {
		return nil, dbErr("admin: list runs", err)
	}
	defer rows.Close()
	var out []Run
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, dbErr("admin: list runs", err)
		}
		out = append(out, r)
	}
	return out, dbErr("admin: list runs", rows.Err())
}

// GetRun returns a run and its table loads (ordered by company, table). A
// missing run wraps ferry.ErrNotFound.
func GetRun(ctx context.Context, q Querier, runID string) (Run, []TableLoad, error) {
	r, err := scanRun(q.QueryRowContext(ctx, "SELECT "+runCols+" FROM `ferry_runs` WHERE `run_id` = ?", runID))
	if errors.Is(err, sql.ErrNoRows) {
		return Run{}, nil, fmt.Errorf("admin: run %s: %w", runID, ferry.ErrNotFound)
	}
	if err != nil {
		return Run{}, nil, dbErr("admin: get run "+runID, err)
	}
	loads, err := TableLoads(ctx, q, runID)
	return r, loads, err
}

// TableLoads returns a run's table loads ordered by company and table.
func TableLoads(ctx context.Context, q Querier, runID string) ([]TableLoad, error) {
	rows, err := q.QueryContext(ctx, "SELECT `run_id`, `company_id`, `table_name`, `chunks`, `rows`, `bytes`, `seconds`, `status`, `error`, `swapped_at` "+
		"FROM `ferry_table_loads` WHERE `run_id` = ? ORDER BY `company_id`, `table_name`", runID)
	if err != nil {
		return nil, dbErr("admin: read table loads of "+runID, err)
	}
	defer rows.Close()
	var out []TableLoad
	for rows.Next() {
		var l TableLoad
		var msg sql.NullString
		var swapped dbTime
		if err := rows.Scan(&l.RunID, &l.CompanyID, &l.Table, &l.Chunks, &l.Rows, &l.Bytes, &l.Seconds, &l.Status, &msg, &swapped); err != nil {
			return nil, dbErr("admin: read table loads of "+runID, err)
		}
		l.Error = msg.String
		if swapped.Valid {
			t := swapped.T
			l.SwappedAt = &t
		}
		out = append(out, l)
	}
	return out, dbErr("admin: read table loads of "+runID, rows.Err())
}
