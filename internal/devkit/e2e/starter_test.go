package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/conecrm/automation-runtime/internal/devkit/docbuild"
	"github.com/conecrm/automation-runtime/internal/devkit/sandbox"
	"github.com/conecrm/automation-runtime/internal/devkit/stack"
	"github.com/conecrm/automation-runtime/internal/devkit/storetest"
	"github.com/conecrm/automation-runtime/internal/ingest"
	"github.com/conecrm/automation-runtime/internal/store"
	"github.com/conecrm/automation-runtime/workflows"
)

// starter runs a stack with the whole starter service over st (nil: a
// new SQLite store) and the documents, on the lenient sandbox.
func starter(t testing.TB, st *store.Store, withWorker bool, docs ...*docbuild.Doc) *stack.Stack {
	t.Helper()
	opts := stack.Options{Starter: stack.StarterService, Store: st, NoWorker: !withWorker, LenientSandbox: true}
	for _, d := range docs {
		opts.Documents = append(opts.Documents, d.JSON())
	}
	return stack.Start(t, opts)
}

// outcome returns the outcome for one automation, failing if absent.
func outcome(t *testing.T, er ingest.EventsResponse, automationID string) ingest.Outcome {
	t.Helper()
	for _, o := range er.Automations {
		if o.AutomationID == automationID {
			return o
		}
	}
	t.Fatalf("no outcome for %s in %+v", automationID, er.Automations)
	return ingest.Outcome{}
}

// waitDoc enrols CAR leads on LEAD_CREATED and waits for a LEAD_UPDATED
// (up to an hour) before ending.
func waitDoc(id, reenrollment string) *docbuild.Doc {
	return docbuild.New(id).Name("wait "+reenrollment).Trigger("LEAD_CREATED").Reenrollment(reenrollment).
		Node("start", "trigger", docbuild.Data{"filter": map[string]any{"expression": "has(lead.category) && lead.category == 'CAR'"}}).
		Node("wait", "wait_for_event", docbuild.Data{"event": "LEAD_UPDATED", "timeout": "1h"}).
		Node("updated", "end", docbuild.Data{"reason": "updated"}).
		Node("timeout", "end", docbuild.Data{"reason": "timed out"}).
		Edge("start", "wait").EdgeFrom("wait", "event", "updated").EdgeFrom("wait", "timeout", "timeout")
}

// instantDoc ends at once.
func instantDoc(id, reenrollment string) *docbuild.Doc {
	return docbuild.New(id).Name("instant "+reenrollment).Trigger("LEAD_ASSIGNED").Reenrollment(reenrollment).
		Node("start", "trigger", nil).Node("done", "end", docbuild.Data{"reason": "done"}).
		Edge("start", "done")
}

// delayDoc waits in a delay, then creates a task titled by version.
func delayDoc(id, title, delay string) *docbuild.Doc {
	return docbuild.New(id).Name("delay then task").Trigger("LEAD_STAGE_CHANGED").Reenrollment("never").
		Node("start", "trigger", nil).
		Node("pause", "delay", docbuild.Data{"duration": delay}).
		Node("task", "create_task", docbuild.Data{"type": "CALL", "assignee": sandbox.UserSam, "title": title + " {{ lead.subject }}", "dueIn": "1h"}).
		Node("done", "end", docbuild.Data{"reason": "task created"}).
		Edge("start", "pause").Edge("pause", "task").Edge("task", "done")
}

func waitResult(t *testing.T, s *stack.Stack, wfID, runID string) workflows.Result {
	t.Helper()
	return s.ResultOf(wfID, runID, 60*time.Second)
}

