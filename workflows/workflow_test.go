package workflows_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/conecrm/automation-runtime/activities"
	"github.com/conecrm/automation-runtime/internal/event"
	"github.com/conecrm/automation-runtime/internal/holidays"
	"github.com/conecrm/automation-runtime/internal/nodes"
	"github.com/conecrm/automation-runtime/workflows"
)

func TestConditionHandles(t *testing.T) {
	raw := doc(t, []n{trig(),
		{"is-car", "condition", map[string]any{"expression": "lead.category == 'CAR'"}},
		endNode("yes"), endNode("no"),
	}, []e{{"start", "is-car", ""}, {"is-car", "yes", "true"}, {"is-car", "no", "false"}}, nil)
	for _, tc := range []struct {
		category string
		want     []string
	}{{"CAR", []string{"start", "is-car", "yes"}}, {"TRUCK", []string{"start", "is-car", "no"}}} {
		t.Run(tc.category, func(t *testing.T) {
			res := newEnv(t, t0).run(input(t, raw, enrol(map[string]any{"category": tc.category})))
			if !equal(res.Path, tc.want) || res.Status != workflows.StatusCompleted {
				t.Fatalf("path %v status %s, want %v completed", res.Path, res.Status, tc.want)
			}
		})
	}
}

func TestSwitchCases(t *testing.T) {
	raw := doc(t, []n{trig(),
		{"route", "switch", map[string]any{"cases": []any{
			map[string]any{"handle": "hot", "expression": "lead.priority >= 3"},
			map[string]any{"handle": "warm", "query": map[string]any{"combinator": "and", "rules": []any{map[string]any{"field": "priority", "operator": "=", "value": "2"}}}},
		}}},
		endNode("hot"), endNode("warm"), endNode("cold"),
	}, []e{{"start", "route", ""}, {"route", "hot", "hot"}, {"route", "warm", "warm"}, {"route", "cold", "default"}}, nil)
	for _, tc := range []struct {
		priority int
		want     string
	}{{5, "hot"}, {2, "warm"}, {1, "cold"}} {
		t.Run(tc.want, func(t *testing.T) {
			res := newEnv(t, t0).run(input(t, raw, enrol(map[string]any{"priority": tc.priority})))
			if got := res.Path[len(res.Path)-1]; got != tc.want {
				t.Fatalf("path %v, want to end at %s", res.Path, tc.want)
			}
		})
	}
}

// Every action type runs its activity with rendered input, and later nodes
// read earlier outputs under steps.<id>.
func TestActionsRenderAndChainOutputs(t *testing.T) {
	raw := doc(t, []n{trig(),
		{"task", "create_task", task("Call {{ lead.contact.firstName }} about the {{ lead.subject }}", map[string]any{"dueIn": "2h", "label": "Call the lead"})},
		{"copy", "copy_lead", map[string]any{"subject": "Copy of {{ lead.subject }}", "department": deptID}},
		{"move", "move_stage", map[string]any{"stageId": stageWon}},
		{"push", "push_to_crm", map[string]any{"integrationId": "sf-main", "objects": []string{"account"}}},
		{"hook", "webhook", map[string]any{"url": "https://hooks.example.com/lead", "body": `{"task": "{{ steps.task.taskId }}", "copy": "{{ steps.copy.leadId }}", "stage": "{{ lead.stage.id }}"}`}},
		endNode("done"),
	}, []e{{"start", "task", ""}, {"task", "copy", ""}, {"copy", "move", ""}, {"move", "push", ""}, {"push", "hook", ""}, {"hook", "done", ""}}, nil)
	te := newEnv(t, t0)
	res := te.run(input(t, raw, enrol(nil)))
	if want := []string{"task", "copy", "move", "push", "hook"}; !equal(te.actionNodes(), want) {
		t.Fatalf("actions %v, want %v", te.actionNodes(), want)
	}
	acts := te.rec.Actions()
	ct := acts[0].Input.(activities.CreateTaskInput)
	if ct.Task.Title != "Call Ada about the 2025 Honda Civic Touring" || ct.Task.Connection != leadID || ct.Task.Contact != contactID {
		t.Errorf("task rendered as %+v", ct.Task)
	}
	if ct.Task.Start == nil || !ct.Task.Start.Equal(t0.Add(2*time.Hour)) {
		t.Errorf("task start %v, want enrolment + 2h", ct.Task.Start)
	}
	if ct.IdempotencyKey == "" {
		t.Error("no idempotency key")
	}
	hook := acts[4].Input.(activities.WebhookInput)
	if want := `{"task": "dry-run-task-1", "copy": "dry-run-lead-2", "stage": "` + stageWon + `"}`; hook.Body != want {
		t.Errorf("webhook body %s, want %s", hook.Body, want)
	}
	if res.Status != workflows.StatusCompleted || res.Reason != "done" {
		t.Errorf("result %+v", res)
	}
}

