package jobs

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/sqlparams"
)

// Builtin parameters: RunParams are available to every job, CompanyParams
// only when the job runs for a company (as are configuration names).
var (
	RunParams     = []string{"run_date"}
	CompanyParams = []string{"company_id", "alias", "since"}
)

// Statement is a job's SQL as analyzed for the engine it runs on.
type Statement struct {
	*sqlparams.Statement
	// Verb is the leading keywords that name the statement, upper case
	// ("DELETE", "UPDATE", "REFRESH MATERIALIZED VIEW", "CALL", "VACUUM").
	Verb string
	// Batch is the parts of a batched job's DELETE or UPDATE.
	Batch *ferry.BatchParts
}

// Analyze parses job.SQL in dialect d and checks it against the job's
// kind: one statement; an extract is one read-only SELECT; a batched job
// is a single-table DELETE, or an UPDATE whose WHERE names a column it sets
// (so that its batches converge), with no LIMIT, ORDER BY, RETURNING, join
// or WITH. Errors are *ferry.ConfigError naming the job and the fix.
func Analyze(job ferry.Job, d sqlparams.Dialect) (*Statement, error) {
	st, err := sqlparams.ParseStatement(d, job.SQL)
	if err != nil {
		return nil, jobErr(job.Name, err.Error(), "write one statement with named parameters such as :since")
	}
	s := &Statement{Statement: st, Verb: verb(st)}
	switch job.Kind {
	case ferry.JobExtract:
		if err := st.CheckSelect(); err != nil {
			return nil, jobErr(job.Name, "an extract runs one read-only SELECT: "+err.Error(), "write a SELECT (or WITH ... SELECT) that returns the rows to extract")
		}
	case ferry.JobBatched:
		b, err := batchParts(st)
		if err != nil {
			return nil, jobErr(job.Name, "a batched job runs a single-table DELETE or UPDATE: "+err.Error(),
				"write DELETE FROM t WHERE <condition> or UPDATE t SET ... WHERE <condition>; Ferry adds the batch limit")
		}
		s.Batch = b
	}
	return s, nil
}

func jobErr(name, msg, fix string) error {
	return &ferry.ConfigError{Msg: "job " + name + ": " + msg, Fix: fix}
}

// verbs are the multi-word statement names Verb recognizes.
var verbs = []string{
	"REFRESH MATERIALIZED VIEW", "CREATE UNIQUE INDEX", "CREATE INDEX", "DROP INDEX", "REINDEX",
	"ANALYZE TABLE", "OPTIMIZE TABLE", "CHECK TABLE", "REPAIR TABLE", "TRUNCATE TABLE",
	"CREATE TABLE", "DROP TABLE", "ALTER TABLE", "CREATE DATABASE", "DROP DATABASE", "ALTER SYSTEM",
	"CREATE TABLESPACE", "DROP TABLESPACE", "INSERT INTO", "REPLACE INTO",
}

func verb(st *sqlparams.Statement) string {
	lead := strings.Join(st.Keywords(4), " ")
	for _, v := range verbs {
		if lead == v || strings.HasPrefix(lead, v+" ") {
			return v
		}
	}
	if k := st.Keywords(1); len(k) == 1 {
		return k[0]
	}
	return ""
}

// Concurrently reports whether the statement has the CONCURRENTLY keyword
// at its top level (PostgreSQL's non-transactional index and view forms).
func (s *Statement) Concurrently() bool {
	for _, t := range s.Tokens {
		if t.Depth == 0 && s.Keyword(t) == "CONCURRENTLY" {
			return true
		}
	}
	return false
}

// knownIdempotent are statements that give the same result when run twice.
var knownIdempotent = map[string]bool{
	"ANALYZE": true, "ANALYZE TABLE": true, "VACUUM": true, "REFRESH MATERIALIZED VIEW": true,
	"OPTIMIZE TABLE": true, "CHECK TABLE": true, "REINDEX": true, "CLUSTER": true,
}

// Idempotent reports whether job may be retried after an error whose
// outcome is unknown: batched and extract jobs always (a batch that
// committed is not repeated: the next one finds what is left; an extract
// rewrites its object), a statement job when it says so or its statement is
// one that gives the same result when run twice (ANALYZE, VACUUM, REFRESH
// MATERIALIZED VIEW, OPTIMIZE/CHECK TABLE, REINDEX, CLUSTER).
func Idempotent(job ferry.Job, s *Statement) bool {
	return job.Kind != ferry.JobStatement || job.Idempotent || s != nil && knownIdempotent[s.Verb]
}

// PerCompany reports whether the job runs once per company: on the
// company's schema, after each company's swap, or when its SQL uses a
// company parameter or a configuration.
func PerCompany(job ferry.Job, params []string) bool {
	if job.Database == ferry.JobOnCompany || job.Trigger == ferry.JobAfterSwap {
		return true
	}
	for _, p := range params {
		if !contains(RunParams, p) {
			return true
		}
	}
	return false
}

// CheckParams refuses a parameter that is neither built in (RunParams,
// CompanyParams) nor one of configs (the configuration names). A job that
// uses a company parameter or a configuration runs per company
// (PerCompany), so every parameter it uses has a value when it runs.
func CheckParams(job ferry.Job, params, configs []string) error {
	for _, p := range params {
		if contains(RunParams, p) || contains(CompanyParams, p) || contains(configs, p) {
			continue
		}
		known := append(append(append([]string{}, RunParams...), CompanyParams...), configs...)
		return jobErr(job.Name, fmt.Sprintf("uses :%s, which is neither a built-in parameter nor a configuration (known: :%s)", p, strings.Join(known, ", :")),
			fmt.Sprintf("correct the SQL, or give each company a value: `ferry company config ID %s=VALUE`", p))
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

var nameRe = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// ValidName refuses a job name that is not [a-z][a-z0-9_]{0,63}.
func ValidName(name string) error {
	if !nameRe.MatchString(name) {
		return &ferry.ConfigError{Msg: fmt.Sprintf("job name %q is not a lower-case identifier ([a-z][a-z0-9_], at most 64 characters)", name), Fix: "choose a name such as purge_events"}
	}
	return nil
}
