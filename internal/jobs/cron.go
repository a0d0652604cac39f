package jobs

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Cron is a parsed EventBridge cron expression, cron(min hour dom month
// dow year), evaluated in a time zone. Day-of-week 1 is Sunday, as in
// EventBridge (not 0 as in Unix cron).
type Cron struct {
	expr   string
	loc    *time.Location
	minute bits // 0-59
	hour   bits // 0-23
	month  bits // 1-12
	year   bits // year-1970, 0-229
	dom    daySpec
	dow    daySpec
}

// bits is a set of small integers.
type bits [4]uint64

func (b *bits) set(i int)     { b[i/64] |= 1 << (i % 64) }
func (b bits) has(i int) bool { return i >= 0 && i < 256 && b[i/64]&(1<<(i%64)) != 0 }
func (b bits) empty() bool    { return b == bits{} }
func (b *bits) setRange(lo, hi, step int) {
	for i := lo; i <= hi; i += step {
		b.set(i)
	}
}

// daySpec is a day-of-month or day-of-week field.
type daySpec struct {
	any  bool // '?': the other field decides
	all  bool // '*'
	set  bits // listed values
	last bool // dom 'L' (last day of month); dow 'nL' (last n-day of the month) with wd
	lw   bool // dom 'LW': last weekday of the month
	near int  // dom 'nW': weekday nearest to day n (0: none)
	wd   int  // dow for 'nL' and 'n#k' (1 = Sunday)
	nth  int  // dow 'n#k': the k-th n-day of the month (0: none)
}

type field struct {
	name     string
	lo, hi   int
	names    []string // names[i] is value lo+i
	wildcard string   // the special characters allowed beyond , - * /
	noSlash  bool
}

var (
	fMinute = field{name: "minutes", lo: 0, hi: 59}
	fHour   = field{name: "hours", lo: 0, hi: 23}
	fDom    = field{name: "day-of-month", lo: 1, hi: 31, wildcard: "?LW"}
	fMonth  = field{name: "month", lo: 1, hi: 12, names: []string{"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"}}
	fDow    = field{name: "day-of-week", lo: 1, hi: 7, names: []string{"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"}, wildcard: "?L#", noSlash: true}
	fYear   = field{name: "year", lo: 1970, hi: 2199}
)

// parseCron parses the inside of cron(...).
func parseCron(inner string, loc *time.Location) (*Cron, error) {
	parts := strings.Fields(inner)
	if len(parts) != 6 {
		return nil, schedErr(fmt.Sprintf("cron(%s) has %d fields; EventBridge cron has six: minutes hours day-of-month month day-of-week year", inner, len(parts)),
			"write e.g. cron(0 3 * * ? *) for 03:00 every day")
	}
	c := &Cron{expr: "cron(" + strings.Join(parts, " ") + ")", loc: loc}
	var err error
	if c.minute, err = parseBits(fMinute, parts[0]); err != nil {
		return nil, err
	}
	if c.hour, err = parseBits(fHour, parts[1]); err != nil {
		return nil, err
	}
	if c.month, err = parseBits(fMonth, parts[3]); err != nil {
		return nil, err
	}
	if c.year, err = parseBits(fYear, parts[5]); err != nil {
		return nil, err
	}
	if c.dom, err = parseDom(parts[2]); err != nil {
		return nil, err
	}
	if c.dow, err = parseDow(parts[4]); err != nil {
		return nil, err
	}
	if c.dom.any == c.dow.any {
		return nil, schedErr(fmt.Sprintf("%s: day-of-month is %q and day-of-week is %q; exactly one of them must be ?", c.expr, parts[2], parts[4]),
			"use ? in the field you do not restrict, e.g. cron(0 3 * * ? *) or cron(0 3 ? * MON-FRI *)")
	}
	return c, nil
}

func schedErr(msg, fix string) error { return &ScheduleError{Msg: msg, Fix: fix} }

// parseBits parses a list of values, ranges, * and steps. Year values are
// stored as value-lo (bits holds 256 values).
func parseBits(f field, s string) (bits, error) {
	var b bits
	off := 0
	if f.hi > 255 {
		off = f.lo
	}
	for _, item := range strings.Split(s, ",") {
		lo, hi, step, err := parseItem(f, item)
		if err != nil {
			return b, err
		}
		b.setRange(lo-off, hi-off, step)
	}
	return b, nil
}

// parseItem parses one element of a list: *, v, a-b, with an optional /step
// (a start and a step: v/step runs to the field's end).
func parseItem(f field, item string) (lo, hi, step int, err error) {
	bad := func(why string) error {
		return schedErr(fmt.Sprintf("%s field: %q %s", f.name, item, why), fmt.Sprintf("use values %d-%d%s, lists (a,b), ranges (a-b), * and steps (a/n)", f.lo, f.hi, namesHint(f)))
	}
	if item == "" {
		return 0, 0, 0, bad("is empty")
	}
	base, stepStr, hasStep := strings.Cut(item, "/")
	step = 1
	if hasStep {
		if f.noSlash {
			return 0, 0, 0, bad("uses /, which this field does not allow")
		}
		n, e := strconv.Atoi(stepStr)
		if e != nil || n < 1 {
			return 0, 0, 0, bad("has a step that is not a positive number")
		}
		step = n
	}
	switch {
	case base == "*":
		return f.lo, f.hi, step, nil
	case strings.Contains(base, "-"):
		a, b, _ := strings.Cut(base, "-")
		if lo, err = value(f, a); err != nil {
			return 0, 0, 0, bad(err.Error())
		}
		if hi, err = value(f, b); err != nil {
			return 0, 0, 0, bad(err.Error())
		}
		if hi < lo {
			return 0, 0, 0, bad("is a range whose end comes before its start")
		}
		return lo, hi, step, nil
	default:
		if lo, err = value(f, base); err != nil {
			return 0, 0, 0, bad(err.Error())
		}
		if hasStep {
			return lo, f.hi, step, nil
		}
		return lo, lo, 1, nil
	}
}

func namesHint(f field) string {
	if len(f.names) == 0 {
		return ""
	}
	return " or " + f.names[0] + "-" + f.names[len(f.names)-1]
}

func value(f field, s string) (int, error) {
	for i, n := range f.names {
		if strings.EqualFold(s, n) {
			return f.lo + i, nil
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("has %q, which is not a number", s)
	}
	if n < f.lo || n > f.hi {
		return 0, fmt.Errorf("has %d, outside %d-%d", n, f.lo, f.hi)
	}
	return n, nil
}

func parseDom(s string) (daySpec, error) {
	u := strings.ToUpper(s)
	switch {
	case u == "?":
		return daySpec{any: true}, nil
	case u == "*":
		return daySpec{all: true}, nil
	case u == "L":
		return daySpec{last: true}, nil
	case u == "LW":
		return daySpec{lw: true}, nil
	case strings.HasSuffix(u, "W"):
		n, err := strconv.Atoi(strings.TrimSuffix(u, "W"))
		if err != nil || n < 1 || n > 31 {
			return daySpec{}, schedErr(fmt.Sprintf("day-of-month field: %q: W needs a day 1-31 before it (15W: the weekday nearest the 15th)", s), "write e.g. 15W, L or LW")
		}
		return daySpec{near: n}, nil
	case strings.ContainsAny(u, "LW?#"):
		return daySpec{}, schedErr(fmt.Sprintf("day-of-month field: %q: L, W and ? stand alone (L, LW, 15W, ?)", s), "write e.g. L for the last day of the month")
	}
	b, err := parseBits(fDom, s)
	return daySpec{set: b}, err
}

func parseDow(s string) (daySpec, error) {
	u := strings.ToUpper(s)
	switch {
	case u == "?":
		return daySpec{any: true}, nil
	case u == "*":
		return daySpec{all: true}, nil
	case u == "L":
		// L alone in day-of-week is the last day of the week: Saturday.
		var b bits
		b.set(7)
		return daySpec{set: b}, nil
	case strings.Contains(u, "#"):
		a, k, _ := strings.Cut(u, "#")
		wd, err := value(fDow, a)
		n, err2 := strconv.Atoi(k)
		if err != nil || err2 != nil || n < 1 || n > 5 || strings.Contains(a, ",") {
			return daySpec{}, schedErr(fmt.Sprintf("day-of-week field: %q: # takes one day and an occurrence 1-5 (3#2: the second Tuesday), and no list", s), "write e.g. 2#1 for the first Monday of the month")
		}
		return daySpec{wd: wd, nth: n}, nil
	case strings.HasSuffix(u, "L"):
		wd, err := value(fDow, strings.TrimSuffix(u, "L"))
		if err != nil {
			return daySpec{}, schedErr(fmt.Sprintf("day-of-week field: %q: nL takes one day (6L: the last Friday of the month)", s), "write e.g. 6L or FRIL")
		}
		return daySpec{wd: wd, last: true}, nil
	case strings.ContainsAny(u, "?L#W"):
		return daySpec{}, schedErr(fmt.Sprintf("day-of-week field: %q: ?, L and # stand alone (?, L, 6L, 3#2)", s), "write e.g. MON-FRI, 6L or 3#2")
	}
	b, err := parseBits(fDow, s)
	return daySpec{set: b}, err
}

// String returns the expression as parsed, e.g. "cron(0 3 * * ? *)".
func (c *Cron) String() string { return c.expr }

// Location is the time zone the expression is evaluated in.
func (c *Cron) Location() *time.Location { return c.loc }

// Next returns the first fire time strictly after t, or the zero time when
// the expression never fires again (its last year is past). Wall times are
// those of the schedule's time zone, as EventBridge Scheduler evaluates
// them: a wall time that does not exist (the hour skipped when clocks go
// forward) does not fire; a wall time that occurs twice (clocks go back)
// fires once.
func (c *Cron) Next(t time.Time) time.Time {
	local := t.In(c.loc)
	y, m, d := local.Date()
	day := time.Date(y, m, d, 12, 0, 0, 0, time.UTC) // calendar arithmetic in UTC: no DST
	for ; day.Year() <= fYear.hi; day = day.AddDate(0, 0, 1) {
		yy, mm, dd := day.Date()
		if !c.year.has(yy-fYear.lo) || !c.month.has(int(mm)) {
			// Jump to the first day of the next month.
			day = time.Date(yy, mm+1, 1, 12, 0, 0, 0, time.UTC).AddDate(0, 0, -1)
			continue
		}
		if !c.dayMatches(yy, mm, dd) {
			continue
		}
		if at, ok := c.firstTimeOn(yy, mm, dd, t); ok {
			return at
		}
	}
	return time.Time{}
}

// firstTimeOn returns the first existing wall time of the day (y, m, d)
// that the expression selects and that is after t.
func (c *Cron) firstTimeOn(y int, m time.Month, d int, t time.Time) (time.Time, bool) {
	for h := 0; h <= 23; h++ {
		if !c.hour.has(h) {
			continue
		}
		for mi := 0; mi <= 59; mi++ {
			if !c.minute.has(mi) {
				continue
			}
			at := time.Date(y, m, d, h, mi, 0, 0, c.loc)
			if !sameWall(at, y, m, d, h, mi) {
				continue // skipped by a clock change
			}
			// A wall time that occurs twice fires once, at its first occurrence.
			for _, back := range []time.Duration{time.Hour, 30 * time.Minute} {
				if alt := at.Add(-back); sameWall(alt, y, m, d, h, mi) {
					at = alt
					break
				}
			}
			if at.After(t) {
				return at.UTC(), true
			}
		}
	}
	return time.Time{}, false
}

func sameWall(t time.Time, y int, m time.Month, d, h, mi int) bool {
	wy, wm, wd := t.Date()
	return wy == y && wm == m && wd == d && t.Hour() == h && t.Minute() == mi
}

func lastDay(y int, m time.Month) int {
	return time.Date(y, m+1, 0, 12, 0, 0, 0, time.UTC).Day()
}

func weekday(y int, m time.Month, d int) int {
	return int(time.Date(y, m, d, 12, 0, 0, 0, time.UTC).Weekday()) + 1 // 1 = Sunday
}

func (c *Cron) dayMatches(y int, m time.Month, d int) bool {
	if c.dom.any {
		return c.dow.matchesDow(y, m, d)
	}
	return c.dom.matchesDom(y, m, d)
}

func (s daySpec) matchesDom(y int, m time.Month, d int) bool {
	last := lastDay(y, m)
	switch {
	case s.all:
		return true
	case s.last:
		return d == last
	case s.lw:
		return d == nearestWeekday(y, m, last, last)
	case s.near > 0:
		return s.near <= last && d == nearestWeekday(y, m, s.near, last)
	}
	return s.set.has(d)
}

// nearestWeekday is the Monday-Friday day nearest to day n of the month,
// never crossing into another month.
func nearestWeekday(y int, m time.Month, n, last int) int {
	switch weekday(y, m, n) {
	case 7: // Saturday
		if n == 1 {
			return 3
		}
		return n - 1
	case 1: // Sunday
		if n == last {
			return n - 2
		}
		return n + 1
	}
	return n
}

func (s daySpec) matchesDow(y int, m time.Month, d int) bool {
	wd := weekday(y, m, d)
	switch {
	case s.all:
		return true
	case s.nth > 0:
		return wd == s.wd && (d-1)/7+1 == s.nth
	case s.last:
		return wd == s.wd && d+7 > lastDay(y, m)
	}
	return s.set.has(wd)
}
