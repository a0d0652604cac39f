package jobs

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/plan"
)

// DueInput is run-job's "due" action: the jobs state machine's first step.
type DueInput struct {
	RunID string    `json:"run_id"`
	At    time.Time `json:"at"`
	// Jobs, when set, are the only jobs considered; with Force they run
	// whether due or not (ferry job run). Companies restricts per-company
	// jobs to those companies.
	Jobs      []string `json:"jobs,omitempty"`
	Companies []int64  `json:"companies,omitempty"`
	Force     bool     `json:"force,omitempty"`
}

// DueOutput is the tasks to run now, and the ones skipped because their
// previous run still holds them.
type DueOutput struct {
	RunID   string          `json:"run_id"`
	RunDate string          `json:"run_date"`
	Tasks   []ferry.JobTask `json:"tasks"`
	Skipped []string        `json:"skipped,omitempty"`
}

// Due returns the tasks of the jobs due at in.At (one per company for a
// per-company job), claiming each task's lease for the run. A task whose
// lease another run holds is skipped; a job none of whose tasks could be
// claimed stays due (it runs at a later tick), the others have their next
// fire time advanced past in.At.
func (r *Runner) Due(ctx context.Context, in DueInput) (DueOutput, error) {
	at := in.At.UTC()
	out := DueOutput{RunID: in.RunID, RunDate: at.Format(plan.DateLayout), Tasks: []ferry.JobTask{}}
	if err := ferry.ValidRunID(in.RunID); err != nil {
		return out, err
	}
	selected, err := r.selectJobs(ctx, in, at)
	if err != nil {
		return out, err
	}
	companies, err := r.Book.Companies(ctx, in.Companies)
	if err != nil {
		return out, err
	}
	for _, job := range selected {
		claimed := false
		for _, t := range r.tasks(job, in.RunID, out.RunDate, companies) {
			ok, err := r.Book.Claim(ctx, job.Name, t.CompanyID, in.RunID, at, at.Add(orDefault(r.LeaseTTL, 2*time.Minute)+orDefault(r.PerInvocation, 14*time.Minute)))
			if err != nil {
				return out, err
			}
			if !ok {
				out.Skipped = append(out.Skipped, taskName(t))
				continue
			}
			claimed = true
			out.Tasks = append(out.Tasks, t)
		}
		if err := r.advance(ctx, job, at, claimed || in.Force); err != nil {
			return out, err
		}
	}
	if len(out.Skipped) > 0 {
		r.log().WarnContext(ctx, "jobs still running in another run were skipped; they stay due", "run_id", in.RunID, "skipped", strings.Join(out.Skipped, "; "))
	}
	return out, nil
}

// selectJobs returns the jobs a due action considers.
func (r *Runner) selectJobs(ctx context.Context, in DueInput, at time.Time) ([]ferry.Job, error) {
	all, err := r.Book.Jobs(ctx)
	if err != nil {
		return nil, err
	}
	byName := map[string]ferry.Job{}
	for _, j := range all {
		byName[j.Name] = j
	}
	var out []ferry.Job
	for _, name := range in.Jobs {
		j, ok := byName[name]
		switch {
		case !ok:
			return nil, &ferry.ConfigError{Msg: fmt.Sprintf("job %s does not exist", name), Fix: "see `ferry job list`"}
		case !j.Active:
			return nil, &ferry.ConfigError{Msg: fmt.Sprintf("job %s is disabled", name), Fix: fmt.Sprintf("enable it first: `ferry job enable %s`", name)}
		case in.Force || IsDue(j, at):
			out = append(out, j)
		}
	}
	if len(in.Jobs) == 0 {
		for _, j := range all {
			if IsDue(j, at) {
				out = append(out, j)
			}
		}
	}
	return out, nil
}

// tasks expands a job into its tasks: one per company for a per-company
// job, else one.
func (r *Runner) tasks(job ferry.Job, runID, runDate string, companies []ferry.Company) []ferry.JobTask {
	base := ferry.JobTask{RunID: runID, RunDate: runDate, Job: job.Name, Kind: job.Kind, Trigger: job.Trigger, Idempotent: Idempotent(job, r.analyzed(job))}
	if !PerCompany(job, job.Params) {
		return []ferry.JobTask{base}
	}
	out := make([]ferry.JobTask, 0, len(companies))
	for _, c := range companies {
		t := base
		t.CompanyID, t.Alias = c.ID, c.Alias
		out = append(out, t)
	}
	return out
}

// analyzed is the job's statement as far as idempotency needs it (the
// verb reads the same in both dialects); nil when it does not parse (the
// task then fails with the reason when it runs).
func (r *Runner) analyzed(job ferry.Job) *Statement {
	for _, d := range []ferry.Engine{ferry.EngineMySQL, ferry.EnginePostgres} {
		if s, err := Analyze(job, dialect(d)); err == nil {
			return s
		}
	}
	return nil
}

// advance moves a scheduled job's next fire time past at.
func (r *Runner) advance(ctx context.Context, job ferry.Job, at time.Time, claimed bool) error {
	if job.Trigger != ferry.JobOnSchedule || !claimed || !IsDue(job, at) {
		return nil
	}
	next, err := NextDue(job, at)
	if err != nil {
		return err
	}
	var p *time.Time
	if !next.IsZero() {
		p = &next
	}
	return r.Book.SetNextDue(ctx, job.Name, p)
}
