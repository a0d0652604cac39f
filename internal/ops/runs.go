package ops

import (
	"cmp"
	"context"
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

// CompanyFreshness returns, for every active company × active table and
// every company × table that was ever loaded, the last swap (run, rows,
// time) from ferry_table_loads, and the status of its newest load. Ordered
// by company id, then table.
func CompanyFreshness(ctx context.Context, db *admin.DB) ([]Freshness, error) {
	companies, err := db.ListCompanies(ctx)
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
	swaps, err := db.LastSwaps(ctx)
	if err != nil {
		return nil, err
	}
	for _, l := range swaps {
		f := get(l.CompanyID, l.Table)
		f.RunID, f.Rows, f.SwappedAt = l.RunID, l.Rows, l.SwappedAt
	}
	// Newest load per company × table (by the run's start).
	loads, err := db.LoadHistory(ctx)
	if err != nil {
		return nil, err
	}
	for _, l := range loads {
		f := get(l.CompanyID, l.Table)
		f.LastRunID, f.LastStatus, f.LastError = l.RunID, l.Status, l.Error
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
func ReleaseLease(ctx context.Context, db *admin.DB, now time.Time) (Released, error) {
	l, err := db.GetLease(ctx)
	if err != nil {
		return Released{}, err
	}
	r := Released{Lease: l, WasHeld: l.Holder != "", Expired: l.Holder != "" && !l.Held(now)}
	if !r.WasHeld {
		return r, nil
	}
	if _, err := db.ForceRelease(ctx); err != nil {
		return r, err
	}
	run, _, err := db.GetRun(ctx, l.Holder)
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
		if err := db.FinishRun(ctx, run); err != nil {
			return r, err
		}
		r.RunMarkedFailed = true
	}
	return r, nil
}

// TargetFresh is one row of a company schema's freshness table on the
// target: what the target itself says was last swapped live.
type TargetFresh = ferry.TableFreshness

// TargetFreshness reads the freshness table of every given company's
// schema on the target, keyed by company id then table. A schema or
// freshness table that does not exist yet is simply absent.
func TargetFreshness(ctx context.Context, tgt *Target, companies []ferry.Company) (map[int64]map[string]TargetFresh, error) {
	out := map[int64]map[string]TargetFresh{}
	for _, c := range companies {
		if ferry.ValidIdent(c.Schema) != nil {
			continue
		}
		m, err := tgt.Freshness(ctx, c.Schema)
		if err != nil {
			return nil, fmt.Errorf("ops: %w", err)
		}
		if len(m) > 0 {
			out[c.ID] = m
		}
	}
	return out, nil
}

// ReadTargetFreshness fills fresh[i].Target from the target's
// _ferry_freshness tables. It returns "" on success, else a note saying
// why the target's view is missing.
func ReadTargetFreshness(ctx context.Context, raw string, db *admin.DB, fresh []Freshness) string {
	tf, err := readTargetFreshness(ctx, raw, db)
	if err != nil {
		return "the target's " + ferry.FreshnessTable + " tables were not read: " + err.Error()
	}
	for i := range fresh {
		if f, ok := tf[fresh[i].CompanyID][fresh[i].Table]; ok {
			fresh[i].Target = &f
		}
	}
	return ""
}

func readTargetFreshness(ctx context.Context, raw string, db *admin.DB) (map[int64]map[string]TargetFresh, error) {
	tgt, err := OpenTarget(ctx, raw)
	if err != nil {
		return nil, err
	}
	defer tgt.Close()
	companies, err := db.ListCompanies(ctx)
	if err != nil {
		return nil, err
	}
	cs := make([]ferry.Company, len(companies))
	for i, co := range companies {
		cs[i] = co.Company
	}
	return TargetFreshness(ctx, tgt, cs)
}