func TestOnError(t *testing.T) {
	build := func(mode string) []byte {
		ns := []n{trig(),
			{"hook", "webhook", map[string]any{"url": "https://hooks.example.com/x", "onError": mode}},
			{"after", "create_task", task("After: {{ has(steps.hook.error) ? steps.hook.error : 'ok' }}", nil)},
			endNode("done"),
		}
		es := []e{{"start", "hook", ""}, {"hook", "after", ""}, {"after", "done", ""}}
		if mode == "error" {
			ns = append(ns, n{"recover", "create_task", task("Webhook failed: {{ steps.hook.error }}", nil)}, endNode("recovered"))
			es = append(es, e{"hook", "recover", "error"}, e{"recover", "recovered", ""})
		}
		return doc(t, ns, es, nil)
	}
	t.Run("fail", func(t *testing.T) {
		te := newEnv(t, t0)
		te.rec.Fail["hook"] = "HTTP 404 not found"
		te.ExecuteWorkflow(workflows.AutomationRun, input(t, build("fail"), enrol(nil)))
		var app *temporal.ApplicationError
		if err := te.GetWorkflowError(); !errors.As(err, &app) || app.Type() != "NodeFailed" || !strings.Contains(app.Message(), "HTTP 404 not found") {
			t.Fatalf("error %v, want NodeFailed naming the cause", err)
		}
		if got := te.actionNodes(); !equal(got, []string{"hook"}) {
			t.Fatalf("actions %v after a failing node", got)
		}
	})
	t.Run("continue", func(t *testing.T) {
		te := newEnv(t, t0)
		te.rec.Fail["hook"] = "HTTP 404 not found"
		res := te.run(input(t, build("continue"), enrol(nil)))
		title := te.rec.Actions()[1].Input.(activities.CreateTaskInput).Task.Title
		if title != "After: node hook: HTTP 404 not found" {
			t.Fatalf("title %q", title)
		}
		if s, _ := stepOf(res, "hook"); s.Error == "" {
			t.Fatalf("step result %+v has no error", s)
		}
	})
	t.Run("error edge", func(t *testing.T) {
		te := newEnv(t, t0)
		te.rec.Fail["hook"] = "HTTP 404 not found"
		res := te.run(input(t, build("error"), enrol(nil)))
		if want := []string{"start", "hook", "recover", "recovered"}; !equal(res.Path, want) {
			t.Fatalf("path %v, want %v", res.Path, want)
		}
		if title := te.rec.Actions()[1].Input.(activities.CreateTaskInput).Task.Title; title != "Webhook failed: node hook: HTTP 404 not found" {
			t.Fatalf("title %q", title)
		}
	})
	t.Run("error edge unused on success", func(t *testing.T) {
		res := newEnv(t, t0).run(input(t, build("error"), enrol(nil)))
		if want := []string{"start", "hook", "after", "done"}; !equal(res.Path, want) {
			t.Fatalf("path %v, want %v", res.Path, want)
		}
	})
}

