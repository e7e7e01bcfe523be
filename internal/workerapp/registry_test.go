package workerapp_test

import (
	"errors"
	"strings"
	"testing"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/conecrm/automation-runtime/activities"
	"github.com/conecrm/automation-runtime/internal/nodes"
	"github.com/conecrm/automation-runtime/internal/workerapp"
	"github.com/conecrm/automation-runtime/workflows/dryrun"
)

// actionDefs are the registry's action node types; the test fails if there
// are none, so it cannot pass by iterating nothing.
func actionDefs(t *testing.T) []nodes.Definition {
	t.Helper()
	var out []nodes.Definition
	for _, def := range nodes.Builtin().Definitions() {
		if def.Activity != nil {
			out = append(out, def)
		}
	}
	if len(out) < 5 {
		t.Fatalf("the registry has %d action node types, want at least 5", len(out))
	}
	return out
}

// TestEveryActionActivityIsRegisteredOnTheWorker runs each action's
// activity by its registry name after the worker's registration: it must
// reach the activity (which rejects the empty input or missing client),
// not the SDK's "unable to find activityType".
func TestEveryActionActivityIsRegisteredOnTheWorker(t *testing.T) {
	for _, def := range actionDefs(t) {
		t.Run(def.Type, func(t *testing.T) {
			var suite testsuite.WorkflowTestSuite
			env := suite.NewTestActivityEnvironment()
			workerapp.RegisterActivities(env, &activities.Activities{})
			_, err := env.ExecuteActivity(def.Activity.Name(), map[string]any{})
			var app *temporal.ApplicationError
			if err == nil || !errors.As(err, &app) || strings.Contains(err.Error(), "unable to find activityType") {
				t.Fatalf("activity %s of node type %s: want the activity's own error, got %v", def.Activity.Name(), def.Type, err)
			}
		})
	}
}

// TestEveryActionActivityIsRecordedInDryRun runs each action's activity by
// name on the dry-run recorder: it is registered and records the call.
func TestEveryActionActivityIsRecordedInDryRun(t *testing.T) {
	for _, def := range actionDefs(t) {
		t.Run(def.Type, func(t *testing.T) {
			var suite testsuite.WorkflowTestSuite
			env := suite.NewTestActivityEnvironment()
			rec := &dryrun.Recorder{}
			rec.Register(env)
			if _, err := env.ExecuteActivity(def.Activity.Name(), map[string]any{}); err != nil {
				t.Fatalf("dry-run activity %s of node type %s: %v", def.Activity.Name(), def.Type, err)
			}
			if got := rec.Actions(); len(got) != 1 || got[0].Activity != def.Activity.Name() {
				t.Fatalf("dry-run %s recorded %+v, want one call of %s", def.Type, got, def.Activity.Name())
			}
		})
	}
}

// TestMetricLabelsAreTheRegistrys checks the interceptor labels each
// action's executions with its definition's metric label, and counts no
// activity that no node type runs.
func TestMetricLabelsAreTheRegistrys(t *testing.T) {
	for _, def := range actionDefs(t) {
		got, ok := workerapp.NodeType(def.Activity.Name())
		if !ok || got != def.Metric || def.Metric == "" {
			t.Errorf("NodeType(%q) = %q, %v; want the registry's %q", def.Activity.Name(), got, ok, def.Metric)
		}
	}
	if got, ok := workerapp.NodeType("WriteThirdPartyIds"); ok {
		t.Errorf("NodeType(WriteThirdPartyIds) = %q, want no node type", got)
	}
}
