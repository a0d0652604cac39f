package steps

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/admin"
	"github.com/ferrydata/ferry/internal/metrics"
	"golang.org/x/sync/errgroup"
)

// companyState is what the store says about one company's run: its plan,
// its chunk tasks and the markers found for them.
type companyState struct {
	plan    ferry.Manifest
	tasks   []ferry.ChunkTask
	done    []*ferry.ChunkDone // parallel to tasks; nil: no marker
	missing []string           // chunk names without a marker
}

// readState reads plan.json, the chunk manifest and every ChunkDone marker
// (at most Parallel reads at a time). Missing markers are listed, not
// errors.
func (s *Steps) readState(ctx context.Context, in ferry.CompanyRun) (*companyState, error) {
	planKey := in.PlanKey
	if planKey == "" {
		planKey = ferry.PlanKey(in.RunID, in.Alias)
	}
	manKey := in.ManifestKey
	if manKey == "" {
		manKey = ferry.ManifestKey(in.RunID, in.Alias)
	}
	st := &companyState{}
	if err := getJSON(ctx, s.d.Store, planKey, &st.plan); err != nil {
		return nil, err
	}
	if err := getJSON(ctx, s.d.Store, manKey, &st.tasks); err != nil {
		return nil, err
	}
	st.done = make([]*ferry.ChunkDone, len(st.tasks))
	missing := make([]bool, len(st.tasks))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.d.Parallel)
	for i, t := range st.tasks {
		g.Go(func() error {
			var d ferry.ChunkDone
			err := getJSON(gctx, s.d.Store, ferry.DoneKey(t.RunID, t.Alias, t.Table, t.Chunk.Index), &d)
			if errors.Is(err, ferry.ErrNotFound) {
				missing[i] = true
				return nil
			}
			if err != nil {
				return err
			}
			st.done[i] = &d
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	for i, m := range missing {
		if m {
			st.missing = append(st.missing, ferry.ChunkName(st.tasks[i].Table, st.tasks[i].Chunk))
		}
	}
	return st, nil
}

// SwapTables publishes one company's tables. It reads plan.json, the chunk
// manifest and every ChunkDone marker; a chunk without a marker fails the
// swap with an error naming it (live untouched). The expected count of each
// table is the sum of its chunks' exported counts (0 for a table with no
// rows: an empty table is published); it may differ from the rows planned
// by at most the company's drift limit (checkDrift), and from the live
// table's by at most its shrink guard (checkShrink). Target.Swap then
// verifies and swaps all tables at once; the result (or the failure) of
// every table is recorded in ferry_table_loads. A retry after a swap that
// happened gets AlreadySwapped from the target and renames nothing.
func (s *Steps) SwapTables(ctx context.Context, in ferry.CompanyRun) (ferry.SwapTablesOutput, error) {
	log := s.d.Logger.With("step", "swap-tables", "run_id", in.RunID, "company", companyName(in.CompanyID, in.Alias))
	ctx, cancel := s.withDeadline(ctx)
	defer cancel()
	out, err := s.swapTables(ctx, in)
	if err != nil {
		return ferry.SwapTablesOutput{}, s.fail(ctx, log, "swap-tables", err)
	}
	log.InfoContext(ctx, "tables swapped", "tables", len(out.Tables), "rows", out.Rows, "already_swapped", out.AlreadySwapped)
	return out, nil
}

func (s *Steps) swapTables(ctx context.Context, in ferry.CompanyRun) (ferry.SwapTablesOutput, error) {
	if err := s.check("swap-tables", NeedsSwapTables); err != nil {
		return ferry.SwapTablesOutput{}, err
	}
	name := companyName(in.CompanyID, in.Alias)
	if in.RunID == "" || in.Alias == "" {
		return ferry.SwapTablesOutput{}, &ferry.ConfigError{Where: ferry.Where{Company: name}, Msg: "swap input lacks run_id or alias", Fix: "pass the company item of list-tables' output unchanged"}
	}
	st, err := s.readState(ctx, in)
	if err != nil {
		return ferry.SwapTablesOutput{}, fmt.Errorf("swap company %s: %w", name, err)
	}
	if st.plan.Refused != nil {
		s.recordFailure(ctx, in, st, st.plan.Refused)
		return ferry.SwapTablesOutput{}, st.plan.Refused
	}
	schema := st.plan.Company.Schema
	if schema == "" {
		schema = in.Schema
	}
	if len(st.missing) > 0 {
		shown := st.missing
		if len(shown) > 20 {
			shown = shown[:20]
		}
		err := fmt.Errorf("swap company %s: %d chunk(s) were never loaded (no done marker): %s; live tables left unchanged (fix: rerun the workflow)",
			name, len(st.missing), strings.Join(shown, ", "))
		s.recordFailure(ctx, in, st, err)
		return ferry.SwapTablesOutput{}, err
	}
	per, err := st.aggregate(name)
	if err != nil {
		s.recordFailure(ctx, in, st, err)
		return ferry.SwapTablesOutput{}, err
	}
	if err := checkDrift(in.CompanyID, name, in.RunID, st.plan.Tables, per); err != nil {
		s.recordFailure(ctx, in, st, err)
		return ferry.SwapTablesOutput{}, err
	}
	if err := s.checkShrink(ctx, name, in.RunID, schema, st.plan.Tables, per); err != nil {
		s.recordFailure(ctx, in, st, err)
		return ferry.SwapTablesOutput{}, err
	}
	req := ferry.SwapRequest{RunID: in.RunID, Schema: schema}
	for _, t := range st.plan.Tables {
		req.Tables = append(req.Tables, ferry.SwapTable{Table: t.Table, Staging: t.Staging, Expected: per[t.Table].rows})
	}
	res, err := s.d.Target.Swap(ctx, req)
	if err != nil {
		err = fmt.Errorf("swap company %s: %w", name, err)
		if !errors.Is(err, ferry.ErrSwappedUnrecorded) {
			// The new data is live when the swap's bookkeeping failed:
			// never record those tables as not swapped.
			s.recordFailure(ctx, in, st, err)
		}
		return ferry.SwapTablesOutput{}, err
	}
	out, err := s.recordSwap(ctx, in, st, per, res)
	if err != nil {
		return ferry.SwapTablesOutput{}, fmt.Errorf("swap company %s: swapped, but recording it failed: %w", name, err)
	}
	// The swap has committed: a failure to publish is retryable, and the
	// retry finds the swap done (AlreadySwapped) and publishes again.
	if s.d.Notifier != nil {
		if err := s.d.Notifier.TablesSwapped(ctx, schema, out); err != nil {
			return ferry.SwapTablesOutput{}, fmt.Errorf("swap company %s: swapped, but publishing the event failed: %w", name, err)
		}
	}
	return out, nil
}

// aggregate sums each planned table's done markers; a marker that does
// not match its task is a DataError.
func (st *companyState) aggregate(company string) (map[string]*tableAgg, error) {
	per := map[string]*tableAgg{}
	for _, t := range st.plan.Tables {
		per[t.Table] = &tableAgg{}
	}
	for i, t := range st.tasks {
		d := st.done[i]
		a := per[t.Table]
		if a == nil || d.Table != t.Table || d.Index != t.Chunk.Index || d.Loaded != d.Exported {
			return nil, &ferry.DataError{Where: ferry.Where{Company: company, Table: t.Table, Chunk: ferry.ChunkName(t.Table, t.Chunk)},
				Msg: fmt.Sprintf("done marker does not match the plan (marker table %s, index %d, exported %d, loaded %d)", d.Table, d.Index, d.Exported, d.Loaded),
				Fix: "rerun the workflow"}
		}
		a.rows += d.Exported
		a.bytes += d.Bytes
		a.chunks++
	}
	return per, nil
}

// recordSwap records every swapped table in the ledger (and its metrics)
// and returns the step's output.
func (s *Steps) recordSwap(ctx context.Context, in ferry.CompanyRun, st *companyState, per map[string]*tableAgg, res ferry.SwapResult) (ferry.SwapTablesOutput, error) {
	out := ferry.SwapTablesOutput{RunID: in.RunID, CompanyID: in.CompanyID, Alias: in.Alias, AlreadySwapped: res.AlreadySwapped, SwappedAt: res.SwappedAt}
	secs := 0.0
	if !st.plan.PlannedAt.IsZero() && res.SwappedAt.After(st.plan.PlannedAt) {
		secs = res.SwappedAt.Sub(st.plan.PlannedAt).Seconds()
	}
	swappedAt := res.SwappedAt
	for _, t := range st.plan.Tables {
		a := per[t.Table]
		out.Tables = append(out.Tables, ferry.TableResult{Table: t.Table, Rows: a.rows, Chunks: a.chunks, Bytes: a.bytes})
		out.Rows += a.rows
		if err := s.d.Ledger.RecordTableLoad(ctx, admin.TableLoad{RunID: in.RunID, CompanyID: in.CompanyID, Table: t.Table,
			Chunks: a.chunks, Rows: a.rows, Bytes: a.bytes, Seconds: secs, Status: admin.LoadSwapped, SwappedAt: &swappedAt}); err != nil {
			return out, err
		}
		s.emit(ctx, s.d.Metrics.Table(in.Alias, t.Table, in.RunID, metrics.TableStats{Rows: a.rows, Bytes: a.bytes, Chunks: a.chunks, Seconds: secs}))
	}
	return out, nil
}

// recordFailure records every table of the company as failed with err
// (best effort: the swap's own error is what is returned), without the
// database detail lines that may quote row values (ferry.WithoutDetail).
func (s *Steps) recordFailure(ctx context.Context, in ferry.CompanyRun, st *companyState, cause error) {
	msg := ferry.WithoutDetail(cause.Error())
	if len(msg) > 4000 {
		msg = msg[:4000]
	}
	chunks := map[string]int{}
	for _, t := range st.tasks {
		chunks[t.Table]++
	}
	tables := make([]string, 0, len(st.plan.Tables))
	for _, t := range st.plan.Tables {
		tables = append(tables, t.Table)
	}
	sort.Strings(tables)
	for _, t := range tables {
		if err := s.d.Ledger.RecordTableLoad(context.WithoutCancel(ctx), admin.TableLoad{RunID: in.RunID, CompanyID: in.CompanyID, Table: t,
			Chunks: chunks[t], Status: admin.LoadFailed, Error: msg}); err != nil {
			s.d.Logger.WarnContext(ctx, "record failed table load", "run_id", in.RunID, "company", companyName(in.CompanyID, in.Alias), "table", t, "error", err.Error())
		}
	}
}

// checkShrink applies each table's shrink guard before anything is
// swapped: a table with MaxShrinkPct set may not be published with fewer
// than (100 - MaxShrinkPct)% of its live rows. A table with no live table
// yet, or a retry whose swap already happened (live holds this run's rows),
// passes. A refusal is a DataError: the company fails, every live table of
// it stays as it is.
func (s *Steps) checkShrink(ctx context.Context, company, runID, schema string, tables []ferry.TablePlan, per map[string]*tableAgg) error {
	for _, t := range tables {
		if t.MaxShrinkPct <= 0 {
			continue
		}
		live, err := s.d.Target.Count(ctx, schema, t.Table)
		if errors.Is(err, ferry.ErrNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("swap company %s: shrink guard of table %s: %w", company, t.Table, err)
		}
		next := per[t.Table].rows
		if next*100 < live*int64(100-t.MaxShrinkPct) {
			return &ferry.DataError{Where: ferry.Where{Company: company, Table: t.Table},
				Msg: fmt.Sprintf("run %s would publish %d rows where the live table has %d (%.0f%% fewer; max_shrink_pct is %d); nothing of the company was swapped",
					runID, next, live, 100-float64(next)*100/float64(live), t.MaxShrinkPct),
				Fix: "check the source (replica lag, the company's days configuration); if the table really shrank, raise or clear tables.max_shrink_pct (`ferry table add --replace --max-shrink-pct N`) and run again"}
		}
	}
	return nil
}

// tableAgg sums one table's done markers.
type tableAgg struct {
	rows, bytes int64
	chunks      int
}
