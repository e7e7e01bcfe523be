package workflows_test

// Tests against a real Temporal dev server (bin/temporal): the recorded
// histories of every example automation, the history-size comparison with
// hand-written workflows, and end-to-end runs against the ConeCRM sandbox.
// They are skipped with -short (stack.Client skips them).

import (
	stdcontext "context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/conecrm/automation-runtime/internal/devkit/baseline"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/temporalproto"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/conecrm/automation-runtime/internal/devkit/stack"
	"github.com/conecrm/automation-runtime/internal/event"
	"github.com/conecrm/automation-runtime/workflows"
	"github.com/conecrm/automation-runtime/workflows/dryrun"
)

// The package's tests share one dev server (stack.Client starts it).
func TestMain(m *testing.M) { stack.Main(m) }

// startWorker runs a worker with recorder activities on its own task queue.
func startWorker(t *testing.T, c client.Client, queue string, fail map[string]string) *dryrun.Recorder {
	t.Helper()
	w := worker.New(c, queue, worker.Options{})
	w.RegisterWorkflowWithOptions(workflows.AutomationRun, workflow.RegisterOptions{Name: workflows.WorkflowName})
	for _, hw := range baseline.HandwrittenWorkflows {
		w.RegisterWorkflow(hw)
	}
	w.RegisterWorkflow(baseline.HandwrittenNode)
	rec := &dryrun.Recorder{Fail: fail}
	rec.Register(w)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	return rec
}

// history returns the events of one run.
func history(ctx stdcontext.Context, c client.Client, id, runID string) (*historypb.History, error) {
	it := c.GetWorkflowHistory(ctx, id, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	h := &historypb.History{}
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return nil, err
		}
		h.Events = append(h.Events, ev)
	}
	return h, nil
}

// parked reports whether the run is idle in a timer: a timer open, no
// activity in flight, the last workflow task completed.
func parked(h *historypb.History) bool {
	timers, acts := 0, 0
	idle := false
	for _, e := range h.Events {
		switch e.EventType {
		case enumspb.EVENT_TYPE_TIMER_STARTED:
			timers++
		case enumspb.EVENT_TYPE_TIMER_FIRED, enumspb.EVENT_TYPE_TIMER_CANCELED:
			timers--
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			acts++
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED, enumspb.EVENT_TYPE_ACTIVITY_TASK_FAILED, enumspb.EVENT_TYPE_ACTIVITY_TASK_CANCELED, enumspb.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
			acts--
		}
		switch e.EventType {
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
			idle = true
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED, enumspb.EVENT_TYPE_TIMER_FIRED,
			enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED, enumspb.EVENT_TYPE_ACTIVITY_TASK_FAILED:
			idle = false
		}
	}
	return timers > 0 && acts == 0 && idle
}

// scenario is one recorded run: a workflow, its input, the events signalled
// once it is parked, and whether it is cancelled once parked afterwards.
type scenario struct {
	name     string
	workflow any // workflows.WorkflowName or a hand-written function
	input    any
	fail     map[string]string
	signals  []event.Lead
	cancel   bool
}

// outcome is how a scenario's run ended and the histories of its runs
// (several after continue-as-new).
type outcome struct {
	histories []*historypb.History
	result    workflows.Result
	err       error
}

func (o outcome) events() int {
	n := 0
	for _, h := range o.histories {
		n += len(h.Events)
	}
	return n
}

func runScenario(t *testing.T, c client.Client, sc scenario) outcome {
	t.Helper()
	ctx, cancel := stdcontext.WithTimeout(stdcontext.Background(), 2*time.Minute)
	defer cancel()
	queue := fmt.Sprintf("test-%s-%d", sc.name, time.Now().UnixNano())
	startWorker(t, c, queue, sc.fail)
	id := "automation/" + sc.name + "/lead/" + leadID + fmt.Sprint("/", time.Now().UnixNano())
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: queue}, sc.workflow, sc.input)
	if err != nil {
		t.Fatal(err)
	}
	waitParked := func() {
		for ctx.Err() == nil {
			desc, err := c.DescribeWorkflowExecution(ctx, id, "")
			if err == nil && desc.WorkflowExecutionInfo.Status != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
				return
			}
			if err == nil {
				if h, err := history(ctx, c, id, desc.WorkflowExecutionInfo.Execution.RunId); err == nil && parked(h) {
					return
				}
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	for _, ev := range sc.signals {
		waitParked()
		if err := c.SignalWorkflow(ctx, id, "", workflows.SignalLeadEvent, ev); err != nil {
			t.Logf("signal %s not delivered: %v", ev.ID, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if sc.cancel {
		waitParked()
		if err := c.CancelWorkflow(ctx, id, ""); err != nil {
			t.Logf("not cancelled (it may have finished): %v", err)
		}
	}
	var out outcome
	if sc.workflow == workflows.WorkflowName {
		out.err = c.GetWorkflow(ctx, id, "").Get(ctx, &out.result)
	} else {
		var s string
		out.err = c.GetWorkflow(ctx, id, "").Get(ctx, &s)
	}
	for runID := run.GetRunID(); runID != ""; {
		h, err := history(ctx, c, id, runID)
		if err != nil {
			t.Fatal(err)
		}
		out.histories = append(out.histories, h)
		runID = ""
		if last := h.Events[len(h.Events)-1]; last.EventType == enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW {
			runID = last.GetWorkflowExecutionContinuedAsNewEventAttributes().NewExecutionRunId
		}
	}
	return out
}

// saveHistories writes the histories as JSON files the replayer reads. The
// corpus only grows: an example that already has a recorded history keeps
// it (a committed history is what runs in flight look like, and rewriting
// it would hide exactly the incompatible change it guards against).
func saveHistories(t *testing.T, name string, hs []*historypb.History) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(historiesDir, name+".json")); err == nil {
		t.Logf("%s: recorded history kept", name)
		return
	}
	for i, h := range hs {
		file := name + ".json"
		if i > 0 {
			file = fmt.Sprintf("%s.run%d.json", name, i+1)
		}
		b, err := temporalproto.CustomJSONMarshalOptions{Indent: "  "}.Marshal(h)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(historiesDir, file), append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: recorded", file)
	}
}

const historiesDir = "testdata/histories"

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
