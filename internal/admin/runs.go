package admin

import (
	"context"
	"time"
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

// StartRun records a run as running. Calling it again for the same run (a
// retried list-tables) updates the company count and keeps started_at.
func (db *DB) StartRun(ctx context.Context, runID, runDate string, companies int, at time.Time) error {
	return db.b.StartRun(ctx, runID, runDate, companies, at.UTC())
}

// RecordTableLoad upserts one table's result in a run. Idempotent.
func (db *DB) RecordTableLoad(ctx context.Context, l TableLoad) error {
	if l.SwappedAt != nil {
		t := l.SwappedAt.UTC()
		l.SwappedAt = &t
	}
	return db.b.RecordTableLoad(ctx, l)
}

// FinishRun records a run's end (now when r.FinishedAt is nil). A run that
// was never started (list-tables refused it) is inserted, with started_at
// the end, so every finished run has a row. Idempotent.
func (db *DB) FinishRun(ctx context.Context, r Run) error {
	at := time.Now().UTC()
	if r.FinishedAt != nil {
		at = r.FinishedAt.UTC()
	}
	r.FinishedAt = &at
	return db.b.FinishRun(ctx, r)
}

// ListRuns returns the newest runs first, at most limit (0: 50).
func (db *DB) ListRuns(ctx context.Context, limit int) ([]Run, error) {
	if limit <= 0 {
		limit = 50
	}
	return db.b.Runs(ctx, limit)
}

// GetRun returns a run and its table loads (ordered by company, table). A
// missing run wraps ferry.ErrNotFound.
func (db *DB) GetRun(ctx context.Context, runID string) (Run, []TableLoad, error) {
	r, err := db.b.Run(ctx, runID)
	if err != nil {
		return Run{}, nil, err
	}
	loads, err := db.b.TableLoads(ctx, runID)
	return r, loads, err
}

// TableLoads returns a run's table loads ordered by company and table.
func (db *DB) TableLoads(ctx context.Context, runID string) ([]TableLoad, error) {
	return db.b.TableLoads(ctx, runID)
}

// LastSwaps returns, per company and table, the newest load that swapped
// the table live.
func (db *DB) LastSwaps(ctx context.Context) ([]TableLoad, error) { return db.b.LastSwaps(ctx) }

// LoadHistory returns every table load of a recorded run, oldest run first:
// the last one of a company and table is its newest.
func (db *DB) LoadHistory(ctx context.Context) ([]TableLoad, error) { return db.b.LoadHistory(ctx) }
