package ops

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/admin"
)

// Freshness is when one table of one company was last swapped live.
type Freshness struct {
	CompanyID int64      `json:"company_id"`
	Alias     string     `json:"alias"`
	Table     string     `json:"table"`
	RunID     string     `json:"run_id,omitempty"`
	Rows      int64      `json:"rows"`
	SwappedAt *time.Time `json:"swapped_at,omitempty"`
	// LastStatus is the table's status in the newest run that had it
	// (swapped, failed, ...); LastRunID that run; LastError its error.
	LastStatus string `json:"last_status,omitempty"`
	LastRunID  string `json:"last_run_id,omitempty"`
	LastError  string `json:"last_error,omitempty"`
	// Target is what the company schema's _ferry_freshness table on the
	// target says (only when the target was read and has a row).
	Target *TargetFresh `json:"target,omitempty"`
}

// scanTime reads a DATETIME whatever the DSN's parseTime.
type scanTime struct {
	T     time.Time
	Valid bool
}

func (s *scanTime) Scan(v any) error {
	var str string
	switch x := v.(type) {
	case nil:
		s.Valid = false
		return nil
	case time.Time:
		s.T, s.Valid = x.UTC(), true
		return nil
	case []byte:
		str = string(x)
	case string:
		str = x
	default:
		return fmt.Errorf("ops: cannot scan %T as a time", v)
	}
	for _, layout := range []string{"2006-01-02 15:04:05.999999", "2006-01-02 15:04:05", time.RFC3339Nano} {
		if t, err := time.ParseInLocation(layout, str, time.UTC); err == nil {
			s.T, s.Valid = t, true
			return nil
		}
	}
	return fmt.Errorf("ops: cannot parse time %q", str)
}

