package nodes

import (
	"testing"
	"time"

	"github.com/conecrm/automation-runtime/internal/holidays"
)

// Daylight-saving rules of time-of-day delays, in a northern zone on each
// side of the Atlantic and a southern one (2026 transitions: Toronto 8 March
// and 1 November, Paris 29 March and 25 October, Sydney 5 April and
// 4 October).
func TestNextClockAcrossDST(t *testing.T) {
	zone := func(name string) *time.Location {
		loc, err := time.LoadLocation(name)
		if err != nil {
			t.Fatal(err)
		}
		return loc
	}
	tor, par, syd := zone("America/Toronto"), zone("Europe/Paris"), zone("Australia/Sydney")
	utc := func(y int, m time.Month, d, h, min int) time.Time { return time.Date(y, m, d, h, min, 0, 0, time.UTC) }
	monFri := parseWeekdays([]string{"MON", "TUE", "WED", "THU", "FRI"})
	cases := []struct {
		name  string
		loc   *time.Location
		from  time.Time
		at    clock
		days  weekdays
		want  time.Time // UTC
		local string    // the resumed local time, with its zone abbreviation
	}{
		{"Toronto gap: 02:30 resumes 03:30 EDT", tor, utc(2026, 3, 8, 5, 0), clock{2, 30}, weekdays{}, utc(2026, 3, 8, 7, 30), "2026-03-08 03:30 EDT"},
		{"Toronto ambiguous: 01:30 first occurrence (EDT)", tor, utc(2026, 11, 1, 4, 0), clock{1, 30}, weekdays{}, utc(2026, 11, 1, 5, 30), "2026-11-01 01:30 EDT"},
		{"Toronto ambiguous after the first: the next day", tor, utc(2026, 11, 1, 5, 45), clock{1, 30}, weekdays{}, utc(2026, 11, 2, 6, 30), "2026-11-02 01:30 EST"},
		{"Paris gap: 02:30 resumes 03:30 CEST", par, utc(2026, 3, 28, 12, 0), clock{2, 30}, weekdays{}, utc(2026, 3, 29, 1, 30), "2026-03-29 03:30 CEST"},
		{"Paris ambiguous: 02:30 first occurrence (CEST)", par, utc(2026, 10, 24, 12, 0), clock{2, 30}, weekdays{}, utc(2026, 10, 25, 0, 30), "2026-10-25 02:30 CEST"},
		{"Sydney gap: 02:30 resumes 03:30 AEDT", syd, utc(2026, 10, 3, 6, 0), clock{2, 30}, weekdays{}, utc(2026, 10, 3, 16, 30), "2026-10-04 03:30 AEDT"},
		{"Sydney ambiguous: 02:30 first occurrence (AEDT)", syd, utc(2026, 4, 4, 6, 0), clock{2, 30}, weekdays{}, utc(2026, 4, 4, 15, 30), "2026-04-05 02:30 AEDT"},
		{"Toronto Monday 09:00 after the spring weekend", tor, utc(2026, 3, 6, 23, 0), clock{9, 0}, monFri, utc(2026, 3, 9, 13, 0), "2026-03-09 09:00 EDT"},
		{"Paris Monday 09:00 after the autumn weekend", par, utc(2026, 10, 23, 18, 0), clock{9, 0}, monFri, utc(2026, 10, 26, 8, 0), "2026-10-26 09:00 CET"},
		{"Sydney Monday 09:00 after the spring weekend", syd, utc(2026, 10, 2, 8, 0), clock{9, 0}, monFri, utc(2026, 10, 4, 22, 0), "2026-10-05 09:00 AEDT"},
		{"Sydney Monday 09:00 after the autumn weekend", syd, utc(2026, 4, 3, 8, 0), clock{9, 0}, monFri, utc(2026, 4, 5, 23, 0), "2026-04-06 09:00 AEST"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := nextClock(tc.from, tc.at, tc.days, tc.loc)
			if !got.Equal(tc.want) || got.In(tc.loc).Format("2006-01-02 15:04 MST") != tc.local {
				t.Fatalf("resumes %v (%s), want %v (%s)", got.UTC(), got.In(tc.loc).Format("2006-01-02 15:04 MST"), tc.want, tc.local)
			}
		})
	}
}

