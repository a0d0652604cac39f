package steps

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path"
	"slices"
	"time"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/plan"
	"golang.org/x/sync/errgroup"
)

// RunDate is a run's date: in.RunDate, else the date of in.ScheduledTime
// (the instant the run was scheduled for; else now) in in.TimeZone (else
// UTC). A bad value is a ConfigError naming the field.
func RunDate(in ferry.ListTablesInput, now time.Time) (time.Time, error) {
	if in.RunDate != "" {
		return ParseRunDate(in.RunDate, now)
	}
	at := now
	if in.ScheduledTime != "" {
		t, err := time.Parse(time.RFC3339, in.ScheduledTime)
		if err != nil {
			return time.Time{}, &ferry.ConfigError{Msg: fmt.Sprintf("scheduled_time %q is not an RFC 3339 time", in.ScheduledTime), Fix: "pass scheduled_time like 2026-11-22T02:00:00Z, or run_date"}
		}
		at = t
	}
	loc := time.UTC
	if in.TimeZone != "" {
		l, err := time.LoadLocation(in.TimeZone)
		if err != nil {
			return time.Time{}, &ferry.ConfigError{Msg: fmt.Sprintf("time_zone %q is not an IANA time zone", in.TimeZone), Fix: "use a name such as Europe/Berlin (the template's ScheduleTimezone)"}
		}
		loc = l
	}
	y, m, d := at.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC), nil
}

// ParseRunDate parses a run date (YYYY-MM-DD); empty is today in UTC.
func ParseRunDate(s string, now time.Time) (time.Time, error) {
	if s == "" {
		y, m, d := now.UTC().Date()
		return time.Date(y, m, d, 0, 0, 0, 0, time.UTC), nil
	}
	t, err := time.ParseInLocation(plan.DateLayout, s, time.UTC)
	if err != nil {
		return time.Time{}, &ferry.ConfigError{Msg: fmt.Sprintf("run_date %q is not a date YYYY-MM-DD", s), Fix: "pass run_date like 2026-11-22, or omit it for today"}
	}
	return t, nil
}

// ListTables plans a run. In order: it takes the run lease (another run
// holding it: *ferry.RunLeaseHeldError, nothing touched); reads the active
// companies (or in.Companies) and tables; validates the whole
// configuration and plans every chunk (any problem: every problem as
// ConfigError, nothing written, lease released); records the run; then per
// company ensures the schema, prepares every staging table empty, removes
// objects a previous attempt of this run left under <run>/<alias>/, and
// writes plan.json (ferry.Manifest at ferry.PlanKey) and the chunk manifest
// (a JSON array of ferry.ChunkTask at ferry.ManifestKey); last, the
// companies manifest (a JSON array of ferry.CompanyRun at
// ferry.CompaniesKey). It returns keys, counts and the concurrency the
// connection budget allows, whatever the number of companies. Running it again for the same run id redoes
// the same work; on any error the lease is released.
func (s *Steps) ListTables(ctx context.Context, in ferry.ListTablesInput) (ferry.ListTablesOutput, error) {
	log := s.d.Logger.With("step", "list-tables", "run_id", in.RunID)
	ctx, cancel := s.withDeadline(ctx)
	defer cancel()
	out, err := s.listTables(ctx, in, log)
	if err != nil {
		return ferry.ListTablesOutput{}, s.fail(ctx, log, "list-tables", err)
	}
	log.InfoContext(ctx, "run planned", "companies", out.Companies, "tables", out.Tables, "chunks", out.Chunks)
	return out, nil
}