func delayDoc(t *testing.T, data map[string]any) []byte {
	return doc(t, []n{trig(), {"wait", "delay", data}, {"task", "create_task", task("Follow up", nil)}, endNode("done")},
		[]e{{"start", "wait", ""}, {"wait", "task", ""}, {"task", "done", ""}}, nil)
}

func TestThirtyDayDelayCompletesInstantly(t *testing.T) {
	began := time.Now()
	te := newEnv(t, t0)
	var firedAt time.Time
	te.SetOnActivityStartedListener(func(*activityInfo, context, converterValues) { firedAt = te.Now() })
	res := te.run(input(t, delayDoc(t, map[string]any{"duration": "30d"}), enrol(nil)))
	if !firedAt.Equal(t0.Add(30 * 24 * time.Hour)) {
		t.Fatalf("task ran at %v, want %v", firedAt, t0.Add(30*24*time.Hour))
	}
	if wall := time.Since(began); wall > 10*time.Second {
		t.Fatalf("took %v of wall time", wall)
	}
	if s, _ := stepOf(res, "wait"); !strings.Contains(s.Summary, "Delay 30d — resumes 2026-12-24 09:00 America/Toronto") {
		t.Fatalf("delay summary %q", s.Summary)
	}
}

// Time-of-day windows and business hours keep local wall time across the
// 2026 daylight-saving changes in Toronto (8 March, 1 November).
func TestDelayAcrossDST(t *testing.T) {
	tor, _ := time.LoadLocation("America/Toronto")
	local := func(y int, m time.Month, d, h, min int) time.Time { return time.Date(y, m, d, h, min, 0, 0, tor) }
	bh := map[string]any{"days": []string{"MON", "TUE", "WED", "THU", "FRI"}, "open": "09:00", "close": "17:00"}
	cases := []struct {
		name  string
		start time.Time
		data  map[string]any
		want  time.Time
	}{
		{"at 09:00 on spring-forward Sunday", local(2026, 3, 7, 10, 0), map[string]any{"at": "09:00"}, local(2026, 3, 8, 9, 0)},
		{"1d then 09:00 across spring forward", local(2026, 3, 7, 20, 0), map[string]any{"duration": "1d", "at": "09:00"}, local(2026, 3, 9, 9, 0)},
		{"business hours from Friday evening, spring", local(2026, 3, 6, 18, 0), map[string]any{"duration": "1m", "businessHours": bh}, local(2026, 3, 9, 9, 0)},
		{"at 09:00 on fall-back Sunday", local(2026, 10, 31, 10, 0), map[string]any{"at": "09:00"}, local(2026, 11, 1, 9, 0)},
		{"business hours from Friday evening, fall", local(2026, 10, 30, 18, 0), map[string]any{"duration": "1h", "businessHours": bh}, local(2026, 11, 2, 9, 0)},
		{"weekday 09:00 from Saturday, fall", local(2026, 10, 31, 12, 0), map[string]any{"at": "09:00", "days": []string{"MON"}}, local(2026, 11, 2, 9, 0)},
		{"inside business hours resumes at once", local(2026, 3, 9, 10, 0), map[string]any{"duration": "30m", "businessHours": bh}, local(2026, 3, 9, 10, 30)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			te := newEnv(t, tc.start)
			var ranAt time.Time
			te.SetOnActivityStartedListener(func(*activityInfo, context, converterValues) { ranAt = te.Now() })
			te.run(input(t, delayDoc(t, tc.data), event0(tc.start)))
			if !ranAt.Equal(tc.want) {
				t.Fatalf("resumed at %v, want %v", ranAt.In(tor), tc.want)
			}
			if ranAt.In(tor).Hour() != tc.want.Hour() {
				t.Fatalf("local hour %d", ranAt.In(tor).Hour())
			}
		})
	}
}

