package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/admin"
	"github.com/ferrydata/ferry/internal/jobs"
	"github.com/ferrydata/ferry/internal/ops"
)

func init() {
	register("job", "add, list, enable, disable or run scheduled SQL jobs", dispatch("job", []subcommand{
		{"add", "add a job: validated (SQL, parameters, EXPLAIN) before it is written", runJobAdd},
		{"list", "list jobs, their schedule and last run", runJobList},
		{"disable", "stop a job (a running purge stops at its next check)", func(ctx context.Context, a []string, o, e io.Writer) int {
			return runJobStatus(ctx, a, o, e, false)
		}},
		{"enable", "run a job again (a scheduled one from its next fire time)", func(ctx context.Context, a []string, o, e io.Writer) int {
			return runJobStatus(ctx, a, o, e, true)
		}},
		{"run", "run a job now through the jobs state machine", runJobRun},
	}, nil))
}

const jobAddDesc = "Add a SQL job. The SQL is one statement with named parameters: :run_date, and for a job\n" +
	"that runs per company :company_id, :alias, :since and configuration names (bound by the driver).\n" +
	"--db source|target|company (company: each company's target schema). --kind statement (default),\n" +
	"batched (a plain DELETE/UPDATE ... WHERE, repeated in short transactions of at most --batch-rows\n" +
	"rows until none is left) or extract (a SELECT written as gzip CSV to the store at --key).\n" +
	"When: --schedule 'cron(...)'|'rate(...)' [--timezone Europe/Paris], or --when before-run|after-swap|after-run.\n" +
	"Before writing, the job is checked: fields, the SQL for the database's engine, each parameter\n" +
	"with every active company's values, the database reachable, and EXPLAIN where the engine can."

// jobFlags are ferry job add's definition flags.
type jobFlags struct {
	kind, on, sql, schedule, tz, when, key *string
	timeout, pause                         *time.Duration
	batchRows, position                    *int
	idempotent, replace, disabled          *bool
}

func newJobFlags(c *opsCmd) *jobFlags {
	fs := c.fs
	return &jobFlags{
		kind:       fs.String("kind", string(ferry.JobStatement), "statement, batched or extract"),
		on:         fs.String("db", "", "where it runs: source, target or company (each company's target schema; required)"),
		sql:        fs.String("sql", "", "the statement, with named parameters (required)"),
		schedule:   fs.String("schedule", "", "EventBridge schedule: cron(min hour dom month dow year) or rate(n unit)"),
		tz:         fs.String("timezone", "", "IANA time zone of --schedule (default UTC)"),
		when:       fs.String("when", "", "before-run, after-swap or after-run (instead of --schedule)"),
		key:        fs.String("key", "", "extract: object key with {job} {run_date} {run_id} {alias} {company_id}"),
		timeout:    fs.Duration("timeout", 0, "statement or extract: its limit (default 5m / 14m); batched: the whole job's (default 6h)"),
		pause:      fs.Duration("pause", 0, "batched: pause between batches (e.g. 200ms)"),
		batchRows:  fs.Int("batch-rows", 0, "batched: the most rows one batch changes (default 10000)"),
		position:   fs.Int("position", 0, "order among the jobs of one trigger (default 100, then name)"),
		idempotent: fs.Bool("idempotent", false, "statement: running it twice is harmless (it may then be retried after a broken connection)"),
		replace:    fs.Bool("replace", false, "replace the definition of an existing job of that name"),
		disabled:   fs.Bool("disabled", false, "add the job disabled"),
	}
}

func (f *jobFlags) job(name string) ferry.Job {
	j := ferry.Job{Name: name, Active: !*f.disabled, Kind: ferry.JobKind(*f.kind), Database: ferry.JobDatabase(*f.on), SQL: *f.sql,
		Schedule: *f.schedule, TimeZone: *f.tz, Timeout: *f.timeout, Pause: *f.pause, BatchRows: *f.batchRows, Position: *f.position,
		Idempotent: *f.idempotent, KeyPattern: *f.key, Trigger: ferry.JobTrigger(*f.when)}
	if *f.when == "" {
		j.Trigger = ferry.JobOnSchedule
	}
	return j
}

func runJobAdd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newOpsCmd("job add", "NAME --db source|target|company --sql '...' (--schedule EXPR | --when TRIGGER) [flags]", jobAddDesc,
		"ferry job add purge_events --kind batched --db source --batch-rows 10000 \\\n"+
			"  --schedule 'cron(30 2 * * ? *)' --timezone Europe/Paris \\\n"+
			"  --sql 'DELETE FROM events WHERE created_at < :run_date - INTERVAL 90 DAY'",
		stdout, stderr).dbs(ops.AdminDB, ops.SourceDB, ops.TargetDB).withJSON().
		withRunDate("date (YYYY-MM-DD) whose parameter values the check uses; default today")
	f := newJobFlags(c)
	if code, done := c.parse(args); done {
		return code
	}
	if c.nArg() != 1 || strings.TrimSpace(*f.sql) == "" || *f.on == "" {
		return c.usageErr("give the job's NAME, --db and --sql, e.g. ferry job add analyze_bi --db company --when after-run --sql 'ANALYZE orders'")
	}
	if *f.schedule != "" && *f.when != "" || *f.schedule == "" && *f.when == "" {
		return c.usageErr("give exactly one of --schedule and --when")
	}
	job := f.job(c.arg(0))
	if err := jobs.ValidName(job.Name); err != nil {
		return c.fail(err)
	}
	db, err := c.openAdminDB(ctx, true)
	if err != nil {
		return c.fail(err)
	}
	defer db.Close()
	jobDB, done, err := ops.OpenJobDB(ctx, ops.JobDBRole(job.Database), c.url(ops.JobDBRole(job.Database)))
	if err != nil {
		return c.fail(err)
	}
	defer done()
	added, err := ops.AddJobChecked(ctx, db, jobDB, job, *f.replace, c.date)
	if err != nil {
		fmt.Fprintf(stderr, "ferry job add: job %s was not written.\n", job.Name)
		return c.fail(err)
	}
	if c.json() {
		return c.printJSON(added)
	}
	printJobAdded(stdout, added)
	return exitOK
}

