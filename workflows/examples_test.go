package workflows_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/conecrm/automation-runtime/internal/devkit/baseline"
	"github.com/conecrm/automation-runtime/internal/devkit/devserver"
	"github.com/conecrm/automation-runtime/internal/devkit/stack"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/conecrm/automation-runtime/internal/devkit/sandbox"
	"github.com/conecrm/automation-runtime/internal/event"
	"github.com/conecrm/automation-runtime/workflows"
)

// example is a run of an automation: the document, the enrolling event,
// what happens next, and the hand-written workflow doing the same.
type example struct {
	name    string
	file    string // under automations/, or empty with doc
	doc     func(t *testing.T) []byte
	ev      event.Lead
	signals []event.Lead
	cancel  bool
	fail    map[string]string
	budget  int
	// handwritten is the equivalent hand-written workflow, if any.
	handwritten any
	// check verifies the interpreter's outcome.
	check func(t *testing.T, o outcome)
}

func sbLead(extra map[string]any) map[string]any {
	l := map[string]any{
		"id": sandbox.LeadAlice, "subject": "2025 Honda Civic Touring", "category": "CAR", "priority": 2, "makeStr": "Honda",
		"formName":  "Website test-drive form",
		"source":    map[string]any{"name": "Website"},
		"franchise": map[string]any{"id": sandbox.FranchiseMontreal},
		"contact":   map[string]any{"id": sandbox.ContactAlice},
		"account":   map[string]any{"id": sandbox.AccountAlice},
		"stage":     map[string]any{"id": sandbox.StageNew},
	}
	for k, v := range extra {
		l[k] = v
	}
	return l
}

func sbEvent(id, typ string, extra map[string]any) event.Lead {
	return event.Lead{ID: id, Type: typ, OccurredAt: time.Now().UTC().Truncate(time.Second), Lead: sbLead(extra)}
}

func stage(id string) map[string]any { return map[string]any{"stage": map[string]any{"id": id}} }

func wantPath(want ...string) func(t *testing.T, o outcome) {
	return func(t *testing.T, o outcome) {
		t.Helper()
		if o.err != nil {
			t.Fatalf("run failed: %v", o.err)
		}
		if !equal(o.result.Path, want) {
			t.Fatalf("path %v, want %v", o.result.Path, want)
		}
	}
}

// wantCancelled checks that the run was cancelled and that the
// cancellation's details say where it stopped.
func wantCancelled(t *testing.T, o outcome) {
	t.Helper()
	var ce *temporal.CanceledError
	if !errors.As(o.err, &ce) {
		t.Fatalf("error %v, want cancelled", o.err)
	}
	var res workflows.Result
	if err := ce.Details(&res); err != nil || res.Status != workflows.StatusCancelled || len(res.StoppedAt) == 0 {
		t.Fatalf("cancellation details %+v (%v), want where the run stopped", res, err)
	}
}

