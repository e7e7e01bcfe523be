package workflows_test

import (
	stdcontext "context"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/conecrm/automation-runtime/internal/automation"
	"github.com/conecrm/automation-runtime/internal/devkit/docbuild"
	"github.com/conecrm/automation-runtime/internal/event"
	"github.com/conecrm/automation-runtime/internal/nodes"
	"github.com/conecrm/automation-runtime/internal/plan"
	"github.com/conecrm/automation-runtime/workflows"
	"github.com/conecrm/automation-runtime/workflows/dryrun"
)

// Ids of the test lead and its records.
const (
	leadID    = "0193a4c2-0000-7000-8000-00000000c0a1"
	contactID = "0193a4c2-0000-7000-8000-0000000c0001"
	accountID = "0193a4c2-0000-7000-8000-00000000ac01"
	stageNew  = "0193a4c2-0000-7000-8000-0000000005a1"
	stageWon  = "0193a4c2-0000-7000-8000-0000000005a9"
	userID    = "0193a4c2-0000-7000-8000-0000000000a1"
	deptID    = "0193a4c2-0000-7000-8000-0000000de001"
)

// n is a node: id, type and data.
type n struct {
	id, typ string
	data    map[string]any
}

// e is an edge: source, target and optional handle.
type e struct{ src, dst, handle string }

// doc builds an automation document; settings adds top-level fields. Edge
// ids are "ea", "eb"... as in the recorded histories' documents.
func doc(t testing.TB, ns []n, es []e, settings map[string]any) []byte {
	t.Helper()
	d := docbuild.New("0193a4c2-7a10-7c5e-9d1a-00000000test").Name("Test automation").Trigger("LEAD_CREATED").Timezone("America/Toronto")
	for k, v := range settings {
		d.Set(k, v)
	}
	for _, x := range ns {
		d.Node(x.id, x.typ, x.data)
	}
	for i, x := range es {
		d.EdgeID("e"+string(rune('a'+i)), x.src, x.dst, x.handle)
	}
	return d.JSON()
}

// compile returns the workflow input for a document and event.
func input(t testing.TB, raw []byte, ev event.Lead) workflows.Input {
	t.Helper()
	d, err := automation.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	p, problems := plan.Compile(d, nodes.Builtin())
	if len(problems) > 0 {
		t.Fatalf("automation does not compile: %v", problems)
	}
	return workflows.Input{Automation: p.Canonical, Version: p.Version, Event: ev}
}

func lead(extra map[string]any) map[string]any {
	l := map[string]any{
		"id": leadID, "subject": "2025 Honda Civic Touring", "category": "CAR", "priority": 2,
		"status":    "OPEN",
		"franchise": map[string]any{"id": "0193a4c2-0000-7000-8000-00000000f001"},
		"contact":   map[string]any{"id": contactID, "firstName": "Ada"},
		"account":   map[string]any{"id": accountID},
		"stage":     map[string]any{"id": stageNew},
	}
	for k, v := range extra {
		l[k] = v
	}
	return l
}

var t0 = time.Date(2026, 11, 24, 14, 0, 0, 0, time.UTC)

func enrol(extra map[string]any) event.Lead {
	return event.Lead{ID: "evt-1", Type: "LEAD_CREATED", OccurredAt: t0, Lead: lead(extra)}
}

func later(id, typ string, extra map[string]any) event.Lead {
	return event.Lead{ID: id, Type: typ, OccurredAt: t0, Lead: lead(extra)}
}

// testEnv is a test workflow environment with recorder activities.
type testEnv struct {
	*testsuite.TestWorkflowEnvironment
	rec *dryrun.Recorder
	t   testing.TB
}

func newEnv(t testing.TB, start time.Time) *testEnv {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.SetTestTimeout(30 * time.Second)
	env.RegisterWorkflowWithOptions(workflows.AutomationRun, workflow.RegisterOptions{Name: workflows.WorkflowName})
	rec := &dryrun.Recorder{Fail: map[string]string{}}
	rec.Register(env)
	env.SetStartTime(start)
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: "automation/test/lead/" + leadID})
	return &testEnv{TestWorkflowEnvironment: env, rec: rec, t: t}
}

// signalAt delivers an event after d of workflow time.
func (te *testEnv) signalAt(d time.Duration, ev event.Lead) {
	te.RegisterDelayedCallback(func() { te.SignalWorkflow(workflows.SignalLeadEvent, ev) }, d)
}

func (te *testEnv) run(in workflows.Input) workflows.Result {
	te.t.Helper()
	te.ExecuteWorkflow(workflows.AutomationRun, in)
	if !te.IsWorkflowCompleted() {
		te.t.Fatal("workflow did not complete")
	}
	if err := te.GetWorkflowError(); err != nil {
		te.t.Fatalf("workflow failed: %v", err)
	}
	var res workflows.Result
	if err := te.GetWorkflowResult(&res); err != nil {
		te.t.Fatal(err)
	}
	return res
}

func (te *testEnv) actionNodes() []string {
	var out []string
	for _, a := range te.rec.Actions() {
		out = append(out, a.NodeID)
	}
	return out
}

func task(title string, extra map[string]any) map[string]any {
	d := map[string]any{"type": "CALL", "assignee": userID, "title": title}
	for k, v := range extra {
		d[k] = v
	}
	return d
}

func endNode(id string) n { return n{id, "end", map[string]any{"reason": id}} }

func trig() n { return n{"start", "trigger", map[string]any{"label": "Lead created"}} }

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func stepOf(res workflows.Result, id string) (workflows.StepResult, bool) {
	for _, s := range res.Steps {
		if s.NodeID == id {
			return s, true
		}
	}
	return workflows.StepResult{}, false
}

type (
	activityInfo    = activity.Info
	context         = stdcontext.Context
	converterValues = converter.EncodedValues
)

func event0(at time.Time) event.Lead {
	ev := enrol(nil)
	ev.OccurredAt = at
	return ev
}
