package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/plan"
	"github.com/ferrydata/ferry/internal/sqlparams"
)

// Env is what Validate checks a job against.
type Env struct {
	// Configs are the configuration names (configurations rows).
	Configs []string
	// Companies are the active companies, with their configuration.
	Companies []ferry.Company
	// DB is the database the job runs on, already opened (reachable).
	DB ferry.JobDB
	// RunDate gives the parameters' values; Now anchors the schedule.
	RunDate, Now time.Time
	// PerInvocation is the longest a statement may run (run-job's timeout
	// less a margin).
	PerInvocation time.Duration
}

// Checked is a validated job definition, ready to be written.
type Checked struct {
	Job ferry.Job
	// PerCompany says the job runs once per company; Companies are the
	// ones it was checked for (none: checked with sample values).
	PerCompany bool
	Companies  []ferry.Company
	// Explained is true when the engine could EXPLAIN the statement.
	Explained bool
	// Fires are the schedule's next fire times (UTC).
	Fires []time.Time
}

// Validate checks a job definition before anything is written: its fields
// (Check), its SQL for the database's engine (Analyze: one statement, the
// kind's rules), its parameters (built-ins and configurations), and, on the
// database, for each active company when it runs per company, that every
// parameter has a value and that the statement (or the batch statement)
// binds and, where the engine can, EXPLAINs. It fills Params and the
// defaults (Normalize) and, for a scheduled job, the first due time.
func Validate(ctx context.Context, job ferry.Job, env Env) (Checked, error) {
	st, err := Analyze(job, dialect(env.DB.Engine()))
	if err != nil {
		return Checked{}, err
	}
	job.Params = st.Params()
	c := Checked{PerCompany: PerCompany(job, job.Params)}
	Normalize(&job, c.PerCompany, env.PerInvocation)
	if err := Check(job, c.PerCompany, env.PerInvocation, env.Now); err != nil {
		return c, err
	}
	if err := CheckParams(job, job.Params, env.Configs); err != nil {
		return c, err
	}
	if err := checkOnDB(ctx, job, st, env, &c); err != nil {
		return c, err
	}
	if job.Trigger == ferry.JobOnSchedule {
		if c.Fires, err = fires(job, env.Now, 3); err != nil {
			return c, err
		}
		job.NextDue = &c.Fires[0]
	}
	c.Job = job
	return c, nil
}

// checkOnDB binds and EXPLAINs the statement with each company's values
// (or sample values when the job runs per company and there is none yet).
func checkOnDB(ctx context.Context, job ferry.Job, st *Statement, env Env, c *Checked) error {
	date := env.RunDate.Format(plan.DateLayout)
	cases := []ferry.Company{{}}
	if c.PerCompany {
		cases = env.Companies
		c.Companies = env.Companies
		if len(cases) == 0 {
			sample := ferry.Company{ID: 1, Alias: "sample", Config: map[string]string{plan.DaysConfig: "30"}}
			for _, n := range env.Configs {
				if _, ok := sample.Config[n]; !ok {
					sample.Config[n] = "1"
				}
			}
			cases = []ferry.Company{sample}
		}
	}
	c.Explained = explainable(st)
	for _, co := range cases {
		q := ferry.JobSQL{SQL: job.SQL, Params: map[string]ferry.Param{"run_date": date}, Timeout: 30 * time.Second}
		where := "job " + job.Name
		if c.PerCompany {
			var err error
			if q.Params, err = plan.CompanyParams(co, env.RunDate); err != nil {
				return err
			}
			where = fmt.Sprintf("job %s, company %d (%s)", job.Name, co.ID, co.Alias)
			if job.Database == ferry.JobOnCompany && len(c.Companies) > 0 {
				q.Schema = co.Schema
			}
		}
		if _, _, err := st.Bind(q.Params); err != nil {
			var ue *sqlparams.UnknownParamError
			if errors.As(err, &ue) {
				return &ferry.ConfigError{Msg: fmt.Sprintf("%s: :%s has no value for this company", where, ue.Name),
					Fix: fmt.Sprintf("give the company a value (`ferry company config %d %s=VALUE`; :since comes from days), or correct the SQL", co.ID, ue.Name)}
			}
			return err
		}
		if job.Database == ferry.JobOnCompany && len(c.Companies) == 0 {
			continue // no company schema to check against yet
		}
		if err := env.DB.CheckJob(ctx, q, st.Batch); err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
	}
	return nil
}

// explainable reports whether the engines can EXPLAIN the statement (or
// its batch statement).
func explainable(st *Statement) bool {
	switch st.Verb {
	case "SELECT", "WITH", "DELETE", "UPDATE", "INSERT INTO", "INSERT", "REPLACE INTO", "REPLACE":
		return true
	}
	return st.Batch != nil
}

func fires(job ferry.Job, now time.Time, n int) ([]time.Time, error) {
	first, err := FirstDue(job, now)
	if err != nil {
		return nil, err
	}
	out := []time.Time{first}
	j := job
	for len(out) < n {
		j.NextDue = &out[len(out)-1]
		next, err := NextDue(j, out[len(out)-1])
		if err != nil || next.IsZero() {
			break
		}
		out = append(out, next)
	}
	return out, nil
}