// examples covers every automation in automations/ (a run for each file
// there, whatever its name) and test-local documents for waits that fire,
// continue-as-new and a failing run.
func examples(t *testing.T) []example {
	known := []example{
		{name: "new-lead-call-task", file: "new-lead-call-task.json", ev: sbEvent("evt-1", "LEAD_CREATED", nil),
			check: wantPath("start", "is-car", "call", "done")},
		{name: "brand-specialist-routing", file: "brand-specialist-routing.json", ev: sbEvent("evt-1", "LEAD_CREATED", nil),
			check: wantPath("start", "route-make", "honda-specialist", "routed")},
		{name: "brand-specialist-routing-default", file: "brand-specialist-routing.json", ev: sbEvent("evt-1", "LEAD_CREATED", map[string]any{"makeStr": "Ford"}),
			handwritten: baseline.HandwrittenBrandSpecialistRouting, check: wantPath("start", "route-make", "bdc-triage", "routed")},
		{name: "lost-lead-reengagement", file: "lost-lead-reengagement.json", ev: sbEvent("evt-1", "LEAD_CLOSED", stage(sandbox.StageLost)), cancel: true,
			check: wantCancelled},
		{name: "qualified-lead-hubspot", file: "qualified-lead-hubspot.json", ev: sbEvent("evt-1", "LEAD_UPDATED", map[string]any{"priority": 3}),
			fail: map[string]string{"push-hubspot": "HTTP 502 from HubSpot"}, check: wantPath("start", "push-hubspot", "notify-marketing", "done")},
		{name: "stale-lead-follow-up", file: "stale-lead-follow-up.json", ev: sbEvent("evt-1", "LEAD_STAGE_CHANGED", stage(sandbox.StageContacted)),
			signals: []event.Lead{sbEvent("evt-1", "LEAD_UPDATED", nil), sbEvent("evt-2", "LEAD_UPDATED", stage(sandbox.StageContacted))},
			check:   wantPath("start", "wait-activity", "active")},
		{name: "stale-lead-follow-up-goal", file: "stale-lead-follow-up.json", ev: sbEvent("evt-1", "LEAD_STAGE_CHANGED", stage(sandbox.StageContacted)),
			signals: []event.Lead{sbEvent("evt-2", "LEAD_STAGE_CHANGED", stage(sandbox.StageSold))}, handwritten: baseline.HandwrittenStaleLeadFollowUp,
			check: func(t *testing.T, o outcome) {
				if o.err != nil || o.result.Status != workflows.StatusGoalReached {
					t.Fatalf("result %+v, error %v; want goal reached", o.result, o.err)
				}
			}},
		{name: "test-drive-to-salesforce", file: "test-drive-to-salesforce.json", ev: sbEvent("evt-1", "LEAD_STAGE_CHANGED", stage(sandbox.StageTestDrive)),
			fail:  map[string]string{"push-salesforce": "REQUEST_LIMIT_EXCEEDED"},
			check: wantPath("start", "to-negotiation", "push-salesforce", "sync-failed", "failed")},
		{name: "web-lead-call-escalate", file: "web-lead-call-escalate.json", ev: sbEvent("evt-1", "LEAD_CREATED", nil), cancel: true, check: wantCancelled},
		{name: "test-drive-rebooked", file: "test-drive-rebooked.json", ev: sbEvent("evt-1", "LEAD_STAGE_CHANGED", stage(sandbox.StageTestDrive)),
			signals: []event.Lead{sbEvent("evt-2", "LEAD_UPDATED", map[string]any{"stage": map[string]any{"id": sandbox.StageTestDrive}, "testDriveDate": "2026-12-05T15:00:00Z"})},
			check:   wantPath("start", "prepare", "wait-rebooked", "move-meeting", "rebooked")},
		// The split's hash sends Alice down the text branch (Alice's
		// trade-in takes the call branch: TestSplitOnTheDevServer).
		{name: "assigned-lead-first-contact-ab", file: "assigned-lead-first-contact-ab.json", ev: sbEvent("evt-1", "LEAD_ASSIGNED", nil),
			check: wantPath("start", "first-contact", "text-first", "contacted")},
	}
	local := []example{
		{name: "local-short-waits", doc: func(t *testing.T) []byte {
			return doc(t, []n{trig(),
				{"pause", "delay", map[string]any{"duration": "1s"}},
				{"wait", "wait_for_event", map[string]any{"event": "LEAD_UPDATED", "timeout": "1s"}},
				{"late", "create_task", task("No update for {{ lead.subject }}", nil)},
				{"hook", "webhook", map[string]any{"url": "https://hooks.example.com/x", "onError": "continue"}},
				endNode("a"), endNode("b"), endNode("c"),
			}, []e{{"start", "pause", ""}, {"start", "hook", ""}, {"pause", "wait", ""}, {"wait", "a", "event"}, {"wait", "late", "timeout"}, {"late", "b", ""}, {"hook", "c", ""}}, nil)
		}, ev: sbEvent("evt-1", "LEAD_CREATED", nil), fail: map[string]string{"hook": "HTTP 500"},
			check: func(t *testing.T, o outcome) {
				if o.err != nil || len(o.result.Path) != 7 || len(o.result.Steps) != 7 {
					t.Fatalf("result %+v, error %v", o.result, o.err)
				}
			}},
		{name: "local-wait-signalled", doc: func(t *testing.T) []byte {
			return doc(t, []n{trig(),
				{"wait", "wait_for_event", map[string]any{"event": "LEAD_UPDATED", "condition": "lead.priority > 2", "timeout": "1h"}},
				{"hot", "create_task", task("Hot: {{ lead.subject }} is priority {{ lead.priority }}", nil)},
				endNode("done"), endNode("timeout"),
			}, []e{{"start", "wait", ""}, {"wait", "hot", "event"}, {"wait", "timeout", "timeout"}, {"hot", "done", ""}}, nil)
		}, ev: sbEvent("evt-1", "LEAD_CREATED", nil),
			signals: []event.Lead{sbEvent("evt-2", "LEAD_UPDATED", map[string]any{"priority": 1}), sbEvent("evt-2", "LEAD_UPDATED", map[string]any{"priority": 5}), sbEvent("evt-3", "LEAD_UPDATED", map[string]any{"priority": 5})},
			check:   wantPath("start", "wait", "hot", "done")},
		{name: "local-continue-as-new", budget: 10, doc: func(t *testing.T) []byte { return canDocShort(t) }, ev: sbEvent("evt-1", "LEAD_CREATED", nil),
			check: func(t *testing.T, o outcome) {
				wantPath("start", "first", "pause", "wait", "gave-up")(t, o)
				if len(o.histories) < 2 {
					t.Fatalf("%d runs, want a continue-as-new", len(o.histories))
				}
			}},
		// The lead left New while the run was in the delay: the wait's
		// condition already holds when it begins, so it leaves by its event
		// exit at once (recorded before that rule: ...before-v1.json).
		{name: "local-wait-already-satisfied", doc: waitSatisfiedDoc, ev: sbEvent("evt-1", "LEAD_CREATED", nil),
			signals: []event.Lead{sbEvent("evt-2", "LEAD_STAGE_CHANGED", stage(sandbox.StageContacted))},
			check:   wantPath("start", "pause", "wait", "contacted")},
		// The one event of the workflow task that goes over the history
		// budget is carried to the continuation, which applies it.
		{name: "local-signal-at-continue-as-new", budget: 10, doc: func(t *testing.T) []byte { return hotWaitDoc(t) }, ev: sbEvent("evt-1", "LEAD_CREATED", nil),
			signals: []event.Lead{sbEvent("evt-2", "LEAD_UPDATED", map[string]any{"priority": 5})},
			check: func(t *testing.T, o outcome) {
				wantPath("start", "wait", "hot", "done")(t, o)
				if len(o.histories) < 2 || !equal(o.result.Applied, []string{"evt-1", "evt-2"}) {
					t.Fatalf("%d runs, applied %v; want a continue-as-new that carried evt-2", len(o.histories), o.result.Applied)
				}
			}},
		{name: "local-failed-run", doc: func(t *testing.T) []byte {
			return doc(t, []n{trig(), {"call", "create_task", task("Call", nil)}, endNode("done")}, []e{{"start", "call", ""}, {"call", "done", ""}}, nil)
		}, ev: sbEvent("evt-1", "LEAD_CREATED", nil), fail: map[string]string{"call": "HTTP 422 assignee unknown"},
			check: func(t *testing.T, o outcome) {
				if o.err == nil || !strings.Contains(o.err.Error(), "HTTP 422 assignee unknown") {
					t.Fatalf("error %v, want the node's failure", o.err)
				}
			}},
	}
	// Every document in automations/ gets a run, even one written after
	// this list (enrolled by its trigger, then cancelled if it parks).
	files, _ := filepath.Glob("../automations/*.json")
	have := map[string]bool{}
	for _, x := range known {
		have[x.file] = true
	}
	for _, f := range files {
		base := filepath.Base(f)
		if have[base] {
			continue
		}
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var trigger struct {
			AutomationTrigger string `json:"automationTrigger"`
		}
		_ = jsonUnmarshal(raw, &trigger)
		known = append(known, example{name: strings.TrimSuffix(base, ".json"), file: base, ev: sbEvent("evt-1", trigger.AutomationTrigger, nil), cancel: true,
			check: func(*testing.T, outcome) {}})
	}
	for i := range known {
		x := &known[i]
		if x.handwritten == nil {
			x.handwritten = baseline.HandwrittenWorkflows[x.name]
		}
	}
	return append(known, local...)
}

