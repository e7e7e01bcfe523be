package e2e

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"go.temporal.io/api/common/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/conecrm/automation-runtime/internal/devkit/docbuild"
	"github.com/conecrm/automation-runtime/internal/devkit/stack"
	"github.com/conecrm/automation-runtime/internal/devkit/storetest"
	"github.com/conecrm/automation-runtime/internal/ingest"
)

// wonDoc enrols on LEAD_CREATED with `reenrollment: always` and waits for
// a LEAD_UPDATED that makes the lead WON; other updates are applied and
// the wait goes on, so a small history budget makes the run continue as
// new while it waits.
func wonDoc(id string) *docbuild.Doc {
	return docbuild.New(id).Name("wait for won").Trigger("LEAD_CREATED").Reenrollment("always").
		Node("start", "trigger", nil).
		Node("wait", "wait_for_event", docbuild.Data{"event": "LEAD_UPDATED", "condition": "has(lead.stage) && lead.stage == 'WON'", "timeout": "1h"}).
		Node("won", "end", docbuild.Data{"reason": "won"}).
		Node("timeout", "end", docbuild.Data{"reason": "timed out"}).
		Edge("start", "wait").EdgeFrom("wait", "event", "won").EdgeFrom("wait", "timeout", "timeout")
}

// continueAsNew sends LEAD_UPDATED events that do not end the wait until
// the run of o has continued as new, checking each is signalled to the
// lead's one running run.
func continueAsNew(t *testing.T, s *stack.Stack, o ingest.Outcome, leadID string) {
	t.Helper()
	ctx := context.Background()
	for i := 0; ; i++ {
		if i == 40 {
			t.Fatalf("%s did not continue as new after %d events", o.WorkflowID, i)
		}
		_, er := s.Event(fmt.Sprintf("%s-upd-%d", leadID, i), "LEAD_UPDATED", leadID, map[string]any{"stage": "CONTACTED"})
		if got := outcome(t, er, o.AutomationID); got.Result != ingest.Signalled || got.Reason != "1 running run(s)" {
			t.Fatalf("update %d: %+v, want signalled to 1 run", i, got)
		}
		desc, err := s.Client.DescribeWorkflowExecution(ctx, o.WorkflowID, "")
		if err != nil {
			t.Fatal(err)
		}
		if desc.GetWorkflowExecutionInfo().GetExecution().GetRunId() != o.RunID {
			return
		}
	}
}

