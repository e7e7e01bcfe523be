package holidays

import (
	"testing"
	"time"
)

func TestCalendar(t *testing.T) {
	c := &Calendar{Timezone: "America/Toronto", Holidays: []Holiday{{Date: "2026-12-28"}, {Date: "2026-12-25", Name: "Christmas"}, {Date: "2025-12-25"}}}
	if p := c.Problems(); len(p) > 0 {
		t.Fatal(p)
	}
	c.Normalize()
	tor, _ := time.LoadLocation("America/Toronto")
	for _, tc := range []struct {
		at   time.Time
		want bool
	}{
		{time.Date(2026, 12, 25, 0, 0, 0, 0, tor), true},
		{time.Date(2026, 12, 25, 23, 59, 0, 0, tor), true},
		{time.Date(2026, 12, 26, 0, 0, 0, 0, tor), false},
		{time.Date(2026, 12, 25, 3, 0, 0, 0, time.UTC), false}, // still the 24th in Toronto
		{time.Date(2025, 12, 25, 12, 0, 0, 0, tor), true},
	} {
		if _, got := c.Closed(tc.at, time.UTC); got != tc.want {
			t.Errorf("%s: closed %v, want %v", tc.at, got, tc.want)
		}
	}
	if h, _ := c.Closed(time.Date(2026, 12, 25, 12, 0, 0, 0, tor), nil); h.Name != "Christmas" {
		t.Errorf("holiday %+v", h)
	}
	from := c.From(time.Date(2026, 12, 26, 12, 0, 0, 0, time.UTC), 10)
	if len(from.Holidays) != 2 || from.Holidays[0].Date != "2026-12-25" {
		t.Errorf("from the 26th (a day's margin): %+v", from.Holidays)
	}
	if c.From(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), 10) != nil {
		t.Error("no holiday ahead: want nil")
	}
	var none *Calendar
	if _, closed := none.Closed(time.Now(), time.UTC); closed {
		t.Error("a nil calendar has no holidays")
	}
	bad := &Calendar{Timezone: "Local", Holidays: []Holiday{{Date: "2026-02-30"}, {Date: "2026-03-01"}, {Date: "2026-03-01"}}}
	if p := bad.Problems(); len(p) != 3 || p[0].Path != "timezone" || p[1].Path != "holidays[0].date" || p[2].Path != "holidays[2].date" {
		t.Errorf("problems %v", p)
	}
}
