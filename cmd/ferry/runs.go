package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ferrydata/ferry/internal/admin"
	"github.com/ferrydata/ferry/internal/jobs"
	"github.com/ferrydata/ferry/internal/ops"
)

func init() {
	register("runs", "run history, per-table detail, freshness; release a stale lease", dispatch("runs", []subcommand{
		{"list", "the newest runs and each company's freshness (the default)", runRunsList},
		{"show", "one run's tables, rows and errors", runRunsShow},
		{"release", "force-release a stale run lease (--yes)", runRunsRelease},
	}, runRunsList))
}

// runsListResult is what `ferry runs --json` prints.
type runsListResult struct {
	Runs      []admin.Run     `json:"runs"`
	Freshness []ops.Freshness `json:"freshness"`
	Lease     *admin.Lease    `json:"lease,omitempty"`
	// TargetNote says why the target's freshness was not read.
	TargetNote string `json:"target_note,omitempty"`
}

func runDuration(r admin.Run, now time.Time) string {
	if r.FinishedAt != nil {
		return fmtDuration(r.FinishedAt.Sub(r.StartedAt))
	}
	return fmtDuration(now.Sub(r.StartedAt)) + " so far"
}

func runRunsList(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newOpsCmd("runs", "[--last N] | show RUN_ID | release --yes",
		"The newest runs (status, start, duration, companies, rows, failures), then when each\n"+
			"company's tables were last swapped live and by which run (from ferry_table_loads, and\n"+
			"from each schema's _ferry_freshness table when the target is set). `ferry runs show RUN_ID`\n"+
			"details one run; `ferry runs release --yes` frees the lease of a run that died.",
		"ferry runs --last 5\nferry runs show ferry-2026-11-22T02-00-00Z\nferry runs --json | jq '.runs[0].status'", stdout, stderr).
		dbs(ops.AdminDB, ops.TargetDB).withJSON()
	last := c.fs.Int("last", 10, "how many runs to show (newest first)")
	if code, done := c.parse(args); done {
		return code
	}
	if c.nArg() > 0 {
		return c.usageErr("unexpected argument %q (sub-commands: list, show, release)", c.arg(0))
	}
	if *last <= 0 {
		return c.usageErr("--last must be positive")
	}
	db, err := c.openAdminDB(ctx, true)
	if err != nil {
		return c.fail(err)
	}
	defer db.Close()
	runs, err := db.ListRuns(ctx, *last)
	if err != nil {
		return c.fail(err)
	}
	fresh, err := ops.CompanyFreshness(ctx, db)
	if err != nil {
		return c.fail(err)
	}
	lease, err := db.GetLease(ctx)
	if err != nil {
		return c.fail(err)
	}
	// The target's own record, when a target is set; its absence or
	// failure only costs that column.
	targetNote := "unset"
	if raw := c.url(ops.TargetDB); raw != "" {
		targetNote = ops.ReadTargetFreshness(ctx, raw, db, fresh)
	}
	now := time.Now()
	if c.json() {
		res := runsListResult{Runs: nonNil(runs), Freshness: nonNil(fresh)}
		if lease.Held(now) {
			res.Lease = &lease
		}
		if targetNote != "unset" {
			res.TargetNote = targetNote
		}
		return c.printJSON(res)
	}
	printRuns(stdout, runs, lease, now)
	printFreshness(stdout, fresh, targetNote == "")
	if targetNote != "" && targetNote != "unset" {
		fmt.Fprintf(stdout, "\n(%s)\n", targetNote)
	}
	return exitOK
}

// runsShowResult is what `ferry runs show --json` prints.
type runsShowResult struct {
	Run    admin.Run         `json:"run"`
	Tables []admin.TableLoad `json:"tables"`
	// Jobs are the SQL jobs the run ran (a copy run's before-run,
	// after-swap and after-run jobs, or a jobs execution's).
	Jobs []jobs.JobRun `json:"jobs"`
}