func waitSatisfiedDoc(t *testing.T) []byte {
	return doc(t, []n{trig(),
		{"pause", "delay", map[string]any{"duration": "3s"}},
		{"wait", "wait_for_event", map[string]any{"event": "LEAD_STAGE_CHANGED", "condition": "lead.stage.id != '" + sandbox.StageNew + "'", "timeout": "5s"}},
		{"escalate", "create_task", task("Escalate {{ lead.subject }}", nil)},
		endNode("contacted"), endNode("escalated"),
	}, []e{{"start", "pause", ""}, {"pause", "wait", ""}, {"wait", "contacted", "event"}, {"wait", "escalate", "timeout"}, {"escalate", "escalated", ""}}, nil)
}

func canDocShort(t *testing.T) []byte {
	return doc(t, []n{trig(),
		{"first", "create_task", task("First", nil)},
		{"pause", "delay", map[string]any{"duration": "1s"}},
		{"wait", "wait_for_event", map[string]any{"event": "LEAD_UPDATED", "timeout": "2s"}},
		{"second", "create_task", task("After {{ steps.first.taskId }}", nil)},
		endNode("done"), endNode("gave-up"),
	}, []e{{"start", "first", ""}, {"first", "pause", ""}, {"pause", "wait", ""}, {"wait", "second", "event"}, {"wait", "gave-up", "timeout"}, {"second", "done", ""}}, nil)
}

