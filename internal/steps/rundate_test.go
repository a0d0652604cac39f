package steps_test

import (
	"errors"
	"testing"
	"time"

	"github.com/ferrydata/ferry"
	"github.com/ferrydata/ferry/internal/steps"
)

// TestRunDate: the run date is the schedule's day in its time zone, the
// same whenever list-tables runs (retries, redrive); run_date wins.
func TestRunDate(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC) // when list-tables happens to run
	cases := []struct {
		name string
		in   ferry.ListTablesInput
		want string
	}{
		{"run_date wins", ferry.ListTablesInput{RunDate: "2026-01-31", ScheduledTime: "2026-11-22T23:30:00Z", TimeZone: "Europe/Berlin"}, "2026-01-31"},
		{"scheduled 23:30 UTC is the next day in Berlin", ferry.ListTablesInput{ScheduledTime: "2026-11-22T23:30:00Z", TimeZone: "Europe/Berlin"}, "2026-11-23"},
		{"scheduled 03:00 UTC is the day before in Los Angeles", ferry.ListTablesInput{ScheduledTime: "2026-11-23T03:00:00Z", TimeZone: "America/Los_Angeles"}, "2026-11-22"},
		{"Step Functions' start time, milliseconds", ferry.ListTablesInput{ScheduledTime: "2026-11-22T03:00:00.000Z", TimeZone: "UTC"}, "2026-11-22"},
		{"no time zone is UTC", ferry.ListTablesInput{ScheduledTime: "2026-11-22T23:30:00Z"}, "2026-11-22"},
		{"DST: 01:30 local on the night clocks go back", ferry.ListTablesInput{ScheduledTime: "2026-10-24T23:30:00Z", TimeZone: "Europe/Berlin"}, "2026-10-25"},
		{"nothing: today, UTC", ferry.ListTablesInput{}, "2026-11-23"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := steps.RunDate(c.in, now)
			if err != nil || got.Format("2006-01-02") != c.want {
				t.Fatalf("RunDate(%+v) = %v, %v; want %s", c.in, got, err, c.want)
			}
		})
	}
	for _, bad := range []ferry.ListTablesInput{
		{ScheduledTime: "22/11/2026 03:00"},
		{ScheduledTime: "2026-11-22T03:00:00Z", TimeZone: "Mars/Olympus_Mons"},
		{RunDate: "2026-13-01"},
	} {
		var ce *ferry.ConfigError
		if _, err := steps.RunDate(bad, now); !errors.As(err, &ce) {
			t.Errorf("RunDate(%+v): %v, want a ConfigError", bad, err)
		}
	}
}