func waitDoc(t *testing.T) []byte {
	return doc(t, []n{trig(),
		{"wait", "wait_for_event", map[string]any{"event": "LEAD_STAGE_CHANGED", "condition": "lead.stage.id == '" + stageWon + "'", "timeout": "3d"}},
		{"won", "create_task", task("Congratulate", nil)}, endNode("done"), endNode("gave-up"),
	}, []e{{"start", "wait", ""}, {"wait", "won", "event"}, {"wait", "gave-up", "timeout"}, {"won", "done", ""}}, nil)
}

func TestWaitForEvent(t *testing.T) {
	won := map[string]any{"stage": map[string]any{"id": stageWon}}
	t.Run("resolved by the matching event, ignoring others", func(t *testing.T) {
		te := newEnv(t, t0)
		te.signalAt(time.Hour, later("e2", "LEAD_UPDATED", won))         // wrong type
		te.signalAt(2*time.Hour, later("e3", "LEAD_STAGE_CHANGED", nil)) // condition false
		te.signalAt(3*time.Hour, later("e4", "LEAD_STAGE_CHANGED", won))
		var ranAt time.Time
		te.SetOnActivityStartedListener(func(*activityInfo, context, converterValues) { ranAt = te.Now() })
		res := te.run(input(t, waitDoc(t), enrol(nil)))
		if want := []string{"start", "wait", "won", "done"}; !equal(res.Path, want) {
			t.Fatalf("path %v, want %v", res.Path, want)
		}
		if !ranAt.Equal(t0.Add(3 * time.Hour)) {
			t.Fatalf("resumed at %v, want at the third event", ranAt)
		}
	})
	t.Run("times out", func(t *testing.T) {
		te := newEnv(t, t0)
		te.signalAt(time.Hour, later("e3", "LEAD_STAGE_CHANGED", nil))
		res := te.run(input(t, waitDoc(t), enrol(nil)))
		if want := []string{"start", "wait", "gave-up"}; !equal(res.Path, want) {
			t.Fatalf("path %v, want %v", res.Path, want)
		}
		if !te.Now().Equal(t0.Add(72 * time.Hour)) {
			t.Fatalf("ended at %v, want after the 3d timeout", te.Now())
		}
	})
}

func TestDuplicateSignalsIgnored(t *testing.T) {
	raw := doc(t, []n{trig(),
		{"w1", "wait_for_event", map[string]any{"event": "LEAD_UPDATED", "timeout": "1d"}},
		{"w2", "wait_for_event", map[string]any{"event": "LEAD_UPDATED", "timeout": "1d"}},
		endNode("both"), endNode("t1"), endNode("t2"),
	}, []e{{"start", "w1", ""}, {"w1", "w2", "event"}, {"w1", "t1", "timeout"}, {"w2", "both", "event"}, {"w2", "t2", "timeout"}}, nil)
	te := newEnv(t, t0)
	te.signalAt(time.Hour, later("dup", "LEAD_UPDATED", nil))
	te.signalAt(2*time.Hour, later("dup", "LEAD_UPDATED", nil))
	te.signalAt(3*time.Hour, later("evt-1", "LEAD_UPDATED", nil)) // the enrolling event's id
	res := te.run(input(t, raw, enrol(nil)))
	if want := []string{"start", "w1", "w2", "t2"}; !equal(res.Path, want) {
		t.Fatalf("path %v, want %v (the repeated event must not resolve the second wait)", res.Path, want)
	}
}

