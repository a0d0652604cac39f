// Package jobs is the engine-agnostic part of Ferry's scheduled SQL jobs:
// EventBridge schedule expressions (cron and rate) and when they fire, the
// rules a job definition must follow, and the batch loop that runs a
// batched DELETE or UPDATE in short transactions across invocations.
//
// The SQL a job runs is executed by the engine adapters (internal/mysql,
// internal/postgres); nothing here talks to a database.
package jobs

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Schedule says when a scheduled job fires.
type Schedule interface {
	// Next returns the first fire time strictly after t (in UTC), or the
	// zero time when the schedule never fires again.
	Next(t time.Time) time.Time
	// String is the expression, e.g. "cron(0 3 * * ? *)" or "rate(1 hour)".
	String() string
}

// ScheduleError says why a schedule expression or time zone is refused.
type ScheduleError struct {
	Msg string
	Fix string
}

func (e *ScheduleError) Error() string {
	if e.Fix == "" {
		return e.Msg
	}
	return e.Msg + " (fix: " + e.Fix + ")"
}

// ParseSchedule parses an EventBridge Scheduler expression, cron(...) or
// rate(...), evaluated in the IANA time zone tz ("" is UTC). A rate runs
// every interval from anchor (the job's creation), like a Scheduler rate
// schedule from its start date. One-time at(...) expressions are refused:
// a one-off run is `ferry job run NAME`.
func ParseSchedule(expr, tz string, anchor time.Time) (Schedule, error) {
	s, err := parseSchedule(expr, tz, anchor)
	if err != nil {
		return nil, err
	}
	if s.Next(anchor).IsZero() {
		return nil, schedErr(fmt.Sprintf("%s never fires after %s", s, anchor.UTC().Format("2006-01-02 15:04 UTC")), "check the day, month and year fields")
	}
	return s, nil
}

// parseSchedule is ParseSchedule without the check that the schedule
// fires again.
func parseSchedule(expr, tz string, anchor time.Time) (Schedule, error) {
	loc, err := LoadZone(tz)
	if err != nil {
		return nil, err
	}
	e := strings.TrimSpace(expr)
	open := strings.IndexByte(e, '(')
	if open < 0 || !strings.HasSuffix(e, ")") {
		return nil, schedErr(fmt.Sprintf("schedule %q is not cron(...) or rate(...)", expr), "write e.g. cron(0 3 * * ? *) or rate(15 minutes)")
	}
	inner := strings.TrimSpace(e[open+1 : len(e)-1])
	switch strings.TrimSpace(e[:open]) {
	case "cron":
		return parseCron(inner, loc)
	case "rate":
		return parseRate(inner, anchor)
	case "at":
		return nil, schedErr(fmt.Sprintf("schedule %q: one-time at(...) schedules are not supported for jobs", expr), "run it once with `ferry job run NAME`, or use a cron(...) with a year")
	}
	return nil, schedErr(fmt.Sprintf("schedule %q is not cron(...) or rate(...)", expr), "write e.g. cron(0 3 * * ? *) or rate(15 minutes)")
}

// LoadZone loads an IANA time zone; "" and "UTC" are UTC.
func LoadZone(tz string) (*time.Location, error) {
	if tz == "" || tz == "UTC" {
		return time.UTC, nil
	}
	loc, err := time.LoadLocation(tz)
	if err != nil || strings.EqualFold(tz, "local") {
		return nil, schedErr(fmt.Sprintf("time zone %q is not an IANA time zone name", tz), "use a name such as Europe/Berlin, America/New_York or UTC")
	}
	return loc, nil
}

// Rate is an EventBridge rate expression: every Every from Anchor.
type Rate struct {
	Every  time.Duration
	Anchor time.Time
	expr   string
}

func parseRate(inner string, anchor time.Time) (*Rate, error) {
	parts := strings.Fields(inner)
	fix := "write rate(1 minute), rate(5 minutes), rate(1 hour), rate(12 hours), rate(1 day) or rate(7 days)"
	if len(parts) != 2 {
		return nil, schedErr(fmt.Sprintf("rate(%s) needs a value and a unit", inner), fix)
	}
	n, err := strconv.Atoi(parts[0])
	if err != nil || n < 1 {
		return nil, schedErr(fmt.Sprintf("rate(%s): the value must be a positive whole number", inner), fix)
	}
	units := map[string]time.Duration{"minute": time.Minute, "hour": time.Hour, "day": 24 * time.Hour}
	unit := parts[1]
	singular := strings.TrimSuffix(unit, "s")
	d, ok := units[singular]
	if !ok {
		return nil, schedErr(fmt.Sprintf("rate(%s): unit %q is not minute(s), hour(s) or day(s)", inner, unit), fix)
	}
	if (n == 1) != (unit == singular) {
		return nil, schedErr(fmt.Sprintf("rate(%s): EventBridge wants the singular unit for 1 and the plural otherwise", inner), fix)
	}
	return &Rate{Every: time.Duration(n) * d, Anchor: anchor.UTC().Truncate(time.Minute), expr: fmt.Sprintf("rate(%d %s)", n, unit)}, nil
}

// String returns the expression, e.g. "rate(15 minutes)".
func (r *Rate) String() string { return r.expr }

// Next returns the first Anchor + k×Every (k ≥ 0) strictly after t: like
// a Scheduler rate schedule without a start date, it first fires at once
// (at its anchor). A day is 24 hours, whatever the clocks do.
func (r *Rate) Next(t time.Time) time.Time {
	if t.Before(r.Anchor) {
		return r.Anchor
	}
	k := t.Sub(r.Anchor)/r.Every + 1
	return r.Anchor.Add(k * r.Every)
}
