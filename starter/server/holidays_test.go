package server_test

import (
	"testing"
	"time"

	"github.com/conecrm/automation-runtime/internal/devkit/docbuild"
	"github.com/conecrm/automation-runtime/internal/devkit/sandbox"
	"github.com/conecrm/automation-runtime/internal/devkit/stack"
)

// A franchise's holiday calendar, set through the API, reaches the runs
// enrolled after it: on the dev server, with the next four Toronto dates
// holidays, a business-hours delay parks until 09:00 on the first weekday
// after them; the franchise's other automations' runs enrolled before the
// calendar existed keep the opening they computed without it.
func TestHolidayCalendarReachesNewRuns(t *testing.T) {
	const automationID = "0193a4c2-7a10-7c5e-9d1a-0000000401da"
	doc := docbuild.New(automationID).Name("Call in opening hours").Trigger("LEAD_CREATED").Timezone("America/Toronto").
		Set("franchise", map[string]any{"id": sandbox.FranchiseMontreal}).Set("reenrollment", "always").
		Node("start", "trigger", nil).
		Node("open", "delay", docbuild.Data{"label": "Wait for opening hours", "businessHours": map[string]any{"days": []string{"MON", "TUE", "WED", "THU", "FRI"}, "open": "09:00", "close": "17:00"}}).
		Node("done", "end", nil).
		Edge("start", "open").Edge("open", "done").JSON()
	s := stack.Start(t, stack.Options{Documents: [][]byte{doc}, Starter: stack.StarterService})
	tor, _ := time.LoadLocation("America/Toronto")
	lead := map[string]any{"id": sandbox.LeadAlice, "franchise": map[string]any{"id": sandbox.FranchiseMontreal}}

	before := s.WaitParked(s.Enrol(map[string]any{"id": "ev-before", "type": "LEAD_CREATED", "occurredAt": time.Now().UTC().Format(time.RFC3339), "lead": lead}), time.Minute)

	today := time.Now().In(tor)
	var days []any
	for i := 0; i < 4; i++ {
		days = append(days, map[string]any{"date": today.AddDate(0, 0, i).Format(time.DateOnly), "name": "closed"})
	}
	if code, out := s.API("PUT", "/api/franchises/"+sandbox.FranchiseMontreal+"/holidays", map[string]any{"timezone": "America/Toronto", "holidays": days}); code != 200 {
		t.Fatalf("PUT holidays: %d %v", code, out)
	}
	after := s.WaitParked(s.Enrol(map[string]any{"id": "ev-after", "type": "LEAD_CREATED", "occurredAt": time.Now().UTC().Format(time.RFC3339), "lead": lead}), time.Minute)

	// The first weekday after the four holidays, 09:00 local.
	d := today.AddDate(0, 0, 4)
	for d.Weekday() == time.Saturday || d.Weekday() == time.Sunday {
		d = d.AddDate(0, 0, 1)
	}
	want := time.Date(d.Year(), d.Month(), d.Day(), 9, 0, 0, 0, tor)
	if got := after.Timers[0].FiresAt; !got.Equal(want) {
		t.Fatalf("run enrolled after the calendar resumes %s, want %s", got.In(tor), want)
	}
	if got := before.Timers[0].FiresAt; !got.Before(want) {
		t.Fatalf("run enrolled before the calendar resumes %s; it had no holidays, so it opens before %s", got.In(tor), want)
	}
}