func TestGoalReachedDuringDelay(t *testing.T) {
	raw := doc(t, []n{trig(), {"pause", "delay", map[string]any{"duration": "2d"}}, {"task", "create_task", task("Nudge", nil)}, endNode("done")},
		[]e{{"start", "pause", ""}, {"pause", "task", ""}, {"task", "done", ""}},
		map[string]any{"goal": map[string]any{"expression": "lead.status == 'WON'"}})
	te := newEnv(t, t0)
	te.signalAt(time.Hour, later("e2", "LEAD_UPDATED", map[string]any{"status": "OPEN"}))
	te.signalAt(5*time.Hour, later("e3", "LEAD_UPDATED", map[string]any{"status": "WON"}))
	res := te.run(input(t, raw, enrol(nil)))
	if res.Status != workflows.StatusGoalReached || res.Reason != "goal reached" {
		t.Fatalf("result %+v, want goal_reached", res)
	}
	if !equal(res.StoppedAt, []string{"pause"}) || len(te.rec.Actions()) != 0 {
		t.Fatalf("stopped at %v with actions %v", res.StoppedAt, te.actionNodes())
	}
	if !te.Now().Equal(t0.Add(5 * time.Hour)) {
		t.Fatalf("ended at %v, want when the goal was met", te.Now())
	}
}

func TestParallelBranches(t *testing.T) {
	raw := doc(t, []n{trig(),
		{"slow", "delay", map[string]any{"duration": "1h"}},
		{"a", "create_task", task("A", nil)},
		{"b", "create_task", task("B", nil)},
		{"c", "webhook", map[string]any{"url": "https://hooks.example.com/c"}},
		endNode("end-a"), endNode("end-b"),
	}, []e{{"start", "slow", ""}, {"start", "b", ""}, {"slow", "a", ""}, {"a", "end-a", ""}, {"b", "c", ""}, {"b", "end-b", ""}, {"c", "end-b", ""}}, nil)
	te := newEnv(t, t0)
	res := te.run(input(t, raw, enrol(nil)))
	if want := []string{"b", "c", "a"}; !equal(te.actionNodes(), want) {
		t.Fatalf("actions %v, want %v", te.actionNodes(), want)
	}
	if len(res.Path) != 8 || res.Status != workflows.StatusCompleted || !strings.Contains(res.Reason, "end-a") || !strings.Contains(res.Reason, "end-b") {
		t.Fatalf("result %+v", res)
	}
}

func cancelledResult(t *testing.T, te *testEnv) workflows.Result {
	t.Helper()
	err := te.GetWorkflowError()
	var ce *temporal.CanceledError
	if !errors.As(err, &ce) {
		t.Fatalf("error %v, want cancelled", err)
	}
	var res workflows.Result
	if err := ce.Details(&res); err != nil {
		t.Fatalf("cancellation details: %v", err)
	}
	return res
}

func TestCancelDuringTimer(t *testing.T) {
	te := newEnv(t, t0)
	te.RegisterDelayedCallback(te.CancelWorkflow, time.Hour)
	te.ExecuteWorkflow(workflows.AutomationRun, input(t, delayDoc(t, map[string]any{"duration": "2d"}), enrol(nil)))
	res := cancelledResult(t, te)
	if res.Status != workflows.StatusCancelled || !equal(res.StoppedAt, []string{"wait"}) || res.Reason != "cancelled at wait" {
		t.Fatalf("result %+v", res)
	}
	if len(te.rec.Actions()) != 0 {
		t.Fatal("an action ran after cancellation")
	}
}

func TestCancelDuringActivity(t *testing.T) {
	te := newEnv(t, t0)
	te.OnActivity("CreateTask", mock.Anything, mock.Anything).After(time.Hour).Return(activities.CreateTaskOutput{TaskID: "t"}, nil)
	cancelled := false
	te.SetOnActivityCanceledListener(func(*activityInfo) { cancelled = true })
	te.RegisterDelayedCallback(te.CancelWorkflow, time.Minute)
	raw := doc(t, []n{trig(), {"task", "create_task", task("Call", nil)}, endNode("done")}, []e{{"start", "task", ""}, {"task", "done", ""}}, nil)
	te.ExecuteWorkflow(workflows.AutomationRun, input(t, raw, enrol(nil)))
	res := cancelledResult(t, te)
	if !equal(res.StoppedAt, []string{"task"}) {
		t.Fatalf("result %+v, want stopped at task", res)
	}
	if s, _ := stepOf(res, "task"); s.Error != "cancelled" {
		t.Fatalf("task step %+v", s)
	}
	if !cancelled {
		t.Fatal("the activity was not cancelled")
	}
}

