package jobs

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/ferrydata/ferry"
)

// Limits and defaults of a job definition.
const (
	// DefaultBatchRows is a batched job's batch size when none is given.
	DefaultBatchRows = 10_000
	// MaxBatchRows bounds a batch: larger batches hold their locks longer.
	MaxBatchRows = 1_000_000
	// MaxPause bounds the pause between batches.
	MaxPause = time.Hour
	// MaxBatchedTimeout keeps a batched job within one execution of a
	// state machine (whose TimeoutSeconds is 24 hours).
	MaxBatchedTimeout = 23 * time.Hour
	// DefaultPosition orders jobs that were given no position.
	DefaultPosition = 100
)

// DefaultTimeout is a kind's timeout when none is given: a statement 5
// minutes, an extract the whole invocation, a batched job 6 hours.
func DefaultTimeout(kind ferry.JobKind, perInvocation time.Duration) time.Duration {
	switch kind {
	case ferry.JobBatched:
		return 6 * time.Hour
	case ferry.JobExtract:
		return perInvocation
	}
	return min(5*time.Minute, perInvocation)
}

// Normalize fills a definition's defaults: position, timeout, batch size
// and an extract's key pattern. perInvocation is the longest a statement
// can run in one invocation (run-job's timeout less a margin).
func Normalize(job *ferry.Job, perCompany bool, perInvocation time.Duration) {
	if job.Position == 0 {
		job.Position = DefaultPosition
	}
	if job.Timeout == 0 {
		job.Timeout = DefaultTimeout(job.Kind, perInvocation)
	}
	if job.Kind == ferry.JobBatched && job.BatchRows == 0 {
		job.BatchRows = DefaultBatchRows
	}
	if job.Kind == ferry.JobExtract && job.KeyPattern == "" {
		job.KeyPattern = "extracts/{job}/{run_date}.csv.gz"
		if perCompany {
			job.KeyPattern = "extracts/{job}/{run_date}/{alias}.csv.gz"
		}
	}
}

// Check refuses a definition whose fields do not fit together; it does
// not look at the SQL (Analyze does) nor at any database. now anchors the
// schedule. Errors are *ferry.ConfigError naming the job and the fix.
func Check(job ferry.Job, perCompany bool, perInvocation time.Duration, now time.Time) error {
	if err := ValidName(job.Name); err != nil {
		return err
	}
	for _, c := range []func(ferry.Job, bool, time.Duration, time.Time) error{checkEnums, checkWhen, checkLimits, checkKey} {
		if err := c(job, perCompany, perInvocation, now); err != nil {
			return err
		}
	}
	return nil
}

func checkEnums(job ferry.Job, _ bool, _ time.Duration, _ time.Time) error {
	switch job.Kind {
	case ferry.JobStatement, ferry.JobBatched, ferry.JobExtract:
	default:
		return jobErr(job.Name, fmt.Sprintf("kind %q is not statement, batched or extract", job.Kind), "use --kind statement, batched or extract")
	}
	switch job.Database {
	case ferry.JobOnSource, ferry.JobOnTarget, ferry.JobOnCompany:
	default:
		return jobErr(job.Name, fmt.Sprintf("database %q is not source, target or company", job.Database), "use --db source, target or company (each company's target schema)")
	}
	return nil
}

func checkWhen(job ferry.Job, _ bool, _ time.Duration, now time.Time) error {
	switch job.Trigger {
	case ferry.JobOnSchedule:
		if job.Schedule == "" {
			return jobErr(job.Name, "a scheduled job needs a schedule", "give --schedule 'cron(0 3 * * ? *)' or 'rate(1 hour)', or --when before-run|after-swap|after-run")
		}
		if _, err := ParseSchedule(job.Schedule, job.TimeZone, now); err != nil {
			return jobErr(job.Name, err.Error(), "")
		}
	case ferry.JobBeforeRun, ferry.JobAfterSwap, ferry.JobAfterRun:
		if job.Schedule != "" || job.TimeZone != "" {
			return jobErr(job.Name, fmt.Sprintf("a %s job has no schedule of its own (it runs with each copy run)", job.Trigger), "give either --when or --schedule, not both")
		}
	default:
		return jobErr(job.Name, fmt.Sprintf("when %q is not schedule, before-run, after-swap or after-run", job.Trigger), "use --schedule EXPR or --when before-run|after-swap|after-run")
	}
	return nil
}

