package jobs

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ferrydata/ferry"
)

const perInvocation = 14 * time.Minute

func TestNormalize(t *testing.T) {
	j := ferry.Job{Name: "x", Kind: ferry.JobExtract}
	Normalize(&j, true, perInvocation)
	if j.KeyPattern != "extracts/{job}/{run_date}/{alias}.csv.gz" || j.Timeout != perInvocation || j.Position != DefaultPosition {
		t.Fatalf("%+v", j)
	}
	j = ferry.Job{Name: "x", Kind: ferry.JobBatched, Position: 5}
	Normalize(&j, false, perInvocation)
	if j.BatchRows != DefaultBatchRows || j.Timeout != 6*time.Hour || j.Position != 5 || j.KeyPattern != "" {
		t.Fatalf("%+v", j)
	}
	j = ferry.Job{Name: "x", Kind: ferry.JobStatement}
	Normalize(&j, false, perInvocation)
	if j.Timeout != 5*time.Minute {
		t.Fatalf("%+v", j)
	}
}

func TestCheck(t *testing.T) {
	now := utc("2026-12-03 12:00")
	ok := ferry.Job{Name: "purge", Kind: ferry.JobBatched, Database: ferry.JobOnSource, Trigger: ferry.JobOnSchedule,
		Schedule: "cron(0 3 * * ? *)", TimeZone: "Europe/Paris", Timeout: time.Hour, BatchRows: 10_000, Pause: 100 * time.Millisecond}
	if err := Check(ok, false, perInvocation, now); err != nil {
		t.Fatal(err)
	}
	extract := ferry.Job{Name: "partner", Kind: ferry.JobExtract, Database: ferry.JobOnCompany, Trigger: ferry.JobAfterSwap,
		Timeout: time.Minute, KeyPattern: "out/{company_id}/{run_date}/orders=(v1).csv.gz"}
	if err := Check(extract, true, perInvocation, now); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		edit func(j *ferry.Job)
		per  bool
		want string
	}{
		{"name", func(j *ferry.Job) { j.Name = "Purge" }, false, "lower-case identifier"},
		{"kind", func(j *ferry.Job) { j.Kind = "script" }, false, "kind \"script\""},
		{"db", func(j *ferry.Job) { j.Database = "replica" }, false, "database \"replica\""},
		{"when", func(j *ferry.Job) { j.Trigger = "nightly" }, false, "when \"nightly\""},
		{"no schedule", func(j *ferry.Job) { j.Schedule = "" }, false, "needs a schedule"},
		{"bad schedule", func(j *ferry.Job) { j.Schedule = "cron(0 3 * * *)" }, false, "has 5 fields"},
		{"bad zone", func(j *ferry.Job) { j.TimeZone = "Paris" }, false, "not an IANA time zone"},
		{"schedule and when", func(j *ferry.Job) { j.Trigger = ferry.JobAfterRun }, false, "has no schedule of its own"},
		{"timeout", func(j *ferry.Job) { j.Timeout = time.Millisecond }, false, "under a second"},
		{"batched too long", func(j *ferry.Job) { j.Timeout = 30 * time.Hour }, false, "longer than a state machine execution"},
		{"statement too long", func(j *ferry.Job) { j.Kind = ferry.JobStatement; j.BatchRows = 0; j.Pause = 0; j.Timeout = time.Hour }, false, "make a long DELETE or UPDATE a batched job"},
		{"batch rows on statement", func(j *ferry.Job) { j.Kind = ferry.JobStatement; j.Timeout = time.Minute }, false, "for batched jobs"},
		{"batch rows", func(j *ferry.Job) { j.BatchRows = 2_000_000 }, false, "outside 1-1000000"},
		{"pause", func(j *ferry.Job) { j.Pause = 2 * time.Hour }, false, "pause 2h0m0s"},
		{"key on batched", func(j *ferry.Job) { j.KeyPattern = "a.csv.gz" }, false, "--key is for extract jobs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := ok
			tt.edit(&j)
			expectConfigError(t, Check(j, tt.per, perInvocation, now), tt.want)
		})
	}
	keys := []struct{ key, want string }{
		{"out/{alias}/{date}.csv.gz", "{date} is not one of"},
		{"out/{alias}/{run_date}.csv", "must end in .csv.gz"},
		{"/out/{alias}.csv.gz", "no leading '/'"},
		{"out/../{alias}.csv.gz", "'..'"},
		{"out/{alias} x.csv.gz", "letters, digits"},
		{"out/{run_date}.csv.gz", "overwrite the others'"},
	}
	for _, k := range keys {
		j := extract
		j.KeyPattern = k.key
		expectConfigError(t, Check(j, true, perInvocation, now), k.want)
	}
}

func expectConfigError(t *testing.T, err error, want string) {
	t.Helper()
	var ce *ferry.ConfigError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "fix:") {
		t.Fatalf("err = %v, want a ConfigError with a fix containing %q", err, want)
	}
}

func TestKey(t *testing.T) {
	task := ferry.JobTask{RunID: "jobs-7", RunDate: "2026-12-03", Job: "partner", CompanyID: 42, Alias: "acme"}
	if got := Key("x/{job}/{run_date}/{alias}-{company_id}-{run_id}.csv.gz", task); got != "x/partner/2026-12-03/acme-42-jobs-7.csv.gz" {
		t.Fatal(got)
	}
}

func TestDue(t *testing.T) {
	created := utc("2026-12-03 10:02")
	job := ferry.Job{Name: "p", Active: true, Trigger: ferry.JobOnSchedule, Schedule: "rate(1 hour)"}
	first, err := FirstDue(job, created)
	if err != nil || !first.Equal(created) {
		t.Fatalf("rate first due %v %v: a rate first fires at once", first, err)
	}
	job.NextDue = &first
	if !IsDue(job, utc("2026-12-03 10:05")) || IsDue(job, utc("2026-12-03 10:01")) {
		t.Fatal("IsDue")
	}
	// Claimed at 13:35 after Ferry was down: one run now, the next on the
	// rate's own lattice.
	next, _ := NextDue(job, utc("2026-12-03 13:35"))
	if !next.Equal(utc("2026-12-03 14:02")) {
		t.Fatalf("next %v", next)
	}
	cron := ferry.Job{Name: "c", Active: true, Trigger: ferry.JobOnSchedule, Schedule: "cron(0 3 * * ? *)"}
	first, _ = FirstDue(cron, created)
	if !first.Equal(utc("2026-12-04 03:00")) {
		t.Fatalf("cron first due %v", first)
	}
	cron.NextDue = &first
	next, _ = NextDue(cron, utc("2026-12-04 03:05"))
	if !next.Equal(utc("2026-12-05 03:00")) {
		t.Fatalf("cron next %v", next)
	}
	cron.Active = false
	if IsDue(cron, utc("2026-12-05 00:00")) {
		t.Fatal("an inactive job is never due")
	}
	once := ferry.Job{Name: "o", Trigger: ferry.JobOnSchedule, Schedule: "cron(0 3 1 1 ? 2027)"}
	if next, err := NextDue(once, utc("2027-01-01 03:05")); err != nil || !next.IsZero() {
		t.Fatalf("a schedule that never fires again: %v %v", next, err)
	}
}
