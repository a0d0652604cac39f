package main

import (
	"context"
	"fmt"
	"io"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/ops"
	"github.com/ferrydata/ferry/internal/plan"
)

func init() { register("plan", "dry run: what the next run would copy (writes nothing)", runPlan) }

// planResult is what `ferry plan --json` prints.
type planResult struct {
	RunDate   string        `json:"run_date"`
	Engine    ferry.Engine  `json:"target_engine,omitempty"`
	Companies int           `json:"companies"`
	Tables    int           `json:"tables"`
	EstRows   int64         `json:"est_rows"`
	Chunks    int           `json:"chunks"`
	Rows      []ops.PlanRow `json:"plan"`
	// Jobs are the SQL jobs the run starts, in order (before-run, each
	// company's after-swap, after-run).
	Jobs []ferry.JobTask `json:"jobs"`
	// SchemaChanges are the tables whose query's columns differ from the
	// live table (compared on the target when it is given).
	SchemaChanges []ops.TableSchemaChanges `json:"schema_changes"`
}

func runPlan(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newOpsCmd("plan", "[--company ID ...] [--run-date YYYY-MM-DD]",
		"Dry run: validate the configuration and plan every active company × active table as the\n"+
			"next run would (rows, chunks, target schema and table). It only reads: no lease, no run\n"+
			"record, no staging table, no object. Every configuration problem is listed.",
		"ferry plan\nferry plan --company 42 --company 43 --run-date 2026-11-01\nferry plan --json | jq '.plan[] | {alias, table, est_rows}'",
		stdout, stderr).dbs(ops.AdminDB, ops.SourceDB, ops.TargetDB).withJSON().noArgs().
		withRunDate("run date (YYYY-MM-DD) for :run_date and :since; default today (UTC)")
	var ids int64List
	c.fs.Var(&ids, "company", "plan only this company id (repeatable, or comma-separated)")
	if code, done := c.parse(args); done {
		return code
	}
	// The target gives the engine, and its live tables the schema changes
	// (compared without changing anything).
	var engine ferry.Engine
	var err error
	if raw := c.url(ops.TargetDB); raw != "" {
		if engine, err = ops.TargetEngine(raw); err != nil {
			return c.fail(err)
		}
	}
	db, src, err := c.openAdminAndSource(ctx)
	if err != nil {
		return c.fail(err)
	}
	defer db.Close()
	defer src.Close()
	p, err := ops.BuildPlan(ctx, db, src, engine, ids, c.date)
	if err != nil {
		if ops.HasOnlyConfigProblems(err) {
			fmt.Fprintln(stderr, "ferry plan: the next run would refuse to start:")
		}
		return c.fail(err)
	}
	res := planResult{RunDate: p.RunDate, Engine: engine, Companies: len(p.Companies), Tables: p.Tables(), Chunks: p.Chunks(), Rows: nonNil(ops.PlanRows(p))}
	for _, r := range res.Rows {
		res.EstRows += r.EstRows
	}
	companies := make([]ferry.Company, len(p.Companies))
	for i, cp := range p.Companies {
		companies[i] = cp.Company
	}
	if res.Jobs, err = ops.PlanJobs(ctx, db, p.RunDate, companies); err != nil {
		return c.fail(err)
	}
	res.Jobs = nonNil(res.Jobs)
	res.SchemaChanges = nonNil(pendingChanges(ctx, c.url(ops.TargetDB), p, stderr))
	if c.json() {
		return c.printJSON(res)
	}
	defer printPlannedJobs(stdout, res.Jobs)
	defer printSchemaChanges(stdout, res.SchemaChanges)
	if len(res.Rows) == 0 {
		fmt.Fprintf(stdout, "Nothing to copy on %s: %d active companies, %d active tables. Add them with `ferry company add` and `ferry table add`.\n",
			p.RunDate, len(p.Companies), res.Tables)
		return exitOK
	}
	fmt.Fprintf(stdout, "Plan for run date %s (dry run, nothing written):\n\n", p.RunDate)
	printPlan(stdout, res.Rows, true)
	return exitOK
}

// printPlannedJobs lists the jobs a run starts.
func printPlannedJobs(w io.Writer, tasks []ferry.JobTask) {
	if len(tasks) == 0 {
		return
	}
	fmt.Fprintln(w, "\nJobs the run starts:")
	rows := make([][]string, len(tasks))
	for i, t := range tasks {
		company := "-"
		if t.CompanyID != 0 {
			company = fmt.Sprintf("%d (%s)", t.CompanyID, t.Alias)
		}
		rows[i] = []string{string(t.Trigger), t.Job, string(t.Kind), company}
	}
	writeTable(w, []string{"WHEN", "JOB", "KIND", "COMPANY"}, rows)
}

// pendingChanges compares the plan with the live tables of the target at
// raw (none without one); a target that cannot be read is said on stderr,
// not a failure of the plan.
func pendingChanges(ctx context.Context, raw string, p plan.Plan, stderr io.Writer) []ops.TableSchemaChanges {
	if raw == "" {
		return nil
	}
	tgt, err := ops.OpenTarget(ctx, raw)
	if err != nil {
		fmt.Fprintf(stderr, "ferry plan: schema changes not checked: %v\n", err)
		return nil
	}
	defer tgt.Close()
	pending, err := ops.PendingSchemaChanges(ctx, tgt, p)
	if err != nil {
		fmt.Fprintf(stderr, "ferry plan: schema changes not checked: %v\n", err)
	}
	return pending
}

// printSchemaChanges lists the tables whose shape the next run changes or
// refuses to change.
func printSchemaChanges(w io.Writer, pending []ops.TableSchemaChanges) {
	if len(pending) == 0 {
		return
	}
	fmt.Fprintln(w, "\nSchema changes (the query's columns differ from the live table):")
	rows := make([][]string, len(pending))
	for i, c := range pending {
		what := "published with the swap"
		if c.Refused() {
			what = "REFUSED: the company fails"
		}
		rows[i] = []string{fmt.Sprintf("%d (%s)", c.CompanyID, c.Alias), c.Schema + "." + c.Table, what, c.Summary()}
	}
	writeTable(w, []string{"COMPANY", "TABLE", "NEXT RUN", "CHANGES"}, rows)
}