func TestStateQuery(t *testing.T) {
	te := newEnv(t, t0)
	var st workflows.State
	te.RegisterDelayedCallback(func() {
		v, err := te.QueryWorkflow(workflows.QueryState)
		if err != nil {
			t.Errorf("query: %v", err)
			return
		}
		_ = v.Get(&st)
	}, time.Hour)
	te.run(input(t, delayDoc(t, map[string]any{"duration": "2d"}), enrol(nil)))
	if !equal(st.CurrentNodes, []string{"wait"}) || !equal(st.Path, []string{"start", "wait"}) || len(st.Timers) != 1 {
		t.Fatalf("state %+v", st)
	}
	if tm := st.Timers[0]; tm.NodeID != "wait" || !tm.FiresAt.Equal(t0.Add(48*time.Hour)) || !strings.Contains(tm.Summary, "Delay 2d") {
		t.Fatalf("timer %+v", tm)
	}
}

// continueAsNew runs a generation that must continue as new and returns
// the next generation's input and the time it stopped.
func continueAsNew(t *testing.T, te *testEnv, in workflows.Input) workflows.Input {
	t.Helper()
	te.ExecuteWorkflow(workflows.AutomationRun, in)
	var can *workflow.ContinueAsNewError
	if err := te.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("error %v, want continue-as-new", err)
	}
	var next workflows.Input
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	if next.Carried == nil {
		t.Fatal("nothing carried")
	}
	return next
}

func canDoc(t *testing.T) []byte {
	return doc(t, []n{trig(),
		{"first", "create_task", task("First", nil)},
		{"pause", "delay", map[string]any{"duration": "1d"}},
		{"wait", "wait_for_event", map[string]any{"event": "LEAD_UPDATED", "condition": "lead.priority > 2", "timeout": "3d"}},
		{"second", "create_task", task("After {{ steps.first.taskId }} for {{ lead.subject }} (p{{ lead.priority }})", nil)},
		endNode("done"), endNode("gave-up"),
	}, []e{{"start", "first", ""}, {"first", "pause", ""}, {"pause", "wait", ""}, {"wait", "second", "event"}, {"wait", "gave-up", "timeout"}, {"second", "done", ""}}, nil)
}

func TestContinueAsNewPreservesState(t *testing.T) {
	raw := canDoc(t)
	// Generation 1 is over budget and continues as new as soon as it parks
	// in the delay.
	g1 := newEnv(t, t0)
	g1.SetContinueAsNewSuggested(true)
	next := continueAsNew(t, g1, input(t, raw, enrol(nil)))
	c := next.Carried
	if len(c.Parked) != 1 || c.Parked[0].NodeID != "pause" || !c.Parked[0].Until.Equal(t0.Add(24*time.Hour)) {
		t.Fatalf("parked %+v", c.Parked)
	}
	if !equal(c.Path, []string{"start", "first", "pause"}) || c.Steps["first"] == nil || next.Event.ID != "evt-1" {
		t.Fatalf("carried %+v", c)
	}
	// Generation 2 starts after the delay's deadline, so the delay ends at
	// once; it parks in the wait and continues as new again, with events
	// that arrived during the switch.
	g2 := newEnv(t, t0.Add(25*time.Hour))
	g2.SetContinueAsNewSuggested(true)
	next = continueAsNew(t, g2, next)
	c = next.Carried
	if len(c.Parked) != 1 || c.Parked[0].NodeID != "wait" || c.Parked[0].Kind != "wait" || !c.Parked[0].Until.Equal(t0.Add(97*time.Hour)) {
		t.Fatalf("parked %+v", c.Parked)
	}
	if len(g2.rec.Actions()) != 0 {
		t.Fatal("generation 2 repeated an action")
	}
	c.Pending = []event.Lead{later("evt-1", "LEAD_UPDATED", map[string]any{"priority": 9}), later("e5", "LEAD_UPDATED", map[string]any{"priority": 7, "subject": "2026 Civic"})}
	next.HistoryBudget = 0
	g3 := newEnv(t, t0.Add(30*time.Hour))
	res := g3.run(next)
	if want := []string{"start", "first", "pause", "wait", "second", "done"}; !equal(res.Path, want) {
		t.Fatalf("path %v, want %v", res.Path, want)
	}
	title := g3.rec.Actions()[0].Input.(activities.CreateTaskInput).Task.Title
	if title != "After dry-run-task-1 for 2026 Civic (p7)" {
		t.Fatalf("title %q: state lost across continue-as-new", title)
	}
	if len(res.Steps) != 6 {
		t.Fatalf("steps %+v", res.Steps)
	}
}