func runRunsShow(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newOpsCmd("runs show", "RUN_ID [flags]", "One run: its status and summary, every company × table with chunks, rows, time, swap and error,\nand every SQL job it ran with its outcome, rows, batches and seconds.",
		"ferry runs show ferry-2026-11-22T02-00-00Z", stdout, stderr).dbs(ops.AdminDB).withJSON()
	if code, done := c.parse(args); done {
		return code
	}
	if c.nArg() != 1 {
		return c.usageErr("give one run id; `ferry runs` lists them")
	}
	id := c.arg(0)
	db, err := c.openAdminDB(ctx, true)
	if err != nil {
		return c.fail(err)
	}
	defer db.Close()
	res, err := ops.ShowRun(ctx, db, id)
	if err != nil {
		return c.fail(notFoundFix(err, "run "+id, "ferry runs"))
	}
	if c.json() {
		return c.printJSON(runsShowResult{Run: res.Run, Tables: nonNil(res.Tables), Jobs: nonNil(res.Jobs)})
	}
	companies, err := db.ListCompanies(ctx)
	if err != nil {
		return c.fail(err)
	}
	alias := map[int64]string{}
	for _, co := range companies {
		alias[co.ID] = co.Alias
	}
	if res.Recorded {
		printRunHeader(stdout, res.Run)
		printTableLoads(stdout, res.Tables, alias)
	} else {
		fmt.Fprintf(stdout, "Jobs run %s\n", id)
	}
	printJobRuns(stdout, res.Jobs, alias)
	return exitOK
}

func printRunHeader(stdout io.Writer, run admin.Run) {
	st := run.StartedAt
	fmt.Fprintf(stdout, "Run %s: %s\n", run.RunID, strings.ToUpper(run.Status))
	fmt.Fprintf(stdout, "  run date   %s\n  started    %s\n  finished   %s\n  duration   %s\n  companies  %d (%d failed)\n  rows       %s\n",
		orDash(run.RunDate), fmtTime(&st), fmtTime(run.FinishedAt), runDuration(run, time.Now()), run.Companies, run.Failed, humanInt(run.Rows))
	if run.Summary != "" {
		fmt.Fprintf(stdout, "  summary    %s\n", run.Summary)
	}
}

func printTableLoads(stdout io.Writer, loads []admin.TableLoad, alias map[int64]string) {
	if len(loads) == 0 {
		fmt.Fprintln(stdout, "\nNo table was recorded for this run.")
		return
	}
	fmt.Fprintln(stdout)
	rows := make([][]string, len(loads))
	var errs []admin.TableLoad
	for i, l := range loads {
		rows[i] = []string{itoa(l.CompanyID), orDash(alias[l.CompanyID]), l.Table, strings.ToUpper(l.Status), fmt.Sprint(l.Chunks), humanInt(l.Rows), fmt.Sprintf("%.1fs", l.Seconds), fmtTime(l.SwappedAt)}
		if l.Error != "" {
			errs = append(errs, l)
		}
	}
	writeTable(stdout, []string{"COMPANY", "ALIAS", "TABLE", "STATUS", "CHUNKS", "ROWS", "TIME", "SWAPPED"}, rows)
	if len(errs) > 0 {
		fmt.Fprintln(stdout, "\nErrors:")
		for _, l := range errs {
			if strings.HasPrefix(l.Error, "company ") {
				fmt.Fprintf(stdout, "  %s\n", l.Error) // it names the company and table itself
				continue
			}
			fmt.Fprintf(stdout, "  company %d (%s), table %s: %s\n", l.CompanyID, orDash(alias[l.CompanyID]), l.Table, l.Error)
		}
	}
}

// printJobRuns prints each job task of a run: outcome, rows, batches,
// seconds, and the errors after the table.
func printJobRuns(stdout io.Writer, runs []jobs.JobRun, alias map[int64]string) {
	if len(runs) == 0 {
		return
	}
	fmt.Fprintln(stdout, "\nJobs:")
	rows := make([][]string, len(runs))
	for i, r := range runs {
		company := "-"
		if r.CompanyID != 0 {
			company = fmt.Sprintf("%d (%s)", r.CompanyID, orDash(alias[r.CompanyID]))
		}
		rows[i] = []string{r.Job, company, string(r.Trigger), strings.ToUpper(r.Status), humanInt(r.Rows), itoa(r.Batches), fmt.Sprintf("%.1fs", r.Seconds), orDash(r.Key)}
	}
	writeTable(stdout, []string{"JOB", "COMPANY", "WHEN", "STATUS", "ROWS", "BATCHES", "TIME", "OBJECT"}, rows)
	for _, r := range runs {
		if r.Error != "" {
			fmt.Fprintf(stdout, "  %s\n", r.Error)
		}
	}
}

