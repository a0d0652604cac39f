package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/metrics"
	"github.com/ferrydata/ferry/internal/plan"
	"github.com/ferrydata/ferry/internal/sqlparams"
)

// Runner runs job tasks: what run-job's actions do, over the admin
// database (Book), the databases jobs run on and the extract store. It is
// safe for concurrent use.
type Runner struct {
	Book Book
	DB   Databases
	// Store receives extracts (nil: an extract fails with a ConfigError).
	Store ferry.Store
	// PerInvocation is the longest one invocation may run a statement
	// (run-job's timeout less a margin; default 14 minutes).
	PerInvocation time.Duration
	// LeaseTTL is how long a job's lease outlives its last heartbeat
	// (default 2 minutes; a statement's lease lasts its timeout more).
	LeaseTTL time.Duration
	// Margin is kept between the last batch and the invocation's deadline
	// (default 10s).
	Margin time.Duration
	// MaxSleptPause is the longest pause slept inside an invocation; a
	// longer one runs one batch per invocation and the state machine waits
	// (default 1 minute).
	MaxSleptPause time.Duration
	// BatchTarget is the batch duration batches adapt to (default 300ms).
	BatchTarget time.Duration
	Clock       func() time.Time
	Logger      *slog.Logger
	Metrics     *metrics.Emitter
}

func (r *Runner) now() time.Time {
	if r.Clock != nil {
		return r.Clock().UTC()
	}
	return time.Now().UTC()
}

func (r *Runner) log() *slog.Logger {
	if r.Logger != nil {
		return r.Logger
	}
	return slog.Default()
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// dialect is the SQL dialect of an engine.
func dialect(e ferry.Engine) sqlparams.Dialect {
	if e == ferry.EnginePostgres {
		return sqlparams.Postgres
	}
	return sqlparams.MySQL
}

// prepared is a task ready to run: its job, database, analyzed statement
// and parameter values.
type prepared struct {
	task   ferry.JobTask
	job    ferry.Job
	db     ferry.JobDB
	stmt   *Statement
	sql    ferry.JobSQL
	where  string
	record JobRun
}

// prepare loads the task's job and company, opens its database and binds
// what the statement needs. A job that is gone or disabled returns
// (nil, nil): the task ends cancelled.
func (r *Runner) prepare(ctx context.Context, t ferry.JobTask) (*prepared, error) {
	p := &prepared{task: t, where: taskName(t)}
	job, err := r.Book.Job(ctx, t.Job)
	if errors.Is(err, ferry.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !job.Active {
		return nil, nil
	}
	p.job = job
	if p.db, err = r.DB(ctx, job.Database); err != nil {
		return nil, err
	}
	if p.stmt, err = Analyze(job, dialect(p.db.Engine())); err != nil {
		return nil, err
	}
	runDate, err := time.Parse(plan.DateLayout, t.RunDate)
	if err != nil {
		return nil, &ferry.ConfigError{Msg: fmt.Sprintf("%s: run date %q is not YYYY-MM-DD", p.where, t.RunDate), Fix: "pass a task from run-job's plan or due action unchanged"}
	}
	p.sql = ferry.JobSQL{SQL: job.SQL, Params: map[string]ferry.Param{"run_date": t.RunDate}, Timeout: job.Timeout}
	if t.CompanyID != 0 {
		cs, err := r.Book.Companies(ctx, []int64{t.CompanyID})
		if err != nil {
			return nil, err
		}
		if len(cs) == 0 {
			return nil, &ferry.ConfigError{Msg: fmt.Sprintf("%s: company %d is not an active company", p.where, t.CompanyID), Fix: "enable the company, or run the job for another one"}
		}
		if p.sql.Params, err = plan.CompanyParams(cs[0], runDate); err != nil {
			return nil, err
		}
		if job.Database == ferry.JobOnCompany {
			p.sql.Schema = cs[0].Schema
		}
	}
	return p, nil
}

// taskName names a task in messages: "job purge" or "job refresh, company 42 (acme)".
func taskName(t ferry.JobTask) string {
	if t.CompanyID == 0 {
		return "job " + t.Job
	}
	return fmt.Sprintf("job %s, company %d (%s)", t.Job, t.CompanyID, t.Alias)
}
