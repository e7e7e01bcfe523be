package store_test

import (
	"errors"
	"testing"
	"time"

	"github.com/conecrm/automation-runtime/internal/devkit/storetest"
	"github.com/conecrm/automation-runtime/internal/store"
)

// The enrolment index on both dialects: recorded runs are listed by lead
// and by automation while running; an ended run stays known (what keeps
// reenrollment "never" once Temporal has purged the run); recording again
// is idempotent and revives the row.
func TestEnrolments(t *testing.T) {
	storetest.Each(t, func(t *testing.T, open func(testing.TB) *store.Store) {
		s := open(t)
		if _, err := s.GetEnrolment(ctx, "lead-1", "automation/a/lead/lead-1"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown enrolment: %v, want ErrNotFound", err)
		}
		first := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
		for _, e := range []store.Enrolment{
			{LeadID: "lead-1", WorkflowID: "automation/a/lead/lead-1", AutomationID: "a", Franchise: "f1", StartedAt: first},
			{LeadID: "lead-1", WorkflowID: "automation/b/lead/lead-1/event/e1", AutomationID: "b", Franchise: "f1"},
			{LeadID: "lead-1", WorkflowID: "automation/b/lead/lead-1/event/e2", AutomationID: "b", Franchise: "f1"},
			{LeadID: "lead-2", WorkflowID: "automation/a/lead/lead-2", AutomationID: "a", Franchise: "f2"},
		} {
			if err := s.RecordEnrolment(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		// Recording again changes nothing but the update time.
		if err := s.RecordEnrolment(ctx, store.Enrolment{LeadID: "lead-1", WorkflowID: "automation/a/lead/lead-1", AutomationID: "a", Franchise: "f1"}); err != nil {
			t.Fatal(err)
		}
		got, err := s.RunningEnrolments(ctx, "lead-1")
		if err != nil || len(got) != 3 || got[0].WorkflowID != "automation/a/lead/lead-1" || !got[0].StartedAt.Equal(first) || got[0].Franchise != "f1" || !got[0].Running {
			t.Fatalf("lead-1 running: %+v %v", got, err)
		}
		byAuto, err := s.AutomationEnrolments(ctx, "a")
		if err != nil || len(byAuto) != 2 || byAuto[0].LeadID != "lead-1" || byAuto[1].LeadID != "lead-2" {
			t.Fatalf("automation a: %+v %v", byAuto, err)
		}
		// A close seen from before the row was last recorded (an older
		// run under the same id) leaves it running.
		if err := s.EndEnrolment(ctx, "lead-1", "automation/a/lead/lead-1", time.Now().Add(-time.Hour)); err != nil {
			t.Fatal(err)
		}
		if e, _ := s.GetEnrolment(ctx, "lead-1", "automation/a/lead/lead-1"); !e.Running {
			t.Fatalf("ended by an older close: %+v", e)
		}
		if err := s.EndEnrolment(ctx, "lead-1", "automation/a/lead/lead-1", time.Now().Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		got, _ = s.RunningEnrolments(ctx, "lead-1")
		if len(got) != 2 || got[0].AutomationID != "b" {
			t.Fatalf("after end: %+v", got)
		}
		e, err := s.GetEnrolment(ctx, "lead-1", "automation/a/lead/lead-1")
		if err != nil || e.Running || e.AutomationID != "a" {
			t.Fatalf("ended enrolment: %+v %v", e, err)
		}
		// An after_finished run enrols again under the same id.
		if err := s.RecordEnrolment(ctx, store.Enrolment{LeadID: "lead-1", WorkflowID: "automation/a/lead/lead-1", AutomationID: "a", Franchise: "f1"}); err != nil {
			t.Fatal(err)
		}
		if e, _ := s.GetEnrolment(ctx, "lead-1", "automation/a/lead/lead-1"); !e.Running || !e.StartedAt.Equal(first) {
			t.Fatalf("re-enrolled: %+v", e)
		}
		if got, _ := s.RunningEnrolments(ctx, "lead-3"); len(got) != 0 {
			t.Fatalf("lead-3: %+v", got)
		}
	})
}