func (s *Steps) listTables(ctx context.Context, in ferry.ListTablesInput, log *slog.Logger) (out ferry.ListTablesOutput, err error) {
	if err := s.check("list-tables", NeedsListTables); err != nil {
		return out, err
	}
	if err := ferry.ValidRunID(in.RunID); err != nil {
		return out, err
	}
	now := s.now()
	runDate, err := RunDate(in, now)
	if err != nil {
		return out, err
	}
	if err := s.refuseFinished(ctx, in.RunID); err != nil {
		return out, err
	}
	if err := s.d.Ledger.AcquireLease(ctx, in.RunID, s.d.LeaseTTL, now); err != nil {
		return out, err
	}
	defer func() {
		if err != nil {
			// A failed list-tables ends the execution (it has no Catch):
			// do not leave the lease blocking the next runs.
			if rerr := s.d.Ledger.ReleaseLease(context.WithoutCancel(ctx), in.RunID); rerr != nil {
				log.WarnContext(ctx, "release lease after failure", "error", rerr.Error())
			}
		}
	}()

	par := s.planParallel()
	p, err := s.planRun(ctx, in, runDate, par)
	if err != nil {
		return out, err
	}
	if err := s.d.Ledger.StartRun(ctx, in.RunID, p.RunDate, len(p.Companies), now); err != nil {
		return out, err
	}
	companies, err := s.prepareCompanies(ctx, p, par, now)
	if err != nil {
		return out, err
	}
	key := ferry.CompaniesKey(in.RunID)
	if err := putJSON(ctx, s.d.Store, key, companies); err != nil {
		return out, fmt.Errorf("companies manifest: %w", err)
	}
	return ferry.ListTablesOutput{RunID: in.RunID, RunDate: p.RunDate, Bucket: s.d.Bucket, CompaniesKey: key, Companies: len(companies),
		Tables: p.Tables(), Chunks: p.Chunks(), Concurrency: s.d.Budget.Fit(in.Concurrency)}, nil
}

// planParallel is how many planning queries and company preparations run
// at once: the connection budget (each holds one source or one target
// connection), else 4. With a budget, 10,000 companies plan within one
// invocation's 15 minutes (docs/architecture.md, "One Lambda invocation
// plans the run").
func (s *Steps) planParallel() int {
	if n := s.d.Budget.Limit(); n > 0 {
		return min(n, 64)
	}
	return min(s.d.Parallel, 4)
}

// prepareCompanies prepares every company of p (par at a time) and
// returns their CompanyRuns in plan order: the companies manifest.
func (s *Steps) prepareCompanies(ctx context.Context, p plan.Plan, par int, now time.Time) ([]ferry.CompanyRun, error) {
	out := make([]ferry.CompanyRun, len(p.Companies))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(par)
	for i, cp := range p.Companies {
		g.Go(func() error {
			cr, err := s.prepareCompany(gctx, p, cp, now)
			out[i] = cr
			return err
		})
	}
	return out, g.Wait()
}

// refuseFinished refuses a run id a finished run used. A run id names one
// run: swaps recognise a retry of their own run by it. Reusing a finished
// run's id would make every swap look done already and publish nothing,
// so it is refused before anything is touched. (A retried list-tables of
// an unfinished run is fine.)
func (s *Steps) refuseFinished(ctx context.Context, runID string) error {
	prev, _, err := s.d.Ledger.GetRun(ctx, runID)
	switch {
	case err == nil && prev.FinishedAt != nil:
		return &ferry.ConfigError{Msg: fmt.Sprintf("run id %s was already used by a run that finished %s (%s)", runID, prev.FinishedAt.UTC().Format(time.RFC3339), prev.Status),
			Fix: "start the run under a new id (a Step Functions execution name, or `ferry run --run-id`)"}
	case err != nil && !errors.Is(err, ferry.ErrNotFound):
		return err
	}
	return nil
}

// planRun reads the configuration and plans every chunk (plan.Build). A
// company the run asks for that is missing or inactive is a problem
// reported with the plan's configuration problems, all at once.
func (s *Steps) planRun(ctx context.Context, in ferry.ListTablesInput, runDate time.Time, par int) (plan.Plan, error) {
	companies, err := s.d.Config.ActiveCompanies(ctx, in.Companies)
	if err != nil {
		return plan.Plan{}, err
	}
	var problems []error
	for _, id := range in.Companies {
		if !slices.ContainsFunc(companies, func(c ferry.Company) bool { return c.ID == id }) {
			problems = append(problems, &ferry.ConfigError{Where: ferry.Where{Company: fmt.Sprint(id)},
				Msg: "the run asks for this company, which is missing or not active",
				Fix: "check the id with `ferry company list`, activate it, or leave it out of companies"})
		}
	}
	tables, err := s.d.Config.ActiveTables(ctx)
	if err != nil {
		return plan.Plan{}, err
	}
	p, perr := plan.Build(ctx, s.d.Source, companies, tables, plan.Options{RunID: in.RunID, RunDate: runDate, Target: s.d.Target.Engine(), Parallel: par, Codec: s.compression().Codec})
	if perr != nil {
		var ce *ferry.ConfigError
		if len(problems) == 0 || !errors.As(perr, &ce) {
			return p, perr
		}
		problems = append(problems, perr)
	}
	return p, errors.Join(problems...)
}

