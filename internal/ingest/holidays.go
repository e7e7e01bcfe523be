package ingest

import (
	"context"
	"fmt"

	"github.com/conecrm/automation-runtime/internal/event"
	"github.com/conecrm/automation-runtime/internal/plan"
	"github.com/conecrm/automation-runtime/internal/store"
	"github.com/conecrm/automation-runtime/workflows"
)

// HolidaySource holds franchises' holiday calendars.
type HolidaySource interface {
	HolidayCalendar(ctx context.Context, franchise string) (store.StoredCalendar, bool, error)
}

var _ HolidaySource = (*store.Store)(nil)

// maxRunHolidays bounds the calendar a run carries in its input.
const maxRunHolidays = 400

// input is the input of a new run of p for ev: the automation's franchise's
// holiday calendar (the dates still ahead) travels in it, so the workflow
// reads the calendar deterministically. A store failure fails the delivery
// (the sender retries) rather than enrolling a run that ignores holidays.
func (in *Ingester) input(ctx context.Context, p *plan.Plan, ev event.Lead) (workflows.Input, error) {
	input := workflows.NewInput(p, ev)
	if in.Holidays == nil || p.Doc.Franchise == nil || p.Doc.Franchise.ID == "" {
		return input, nil
	}
	c, ok, err := in.Holidays.HolidayCalendar(ctx, p.Doc.Franchise.ID)
	if err != nil {
		return input, fmt.Errorf("reading the holiday calendar: %w", err)
	}
	if ok {
		input.Holidays = c.Calendar.From(in.now(), maxRunHolidays)
	}
	return input, nil
}