// eventually polls f (visibility is eventually consistent).
func eventually(t *testing.T, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestStarterEnrolmentModes(t *testing.T) {
	s := starter(t, nil, true,
		waitDoc("never", "never"), waitDoc("after", "after_finished"), waitDoc("always", "always"))
	car := func() map[string]any { return map[string]any{"category": "CAR", "subject": "Civic"} }
	const lead = "lead-modes"

	// Enrolment in all three.
	status, er := s.Event("ev-1", "LEAD_CREATED", lead, car())
	if status != 200 {
		t.Fatalf("HTTP %d", status)
	}
	first := map[string]ingest.Outcome{}
	for _, id := range []string{"never", "after", "always"} {
		o := outcome(t, er, id)
		if o.Result != ingest.Enrolled || o.RunID == "" {
			t.Fatalf("%s: %+v, want enrolled", id, o)
		}
		first[id] = o
	}
	if first["always"].WorkflowID != "automation/always/lead/"+lead+"/event/ev-1" || first["never"].WorkflowID != "automation/never/lead/"+lead {
		t.Fatalf("workflow ids %+v", first)
	}

	// The same event again changes nothing.
	_, er = s.Event("ev-1", "LEAD_CREATED", lead, car())
	for _, id := range []string{"never", "after", "always"} {
		if o := outcome(t, er, id); o.Result != ingest.Skipped || o.Reason != "event already processed (enrolled)" {
			t.Fatalf("%s: duplicate delivery gave %+v", id, o)
		}
	}

	// A second trigger while enrolled: never and after_finished signal the
	// running run; always starts another.
	_, er = s.Event("ev-2", "LEAD_CREATED", lead, car())
	for id, want := range map[string]string{"never": ingest.Signalled, "after": ingest.Signalled, "always": ingest.Enrolled} {
		if o := outcome(t, er, id); o.Result != want {
			t.Fatalf("%s while running: %+v, want %s", id, o, want)
		}
	}

	// Filter false: skipped, but an enrolled lead still receives the event.
	_, er = s.Event("ev-3", "LEAD_CREATED", "lead-truck", map[string]any{"category": "TRUCK"})
	for _, id := range []string{"never", "after", "always"} {
		if o := outcome(t, er, id); o.Result != ingest.Skipped || o.Reason != "filter false" {
			t.Fatalf("%s: truck lead %+v", id, o)
		}
	}

	// LEAD_UPDATED is not a trigger here: it is signalled to the enrolled
	// runs, which resume and finish. "always" runs have ids of their own,
	// found through visibility once it lists them.
	eventually(t, "visibility lists both always runs", func() bool {
		return s.Count("AutomationId = 'always' AND LeadId = '"+lead+"' AND ExecutionStatus = 'Running'") == 2
	})
	_, er = s.Event("ev-4", "LEAD_UPDATED", lead, car())
	if o := outcome(t, er, "always"); o.Result != ingest.Signalled || o.Reason != "2 running run(s)" {
		t.Fatalf("always: update %+v, want signalled to 2 runs", o)
	}
	if r := waitResult(t, s, first["always"].WorkflowID, first["always"].RunID); r.Reason != "updated" {
		t.Fatalf("always finished with %+v", r)
	}
	for _, id := range []string{"never", "after"} {
		if o := outcome(t, er, id); o.Result != ingest.Signalled {
			t.Fatalf("%s: update %+v", id, o)
		}
		if r := waitResult(t, s, first[id].WorkflowID, first[id].RunID); r.Reason != "updated" {
			t.Fatalf("%s finished with %+v", id, r)
		}
	}

	// After the run finished: never refuses, after_finished enrols again.
	_, er = s.Event("ev-5", "LEAD_CREATED", lead, car())
	if o := outcome(t, er, "never"); o.Result != ingest.Skipped || o.Reason != "re-enrolment not allowed" {
		t.Fatalf("never after finish: %+v", o)
	}
	second := outcome(t, er, "after")
	if second.Result != ingest.Enrolled || second.RunID == first["after"].RunID {
		t.Fatalf("after_finished after finish: %+v", second)
	}
	if o := outcome(t, er, "always"); o.Result != ingest.Enrolled {
		t.Fatalf("always: %+v", o)
	}

	// The first event again, after its run finished: still nothing, even
	// for after_finished (the event id is remembered in the store).
	_, er = s.Event("ev-1", "LEAD_CREATED", lead, car())
	for _, id := range []string{"never", "after", "always"} {
		if o := outcome(t, er, id); o.Result != ingest.Skipped {
			t.Fatalf("%s: replay after finish: %+v", id, o)
		}
	}

	// The update that ended the first run, delivered again, does not reach
	// the second: each event id takes effect once per automation.
	_, er = s.Event("ev-4", "LEAD_UPDATED", lead, car())
	if o := outcome(t, er, "after"); o.Result != ingest.Skipped || o.Reason != "event already processed (signalled)" {
		t.Fatalf("replayed update: %+v", o)
	}
	time.Sleep(500 * time.Millisecond)
	desc, err := s.Client.DescribeWorkflowExecution(context.Background(), second.WorkflowID, second.RunID)
	if err != nil || desc.GetWorkflowExecutionInfo().GetStatus().String() != "Running" {
		t.Fatalf("the second run was affected by a replayed event: %v %v", desc.GetWorkflowExecutionInfo().GetStatus(), err)
	}

	// Deactivated: no enrolment; an enrolled run still gets events.
	if status, _ := s.API("POST", "/api/automation/after/deactivate", nil); status != 200 {
		t.Fatalf("deactivate: %d", status)
	}
	_, er = s.Event("ev-6", "LEAD_CREATED", "lead-other", car())
	if o := outcome(t, er, "after"); o.Result != ingest.Skipped || o.Reason != "automation inactive" {
		t.Fatalf("inactive: %+v", o)
	}
}

// 50 concurrent deliveries of the same event start exactly one run, with
// a re-enrolment mode that would allow a second run once the first ended
// and a run that ends at once: the durable event id is what prevents it.
func TestStarterConcurrentDeliveries(t *testing.T) {
	storetest.Each(t, func(t *testing.T, open func(testing.TB) *store.Store) {
		id := "instant-" + t.Name()[len("TestStarterConcurrentDeliveries/"):]
		s := starter(t, open(t), true, instantDoc(id, "after_finished"))
		body, _ := json.Marshal(map[string]any{"id": "ev-concurrent", "type": "LEAD_ASSIGNED", "occurredAt": time.Now().UTC().Format(time.RFC3339), "lead": map[string]any{"id": "lead-c", "franchise": map[string]any{"id": docbuild.Franchise}}})
		var (
			wg       sync.WaitGroup
			mu       sync.Mutex
			enrolled int
			statuses = map[int]int{}
		)
		for range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				status, out := s.PostRaw(body)
				var er ingest.EventsResponse
				_ = json.Unmarshal(out, &er)
				mu.Lock()
				defer mu.Unlock()
				statuses[status]++
				for _, o := range er.Automations {
					if o.Result == ingest.Enrolled {
						enrolled++
					}
				}
			}()
		}
		wg.Wait()
		// One delivery enrols; the others answer "already processed" (200)
		// or, while the winner is still applying it, 503 "retry": a
		// duplicate is never told the event was accepted before it was.
		if statuses[200]+statuses[503] != 50 || statuses[200] < 1 || enrolled != 1 {
			t.Fatalf("statuses %v, %d enrolments; want only 200s and 503s and exactly 1 enrolment", statuses, enrolled)
		}
		for range statuses[503] {
			status, out := s.PostRaw(body)
			var er ingest.EventsResponse
			_ = json.Unmarshal(out, &er)
			if status != 200 || len(er.Automations) != 1 || !strings.HasPrefix(er.Automations[0].Reason, "event already processed") {
				t.Fatalf("a retried delivery: HTTP %d %s; want 200 event already processed", status, out)
			}
		}
		q := fmt.Sprintf("AutomationId = '%s'", id)
		eventually(t, "the run is visible", func() bool { return s.Count(q) >= 1 })
		// Deliver again after it finished, then check nothing else started.
		status, out := s.PostRaw(body)
		if status != 200 {
			t.Fatalf("HTTP %d %s", status, out)
		}
		time.Sleep(time.Second)
		if n := s.Count(q); n != 1 {
			t.Fatalf("%d runs, want exactly 1", n)
		}
	})
}