// CompanyFreshness returns, for every active company × active table and
// every company × table that was ever loaded, the last swap (run, rows,
// time) from ferry_table_loads, and the status of its newest load. Ordered
// by company id, then table.
func CompanyFreshness(ctx context.Context, db *sql.DB) ([]Freshness, error) {
	companies, err := admin.ListCompanies(ctx, db)
	if err != nil {
		return nil, err
	}
	alias := map[int64]string{}
	for _, c := range companies {
		alias[c.ID] = c.Alias
	}
	type key struct {
		id    int64
		table string
	}
	byKey := map[key]*Freshness{}
	var order []key
	get := func(id int64, table string) *Freshness {
		k := key{id, table}
		if f, ok := byKey[k]; ok {
			return f
		}
		f := &Freshness{CompanyID: id, Alias: alias[id], Table: table}
		byKey[k] = f
		order = append(order, k)
		return f
	}
	active, tables, err := LoadConfig(ctx, db, nil)
	if err != nil {
		return nil, err
	}
	for _, c := range active {
		for _, t := range tables {
			get(c.ID, t.Name)
		}
	}
	// Last swap per company × table.
	rows, err := db.QueryContext(ctx, "SELECT l.`company_id`, l.`table_name`, l.`run_id`, l.`rows`, l.`swapped_at` FROM `ferry_table_loads` l "+
		"JOIN (SELECT `company_id`, `table_name`, MAX(`swapped_at`) AS `m` FROM `ferry_table_loads` WHERE `status` = ? AND `swapped_at` IS NOT NULL GROUP BY `company_id`, `table_name`) x "+
		"ON l.`company_id` = x.`company_id` AND l.`table_name` = x.`table_name` AND l.`swapped_at` = x.`m` WHERE l.`status` = ?",
		admin.LoadSwapped, admin.LoadSwapped)
	if err != nil {
		return nil, fmt.Errorf("ops: read freshness: %w", err)
	}
	for rows.Next() {
		var id, n int64
		var table, run string
		var at scanTime
		if err := rows.Scan(&id, &table, &run, &n, &at); err != nil {
			rows.Close()
			return nil, fmt.Errorf("ops: read freshness: %w", err)
		}
		f := get(id, table)
		f.RunID, f.Rows = run, n
		if at.Valid {
			t := at.T
			f.SwappedAt = &t
		}
	}
	if err := rows.Close(); err != nil {
		return nil, fmt.Errorf("ops: read freshness: %w", err)
	}
	// Newest load per company × table (by the run's start).
	rows, err = db.QueryContext(ctx, "SELECT l.`company_id`, l.`table_name`, l.`run_id`, l.`status`, l.`error` FROM `ferry_table_loads` l "+
		"JOIN `ferry_runs` r ON r.`run_id` = l.`run_id` ORDER BY r.`started_at`, r.`run_id`")
	if err != nil {
		return nil, fmt.Errorf("ops: read last loads: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var table, run, status string
		var msg sql.NullString
		if err := rows.Scan(&id, &table, &run, &status, &msg); err != nil {
			return nil, fmt.Errorf("ops: read last loads: %w", err)
		}
		f := get(id, table)
		f.LastRunID, f.LastStatus, f.LastError = run, status, msg.String
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("ops: read last loads: %w", err)
	}
	out := make([]Freshness, 0, len(order))
	for _, k := range order {
		out = append(out, *byKey[k])
	}
	sortFreshness(out)
	return out, nil
}

func sortFreshness(fs []Freshness) {
	slices.SortStableFunc(fs, func(a, b Freshness) int {
		if c := cmp.Compare(a.CompanyID, b.CompanyID); c != 0 {
			return c
		}
		return strings.Compare(a.Table, b.Table)
	})
}

// Released is what ReleaseLease did.
type Released struct {
	Lease admin.Lease `json:"lease"`
	// WasHeld is false when nobody held the lease (nothing was done).
	WasHeld bool `json:"was_held"`
	// Expired is true when the lease had already expired.
	Expired bool `json:"expired"`
	// RunMarkedFailed is true when the holder's run row was still
	// 'running' and is now 'failed'.
	RunMarkedFailed bool `json:"run_marked_failed"`
}

// ReleaseLease force-releases the run lease, whoever holds it, and marks
// the holder's run failed if it is still recorded as running. Idempotent:
// with no holder it does nothing.
func ReleaseLease(ctx context.Context, db *sql.DB, now time.Time) (Released, error) {
	l, err := admin.GetLease(ctx, db)
	if err != nil {
		return Released{}, err
	}
	r := Released{Lease: l, WasHeld: l.Holder != "", Expired: l.Holder != "" && !l.Held(now)}
	if !r.WasHeld {
		return r, nil
	}
	if _, err := admin.ForceRelease(ctx, db); err != nil {
		return r, err
	}
	run, _, err := admin.GetRun(ctx, db, l.Holder)
	switch {
	case errors.Is(err, ferry.ErrNotFound):
		return r, nil
	case err != nil:
		return r, err
	}
	if run.Status == admin.RunRunning {
		fin := now.UTC()
		run.Status = admin.RunFailed
		run.FinishedAt = &fin
		run.Summary = "run lease force-released by `ferry runs release`; the run did not finish"
		if err := admin.FinishRun(ctx, db, run); err != nil {
			return r, err
		}
		r.RunMarkedFailed = true
	}
	return r, nil
}

// TargetFresh is one row of a company schema's _ferry_freshness table on
// the target: what the target itself says was last swapped live.
type TargetFresh struct {
	RunID     string    `json:"run_id"`
	Rows      int64     `json:"rows"`
	SwappedAt time.Time `json:"swapped_at"`
}

// TargetFreshness reads the freshness table of every given company's
// schema on the target, keyed by company id then table. A schema or
// freshness table that does not exist yet is simply absent.
func TargetFreshness(ctx context.Context, tgt *Target, companies []ferry.Company) (map[int64]map[string]TargetFresh, error) {
	out := map[int64]map[string]TargetFresh{}
	for _, c := range companies {
		if ferry.ValidIdent(c.Schema) != nil {
			continue
		}
		m := map[string]TargetFresh{}
		if tgt.Engine() == ferry.EngineMySQL {
			var n int
			if err := tgt.MySQL.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = '_ferry_freshness'", c.Schema).Scan(&n); err != nil {
				return nil, fmt.Errorf("ops: read freshness of %s: %w", c.Schema, err)
			}
			if n == 0 {
				continue
			}
			rows, err := tgt.MySQL.QueryContext(ctx, "SELECT `table_name`, `run_id`, `rows`, `swapped_at` FROM "+quoteMy(c.Schema)+".`_ferry_freshness`")
			if err != nil {
				return nil, fmt.Errorf("ops: read freshness of %s: %w", c.Schema, err)
			}
			for rows.Next() {
				var name string
				var f TargetFresh
				var at scanTime
				if err := rows.Scan(&name, &f.RunID, &f.Rows, &at); err != nil {
					rows.Close()
					return nil, fmt.Errorf("ops: read freshness of %s: %w", c.Schema, err)
				}
				f.SwappedAt = at.T
				m[name] = f
			}
			if err := rows.Close(); err != nil {
				return nil, fmt.Errorf("ops: read freshness of %s: %w", c.Schema, err)
			}
		} else {
			pool := tgt.PG.Pool()
			var exists bool
			if err := pool.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", quotePG(c.Schema)+"._ferry_freshness").Scan(&exists); err != nil {
				return nil, fmt.Errorf("ops: read freshness of %s: %w", c.Schema, err)
			}
			if !exists {
				continue
			}
			rows, err := pool.Query(ctx, "SELECT table_name, run_id, rows, swapped_at FROM "+quotePG(c.Schema)+"._ferry_freshness")
			if err != nil {
				return nil, fmt.Errorf("ops: read freshness of %s: %w", c.Schema, err)
			}
			for rows.Next() {
				var name string
				var f TargetFresh
				if err := rows.Scan(&name, &f.RunID, &f.Rows, &f.SwappedAt); err != nil {
					rows.Close()
					return nil, fmt.Errorf("ops: read freshness of %s: %w", c.Schema, err)
				}
				f.SwappedAt = f.SwappedAt.UTC()
				m[name] = f
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return nil, fmt.Errorf("ops: read freshness of %s: %w", c.Schema, err)
			}
		}
		out[c.ID] = m
	}
	return out, nil
}
