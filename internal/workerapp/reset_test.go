package workerapp_test

import (
	"context"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/conecrm/automation-runtime/internal/devkit/sandbox"
	"github.com/conecrm/automation-runtime/internal/devkit/stack"
)

// TestResetCompletedRun resets a completed run to its first workflow task:
// the new run re-executes both create_task nodes, whose start (dueIn from
// the workflow's clock) differs now, under their first keys; the sandbox
// answers 422 and the run completes with the tasks the first run created.
func TestResetCompletedRun(t *testing.T) {
	s := stack.Start(t, stack.Options{AutomationsDir: "testdata/automations"})
	run := s.Enrol(leadEvent("evt-reset-1", sandbox.LeadAlice, sandbox.SeedContacts[0]))
	s.Result(run, 60*time.Second)
	tasks := len(s.Sandbox.Tasks())
	time.Sleep(1100 * time.Millisecond) // so that dueIn renders another second

	it := s.Client.GetWorkflowHistory(context.Background(), run.WorkflowID, run.RunID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var firstTask int64
	for it.HasNext() && firstTask == 0 {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		if ev.EventType == enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED {
			firstTask = ev.EventId
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := s.Client.ResetWorkflowExecution(ctx, &workflowservice.ResetWorkflowExecutionRequest{
		Namespace: s.Namespace, WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: run.WorkflowID, RunId: run.RunID},
		Reason: "test", WorkflowTaskFinishEventId: firstTask, RequestId: "reset-" + run.RunID,
	})
	if err != nil {
		t.Fatal(err)
	}
	res := s.ResultOf(run.WorkflowID, resp.GetRunId(), 60*time.Second)
	if res.Status != "completed" {
		t.Fatalf("reset run: %+v", res)
	}
	if n := len(s.Sandbox.Tasks()); n != tasks {
		t.Errorf("%d tasks after the reset, %d before", n, tasks)
	}
	reused := 0
	for _, r := range s.Sandbox.Requests() {
		if r.Status == 422 {
			reused++
		}
	}
	if reused == 0 {
		t.Error("no 422: the reset run did not meet a reused key with a new body")
	}
}