func TestContinueAsNewWaitTimesOutAtOriginalDeadline(t *testing.T) {
	g1 := newEnv(t, t0)
	g1.SetContinueAsNewSuggested(true)
	in := input(t, canDoc(t), enrol(nil))
	next := continueAsNew(t, g1, in)
	g2 := newEnv(t, t0.Add(25*time.Hour))
	g2.SetContinueAsNewSuggested(true)
	next = continueAsNew(t, g2, next)
	next.HistoryBudget = 0
	g3 := newEnv(t, t0.Add(50*time.Hour))
	res := g3.run(next)
	if want := []string{"start", "first", "pause", "wait", "gave-up"}; !equal(res.Path, want) {
		t.Fatalf("path %v, want %v", res.Path, want)
	}
	if want := t0.Add(97 * time.Hour); !g3.Now().Equal(want) {
		t.Fatalf("timed out at %v, want the original deadline %v", g3.Now(), want)
	}
}

func TestHistoryBudgetNotReachedRunsThrough(t *testing.T) {
	te := newEnv(t, t0)
	te.SetCurrentHistoryLength(100)
	in := input(t, canDoc(t), enrol(nil))
	res := te.run(in)
	if res.Status != workflows.StatusCompleted {
		t.Fatalf("result %+v", res)
	}
}

func TestContinueAsNewDelayKeepsItsDeadline(t *testing.T) {
	g1 := newEnv(t, t0)
	g1.SetContinueAsNewSuggested(true)
	next := continueAsNew(t, g1, input(t, canDoc(t), enrol(nil)))
	next.HistoryBudget = 0
	// The continuation starts an hour later; the 1d delay still ends 24h
	// after it began, not 24h after the continuation started.
	g2 := newEnv(t, t0.Add(time.Hour))
	res := g2.run(next)
	if want := []string{"start", "first", "pause", "wait", "gave-up"}; !equal(res.Path, want) {
		t.Fatalf("path %v, want %v", res.Path, want)
	}
	if want := t0.Add(24*time.Hour + 72*time.Hour); !g2.Now().Equal(want) {
		t.Fatalf("ended at %v, want %v (delay resumed at its original deadline, then the 3d wait)", g2.Now(), want)
	}
	if s, _ := stepOf(res, "pause"); !strings.Contains(s.Summary, "resumes 2026-11-25 09:00") {
		t.Fatalf("delay summary %q", s.Summary)
	}
	if len(g2.rec.Actions()) != 0 {
		t.Fatal("the continuation repeated the first action")
	}
}

