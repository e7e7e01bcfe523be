package store_test

import (
	"testing"

	"github.com/conecrm/automation-runtime/internal/devkit/storetest"
	"github.com/conecrm/automation-runtime/internal/holidays"
	"github.com/conecrm/automation-runtime/internal/store"
)

func TestHolidayCalendars(t *testing.T) {
	storetest.Each(t, func(t *testing.T, open func(testing.TB) *store.Store) {
		s := open(t)
		const f1, f2 = "0192f0a0-0007-7000-8000-000000000001", "0192f0a0-0007-7000-8000-000000000002"
		if _, ok, err := s.HolidayCalendar(ctx, f1); ok || err != nil {
			t.Fatalf("calendar before any: ok %v, %v", ok, err)
		}
		cal := holidays.Calendar{Timezone: "America/Toronto", Holidays: []holidays.Holiday{{Date: "2026-12-25", Name: "Christmas"}}}
		if _, err := s.PutHolidayCalendar(ctx, f1, cal, "admin"); err != nil {
			t.Fatal(err)
		}
		cal.Holidays = append(cal.Holidays, holidays.Holiday{Date: "2026-12-28"})
		if _, err := s.PutHolidayCalendar(ctx, f1, cal, "tok-1"); err != nil {
			t.Fatal(err)
		}
		got, ok, err := s.HolidayCalendar(ctx, f1)
		if err != nil || !ok || len(got.Holidays) != 2 || got.UpdatedBy != "tok-1" || got.Timezone != "America/Toronto" || got.Franchise != f1 || got.UpdatedAt.IsZero() {
			t.Fatalf("replaced calendar: %+v ok %v %v", got, ok, err)
		}
		if _, ok, _ := s.HolidayCalendar(ctx, f2); ok {
			t.Fatal("another franchise sees the calendar")
		}
		if ok, err := s.DeleteHolidayCalendar(ctx, f1); !ok || err != nil {
			t.Fatalf("delete: %v %v", ok, err)
		}
		if ok, err := s.DeleteHolidayCalendar(ctx, f1); ok || err != nil {
			t.Fatalf("delete again: %v %v", ok, err)
		}
	})
}
