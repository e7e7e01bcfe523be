package workflows_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/conecrm/automation-runtime/internal/event"
	"github.com/conecrm/automation-runtime/workflows"
)

// hotWaitDoc parks in a wait for a priority above 2 (1h), then calls.
func hotWaitDoc(t *testing.T) []byte {
	return doc(t, []n{trig(),
		{"wait", "wait_for_event", map[string]any{"event": "LEAD_UPDATED", "condition": "lead.priority > 2", "timeout": "1h"}},
		{"hot", "create_task", task("Hot: p{{ lead.priority }}", nil)},
		endNode("done"), endNode("timeout"),
	}, []e{{"start", "wait", ""}, {"wait", "hot", "event"}, {"wait", "timeout", "timeout"}, {"hot", "done", ""}}, nil)
}

func eventIDs(evs []event.Lead) []string {
	var out []string
	for _, ev := range evs {
		out = append(out, ev.ID)
	}
	return out
}

// overBudgetWith delivers the events in one workflow task, the one in which
// the history goes over budget. It runs inside a delayed callback, whose own
// workflow task runs first: the test environment queues what it posts.
func overBudgetWith(te *testEnv, evs ...event.Lead) {
	te.RegisterDelayedCallback(func() { te.SetCurrentHistoryLength(workflows.DefaultHistoryBudget + 1) }, 0)
	for i, ev := range evs {
		if i < len(evs)-1 {
			te.SignalWorkflowSkippingWorkflowTask(workflows.SignalLeadEvent, ev)
		} else {
			te.SignalWorkflow(workflows.SignalLeadEvent, ev)
		}
	}
}

// A signal that arrives in the workflow task that goes over the history
// budget is handed to the continuation, which applies it: the issue's
// evt-3, neither applied nor pending before.
func TestContinueAsNewCarriesTheEventOfItsTask(t *testing.T) {
	raw := hotWaitDoc(t)
	g1 := newEnv(t, t0)
	g1.RegisterDelayedCallback(func() {
		overBudgetWith(g1, later("evt-2", "LEAD_UPDATED", map[string]any{"priority": 5}))
	}, 10*time.Minute)
	next := continueAsNew(t, g1, input(t, raw, enrol(nil)))
	c := next.Carried
	if got := eventIDs(c.Pending); !equal(got, []string{"evt-2"}) {
		t.Fatalf("carried pending %v, applied %v; want evt-2 pending", got, c.Applied)
	}
	g2 := newEnv(t, t0.Add(10*time.Minute))
	res := g2.run(next)
	if want := []string{"start", "wait", "hot", "done"}; !equal(res.Path, want) {
		t.Fatalf("path %v, want %v (the carried event resolves the wait)", res.Path, want)
	}
	if want := []string{"evt-1", "evt-2"}; !equal(res.Applied, want) {
		t.Fatalf("applied %v, want %v", res.Applied, want)
	}
}

// Several events in that task are applied before the run continues as new,
// as runs recorded before this change did; each once.
func TestContinueAsNewAfterApplyingSeveralEvents(t *testing.T) {
	g1 := newEnv(t, t0)
	g1.RegisterDelayedCallback(func() {
		var evs []event.Lead
		for _, id := range []string{"evt-2", "evt-3", "evt-2", "evt-4"} {
			evs = append(evs, later(id, "LEAD_UPDATED", map[string]any{"priority": 1}))
		}
		overBudgetWith(g1, evs...)
	}, 10*time.Minute)
	next := continueAsNew(t, g1, input(t, hotWaitDoc(t), enrol(nil)))
	c := next.Carried
	if want := []string{"evt-1", "evt-2", "evt-3", "evt-4"}; !equal(c.Applied, want) || len(c.Pending) != 0 {
		t.Fatalf("applied %v pending %v, want %v applied and none pending", c.Applied, eventIDs(c.Pending), want)
	}
}

