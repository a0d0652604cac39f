package ops

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/admin"
	"github.com/ferrydata/ferry/internal/jobs"
	"github.com/ferrydata/ferry/internal/wire"
)

// PerInvocation is the longest a job statement may run: run-job's Lambda
// timeout (15 minutes) less a margin.
const PerInvocation = 14 * time.Minute

// JobDBRole is the database a job on on runs on: the source, or the target.
func JobDBRole(on ferry.JobDatabase) Database {
	if on == ferry.JobOnSource {
		return SourceDB
	}
	return TargetDB
}

// OpenJobDB opens the database at raw for jobs, as role d (the source or
// the target). The caller calls the returned func to close it.
func OpenJobDB(ctx context.Context, d Database, raw string) (ferry.JobDB, func(), error) {
	type opened struct {
		db   ferry.JobDB
		done func()
	}
	o, _, err := open(ctx, d, raw, func(ctx context.Context, dsn wire.DSN) (opened, error) {
		db, done, err := Engines.OpenJobs(ctx, d, dsn, nil)
		return opened{db, done}, err
	})
	if err != nil {
		return nil, nil, err
	}
	return o.db, o.done, nil
}

// JobAdded is what AddJobChecked wrote.
type JobAdded struct {
	jobs.Checked
	Replaced bool `json:"replaced"`
}

// AddJobChecked validates job (jobs.Validate: fields, SQL, parameters with
// each active company's values, the database's check and EXPLAIN) and only
// then writes it; an existing name is refused unless replace. Nothing is
// written when any check fails.
func AddJobChecked(ctx context.Context, db *admin.DB, jobDB ferry.JobDB, job ferry.Job, replace bool, runDate time.Time) (JobAdded, error) {
	jb, err := db.JobAdmin()
	if err != nil {
		return JobAdded{}, err
	}
	_, err = jb.Job(ctx, job.Name)
	existed := err == nil
	if existed && !replace {
		return JobAdded{}, &ferry.ConfigError{Msg: fmt.Sprintf("job %s already exists", job.Name), Fix: "choose another name, or pass --replace to change it"}
	}
	configs, err := db.ConfigurationNames(ctx)
	if err != nil {
		return JobAdded{}, err
	}
	companies, err := db.ActiveCompanies(ctx, nil)
	if err != nil {
		return JobAdded{}, err
	}
	now := time.Now().UTC()
	c, err := jobs.Validate(ctx, job, jobs.Env{Configs: configs, Companies: companies, DB: jobDB, RunDate: runDate, Now: now, PerInvocation: PerInvocation})
	if err != nil {
		return JobAdded{}, err
	}
	if err := jb.PutJob(ctx, c.Job, replace); err != nil {
		return JobAdded{}, err
	}
	return JobAdded{Checked: c, Replaced: existed}, nil
}

// SetJobActive enables or disables a job. Enabling a scheduled job sets
// its next fire time from now (missed times are not run); disabling stops a
// running batched job at its next check.
func SetJobActive(ctx context.Context, db *admin.DB, name string, active bool) (ferry.Job, error) {
	jb, err := db.JobAdmin()
	if err != nil {
		return ferry.Job{}, err
	}
	job, err := jb.Job(ctx, name)
	if err != nil {
		return job, err
	}
	status, next := admin.StatusInactive, job.NextDue
	if active {
		status = admin.StatusActive
		if job.Trigger == ferry.JobOnSchedule {
			first, err := jobs.FirstDue(job, time.Now().UTC())
			if err != nil {
				return job, err
			}
			next = &first
		}
	}
	if _, err := jb.SetJobStatus(ctx, name, status, next); err != nil {
		return job, err
	}
	job.Active, job.NextDue = active, next
	return job, nil
}

// JobListing is one job with its last run.
type JobListing struct {
	ferry.Job
	Last *jobs.JobRun `json:"last_run,omitempty"`
}

// ListJobs returns every job with its newest run.
func ListJobs(ctx context.Context, db *admin.DB) ([]JobListing, error) {
	jb, err := db.JobAdmin()
	if err != nil {
		return nil, err
	}
	all, err := jb.Jobs(ctx)
	if err != nil {
		return nil, err
	}
	last, err := jb.LastJobRuns(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]JobListing, len(all))
	for i, j := range all {
		out[i].Job = j
		for k := range last {
			if last[k].Job == j.Name {
				out[i].Last = &last[k]
			}
		}
	}
	return out, nil
}

// RunShown is one run as `ferry runs show` prints it: the copy run (when
// Recorded), its table loads, and the job tasks of the run id.
type RunShown struct {
	Run      admin.Run
	Recorded bool
	Tables   []admin.TableLoad
	Jobs     []jobs.JobRun
}

// ShowRun reads a run: a copy run and its jobs, or a jobs execution (no
// ferry_runs row, only job runs). Neither wraps ferry.ErrNotFound.
func ShowRun(ctx context.Context, db *admin.DB, runID string) (RunShown, error) {
	var r RunShown
	run, loads, err := db.GetRun(ctx, runID)
	if err != nil && !errors.Is(err, ferry.ErrNotFound) {
		return r, err
	}
	r.Run, r.Recorded, r.Tables = run, err == nil, loads
	if jb, jerr := db.JobAdmin(); jerr == nil {
		if r.Jobs, jerr = jb.JobRuns(ctx, runID); jerr != nil {
			return r, jerr
		}
	}
	if !r.Recorded && len(r.Jobs) == 0 {
		return r, err
	}
	return r, nil
}

// PlanJobs returns the job tasks a copy run of companies starts, in order:
// before-run, each company's after-swap, after-run.
func PlanJobs(ctx context.Context, db *admin.DB, runDate string, companies []ferry.Company) ([]ferry.JobTask, error) {
	book, err := db.Jobs()
	if err != nil {
		return nil, err
	}
	r := &jobs.Runner{Book: book}
	ids := make([]int64, len(companies))
	for i, c := range companies {
		ids[i] = c.ID
	}
	var out []ferry.JobTask
	add := func(in jobs.PlanInput) error {
		in.RunID, in.RunDate, in.Companies = "plan", runDate, ids
		p, err := r.Plan(ctx, in)
		out = append(out, p.Tasks...)
		return err
	}
	if err := add(jobs.PlanInput{Trigger: ferry.JobBeforeRun}); err != nil {
		return nil, err
	}
	for _, c := range companies {
		if err := add(jobs.PlanInput{Trigger: ferry.JobAfterSwap, Company: &ferry.CompanyRun{CompanyID: c.ID, Alias: c.Alias, Schema: c.Schema}}); err != nil {
			return nil, err
		}
	}
	return out, add(jobs.PlanInput{Trigger: ferry.JobAfterRun})
}
