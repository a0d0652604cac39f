package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/ferrydata/ferry/asl"
	"github.com/ferrydata/ferry/internal/jobs"
	"github.com/ferrydata/ferry/internal/local"
	"github.com/ferrydata/ferry/internal/ops"
	"github.com/ferrydata/ferry/internal/steps"
	"github.com/ferrydata/ferry/internal/wire"
)

// jobRunResult is what `ferry job run --json` prints.
type jobRunResult struct {
	RunID  string        `json:"run_id"`
	Status string        `json:"status"`
	Cause  string        `json:"cause,omitempty"`
	Tasks  []jobs.JobRun `json:"tasks"`
}

func runJobRun(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newOpsCmd("job run", "NAME [--company N] [flags]",
		"Run a job now, whether due or not, through the jobs state machine (statemachine/jobs.asl.json)\n"+
			"on this machine, as its schedule does on AWS: run-job in-process, a batched job looping until\n"+
			"no row is left. A job never overlaps itself: if another run still holds it, nothing runs.\n"+
			"Extracts go to --store (file:///dir or s3://bucket; default $"+wire.EnvStore+").",
		"ferry job run purge_events\nferry job run refresh_sales --company 42", stdout, stderr).
		dbs(ops.AdminDB, ops.SourceDB, ops.TargetDB).withJSON()
	var companies int64List
	c.fs.Var(&companies, "company", "run a per-company job only for this company `id` (repeatable)")
	store := c.fs.String("store", "", "object store for extracts: file:///dir or s3://bucket; default $"+wire.EnvStore)
	verbose := c.fs.Bool("v", false, "log run-job's structured logs to stderr")
	if code, done := c.parse(args); done {
		return code
	}
	if c.nArg() != 1 {
		return c.usageErr("give exactly one job name, e.g. ferry job run purge_events")
	}
	env, err := wire.EnvFrom(func(k string) string {
		switch k {
		case wire.EnvAdminDSN:
			return c.url(ops.AdminDB)
		case wire.EnvSourceDSN:
			return c.url(ops.SourceDB)
		case wire.EnvTargetDSN:
			return c.url(ops.TargetDB)
		case wire.EnvStore:
			return orDefault(*store, os.Getenv(k))
		}
		return os.Getenv(k)
	})
	if err != nil {
		return c.fail(err)
	}
	log := slog.New(slog.DiscardHandler)
	if *verbose {
		log = slog.New(slog.NewTextHandler(stderr, nil))
	}
	return c.runJobs(ctx, env, log, c.arg(0), companies)
}

// runJobs executes the jobs state machine for one job and prints its tasks.
func (c *opsCmd) runJobs(ctx context.Context, env wire.Env, log *slog.Logger, name string, companies []int64) int {
	w := wire.New(env, wire.WithEngines(ops.Engines...), wire.WithLogger(log), wire.Local())
	defer w.Close()
	st, err := w.Steps(ctx, steps.NeedsRunJob)
	if err != nil {
		return c.fail(err)
	}
	ex, err := local.RunJobs(ctx, local.JobsOptions{Steps: st, Jobs: []string{name}, Companies: companies, Force: true, Logger: log})
	if err != nil {
		return c.fail(err)
	}
	adm, err := w.Admin(ctx)
	if err != nil {
		return c.fail(err)
	}
	jb, err := adm.JobAdmin()
	if err != nil {
		return c.fail(err)
	}
	tasks, err := jb.JobRuns(ctx, ex.Name)
	if err != nil {
		return c.fail(err)
	}
	res := jobRunResult{RunID: ex.Name, Status: ex.Status, Cause: ex.Cause, Tasks: nonNil(tasks)}
	if c.json() {
		c.printJSON(res)
	} else {
		printJobRun(c.stdout, name, res)
	}
	if ex.Status != asl.StatusSucceeded {
		return exitFail
	}
	return exitOK
}

func printJobRun(w io.Writer, name string, r jobRunResult) {
	if len(r.Tasks) == 0 && r.Status == asl.StatusSucceeded {
		fmt.Fprintf(w, "Job %s did not run: another run still holds it (a job never overlaps itself). It runs once that run ends or its lease expires.\n", name)
		return
	}
	rows := make([][]string, len(r.Tasks))
	for i, t := range r.Tasks {
		rows[i] = []string{t.Job, companyLabel(t.CompanyID), t.Status, humanInt(t.Rows), itoa(t.Batches), fmt.Sprintf("%.1f", t.Seconds), orDash(t.Key), clip(t.Error, 80)}
	}
	writeTable(w, []string{"JOB", "COMPANY", "STATUS", "ROWS", "BATCHES", "SECONDS", "OBJECT", "ERROR"}, rows)
	fmt.Fprintf(w, "\nRun %s %s.", r.RunID, r.Status)
	if r.Cause != "" {
		fmt.Fprintf(w, " %s", r.Cause)
	}
	fmt.Fprintln(w)
}

func companyLabel(id int64) string {
	if id == 0 {
		return "-"
	}
	return itoa(id)
}