func printJobAdded(w io.Writer, a ops.JobAdded) {
	j := a.Job
	verb := "Added"
	if a.Replaced {
		verb = "Replaced"
	}
	fmt.Fprintf(w, "%s job %s: %s on the %s, %s, timeout %s, parameters %s.\n", verb, j.Name, jobWhat(j), j.Database, jobWhen(j),
		fmtDuration(j.Timeout), orDash(paramList(j.Params)))
	for _, t := range a.Fires {
		fmt.Fprintf(w, "  fires %s\n", t.Format("2006-01-02 15:04 MST"))
	}
	checked := "bound"
	if a.Explained {
		checked = "bound and EXPLAINed"
	}
	switch {
	case a.PerCompany && len(a.Companies) == 0:
		fmt.Fprintf(w, "Runs per company; checked with sample values (%s): there is no active company yet.\n", checked)
	case a.PerCompany:
		fmt.Fprintf(w, "Runs per company; %s for %d active companies.\n", checked, len(a.Companies))
	default:
		fmt.Fprintf(w, "Checked: %s on the %s.\n", checked, j.Database)
	}
	if !j.Active {
		fmt.Fprintf(w, "The job is disabled: `ferry job enable %s` turns it on.\n", j.Name)
	}
}

func jobWhat(j ferry.Job) string {
	switch j.Kind {
	case ferry.JobBatched:
		return fmt.Sprintf("batched (at most %s rows per batch)", humanInt(int64(j.BatchRows)))
	case ferry.JobExtract:
		return "extract to " + j.KeyPattern
	}
	return "statement"
}

func jobWhen(j ferry.Job) string {
	if j.Trigger != ferry.JobOnSchedule {
		return string(j.Trigger)
	}
	return j.Schedule + " " + orDefault(j.TimeZone, "UTC")
}

func runJobList(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newOpsCmd("job list", "[flags]", "List every job with its schedule, next fire time and last run.",
		"ferry job list\nferry job list --json", stdout, stderr).dbs(ops.AdminDB).withJSON().noArgs()
	return runList(ctx, c, args, listing[ops.JobListing]{
		read:   func(db *admin.DB, ctx context.Context) ([]ops.JobListing, error) { return ops.ListJobs(ctx, db) },
		empty:  "No jobs yet. Add one with `ferry job add NAME --db ... --sql '...' --schedule 'cron(...)'`.",
		header: []string{"NAME", "STATUS", "KIND", "DB", "WHEN", "NEXT", "LAST RUN", "SQL"},
		row: func(l ops.JobListing) []string {
			status := "inactive"
			if l.Active {
				status = "active"
			}
			last := "-"
			if l.Last != nil {
				last = fmt.Sprintf("%s %s (%s rows)", l.Last.StartedAt.Format("2006-01-02 15:04"), l.Last.Status, humanInt(l.Last.Rows))
			}
			return []string{l.Name, status, string(l.Kind), string(l.Database), jobWhen(l.Job), fmtTime(l.NextDue), last,
				clip(strings.Join(strings.Fields(l.SQL), " "), 50)}
		},
	})
}

func runJobStatus(ctx context.Context, args []string, stdout, stderr io.Writer, active bool) int {
	verb, desc := "disable", "Stop a job: the schedule and runs skip it; a batched job that is running stops at its next check (what it committed stays)."
	if active {
		verb, desc = "enable", "Run a job again; a scheduled job next fires at its first fire time from now."
	}
	c := newOpsCmd("job "+verb, "NAME [flags]", desc, "ferry job "+verb+" purge_events", stdout, stderr).dbs(ops.AdminDB).withJSON()
	if code, done := c.parse(args); done {
		return code
	}
	if c.nArg() != 1 {
		return c.usageErr("give exactly one job name, e.g. ferry job %s purge_events", verb)
	}
	db, err := c.openAdminDB(ctx, true)
	if err != nil {
		return c.fail(err)
	}
	defer db.Close()
	job, err := ops.SetJobActive(ctx, db, c.arg(0), active)
	if err != nil {
		return c.fail(notFoundFix(err, "job "+c.arg(0), "ferry job list"))
	}
	if c.json() {
		return c.printJSON(job)
	}
	if active {
		fmt.Fprintf(stdout, "Job %s enabled (%s", job.Name, jobWhen(job))
		if job.NextDue != nil {
			fmt.Fprintf(stdout, "; next %s", fmtTime(job.NextDue))
		}
		fmt.Fprintln(stdout, ").")
	} else {
		fmt.Fprintf(stdout, "Job %s disabled: it no longer runs; a run in progress stops at its next check.\n", job.Name)
	}
	return exitOK
}
