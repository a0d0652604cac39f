package jobs

import (
	"strings"
	"testing"
	"time"
)

func utc(s string) time.Time {
	t, err := time.Parse("2006-01-02 15:04", s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestCronNext(t *testing.T) {
	tests := []struct {
		expr, tz, after string
		want            []string // successive fire times, UTC
	}{
		{"cron(0 3 * * ? *)", "", "2026-12-03 12:00", []string{"2026-12-04 03:00", "2026-12-05 03:00"}},
		{"cron(15 10 * * ? *)", "", "2026-12-03 10:15", []string{"2026-12-04 10:15"}},
		{"cron(0/15 * * * ? *)", "", "2026-12-03 12:07", []string{"2026-12-03 12:15", "2026-12-03 12:30", "2026-12-03 12:45", "2026-12-03 13:00"}},
		{"cron(1/10 * * * ? *)", "", "2026-12-03 12:00", []string{"2026-12-03 12:01", "2026-12-03 12:11"}},
		{"cron(*/20 8-9 * * ? *)", "", "2026-12-03 09:41", []string{"2026-12-04 08:00", "2026-12-04 08:20"}},
		// 1 is Sunday: 2026-12-06 is a Sunday.
		{"cron(0 18 ? * 1 *)", "", "2026-12-03 00:00", []string{"2026-12-06 18:00", "2026-12-13 18:00"}},
		{"cron(0 18 ? * MON-FRI *)", "", "2026-12-04 18:00", []string{"2026-12-07 18:00", "2026-12-08 18:00"}},
		{"cron(0 8 1 * ? *)", "", "2026-12-03 00:00", []string{"2027-01-01 08:00", "2027-02-01 08:00"}},
		{"cron(0 0 1 JAN,jul ? *)", "", "2026-12-03 00:00", []string{"2027-01-01 00:00", "2027-07-01 00:00"}},
		// L: last day of the month (February 2028 is a leap month).
		{"cron(0 0 L * ? *)", "", "2028-01-31 00:00", []string{"2028-02-29 00:00", "2028-03-31 00:00"}},
		// LW: last weekday; 2026-01-31 is a Saturday, 2026-05-31 a Sunday.
		{"cron(0 0 LW * ? *)", "", "2026-01-01 00:00", []string{"2026-01-30 00:00", "2026-02-27 00:00"}},
		{"cron(0 0 LW 5 ? *)", "", "2026-01-01 00:00", []string{"2026-05-29 00:00"}},
		// 15W: 2026-08-15 is a Saturday → Friday 14th; 2026-11-15 a Sunday → Monday 16th.
		{"cron(0 0 15W 8,11 ? *)", "", "2026-01-01 00:00", []string{"2026-08-14 00:00", "2026-11-16 00:00"}},
		// 1W on a Saturday (2026-08-01) stays in the month: Monday the 3rd.
		{"cron(0 0 1W 8 ? 2026)", "", "2026-01-01 00:00", []string{"2026-08-03 00:00"}},
		// 3#2: the second Tuesday; 6L: the last Friday.
		{"cron(0 12 ? * 3#2 *)", "", "2026-12-01 00:00", []string{"2026-12-08 12:00", "2027-01-12 12:00"}},
		{"cron(0 12 ? * 6L *)", "", "2026-12-01 00:00", []string{"2026-12-25 12:00", "2027-01-29 12:00"}},
		{"cron(0 12 ? * FRIL *)", "", "2026-12-01 00:00", []string{"2026-12-25 12:00"}},
		// L alone in day-of-week: Saturday.
		{"cron(0 12 ? * L *)", "", "2026-12-03 00:00", []string{"2026-12-05 12:00"}},
		// Year field: 2027 only, then never.
		{"cron(0 0 1 1 ? 2027)", "", "2026-12-03 00:00", []string{"2027-01-01 00:00", ""}},
		{"cron(0 0 29 2 ? 2025-2030)", "", "2026-12-03 00:00", []string{"2028-02-29 00:00", ""}},
		// Time zones: 03:00 in Berlin is 02:00 UTC in winter, 01:00 in summer.
		{"cron(0 3 * * ? *)", "Europe/Berlin", "2026-03-27 12:00", []string{"2026-03-28 02:00", "2026-03-29 01:00"}},
		// Spring forward: 02:30 does not exist in Berlin on 2026-03-29; that day is skipped.
		{"cron(30 2 * * ? *)", "Europe/Berlin", "2026-03-28 12:00", []string{"2026-03-30 00:30"}},
		// Fall back: 02:30 occurs twice in Berlin on 2026-10-25; it fires once.
		{"cron(30 2 * * ? *)", "Europe/Berlin", "2026-10-24 12:00", []string{"2026-10-25 00:30", "2026-10-26 01:30"}},
		// Every 30 minutes through the repeated hour in New York (2026-11-01 01:00-02:00 twice): each wall time once.
		{"cron(0/30 1 * * ? *)", "America/New_York", "2026-11-01 04:00", []string{"2026-11-01 05:00", "2026-11-01 05:30", "2026-11-02 06:00"}},
	}
	for _, tt := range tests {
		t.Run(tt.expr+" "+tt.tz, func(t *testing.T) {
			s, err := ParseSchedule(tt.expr, tt.tz, utc("2026-01-01 00:00"))
			if err != nil {
				t.Fatal(err)
			}
			at := utc(tt.after)
			for i, w := range tt.want {
				at = s.Next(at)
				if w == "" {
					if !at.IsZero() {
						t.Fatalf("fire %d: %v, want never", i+1, at)
					}
					return
				}
				if !at.Equal(utc(w)) || at.Location() != time.UTC {
					t.Fatalf("fire %d after %s: %v, want %s UTC", i+1, tt.after, at, w)
				}
			}
		})
	}
}

func TestRateNext(t *testing.T) {
	anchor := utc("2026-12-03 10:07")
	tests := []struct {
		expr, after, want string
	}{
		{"rate(1 minute)", "2026-12-03 10:07", "2026-12-03 10:08"},
		{"rate(15 minutes)", "2026-12-03 10:00", "2026-12-03 10:07"}, // before the anchor: the anchor
		{"rate(15 minutes)", "2026-12-03 10:07", "2026-12-03 10:22"},
		{"rate(15 minutes)", "2026-12-03 11:00", "2026-12-03 11:07"},
		{"rate(1 hour)", "2026-12-04 09:30", "2026-12-04 10:07"},
		{"rate(2 hours)", "2026-12-03 10:08", "2026-12-03 12:07"},
		{"rate(1 day)", "2026-12-03 10:07", "2026-12-04 10:07"},
		{"rate(7 days)", "2026-12-05 00:00", "2026-12-10 10:07"},
	}
	for _, tt := range tests {
		s, err := ParseSchedule(tt.expr, "Europe/Paris", anchor)
		if err != nil {
			t.Fatalf("%s: %v", tt.expr, err)
		}
		if got := s.Next(utc(tt.after)); !got.Equal(utc(tt.want)) {
			t.Errorf("%s.Next(%s) = %v, want %s", tt.expr, tt.after, got, tt.want)
		}
		if s.String() != tt.expr {
			t.Errorf("String() = %q, want %q", s.String(), tt.expr)
		}
	}
}

func TestScheduleRefused(t *testing.T) {
	tests := []struct {
		expr, tz, want string
	}{
		{"0 3 * * *", "", "not cron(...) or rate(...)"},
		{"cron(0 3 * * *)", "", "has 5 fields"},
		{"cron(0 3 * * * *)", "", "exactly one of them must be ?"},
		{"cron(0 3 ? * ? *)", "", "exactly one of them must be ?"},
		{"cron(60 3 * * ? *)", "", "minutes field: \"60\" has 60, outside 0-59"},
		{"cron(0 24 * * ? *)", "", "hours field"},
		{"cron(0 3 0 * ? *)", "", "day-of-month field"},
		{"cron(0 3 ? * 0 *)", "", "day-of-week field: \"0\" has 0, outside 1-7"},
		{"cron(0 3 ? * MON/2 *)", "", "does not allow"},
		{"cron(0 3 ? * 2#1,3#1 *)", "", "no list"},
		{"cron(0 3 ? * 2#6 *)", "", "occurrence 1-5"},
		{"cron(0 3 * 13 ? *)", "", "month field"},
		{"cron(0 3 * FOO ? *)", "", "not a number"},
		{"cron(0 3 * * ? 1969)", "", "year field"},
		{"cron(0 3 * * ? 2200)", "", "year field"},
		{"cron(0 3 * * ? 2020)", "", "never fires"},
		{"cron(0 3 30 2 ? *)", "", "never fires"},
		{"cron(0 5-3 * * ? *)", "", "end comes before its start"},
		{"cron(0/0 3 * * ? *)", "", "step that is not a positive number"},
		{"cron(0 3 L,5 * ? *)", "", "stand alone"},
		{"cron(0 3 32W * ? *)", "", "W needs a day"},
		{"cron(0 3 * * ? *)", "Mars/Olympus", "not an IANA time zone"},
		{"rate(5)", "", "needs a value and a unit"},
		{"rate(0 minutes)", "", "positive whole number"},
		{"rate(1 minutes)", "", "singular unit for 1"},
		{"rate(5 minute)", "", "singular unit for 1"},
		{"rate(5 seconds)", "", "not minute(s)"},
		{"at(2026-12-24T18:00:00)", "", "one-time at(...)"},
	}
	for _, tt := range tests {
		_, err := ParseSchedule(tt.expr, tt.tz, utc("2026-12-03 00:00"))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseSchedule(%q, %q) = %v, want an error containing %q", tt.expr, tt.tz, err, tt.want)
			continue
		}
		if !strings.Contains(err.Error(), "(fix: ") {
			t.Errorf("ParseSchedule(%q): %v has no fix", tt.expr, err)
		}
	}
}