// An event that arrives in the workflow task in which the last branch ends
// is applied before the run completes, and the result lists it; so is one
// that arrives with the cancellation request.
func TestClosingRunAppliesEventsOfItsTask(t *testing.T) {
	raw := doc(t, []n{trig(), {"pause", "delay", map[string]any{"duration": "1h"}}, endNode("done")},
		[]e{{"start", "pause", ""}, {"pause", "done", ""}}, map[string]any{"goal": map[string]any{"expression": "lead.priority > 4"}})
	t.Run("completion", func(t *testing.T) {
		te := newEnv(t, t0)
		te.signalAt(30*time.Minute, later("evt-2", "LEAD_UPDATED", map[string]any{"priority": 3}))
		// Delivered without a workflow task: it is processed with the timer.
		te.RegisterDelayedCallback(func() {
			te.SignalWorkflowSkippingWorkflowTask(workflows.SignalLeadEvent, later("evt-3", "LEAD_UPDATED", map[string]any{"priority": 3}))
		}, 59*time.Minute)
		res := te.run(input(t, raw, enrol(nil)))
		if want := []string{"evt-1", "evt-2", "evt-3"}; !equal(res.Applied, want) || res.Status != workflows.StatusCompleted {
			t.Fatalf("applied %v status %s, want %v completed", res.Applied, res.Status, want)
		}
	})
	t.Run("cancellation", func(t *testing.T) {
		te := newEnv(t, t0)
		te.RegisterDelayedCallback(func() {
			te.SignalWorkflowSkippingWorkflowTask(workflows.SignalLeadEvent, later("evt-2", "LEAD_UPDATED", map[string]any{"priority": 1}))
			te.CancelWorkflow()
		}, 10*time.Minute)
		te.ExecuteWorkflow(workflows.AutomationRun, input(t, raw, enrol(nil)))
		var ce *temporal.CanceledError
		if err := te.GetWorkflowError(); !errors.As(err, &ce) {
			t.Fatalf("error %v, want cancelled", err)
		}
		var res workflows.Result
		if err := ce.Details(&res); err != nil {
			t.Fatal(err)
		}
		if want := []string{"evt-1", "evt-2"}; !equal(res.Applied, want) {
			t.Fatalf("applied %v, want %v", res.Applied, want)
		}
	})
}

// waitAfterDelayDoc updates the lead during a 1h delay, then waits 2h for
// a stage change, with or without a condition.
func waitAfterDelayDoc(t *testing.T, condition string) []byte {
	wait := map[string]any{"event": "LEAD_STAGE_CHANGED", "timeout": "2h"}
	if condition != "" {
		wait["condition"] = condition
	}
	return doc(t, []n{trig(),
		{"pause", "delay", map[string]any{"duration": "1h"}},
		{"wait", "wait_for_event", wait},
		endNode("contacted"), endNode("escalated"),
	}, []e{{"start", "pause", ""}, {"pause", "wait", ""}, {"wait", "contacted", "event"}, {"wait", "escalated", "timeout"}}, nil)
}

func TestWaitAlreadySatisfied(t *testing.T) {
	left := "lead.stage.id != '" + stageNew + "'"
	cases := []struct {
		name      string
		condition string
		old       bool // the run predates the rule (GetVersion answers DefaultVersion)
		want      string
		endsAfter time.Duration
	}{
		{"condition already holds: event exit at once", left, false, "contacted", time.Hour},
		{"no condition: a new event is needed", "", false, "escalated", 3 * time.Hour},
		{"run recorded before the rule keeps waiting", left, true, "escalated", 3 * time.Hour},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			te := newEnv(t, t0)
			if tc.old {
				te.OnGetVersion("wait-condition-holds-at-start", workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
			}
			// The lead leaves New (a stage change) during the delay, before
			// the wait begins.
			te.signalAt(30*time.Minute, later("evt-2", "LEAD_STAGE_CHANGED", map[string]any{"stage": map[string]any{"id": stageWon}}))
			res := te.run(input(t, waitAfterDelayDoc(t, tc.condition), enrol(nil)))
			if want := []string{"start", "pause", "wait", tc.want}; !equal(res.Path, want) {
				t.Fatalf("path %v, want %v", res.Path, want)
			}
			if want := t0.Add(tc.endsAfter); !te.Now().Equal(want) {
				t.Fatalf("ended at %v, want %v", te.Now(), want)
			}
		})
	}
}

// The recorded run that went over budget in the workflow task of a signal
// handed that event to its continuation (and the replay test replays it).
func TestRecordedContinueAsNewCarriedItsEvent(t *testing.T) {
	f, err := os.Open(filepath.Join(historiesDir, "local-signal-at-continue-as-new.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h, err := client.HistoryFromJSON(f, client.HistoryJSONOptions{})
	if err != nil {
		t.Fatal(err)
	}
	last := h.Events[len(h.Events)-1].GetWorkflowExecutionContinuedAsNewEventAttributes()
	if last == nil {
		t.Fatal("the recorded run did not continue as new")
	}
	var next workflows.Input
	if err := converter.GetDefaultDataConverter().FromPayloads(last.Input, &next); err != nil {
		t.Fatal(err)
	}
	if next.Carried == nil || !equal(eventIDs(next.Carried.Pending), []string{"evt-2"}) {
		t.Fatalf("carried %+v, want evt-2 pending", next.Carried)
	}
}
