package workflows_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/conecrm/automation-runtime/internal/automation"
	"github.com/conecrm/automation-runtime/internal/devkit/devserver"
	"github.com/conecrm/automation-runtime/internal/expr"
	"github.com/conecrm/automation-runtime/internal/nodes"
	"github.com/conecrm/automation-runtime/internal/plan"
	"github.com/conecrm/automation-runtime/workflows"
)

// replayFile replays one recorded history, optionally rewriting the run's
// input first.
func replayFile(t *testing.T, file string, edit func(in map[string]any)) error {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	h, err := client.HistoryFromJSON(bytes.NewReader(data), client.HistoryJSONOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		attrs := h.Events[0].GetWorkflowExecutionStartedEventAttributes()
		var in map[string]any
		if err := json.Unmarshal(attrs.Input.Payloads[0].Data, &in); err != nil {
			t.Fatal(err)
		}
		edit(in)
		p, err := converter.GetDefaultDataConverter().ToPayload(in)
		if err != nil {
			t.Fatal(err)
		}
		attrs.Input = &common.Payloads{Payloads: []*common.Payload{p}}
	}
	r := worker.NewWorkflowReplayer()
	r.RegisterWorkflowWithOptions(workflows.AutomationRun, workflow.RegisterOptions{Name: workflows.WorkflowName})
	return r.ReplayWorkflowHistory(devserver.QuietLogger{}, h)
}

// recordedDocument is the automation document a recorded run started with.
func recordedDocument(t *testing.T, file string) *automation.Document {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	h, err := client.HistoryFromJSON(bytes.NewReader(data), client.HistoryJSONOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var in workflows.Input
	if err := json.Unmarshal(h.Events[0].GetWorkflowExecutionStartedEventAttributes().Input.Payloads[0].Data, &in); err != nil {
		t.Fatal(err)
	}
	doc, err := automation.Parse(in.Automation)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// TestReplayUnderChangedTunables: every committed history still replays
// after every tunable is changed drastically — admission limits so tight
// that no recorded document would be accepted today, and the limits of new
// runs (history budget, duplicate window, evaluation cost) cut to almost
// nothing. Admission limits are never checked inside a run, and a run's
// own limits come from its input (the legacy values for these histories,
// whose inputs predate RunLimits).
func TestReplayUnderChangedTunables(t *testing.T) {
	savedAdmission, savedRun := plan.DefaultLimits, workflows.NewRunLimits
	t.Cleanup(func() { plan.DefaultLimits, workflows.NewRunLimits = savedAdmission, savedRun })
	plan.DefaultLimits = plan.Limits{NameLength: 1, LabelLength: 1, Nodes: 1, Edges: 1, ActionTimeout: 1, Expr: expr.Limits{Length: 1, EstimatedCost: 1}, NodeFields: true}
	workflows.NewRunLimits = workflows.RunLimits{HistoryBudget: 1, EventWindow: 1, ExpressionCost: 1}

	files, _ := filepath.Glob(filepath.Join(historiesDir, "*.json"))
	if len(files) == 0 {
		t.Fatal("no recorded histories")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			// The tightened limits do apply: validation turns the document away.
			if _, problems := plan.Compile(recordedDocument(t, f), nodes.Builtin()); len(problems) == 0 {
				t.Error("the tightened admission limits accept the recorded document")
			}
			if err := replayFile(t, f, nil); err != nil {
				t.Fatalf("replay: %v", err)
			}
		})
	}
}

// TestRunLimitsDecideReplay is the control for the test above: the limits a
// run carries do decide what it does, so taking them from the worker's
// current values would break replay. A run that parks in a delay, handed a
// history budget of 1, continues as new where the recorded run waited for
// its events and completed.
func TestRunLimitsDecideReplay(t *testing.T) {
	f := filepath.Join(historiesDir, "local-wait-signalled.json")
	if err := replayFile(t, f, func(in map[string]any) { in["limits"] = map[string]any{"historyBudget": 2000} }); err != nil {
		t.Fatalf("the legacy budget, stated explicitly: %v", err)
	}
	err := replayFile(t, f, func(in map[string]any) { in["limits"] = map[string]any{"historyBudget": 1} })
	if err == nil {
		t.Fatal("a run with a budget of 1 replays the recorded run; want a replay failure")
	}
}

// TestNewRunsCarryTheirLimits: the starter's input freezes NewRunLimits.
func TestNewRunsCarryTheirLimits(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "automations", "new-lead-call-task.json"))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := automation.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	p, problems := plan.Compile(doc, nodes.Builtin())
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	in := workflows.NewInput(p, sbEvent("evt-1", "LEAD_CREATED", nil))
	if in.Limits == nil || *in.Limits != workflows.NewRunLimits {
		t.Fatalf("limits %+v, want %+v", in.Limits, workflows.NewRunLimits)
	}
	raw, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var back workflows.Input
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	if back.RunLimits() != workflows.NewRunLimits {
		t.Errorf("round trip %+v", back.RunLimits())
	}
	if legacy := (workflows.Input{}).RunLimits(); legacy != (workflows.RunLimits{HistoryBudget: 2000, EventWindow: 500, ExpressionCost: 100_000}) {
		t.Errorf("an input without limits runs with %+v", legacy)
	}
}