// A split sends each lead down the branch its hash picks (automation id,
// node id, lead id), inside the workflow: no activity, the branch recorded
// in the path, the step's handle and steps.<split>.branch, the same branch
// on every run for the same lead, and both branches taken across leads.
func TestSplitBranches(t *testing.T) {
	raw := doc(t, []n{trig(),
		{"ab", "split", map[string]any{"label": "Call or SMS", "branches": []any{
			map[string]any{"handle": "call", "weight": 50}, map[string]any{"handle": "sms", "weight": 50}}}},
		{"call-task", "create_task", task("Call via {{ steps.ab.branch }}", nil)},
		{"sms-task", "create_task", task("Text via {{ steps.ab.branch }}", map[string]any{"type": "SMS"})},
		endNode("done"),
	}, []e{{"start", "ab", ""}, {"ab", "call-task", "call"}, {"ab", "sms-task", "sms"}, {"call-task", "done", ""}, {"sms-task", "done", ""}}, nil)
	const automationID = "0193a4c2-7a10-7c5e-9d1a-00000000test" // doc's id
	taken := map[string]int{}
	for i := 0; i < 12; i++ {
		id := fmt.Sprintf("0193a4c2-0000-7000-8000-%012d", i)
		want := "sms"
		if nodes.Bucket(automationID, "ab", id, 100) < 50 {
			want = "call"
		}
		for run := 0; run < 2; run++ {
			te := newEnv(t, t0)
			res := te.run(input(t, raw, enrol(map[string]any{"id": id})))
			wantPath := []string{"start", "ab", want + "-task", "done"}
			if !equal(res.Path, wantPath) {
				t.Fatalf("lead %s run %d: path %v, want %v", id, run, res.Path, wantPath)
			}
			st, _ := stepOf(res, "ab")
			if st.Handle != want || !strings.HasPrefix(st.Summary, "branch "+want+" (bucket ") {
				t.Errorf("lead %s: split step %+v", id, st)
			}
			acts := te.rec.Actions()
			if len(acts) != 1 || acts[0].Input.(activities.CreateTaskInput).Task.Title != map[string]string{"call": "Call via call", "sms": "Text via sms"}[want] {
				t.Fatalf("lead %s: actions %+v", id, acts)
			}
		}
		taken[want]++
	}
	if taken["call"] == 0 || taken["sms"] == 0 {
		t.Fatalf("12 leads took %v; want both branches", taken)
	}
}

// The holiday calendar in the run's input moves a business-hours delay past
// the holiday: enrolled on the Friday before Toronto's spring-forward
// weekend, with the Monday a holiday, the run resumes Tuesday 09:00 EDT
// (Monday 09:00 EDT without the calendar).
func TestBusinessHoursDelaySkipsInputHolidays(t *testing.T) {
	raw := doc(t, []n{trig(),
		{"open", "delay", map[string]any{"label": "Wait for opening hours", "businessHours": map[string]any{"days": []string{"MON", "TUE", "WED", "THU", "FRI"}, "open": "09:00", "close": "17:00"}}},
		endNode("done"),
	}, []e{{"start", "open", ""}, {"open", "done", ""}}, nil)
	friday := time.Date(2026, 3, 6, 23, 30, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		cal  *holidays.Calendar
		want string
	}{
		{"monday holiday", &holidays.Calendar{Timezone: "America/Toronto", Holidays: []holidays.Holiday{{Date: "2026-03-09", Name: "Dealer closed"}}}, "2026-03-10T13:00:00Z"},
		{"no calendar", nil, "2026-03-09T13:00:00Z"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := input(t, raw, event0(friday))
			in.Holidays = tc.cal
			res := newEnv(t, friday).run(in)
			st, _ := stepOf(res, "open")
			if !strings.Contains(st.Summary, "resumes "+map[string]string{"2026-03-10T13:00:00Z": "2026-03-10 09:00", "2026-03-09T13:00:00Z": "2026-03-09 09:00"}[tc.want]) {
				t.Fatalf("delay step %+v, want it to resume at %s", st, tc.want)
			}
			if got := res.Steps[len(res.Steps)-1].At.UTC().Format(time.RFC3339); got != tc.want {
				t.Fatalf("run ended at %s, want %s", got, tc.want)
			}
		})
	}
}
