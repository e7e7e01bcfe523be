package workerapp_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/conecrm/automation-runtime/activities"
	"github.com/conecrm/automation-runtime/internal/devkit/stack"
	"github.com/conecrm/automation-runtime/internal/logging"
	"github.com/conecrm/automation-runtime/internal/workerapp"
	"github.com/conecrm/automation-runtime/workflows"
)

func probeWorkflow(ctx workflow.Context, in workflows.Input) error {
	workflow.GetLogger(ctx).Info("probe workflow line")
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{ActivityID: "node-7#2", StartToCloseTimeout: 10 * time.Second})
	return workflow.ExecuteActivity(ctx, "Probe").Get(ctx, nil)
}

// TestRunIdentityOnLogLines shows that the worker's interceptor names the
// run and the automation on lines from workflow code, from activity.GetLogger
// and from the zerolog logger it puts in an activity's context.
func TestRunIdentityOnLogLines(t *testing.T) {
	logs := &syncBuffer{}
	s := stack.Start(t, stack.Options{AutomationsDir: "testdata/automations", Log: logs})
	base := s.Log.With().Str("component", "worker").Logger()
	w := workerapp.NewWorker(s.Client, "probe", &activities.Activities{Log: base}, worker.Options{})
	w.RegisterWorkflowWithOptions(probeWorkflow, workflow.RegisterOptions{Name: "ProbeRun"})
	w.RegisterActivityWithOptions(func(ctx context.Context) error {
		logging.FromContext(ctx, base).Info().Msg("probe activity line")
		activity.GetLogger(ctx).Info("probe sdk activity line")
		return nil
	}, activity.RegisterOptions{Name: "Probe"})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()

	in := workflows.Input{Automation: json.RawMessage(`{"id":"auto-probe","name":"Probe"}`), Version: "v-probe"}
	run, err := s.Client.ExecuteWorkflow(t.Context(), client.StartWorkflowOptions{ID: "probe/1", TaskQueue: "probe"}, "ProbeRun", in)
	if err != nil {
		t.Fatal(err)
	}
	if err := run.Get(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"workflow_id": "probe/1", "run_id": run.GetRunID(), "automation_id": "auto-probe", "automation_version": "v-probe"}
	for _, msg := range []string{"probe workflow line", "probe activity line", "probe sdk activity line"} {
		line := find(t, logs.String(), msg)
		for k, v := range want {
			if line[k] != v {
				t.Errorf("%q: %s = %v, want %q", msg, k, line[k], v)
			}
		}
		if msg != "probe workflow line" && line["node_id"] != "node-7" {
			t.Errorf("%q: node_id = %v, want node-7", msg, line["node_id"])
		}
	}
}

func find(t *testing.T, logs, msg string) map[string]any {
	t.Helper()
	for _, l := range strings.Split(logs, "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["message"] == msg {
			return m
		}
	}
	t.Fatalf("no log line %q in:\n%s", msg, logs)
	return nil
}