// Business hours across DST weekends open at the local opening time.
func TestBusinessHoursAcrossDST(t *testing.T) {
	for _, tc := range []struct {
		zone  string
		from  time.Time
		local string
	}{
		{"America/Toronto", time.Date(2026, 3, 6, 23, 30, 0, 0, time.UTC), "2026-03-09 09:00 EDT"},
		{"America/Toronto", time.Date(2026, 10, 30, 22, 30, 0, 0, time.UTC), "2026-11-02 09:00 EST"},
		{"Europe/Paris", time.Date(2026, 3, 27, 18, 0, 0, 0, time.UTC), "2026-03-30 09:00 CEST"},
		{"Australia/Sydney", time.Date(2026, 10, 2, 8, 0, 0, 0, time.UTC), "2026-10-05 09:00 AEDT"},
		{"Australia/Sydney", time.Date(2026, 4, 3, 8, 0, 0, 0, time.UTC), "2026-04-06 09:00 AEST"},
	} {
		t.Run(tc.zone+" "+tc.local, func(t *testing.T) {
			loc, err := time.LoadLocation(tc.zone)
			if err != nil {
				t.Fatal(err)
			}
			b := &BusinessHours{open: &clock{9, 0}, close: &clock{17, 0}, days: parseWeekdays([]string{"MON", "TUE", "WED", "THU", "FRI"})}
			if got := intoBusinessHours(tc.from, b, loc, nil).In(loc).Format("2006-01-02 15:04 MST"); got != tc.local {
				t.Fatalf("opens %s, want %s", got, tc.local)
			}
		})
	}
}

// Business hours skip the holidays of the run's calendar: a holiday on the
// Monday after each Toronto DST weekend, Thanksgiving Monday, a run of
// holidays around Christmas, a holiday that starts while the lead waits
// inside opening hours, and a calendar kept in another zone.
func TestBusinessHoursSkipHolidays(t *testing.T) {
	tor, err := time.LoadLocation("America/Toronto")
	if err != nil {
		t.Fatal(err)
	}
	cal := func(tz string, dates ...string) *holidays.Calendar {
		c := &holidays.Calendar{Timezone: tz}
		for _, d := range dates {
			c.Holidays = append(c.Holidays, holidays.Holiday{Date: d})
		}
		if p := c.Problems(); len(p) > 0 {
			t.Fatal(p)
		}
		c.Normalize()
		return c
	}
	utc := func(y int, m time.Month, d, h, min int) time.Time { return time.Date(y, m, d, h, min, 0, 0, time.UTC) }
	b := &BusinessHours{open: &clock{9, 0}, close: &clock{17, 0}, days: parseWeekdays([]string{"MON", "TUE", "WED", "THU", "FRI"})}
	for _, tc := range []struct {
		name  string
		from  time.Time
		cal   *holidays.Calendar
		local string
	}{
		{"spring-forward weekend, Monday holiday: Tuesday 09:00 EDT", utc(2026, 3, 6, 23, 30), cal("", "2026-03-09"), "2026-03-10 09:00 EDT"},
		{"spring-forward weekend, no holiday: Monday 09:00 EDT", utc(2026, 3, 6, 23, 30), cal("", "2026-03-10"), "2026-03-09 09:00 EDT"},
		{"fall-back weekend, Monday holiday: Tuesday 09:00 EST", utc(2026, 10, 30, 22, 30), cal("", "2026-11-02"), "2026-11-03 09:00 EST"},
		{"Thanksgiving Monday", utc(2026, 10, 9, 21, 30), cal("America/Toronto", "2026-10-12"), "2026-10-13 09:00 EDT"},
		{"inside opening hours on the holiday itself", utc(2026, 10, 12, 14, 0), cal("America/Toronto", "2026-10-12"), "2026-10-13 09:00 EDT"},
		{"Christmas to Boxing Day and the Monday after", utc(2026, 12, 23, 23, 0), cal("", "2026-12-24", "2026-12-25", "2026-12-28"), "2026-12-29 09:00 EST"},
		{"calendar in Vancouver: its Monday covers Toronto's Monday opening", utc(2026, 3, 9, 13, 0), cal("America/Vancouver", "2026-03-09"), "2026-03-10 09:00 EDT"},
		{"calendar in Vancouver: its Tuesday holiday closes Toronto's Tuesday", utc(2026, 3, 9, 22, 0), cal("America/Vancouver", "2026-03-10"), "2026-03-11 09:00 EDT"},
		{"holidays elsewhere change nothing", utc(2026, 3, 6, 23, 30), cal("", "2025-12-25", "2027-01-01"), "2026-03-09 09:00 EDT"},
		{"no calendar", utc(2026, 3, 6, 23, 30), nil, "2026-03-09 09:00 EDT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := intoBusinessHours(tc.from, b, tor, tc.cal).In(tor).Format("2006-01-02 15:04 MST"); got != tc.local {
				t.Fatalf("opens %s, want %s", got, tc.local)
			}
		})
	}
}