// Editing an automation while a run waits in a delay: the run finishes on
// its version, a new enrolment uses the new one; delayedAutomationsCount
// counts the waiting run.
func TestStarterEditWhileDelayed(t *testing.T) {
	s := starter(t, nil, true, delayDoc("delayed", "Old", "4s"))

	const leadA, leadB = "0192f0a0-0005-7000-8000-0000000000a1", "0192f0a0-0005-7000-8000-0000000000b1"
	_, er := s.Event("ev-a", "LEAD_STAGE_CHANGED", leadA, map[string]any{"subject": "A"})
	first := outcome(t, er, "delayed")
	if first.Result != ingest.Enrolled {
		t.Fatalf("%+v", first)
	}
	eventually(t, "delayedAutomationsCount is 1", func() bool {
		_, got := s.API("GET", "/api/automation/delayed", nil)
		return got["delayedAutomationsCount"] == 1.0
	})

	status, patched := s.API("PATCH", "/api/automation/delayed", map[string]any{"nodes": delayDoc("delayed", "New", "1s").Nodes()})
	if status != 200 || patched["versionNumber"] != 2.0 {
		t.Fatalf("PATCH: %d %v", status, patched)
	}
	_, er = s.Event("ev-b", "LEAD_STAGE_CHANGED", leadB, map[string]any{"subject": "B"})
	second := outcome(t, er, "delayed")
	if second.Result != ingest.Enrolled || second.Version == first.Version || second.Version != patched["version"] {
		t.Fatalf("new enrolment %+v, want version %v (first %s)", second, patched["version"], first.Version)
	}
	waitResult(t, s, first.WorkflowID, first.RunID)
	waitResult(t, s, second.WorkflowID, second.RunID)
	titles := map[string]string{}
	for _, task := range s.Sandbox.Tasks() {
		if task.Connection != nil {
			titles[task.Connection.ID] = task.Title
		}
	}
	if titles[leadA] != "Old A" || titles[leadB] != "New B" {
		t.Fatalf("task titles %v: the first run must finish on its version, the second on the new one", titles)
	}
	eventually(t, "delayedAutomationsCount is 0", func() bool {
		_, got := s.API("GET", "/api/automation/delayed", nil)
		return got["delayedAutomationsCount"] == 0.0
	})
}