func runRunsRelease(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newOpsCmd("runs release", "--yes [flags]",
		"Force-release the run lease, for a run that died without finishing (its process was\n"+
			"killed, its execution aborted). The run is marked failed if it is still recorded as\n"+
			"running. Make sure it is really gone: two runs at once would race on the same staging\n"+
			"tables. Without --yes it only shows who holds the lease.",
		"ferry runs release          # who holds it?\nferry runs release --yes    # release it", stdout, stderr).dbs(ops.AdminDB).withJSON().noArgs()
	yes := c.fs.Bool("yes", false, "really release the lease")
	if code, done := c.parse(args); done {
		return code
	}
	db, err := c.openAdminDB(ctx, true)
	if err != nil {
		return c.fail(err)
	}
	defer db.Close()
	now := time.Now()
	if !*yes {
		l, err := db.GetLease(ctx)
		if err != nil {
			return c.fail(err)
		}
		if l.Holder == "" {
			fmt.Fprintln(stdout, "No run holds the lease; nothing to release.")
			return exitOK
		}
		state := "until"
		if !l.Held(now) {
			state = "expired at"
		}
		fmt.Fprintf(stderr, "ferry runs release: run %s holds the lease (%s %s); nothing was changed (fix: make sure that run is gone, then rerun with --yes)\n",
			l.Holder, state, fmtTime(&l.ExpiresAt))
		return exitFail
	}
	res, err := ops.ReleaseLease(ctx, db, now)
	if err != nil {
		return c.fail(err)
	}
	if c.json() {
		return c.printJSON(res)
	}
	if !res.WasHeld {
		fmt.Fprintln(stdout, "No run holds the lease; nothing to release.")
		return exitOK
	}
	fmt.Fprintf(stdout, "Released the run lease of %s (acquired %s, expiring %s).\n", res.Lease.Holder, fmtTime(&res.Lease.AcquiredAt), fmtTime(&res.Lease.ExpiresAt))
	if res.RunMarkedFailed {
		fmt.Fprintf(stdout, "Run %s was still recorded as running; it is now marked failed.\n", res.Lease.Holder)
	}
	fmt.Fprintln(stdout, "The next run may start; it rebuilds every staging table from scratch.")
	return exitOK
}

// printRuns prints the runs table and who holds the lease.
func printRuns(stdout io.Writer, runs []admin.Run, lease admin.Lease, now time.Time) {
	if len(runs) == 0 {
		fmt.Fprintln(stdout, "No runs yet. Start one with `ferry run` (or the state machine on AWS).")
	} else {
		rows := make([][]string, len(runs))
		for i, r := range runs {
			st := r.StartedAt
			rows[i] = []string{r.RunID, strings.ToUpper(r.Status), fmtTime(&st), runDuration(r, now), fmt.Sprint(r.Companies), humanInt(r.Rows), fmt.Sprint(r.Failed)}
		}
		writeTable(stdout, []string{"RUN", "STATUS", "STARTED", "DURATION", "COMPANIES", "ROWS", "FAILED"}, rows)
	}
	if lease.Held(now) {
		fmt.Fprintf(stdout, "\nRun %s holds the run lease until %s.\n", lease.Holder, fmtTime(&lease.ExpiresAt))
	} else if lease.Holder != "" {
		fmt.Fprintf(stdout, "\nRun %s left an expired lease (%s); the next run takes it over.\n", lease.Holder, fmtTime(&lease.ExpiresAt))
	}
}

// printFreshness prints when each company's tables were last swapped, with
// what the target says when it was read.
func printFreshness(stdout io.Writer, fresh []ops.Freshness, withTarget bool) {
	if len(fresh) == 0 {
		return
	}
	fmt.Fprintln(stdout, "\nFreshness (last swap per company and table):")
	rows := make([][]string, len(fresh))
	for i, f := range fresh {
		last := f.LastStatus
		if f.LastStatus == admin.LoadFailed {
			last = "FAILED in " + f.LastRunID
		}
		rows[i] = []string{itoa(f.CompanyID), orDash(f.Alias), f.Table, fmtTime(f.SwappedAt), orDash(f.RunID), humanInt(f.Rows), orDash(last)}
		if f.SwappedAt == nil {
			rows[i][3], rows[i][5] = "never", "-"
		}
		if withTarget {
			tf := "-"
			if f.Target != nil {
				tf = f.Target.RunID + " at " + fmtTime(&f.Target.SwappedAt)
			}
			rows[i] = append(rows[i], tf)
		}
	}
	header := []string{"COMPANY", "ALIAS", "TABLE", "SWAPPED", "BY RUN", "ROWS", "LAST LOAD"}
	if withTarget {
		header = append(header, "TARGET SAYS")
	}
	writeTable(stdout, header, rows)
}