// `reenrollment: always`: later events and DELETE ?cancelRunning=true
// reach runs that continued as new, by workflow id.
func TestReenrolAlwaysReachesContinuedRuns(t *testing.T) {
	s := starter(t, nil, true, wonDoc("won-always"))
	s.App.Ingester.HistoryBudget = 12

	_, er := s.Event("ev-won-1", "LEAD_CREATED", "lead-won", nil)
	first := outcome(t, er, "won-always")
	if first.Result != ingest.Enrolled {
		t.Fatalf("enrolment: %+v", first)
	}
	_, er = s.Event("ev-cancel-1", "LEAD_CREATED", "lead-cancel", nil)
	toCancel := outcome(t, er, "won-always")
	if toCancel.Result != ingest.Enrolled {
		t.Fatalf("enrolment: %+v", toCancel)
	}

	// Events reach the continued run at once (no visibility lag), and the
	// one that makes the lead WON ends it.
	continueAsNew(t, s, first, "lead-won")
	_, er = s.Event("ev-won-final", "LEAD_UPDATED", "lead-won", map[string]any{"stage": "WON"})
	if got := outcome(t, er, "won-always"); got.Result != ingest.Signalled {
		t.Fatalf("final update: %+v", got)
	}
	if r := s.ResultOf(first.WorkflowID, "", 60*time.Second); r.Reason != "won" {
		t.Fatalf("the continued run ended with %+v, want won", r)
	}

	// A continued run is cancelled by DELETE ?cancelRunning=true.
	continueAsNew(t, s, toCancel, "lead-cancel")
	status, got := s.API("DELETE", "/api/automation/won-always?cancelRunning=true", nil)
	if status != 200 || got["cancelledRuns"] != 1.0 {
		t.Fatalf("DELETE: %d %v, want 1 cancelled run", status, got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err := s.Client.GetWorkflow(ctx, toCancel.WorkflowID, "").Get(ctx, nil)
	if err == nil {
		t.Fatal("the continued run was not cancelled")
	}
	desc, derr := s.Client.DescribeWorkflowExecution(ctx, toCancel.WorkflowID, "")
	if derr != nil || desc.GetWorkflowExecutionInfo().GetStatus().String() != "Canceled" {
		t.Fatalf("continued run after DELETE: %v %v (%v)", desc.GetWorkflowExecutionInfo().GetStatus(), derr, err)
	}
}

// `reenrollment: never` holds after Temporal has forgotten the closed run
// (retention purged it; here DeleteWorkflowExecution does the same): the
// starter's enrolment index remembers the lead. An after_finished
// automation beside it enrols the lead again.
func TestReenrolNeverOutlivesRetention(t *testing.T) {
	st := storetest.SQLite(t) // the index's queries run on PostgreSQL too in store.TestEnrolments
	s := starter(t, st, true, instantDoc("once", "never"), instantDoc("again", "after_finished"))
	ctx := context.Background()
	const lead = "lead-purged"

	_, er := s.Event("ev-p1", "LEAD_ASSIGNED", lead, nil)
	once, again := outcome(t, er, "once"), outcome(t, er, "again")
	if once.Result != ingest.Enrolled || again.Result != ingest.Enrolled {
		t.Fatalf("enrolment: %+v %+v", once, again)
	}
	for _, o := range []ingest.Outcome{once, again} {
		if r := s.Result(o, 60*time.Second); r.Reason != "done" {
			t.Fatalf("%s: %+v", o.AutomationID, r)
		}
	}
	_, err := s.Client.WorkflowService().DeleteWorkflowExecution(ctx, &workflowservice.DeleteWorkflowExecutionRequest{
		Namespace: s.Namespace, WorkflowExecution: &common.WorkflowExecution{WorkflowId: once.WorkflowID, RunId: once.RunID}})
	if err != nil {
		t.Fatalf("deleting %s: %v", once.WorkflowID, err)
	}
	// The dev server deletes in the background, about half a minute later.
	deadline := time.Now().Add(3 * time.Minute)
	for {
		_, err := s.Client.DescribeWorkflowExecution(ctx, once.WorkflowID, "")
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still there after DeleteWorkflowExecution: %v", once.WorkflowID, err)
		}
		time.Sleep(time.Second)
	}
	// Twice: the first finds the index's row running and the run gone
	// (the run log is off here), the second finds the row ended.
	for _, evID := range []string{"ev-p2", "ev-p3"} {
		_, er = s.Event(evID, "LEAD_ASSIGNED", lead, nil)
		if o := outcome(t, er, "once"); o.Result != ingest.Skipped || o.Reason != "re-enrolment not allowed" {
			t.Fatalf("never, %s after the purge: %+v", evID, o)
		}
		if o := outcome(t, er, "again"); evID == "ev-p2" && o.Result != ingest.Enrolled {
			t.Fatalf("after_finished, %s after the purge: %+v", evID, o)
		}
	}
	var nf *serviceerror.NotFound
	if _, err := s.Client.DescribeWorkflowExecution(ctx, once.WorkflowID, ""); !errors.As(err, &nf) {
		t.Fatalf("a never automation started the purged lead again: %v", err)
	}
	e, err := st.GetEnrolment(ctx, lead, once.WorkflowID)
	if err != nil || e.Running || e.AutomationID != "once" {
		t.Fatalf("enrolment row: %+v %v", e, err)
	}
}

// Tenancy through POST /events: a lead enrols only in its franchise's
// automations; moved to another franchise, it keeps receiving events in
// the runs it is in, and new enrolments follow its new franchise.
func TestEventsFollowTheLeadsFranchise(t *testing.T) {
	const franchiseB = "0192f0a0-0007-7000-8000-0000000000b2"
	s := starter(t, nil, true, waitDoc("in-a", "never"), waitDoc("in-b", "never").Set("franchise", map[string]any{"id": franchiseB}))
	const lead = "lead-moving"
	inA := map[string]any{"category": "CAR"}
	inB := map[string]any{"category": "CAR", "franchise": map[string]any{"id": franchiseB}}

	_, er := s.Event("ev-f1", "LEAD_CREATED", lead, inA)
	a := outcome(t, er, "in-a")
	if a.Result != ingest.Enrolled || len(er.Automations) != 1 {
		t.Fatalf("a lead of A: %+v, want enrolled in in-a only", er.Automations)
	}
	// The lead moves to B: the next trigger enrols it in B's automation
	// and still reaches its run in A's.
	_, er = s.Event("ev-f2", "LEAD_CREATED", lead, inB)
	b := outcome(t, er, "in-b")
	if b.Result != ingest.Enrolled {
		t.Fatalf("moved lead, B's automation: %+v", b)
	}
	if o := outcome(t, er, "in-a"); o.Result != ingest.Signalled || o.WorkflowID != a.WorkflowID {
		t.Fatalf("moved lead, its run in A: %+v", o)
	}
	_, er = s.Event("ev-f3", "LEAD_UPDATED", lead, inB)
	for _, o := range []ingest.Outcome{a, b} {
		if got := outcome(t, er, o.AutomationID); got.Result != ingest.Signalled {
			t.Fatalf("update of the moved lead, %s: %+v", o.AutomationID, got)
		}
		if r := s.Result(o, 60*time.Second); r.Reason != "updated" {
			t.Fatalf("%s ended with %+v", o.AutomationID, r)
		}
	}
	// Another franchise's lead enrols in neither.
	_, er = s.Event("ev-f4", "LEAD_CREATED", "lead-elsewhere", map[string]any{"category": "CAR", "franchise": map[string]any{"id": "0192f0a0-0007-7000-8000-0000000000c3"}})
	if len(er.Automations) != 0 {
		t.Fatalf("a lead of a third franchise: %+v", er.Automations)
	}
}