// DELETE with cancelRunning cancels waiting runs; without it they go on.
func TestStarterDeleteCancelsRunning(t *testing.T) {
	s := starter(t, nil, true, waitDoc("keep", "never"), waitDoc("cancel", "never"))
	_, er := s.Event("ev-d", "LEAD_CREATED", "lead-d", map[string]any{"category": "CAR"})
	keep, cancel := outcome(t, er, "keep"), outcome(t, er, "cancel")
	eventually(t, "both runs are visible", func() bool {
		return s.Count("AutomationId = 'cancel' AND ExecutionStatus = 'Running'") == 1 &&
			s.Count("AutomationId = 'keep' AND ExecutionStatus = 'Running'") == 1
	})
	if status, got := s.API("DELETE", "/api/automation/cancel?cancelRunning=true", nil); status != 200 || got["cancelledRuns"] != 1.0 {
		t.Fatalf("DELETE: %d %v", status, got)
	}
	if status, _ := s.API("DELETE", "/api/automation/keep", nil); status != 200 {
		t.Fatalf("DELETE keep: %d", status)
	}
	ctx, done := context.WithTimeout(context.Background(), 30*time.Second)
	defer done()
	if err := s.Client.GetWorkflow(ctx, cancel.WorkflowID, cancel.RunID).Get(ctx, nil); err == nil {
		t.Fatal("the cancelled run completed normally")
	}
	desc, err := s.Client.DescribeWorkflowExecution(ctx, keep.WorkflowID, keep.RunID)
	if err != nil || desc.GetWorkflowExecutionInfo().GetStatus().String() != "Running" {
		t.Fatalf("the run of the automation deleted without cancelRunning: %v %v", desc.GetWorkflowExecutionInfo().GetStatus(), err)
	}
	// Deleted automations enrol nobody.
	_, er = s.Event("ev-d2", "LEAD_CREATED", "lead-d2", map[string]any{"category": "CAR"})
	if len(er.Automations) != 0 {
		t.Fatalf("deleted automations still listed: %+v", er.Automations)
	}
	if status, _ := s.API("GET", "/api/automation/keep", nil); status != 404 {
		t.Fatalf("GET deleted: %d", status)
	}
}

// With the store gone mid-flight, an event answers 503 and starts nothing.
func TestStarterStoreUnavailable(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(context.Background(), store.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	s := starter(t, st, false, instantDoc("inst", "never"))
	st.Close()
	status, out := s.PostRaw([]byte(`{"id":"ev-x","type":"LEAD_ASSIGNED","occurredAt":"2026-11-24T10:00:00Z","lead":{"id":"lead-x","franchise":{"id":"0192f0a0-0007-7000-8000-000000000001"}}}`))
	if status != 503 {
		t.Fatalf("HTTP %d %s, want 503", status, out)
	}
	time.Sleep(time.Second)
	if n := s.Count("AutomationId = 'inst'"); n != 0 {
		t.Fatalf("%d runs started without the event recorded", n)
	}
}
