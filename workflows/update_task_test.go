package workflows_test

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/conecrm/automation-runtime/activities"
	"github.com/conecrm/automation-runtime/internal/conecrm"
	"github.com/conecrm/automation-runtime/internal/devkit/sandbox"
	"github.com/conecrm/automation-runtime/internal/workerapp"
	"github.com/conecrm/automation-runtime/workflows"
	"github.com/conecrm/automation-runtime/workflows/dryrun"
)

// createThenReschedule creates a call task, then reschedules and reassigns
// the task it created.
func createThenReschedule(t *testing.T) []byte {
	return doc(t, []n{trig(),
		{"call", "create_task", map[string]any{"type": "CALL", "assignee": sandbox.UserPriya, "title": "Call {{ lead.subject }}", "dueIn": "1h"}},
		{"resched", "update_task", map[string]any{"task": "{{ steps.call.taskId }}", "type": "CALL", "assignee": sandbox.UserMarc,
			"title": "Call {{ lead.subject }} (escalated)", "dueIn": "2d"}},
		endNode("done"),
	}, []e{{"start", "call", ""}, {"call", "resched", ""}, {"resched", "done", ""}}, nil)
}

// TestUpdateTaskReschedulesTheCreatedTask runs create_task then update_task
// in the SDK's test environment with the worker's activities against the
// ConeCRM sandbox: the one task the run created ends up rescheduled.
func TestUpdateTaskReschedulesTheCreatedTask(t *testing.T) {
	sb := sandbox.New("tok", sandbox.WithLenientReferences())
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.SetTestTimeout(30 * time.Second)
	env.RegisterWorkflowWithOptions(workflows.AutomationRun, workflow.RegisterOptions{Name: workflows.WorkflowName})
	workerapp.RegisterActivities(env, &activities.Activities{ConeCRM: conecrm.New(conecrm.Config{BaseURL: srv.URL, Token: "tok"}, nil), Log: zerolog.Nop()})
	env.SetStartTime(t0)
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: "automation/test/lead/" + leadID})
	te := &testEnv{TestWorkflowEnvironment: env, t: t}

	res := te.run(input(t, createThenReschedule(t), enrol(nil)))
	if !equal(res.Path, []string{"start", "call", "resched", "done"}) {
		t.Fatalf("path %v", res.Path)
	}
	tasks := sb.Tasks()
	if len(tasks) != 1 {
		t.Fatalf("%d tasks, want the one the run created", len(tasks))
	}
	got := tasks[0]
	if got.Title != "Call 2025 Honda Civic Touring (escalated)" || conecrm.RefID(got.Assignee) != sandbox.UserMarc ||
		got.Start == nil || got.Start.Before(t0.Add(48*time.Hour)) || got.Start.After(t0.Add(49*time.Hour)) {
		t.Fatalf("task %+v: want it reassigned to Marc and due two days after the run started", got)
	}
	step, _ := stepOf(res, "resched")
	if step.Summary != "task "+got.ID+" updated" {
		t.Errorf("step %+v", step)
	}
	var patches int
	for _, r := range sb.Requests() {
		if r.Method == "PATCH" && r.Path == "/api/task/"+got.ID && r.IdempotencyKey != "" {
			patches++
		}
	}
	if patches != 1 {
		t.Errorf("%d keyed PATCH /api/task/%s, want 1", patches, got.ID)
	}
}

// TestUpdateTaskDryRun: the dry run records the update of the task the
// dry-run create_task reported, with the rendered request.
func TestUpdateTaskDryRun(t *testing.T) {
	out, err := dryrun.Run(createThenReschedule(t), enrol(nil), dryrun.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if out.Status != workflows.StatusCompleted || len(out.Actions) != 2 {
		t.Fatalf("%+v", out)
	}
	a := out.Actions[1]
	in, ok := a.Input.(activities.UpdateTaskInput)
	if a.NodeID != "resched" || a.Activity != "UpdateTask" || !ok || in.TaskID != "dry-run-task-1" || in.Task.Assignee != sandbox.UserMarc || in.Task.Start == nil {
		t.Fatalf("action %+v", a)
	}
}
