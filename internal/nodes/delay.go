package nodes

import (
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/conecrm/automation-runtime/internal/duration"
	"github.com/conecrm/automation-runtime/internal/expr"
	"github.com/conecrm/automation-runtime/internal/holidays"
)

var delayDef = Definition{
	Type:        "delay",
	Category:    CategoryFlow,
	Description: "Waits on a durable timer: a duration, until a timestamp, or until a time of day, optionally only inside business hours.",
	Handles:     []string{Plain},
	Required:    []string{Plain},
	New:         func() Node { return &Delay{} },
	Parks:       true,
}

// Delay pauses the branch on a durable timer. Duration and until are
// exclusive; at/days (a time-of-day window) and businessHours shift the
// resulting instant forward, in the delay's, else the automation's, time zone.
type Delay struct {
	Duration      string         `json:"duration,omitempty" validate:"excluded_with=Until"`
	Until         string         `json:"until,omitempty"`
	At            string         `json:"at,omitempty"`
	Days          []string       `json:"days,omitempty" validate:"omitempty,max=7,dive,oneof=MON TUE WED THU FRI SAT SUN"`
	Timezone      string         `json:"timezone,omitempty"`
	BusinessHours *BusinessHours `json:"businessHours,omitempty"`

	d     time.Duration
	until *expr.Program
	at    *clock
	days  weekdays
	loc   *time.Location
}

// BusinessHours are opening hours: the delay resumes only inside them.
type BusinessHours struct {
	Days  []string `json:"days" validate:"required,min=1,max=7,dive,oneof=MON TUE WED THU FRI SAT SUN"`
	Open  string   `json:"open" validate:"required"`
	Close string   `json:"close" validate:"required"`

	open, close *clock
	days        weekdays
}

func (n *Delay) Compile(c *Compiler) {
	if n.Duration == "" && n.Until == "" && n.At == "" && n.BusinessHours == nil {
		c.Problemf("", "a delay needs duration, until, at or businessHours")
	}
	if n.Duration != "" {
		n.d = c.Duration("duration", n.Duration)
	}
	if n.Until != "" {
		n.until = c.Expr("until", n.Until, expr.KindTimestamp)
	}
	if n.At != "" {
		n.at = parseClock(c, "at", n.At)
	}
	if len(n.Days) > 0 && n.At == "" {
		c.Problemf("days", "days needs at (the time of day to resume)")
	}
	n.days = parseWeekdays(n.Days)
	if n.Timezone != "" {
		n.loc = c.Location("timezone", n.Timezone)
	}
	if b := n.BusinessHours; b != nil {
		b.open = parseClock(c, "businessHours.open", b.Open)
		b.close = parseClock(c, "businessHours.close", b.Close)
		if b.open != nil && b.close != nil && b.close.minutes() <= b.open.minutes() {
			c.Problemf("businessHours.close", "close %s must be after open %s", b.Close, b.Open)
		}
		b.days = parseWeekdays(b.Days)
	}
}

// HolidayCalendar is implemented by an Exec that knows the run's holiday
// calendar (handed to the run in its input): business hours skip those days.
type HolidayCalendar interface {
	Holidays() *holidays.Calendar
}

// Resume computes when the delay ends, from now in the given time zone;
// business hours skip the calendar's holidays (nil: none).
func (n *Delay) Resume(now time.Time, v expr.Vars, loc *time.Location, cal *holidays.Calendar) (time.Time, error) {
	if n.loc != nil {
		loc = n.loc
	}
	t := now
	switch {
	case n.until != nil:
		u, err := n.until.EvalTimestamp(v)
		if err != nil {
			return time.Time{}, err
		}
		t = u
	case n.d > 0:
		t = now.Add(n.d)
	}
	if n.at != nil {
		t = nextClock(t, *n.at, n.days, loc)
	}
	if b := n.BusinessHours; b != nil && b.open != nil && b.close != nil {
		t = intoBusinessHours(t, b, loc, cal)
	}
	return t, nil
}

func (n *Delay) Run(ctx workflow.Context, x Exec) (Outcome, error) {
	loc := x.Location()
	if n.loc != nil {
		loc = n.loc
	}
	var (
		until   time.Time
		summary string
		resumed bool
	)
	if r, ok := x.(Resumer); ok {
		until, summary, resumed = r.Resumed()
	}
	if !resumed {
		var cal *holidays.Calendar
		if h, ok := x.(HolidayCalendar); ok && n.BusinessHours != nil {
			cal = h.Holidays()
		}
		var err error
		if until, err = n.Resume(workflow.Now(ctx), x.Vars(), loc, cal); err != nil {
			return Outcome{}, err
		}
		summary = fmt.Sprintf("%s — resumes %s %s", n.describe(x.Label()), until.In(loc).Format("2006-01-02 15:04"), loc.String())
	}
	if err := x.SleepUntil(ctx, until, summary); err != nil {
		return Outcome{}, err
	}
	return Outcome{Handle: Plain, Output: map[string]any{"resumedAt": until.UTC().Format(time.RFC3339)}, Summary: summary}, nil
}