func (x example) document(t *testing.T) []byte {
	if x.doc != nil {
		return x.doc(t)
	}
	raw, err := os.ReadFile(filepath.Join("..", "automations", x.file))
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func (x example) scenario(t *testing.T) scenario {
	in := input(t, x.document(t), x.ev)
	in.HistoryBudget = x.budget
	return scenario{name: x.name, workflow: workflows.WorkflowName, input: in, fail: x.fail, signals: x.signals, cancel: x.cancel}
}

// TestExampleHistories runs every example on the dev server, checks how it
// ended, compares its history size with the hand-written workflow's, and
// with RECORD_HISTORIES=1 (make record-histories) saves the histories the
// replay test reads.
func TestExampleHistories(t *testing.T) {
	c := stack.Client(t)
	record := os.Getenv("RECORD_HISTORIES") == "1"
	if record {
		if err := os.MkdirAll(historiesDir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	var rows []string
	for _, x := range examples(t) {
		t.Run(x.name, func(t *testing.T) {
			o := runScenario(t, c, x.scenario(t))
			x.check(t, o)
			if record {
				saveHistories(t, x.name, o.histories)
			}
			hw := "-"
			if x.handwritten != nil {
				sc := x.scenario(t)
				sc.name, sc.workflow, sc.input = x.name+"-hw", x.handwritten, x.ev
				ho := runScenario(t, c, sc)
				hw = fmt.Sprint(ho.events())
				if o.events() > ho.events() {
					t.Errorf("interpreter %d events, hand-written %d", o.events(), ho.events())
				}
			}
			rows = append(rows, fmt.Sprintf("| %-34s | %11d | %12s |", x.name, o.events(), hw))
		})
	}
	t.Logf("history events per run\n| %-34s | interpreter | hand-written |\n|%s|-------------|--------------|\n%s", "example run", strings.Repeat("-", 36), strings.Join(rows, "\n"))
}

// TestNodeTypeEventCounts prints the history events each node type adds to
// a trigger → node → end run, for the interpreter and for a hand-written
// workflow; conditions, switches and splits must add none.
func TestNodeTypeEventCounts(t *testing.T) {
	c := stack.Client(t)
	nodes := []struct {
		typ  string
		data map[string]any
	}{
		{"end", nil},
		{"condition", map[string]any{"expression": "lead.category == 'CAR'"}},
		{"switch", map[string]any{"cases": []any{map[string]any{"handle": "car", "expression": "lead.category == 'CAR'"}}}},
		{"split", map[string]any{"branches": []any{map[string]any{"handle": "a", "weight": 1}, map[string]any{"handle": "b", "weight": 1}}}},
		{"delay", map[string]any{"duration": "1s"}},
		{"wait_for_event", map[string]any{"event": "LEAD_UPDATED", "timeout": "1s"}},
		{"create_task", task("Call", nil)},
		{"copy_lead", map[string]any{"subject": "Copy"}},
		{"move_stage", map[string]any{"stageId": sandbox.StageNegotiation}},
		{"push_to_crm", map[string]any{"integrationId": "x"}},
		{"webhook", map[string]any{"url": "https://hooks.example.com/x"}},
	}
	ev := sbEvent("evt-1", "LEAD_CREATED", nil)
	type counts struct{ interp, hand int }
	got := map[string]counts{}
	for _, nd := range nodes {
		t.Run(nd.typ, func(t *testing.T) {
			ns, es := []n{trig(), endNode("done")}, []e{}
			switch nd.typ {
			case "end":
				es = append(es, e{"start", "done", ""})
			case "condition":
				ns = append(ns, n{"node", nd.typ, nd.data}, endNode("no"))
				es = append(es, e{"start", "node", ""}, e{"node", "done", "true"}, e{"node", "no", "false"})
			case "switch":
				ns = append(ns, n{"node", nd.typ, nd.data}, endNode("other"))
				es = append(es, e{"start", "node", ""}, e{"node", "done", "car"}, e{"node", "other", "default"})
			case "split":
				ns = append(ns, n{"node", nd.typ, nd.data}, endNode("other"))
				es = append(es, e{"start", "node", ""}, e{"node", "done", "a"}, e{"node", "other", "b"})
			case "wait_for_event":
				ns = append(ns, n{"node", nd.typ, nd.data})
				es = append(es, e{"start", "node", ""}, e{"node", "done", "event"}, e{"node", "done", "timeout"})
			default:
				ns = append(ns, n{"node", nd.typ, nd.data})
				es = append(es, e{"start", "node", ""}, e{"node", "done", ""})
			}
			o := runScenario(t, c, scenario{name: "node-" + nd.typ, workflow: workflows.WorkflowName, input: input(t, doc(t, ns, es, nil), ev)})
			if o.err != nil {
				t.Fatal(o.err)
			}
			h := runScenario(t, c, scenario{name: "node-" + nd.typ + "-hw", workflow: baseline.HandwrittenNode, input: baseline.NodeBenchInput{Type: nd.typ, Event: ev, Delay: time.Second}})
			if h.err != nil {
				t.Fatal(h.err)
			}
			got[nd.typ] = counts{o.events(), h.events()}
		})
	}
	base := got["end"]
	var rows []string
	types := make([]string, 0, len(got))
	for k := range got {
		types = append(types, k)
	}
	sort.Strings(types)
	for _, typ := range types {
		cn := got[typ]
		di, dh := cn.interp-base.interp, cn.hand-base.hand
		rows = append(rows, fmt.Sprintf("| %-15s | %11d | %12d |", typ, di, dh))
		if (typ == "condition" || typ == "switch" || typ == "split") && di != 0 {
			t.Errorf("%s adds %d history events, want 0", typ, di)
		}
		if di > dh {
			t.Errorf("%s: interpreter adds %d events, hand-written %d", typ, di, dh)
		}
	}
	t.Logf("history events added per node type (run of trigger → node → end, minus trigger → end: interpreter %d, hand-written %d)\n| node type       | interpreter | hand-written |\n|-----------------|-------------|--------------|\n%s",
		base.interp, base.hand, strings.Join(rows, "\n"))
}

// TestReplayRecordedHistories replays every recorded history with the
// current workflow code: a change that breaks running executions fails here.
func TestReplayRecordedHistories(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(historiesDir, "*.json"))
	if len(files) == 0 {
		t.Fatal("no recorded histories in " + historiesDir + " (make record-histories)")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			r.RegisterWorkflowWithOptions(workflows.AutomationRun, workflow.RegisterOptions{Name: workflows.WorkflowName})
			if err := r.ReplayWorkflowHistoryFromJSONFile(devserver.QuietLogger{}, f); err != nil {
				t.Fatalf("replay: %v", err)
			}
		})
	}
}