func checkLimits(job ferry.Job, _ bool, perInvocation time.Duration, _ time.Time) error {
	switch {
	case job.Timeout < time.Second:
		return jobErr(job.Name, fmt.Sprintf("timeout %v is under a second", job.Timeout), "give --timeout such as 5m")
	case job.Kind != ferry.JobBatched && job.Timeout > perInvocation:
		return jobErr(job.Name, fmt.Sprintf("a %s job runs in one invocation, at most %v; timeout %v does not fit", job.Kind, perInvocation, job.Timeout),
			"lower --timeout, or make a long DELETE or UPDATE a batched job that runs across invocations")
	case job.Kind == ferry.JobBatched && job.Timeout > MaxBatchedTimeout:
		return jobErr(job.Name, fmt.Sprintf("timeout %v is longer than a state machine execution can run (%v)", job.Timeout, MaxBatchedTimeout), "lower --timeout; what is left is purged by the next run")
	case job.Kind != ferry.JobBatched && (job.BatchRows != 0 || job.Pause != 0):
		return jobErr(job.Name, "--batch-rows and --pause are for batched jobs", "use --kind batched, or drop them")
	case job.Kind == ferry.JobBatched && (job.BatchRows < 1 || job.BatchRows > MaxBatchRows):
		return jobErr(job.Name, fmt.Sprintf("batch size %d is outside 1-%d", job.BatchRows, MaxBatchRows), "give --batch-rows such as 10000")
	case job.Pause < 0 || job.Pause > MaxPause:
		return jobErr(job.Name, fmt.Sprintf("pause %v is outside 0-%v", job.Pause, MaxPause), "give --pause such as 200ms")
	case job.Kind != ferry.JobExtract && job.KeyPattern != "":
		return jobErr(job.Name, "--key is for extract jobs", "use --kind extract, or drop --key")
	}
	return nil
}

var (
	placeholderRe = regexp.MustCompile(`\{[^{}]*\}`)
	keyCharsRe    = regexp.MustCompile(`^[A-Za-z0-9!_.*'()/=-]+$`)
	keyVars       = []string{"job", "run_date", "run_id", "alias", "company_id"}
)

func checkKey(job ferry.Job, perCompany bool, _ time.Duration, _ time.Time) error {
	if job.Kind != ferry.JobExtract {
		return nil
	}
	k := job.KeyPattern
	fix := "write a key such as extracts/{job}/{run_date}/{alias}.csv.gz"
	for _, m := range placeholderRe.FindAllString(k, -1) {
		if !contains(keyVars, m[1:len(m)-1]) {
			return jobErr(job.Name, fmt.Sprintf("key pattern %q: %s is not one of {job}, {run_date}, {run_id}, {alias}, {company_id}", k, m), fix)
		}
	}
	bare := placeholderRe.ReplaceAllString(k, "x")
	switch {
	case !keyCharsRe.MatchString(bare) || strings.HasPrefix(k, "/") || strings.Contains(k, "//") || strings.Contains(k, "..") || strings.ContainsAny(bare, "{}"):
		return jobErr(job.Name, fmt.Sprintf("key pattern %q: use letters, digits and !_.*'()/=- only, no leading '/', '//' or '..'", k), fix)
	case !strings.HasSuffix(k, ".csv.gz"):
		return jobErr(job.Name, fmt.Sprintf("key pattern %q: an extract is gzip CSV; the key must end in .csv.gz", k), fix)
	case perCompany && !strings.Contains(k, "{alias}") && !strings.Contains(k, "{company_id}"):
		return jobErr(job.Name, fmt.Sprintf("key pattern %q: the job runs for each company, so each company's extract would overwrite the others'", k), "put {alias} or {company_id} in the key")
	}
	return nil
}

// Key expands an extract's key pattern for one task.
func Key(pattern string, t ferry.JobTask) string {
	return strings.NewReplacer(
		"{job}", t.Job, "{run_date}", t.RunDate, "{run_id}", t.RunID,
		"{alias}", t.Alias, "{company_id}", strconv.FormatInt(t.CompanyID, 10),
	).Replace(pattern)
}

// FirstDue is when a scheduled job added (or enabled) at now first fires.
func FirstDue(job ferry.Job, now time.Time) (time.Time, error) {
	s, err := ParseSchedule(job.Schedule, job.TimeZone, now)
	if err != nil {
		return time.Time{}, jobErr(job.Name, err.Error(), "")
	}
	return s.Next(now.Add(-time.Nanosecond)), nil
}

// NextDue is a scheduled job's next fire time strictly after at, its
// previous due time anchoring a rate; zero when it never fires again. Fire
// times missed while nothing ran collapse into this one: a job never runs
// in a burst to catch up.
func NextDue(job ferry.Job, at time.Time) (time.Time, error) {
	anchor := at
	if job.NextDue != nil {
		anchor = *job.NextDue
	}
	s, err := parseSchedule(job.Schedule, job.TimeZone, anchor)
	if err != nil {
		return time.Time{}, jobErr(job.Name, err.Error(), "")
	}
	return s.Next(at), nil
}

// IsDue reports whether an active scheduled job is due at at.
func IsDue(job ferry.Job, at time.Time) bool {
	return job.Active && job.Trigger == ferry.JobOnSchedule && job.NextDue != nil && !job.NextDue.After(at)
}