func (n *Delay) describe(label string) string {
	if label != "" && label != "delay" {
		return label
	}
	switch {
	case n.d > 0:
		return "Delay " + duration.Format(n.d)
	case n.until != nil:
		return "Delay until " + n.Until
	default:
		return "Delay until " + n.At
	}
}

// clock is a time of day.
type clock struct{ h, m int }

func (c clock) minutes() int { return c.h*60 + c.m }

func parseClock(c *Compiler, field, s string) *clock {
	var h, m int
	if _, err := fmt.Sscanf(s, "%d:%d", &h, &m); err != nil || len(s) != 5 || h < 0 || h > 23 || m < 0 || m > 59 {
		c.Problemf(field, "time of day %q must be HH:MM (24-hour)", s)
		return nil
	}
	return &clock{h, m}
}

// weekdays is a set of allowed days; empty allows every day.
type weekdays [7]bool

func parseWeekdays(days []string) weekdays {
	var w weekdays
	names := map[string]time.Weekday{"SUN": time.Sunday, "MON": time.Monday, "TUE": time.Tuesday, "WED": time.Wednesday, "THU": time.Thursday, "FRI": time.Friday, "SAT": time.Saturday}
	for _, d := range days {
		if wd, ok := names[strings.ToUpper(d)]; ok {
			w[wd] = true
		}
	}
	return w
}

func (w weekdays) allows(d time.Weekday) bool {
	if w == (weekdays{}) {
		return true
	}
	return w[d]
}

// nextClock returns the first instant at or after t whose local wall time is
// c on an allowed day (wallClock states the daylight-saving rules).
func nextClock(t time.Time, c clock, days weekdays, loc *time.Location) time.Time {
	local := t.In(loc)
	for i := 0; i < 8; i++ {
		day := local.AddDate(0, 0, i)
		cand := wallClock(day.Year(), day.Month(), day.Day(), c, loc)
		if !cand.Before(t) && days.allows(cand.Weekday()) {
			return cand
		}
	}
	return t
}

// wallClock is the instant at which the local clock shows c on that day.
// time.Date leaves two cases unspecified, so they are settled here:
//   - c does not exist (the spring-forward gap): the time is taken in the
//     offset in force before the gap, i.e. moved forward by the gap (02:30
//     becomes 03:30 after a one-hour jump);
//   - c happens twice (fall back): the first occurrence.
func wallClock(y int, m time.Month, d int, c clock, loc *time.Location) time.Time {
	cand := time.Date(y, m, d, c.h, c.m, 0, 0, loc)
	start, _ := cand.ZoneBounds()
	if start.IsZero() {
		return cand
	}
	_, offCur := cand.Zone()
	_, offPrev := start.Add(-time.Second).Zone()
	wall := time.Date(y, m, d, c.h, c.m, 0, 0, time.UTC)
	if lh, lm := cand.Hour(), cand.Minute(); lh != c.h || lm != c.m {
		// In the gap: the wall time read in the earlier offset.
		_, off := cand.Add(-2 * time.Duration(abs(offCur-offPrev)) * time.Second).Zone()
		return wall.Add(-time.Duration(off) * time.Second).In(loc)
	}
	if offPrev > offCur {
		// Fall back: the same wall time in the earlier (larger) offset, if
		// it falls before the transition, is the first occurrence.
		if first := wall.Add(-time.Duration(offPrev) * time.Second); first.Before(start) {
			return first.In(loc)
		}
	}
	return cand
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// maxClosedDays bounds the days a business-hours delay skips for holidays
// (a calendar holds at most holidays.MaxDates dates).
const maxClosedDays = holidays.MaxDates + 8

// intoBusinessHours returns t if it falls inside opening hours on a day that
// is not a holiday, else the next opening that is not on one. A holiday is a
// date of the calendar in its zone (else loc); the opening hours stay local
// wall times in loc, with the DST rules of nextClock.
func intoBusinessHours(t time.Time, b *BusinessHours, loc *time.Location, cal *holidays.Calendar) time.Time {
	for i := 0; i < maxClosedDays; i++ {
		if _, closed := cal.Closed(t, loc); !closed {
			local := t.In(loc)
			mins := local.Hour()*60 + local.Minute()
			if b.days.allows(local.Weekday()) && mins >= b.open.minutes() && mins < b.close.minutes() {
				return t
			}
			next := nextClock(t, *b.open, b.days, loc)
			if _, closed := cal.Closed(next, loc); !closed {
				return next
			}
			t = next
		}
		// t is on a holiday: look again from the day after it.
		t = cal.NextDay(t, loc)
	}
	return t
}