func (s *Steps) prepareCompany(ctx context.Context, p plan.Plan, cp plan.CompanyPlan, now time.Time) (ferry.CompanyRun, error) {
	c := cp.Company
	name := companyName(c.ID, c.Alias)
	cr := ferry.CompanyRun{RunID: p.RunID, CompanyID: c.ID, Alias: c.Alias, Schema: c.Schema,
		ManifestKey: ferry.ManifestKey(p.RunID, c.Alias), PlanKey: ferry.PlanKey(p.RunID, c.Alias),
		Tables: len(cp.Tables), Chunks: cp.Chunks()}
	if err := s.d.Target.EnsureSchema(ctx, c.Schema); err != nil {
		return cr, fmt.Errorf("company %s: ensure schema %s: %w", name, c.Schema, err)
	}
	m := ferry.Manifest{Company: cr, RunDate: p.RunDate, PlannedAt: now}
	drift, err := plan.MaxDriftPct(c)
	if err != nil {
		return cr, err
	}
	refused, err := s.refusedChanges(ctx, name, c.Schema, cp.Tables)
	if err != nil {
		return cr, err
	}
	if refused != nil {
		// Nothing of this company is copied; its swap fails with the
		// refusal, the other companies go on.
		m.Refused, cp.Tables = refused, nil
		cr.Tables, cr.Chunks = 0, 0
		m.Company = cr
	}
	for _, t := range cp.Tables {
		if err := s.d.Target.PrepareStaging(ctx, c.Schema, t.Spec.Name, t.Staging, t.Columns, t.Spec.ChunkColumn); err != nil {
			return cr, fmt.Errorf("company %s, table %s: prepare staging %s: %w", name, t.Spec.Name, t.Staging, err)
		}
		m.Tables = append(m.Tables, ferry.TablePlan{Table: t.Spec.Name, Staging: t.Staging, Chunks: len(t.Chunks), EstRows: t.Bounds.Rows, ChunkColumn: t.Spec.ChunkColumn, MaxShrinkPct: t.Spec.MaxShrinkPct, MaxDriftPct: drift})
	}
	// Objects of an earlier attempt of this run (chunks, markers) must not
	// be mistaken for this plan's.
	prefix := path.Join(p.RunID, c.Alias) + "/"
	old, err := s.d.Store.List(ctx, prefix)
	if err != nil {
		return cr, fmt.Errorf("company %s: list %s: %w", name, prefix, err)
	}
	dg, dctx := errgroup.WithContext(ctx)
	dg.SetLimit(s.d.Parallel)
	for _, k := range old {
		dg.Go(func() error { return s.d.Store.Delete(dctx, k) })
	}
	if err := dg.Wait(); err != nil {
		return cr, fmt.Errorf("company %s: remove objects of an earlier attempt: %w", name, err)
	}
	if err := putJSON(ctx, s.d.Store, cr.PlanKey, m); err != nil {
		return cr, fmt.Errorf("company %s: %w", name, err)
	}
	if err := putManifest(ctx, s.d.Store, cr.ManifestKey, p.Tasks(cp)); err != nil {
		return cr, fmt.Errorf("company %s: %w", name, err)
	}
	return cr, nil
}

// putManifest streams tasks as one JSON array (an empty array when there
// are none: the Distributed Map then runs no child).
func putManifest(ctx context.Context, st ferry.Store, key string, tasks []ferry.ChunkTask) error {
	w, err := st.Create(ctx, key)
	if err != nil {
		return fmt.Errorf("store: create %s: %w", key, err)
	}
	bw := &countWriter{w: w}
	werr := writeArray(bw, tasks)
	if werr != nil {
		w.Abort()
		return fmt.Errorf("store: write %s: %w", key, werr)
	}
	if err := w.Commit(); err != nil {
		return fmt.Errorf("store: commit %s: %w", key, err)
	}
	return nil
}

// Companies reads a plan's companies manifest (at out.CompaniesKey): the
// CompanyRun of every company the run copies, in plan order.
func Companies(ctx context.Context, st ferry.Store, out ferry.ListTablesOutput) ([]ferry.CompanyRun, error) {
	var cs []ferry.CompanyRun
	if err := getJSON(ctx, st, out.CompaniesKey, &cs); err != nil {
		return nil, fmt.Errorf("companies of run %s: %w", out.RunID, err)
	}
	return cs, nil
}
