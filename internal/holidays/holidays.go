// Package holidays is a franchise's holiday calendar: the dates on which
// business-hours delays do not resume. The starter hands a run the calendar
// in its input, so the workflow reads it deterministically and never from a
// store.
package holidays

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/conecrm/automation-runtime/internal/validate"
)

// MaxDates bounds a calendar (years of public and dealership holidays).
const MaxDates = 1000

// Calendar is a set of local dates.
type Calendar struct {
	// Timezone is the IANA zone the dates are in (the franchise's); empty
	// means the zone of the delay that reads the calendar.
	Timezone string `json:"timezone,omitempty"`
	// Holidays are the dates, sorted and unique once normalised.
	Holidays []Holiday `json:"holidays"`

	loc *time.Location
}

// Holiday is one closed day.
type Holiday struct {
	Date string `json:"date"` // YYYY-MM-DD
	Name string `json:"name,omitempty"`
}

// Problems lists what is wrong with the calendar, each naming its JSON path.
func (c *Calendar) Problems() validate.Problems {
	var p validate.Problems
	if c.Timezone != "" {
		if _, err := time.LoadLocation(c.Timezone); err != nil || strings.EqualFold(c.Timezone, "local") {
			p = append(p, validate.Problem{Path: "timezone", Message: fmt.Sprintf("unknown time zone %q (use an IANA name such as America/Toronto)", c.Timezone)})
		}
	}
	if len(c.Holidays) > MaxDates {
		p = append(p, validate.Problem{Path: "holidays", Message: fmt.Sprintf("has %d dates; the limit is %d", len(c.Holidays), MaxDates)})
		return p
	}
	seen := map[string]int{}
	for i, h := range c.Holidays {
		path := fmt.Sprintf("holidays[%d]", i)
		if _, err := time.Parse(time.DateOnly, h.Date); err != nil {
			p = append(p, validate.Problem{Path: path + ".date", Message: fmt.Sprintf("must be a date YYYY-MM-DD, got %q", h.Date)})
			continue
		}
		if j, dup := seen[h.Date]; dup {
			p = append(p, validate.Problem{Path: path + ".date", Message: fmt.Sprintf("%s is listed twice (holidays[%d])", h.Date, j)})
		}
		seen[h.Date] = i
		if len(h.Name) > 200 {
			p = append(p, validate.Problem{Path: path + ".name", Message: "must be at most 200 characters"})
		}
	}
	return p
}

// Normalize sorts the dates; call it on a calendar without problems.
func (c *Calendar) Normalize() {
	if c.Holidays == nil {
		c.Holidays = []Holiday{}
	}
	sort.Slice(c.Holidays, func(i, j int) bool { return c.Holidays[i].Date < c.Holidays[j].Date })
}

// From returns the calendar's holidays on or after the day before t (in any
// zone, a day's margin covers the offset), at most max of them: what a run
// enrolled at t can still meet. nil when none remain.
func (c *Calendar) From(t time.Time, max int) *Calendar {
	if c == nil {
		return nil
	}
	first := t.UTC().AddDate(0, 0, -1).Format(time.DateOnly)
	out := &Calendar{Timezone: c.Timezone, Holidays: []Holiday{}}
	for _, h := range c.Holidays {
		if h.Date >= first && len(out.Holidays) < max {
			out.Holidays = append(out.Holidays, h)
		}
	}
	if len(out.Holidays) == 0 {
		return nil
	}
	return out
}

// Closed reports whether the instant t falls on a holiday: its date in the
// calendar's zone (else fallback) is listed. A nil calendar has no holidays.
// It is deterministic (a binary search over sorted dates), for workflows.
func (c *Calendar) Closed(t time.Time, fallback *time.Location) (Holiday, bool) {
	if c == nil || len(c.Holidays) == 0 {
		return Holiday{}, false
	}
	day := t.In(c.zone(fallback)).Format(time.DateOnly)
	i := sort.Search(len(c.Holidays), func(i int) bool { return c.Holidays[i].Date >= day })
	if i < len(c.Holidays) && c.Holidays[i].Date == day {
		return c.Holidays[i], true
	}
	return Holiday{}, false
}

// NextDay is the first instant of the day after t's, in the calendar's zone
// (else fallback): where a holiday that contains t ends.
func (c *Calendar) NextDay(t time.Time, fallback *time.Location) time.Time {
	local := t.In(c.zone(fallback))
	next := time.Date(local.Year(), local.Month(), local.Day()+1, 0, 0, 0, 0, local.Location())
	if !next.After(t) { // a zone whose midnight falls in a DST gap
		next = t.Add(time.Hour)
	}
	return next
}

func (c *Calendar) zone(fallback *time.Location) *time.Location {
	if c == nil || c.Timezone == "" {
		return fallback
	}
	if c.loc == nil {
		// Zone data is embedded (time/tzdata): loading is deterministic.
		l, err := time.LoadLocation(c.Timezone)
		if err != nil {
			return fallback
		}
		c.loc = l
	}
	return c.loc
}
