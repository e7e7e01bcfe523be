package activities

import (
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/conecrm/automation-runtime/internal/conecrm"
	"github.com/conecrm/automation-runtime/internal/devkit/sandbox"
)

type actionsInput struct {
	Task CreateTaskInput
	Copy CopyLeadInput
	Move MoveStageInput
}

type actionsOutput struct {
	Task CreateTaskOutput
	Copy CopyLeadOutput
	Move MoveStageOutput
}

// actionsWorkflow runs create_task, copy_lead and move_stage as the
// interpreter does: activities retried by Temporal (attempt 2, 3, ...)
// with the same input.
func actionsWorkflow(ctx workflow.Context, in actionsInput) (actionsOutput, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: 10 * time.Millisecond, MaximumAttempts: 5, NonRetryableErrorTypes: NonRetryableErrorTypes},
	})
	var out actionsOutput
	if err := workflow.ExecuteActivity(ctx, "CreateTask", in.Task).Get(ctx, &out.Task); err != nil {
		return out, err
	}
	if err := workflow.ExecuteActivity(ctx, "CopyLead", in.Copy).Get(ctx, &out.Copy); err != nil {
		return out, err
	}
	err := workflow.ExecuteActivity(ctx, "MoveStage", in.Move).Get(ctx, &out.Move)
	return out, err
}

// TestDroppedResponseWithoutIdempotencyHeader: the sandbox ignores
// Idempotency-Key (as a ConeCRM without the header would) and drops the
// first response of each create after running it. The retried attempts
// find the earlier task and copy by their marker through
// POST /api/query-builder/filter/{entity}, and the lead's stage, so there
// is exactly one task, one copy and one stage change. Without a key (no
// marker) the same faults create a second task: the test can tell.
func TestDroppedResponseWithoutIdempotencyHeader(t *testing.T) {
	cases := []struct {
		name                 string
		key                  string
		tasks, copies, moves int
	}{
		{"marked", "wf-1|evt-1|", 1, 1, 1},
		{"no key, no marker", "", 2, 2, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newConeEnv(t, sandbox.WithIgnoreIdempotency())
			for _, route := range []string{"POST /api/task", "POST /api/lead/{lead}/copy", "PATCH /api/lead/{lead}"} {
				if err := e.sb.AddFault(sandbox.Fault{Route: route, Kind: sandbox.FaultDrop, Times: 1}); err != nil {
					t.Fatal(err)
				}
			}
			key := func(node string) string {
				if tc.key == "" {
					return ""
				}
				return tc.key + node
			}
			in := actionsInput{
				Task: CreateTaskInput{NodeID: "call", IdempotencyKey: key("call"), Task: conecrm.TaskRequest{Type: "CALL", Assignee: sandbox.UserSam, Title: "Call Alice", Note: "She asked about the RAV4.", Connection: sandbox.LeadAlice}},
				Copy: CopyLeadInput{NodeID: "copy", IdempotencyKey: key("copy"), LeadID: sandbox.LeadAlice, ContactID: sandbox.ContactAlice, DepartmentID: sandbox.DepartmentUsedVehicles, SourceSubject: "2025 RAV4 Hybrid XLE — online inquiry"},
				Move: MoveStageInput{NodeID: "move", IdempotencyKey: key("move"), LeadID: sandbox.LeadBob, StageID: sandbox.StageTestDrive, CurrentStageID: sandbox.StageContacted},
			}
			var ts testsuite.WorkflowTestSuite
			ts.SetLogger(quietLogger)
			env := ts.NewTestWorkflowEnvironment()
			env.RegisterActivity(e.a)
			env.RegisterWorkflow(actionsWorkflow)
			env.ExecuteWorkflow(actionsWorkflow, in)
			if err := env.GetWorkflowError(); err != nil {
				t.Fatal(err)
			}
			var out actionsOutput
			if err := env.GetWorkflowResult(&out); err != nil {
				t.Fatal(err)
			}

			tasks, copies := e.sb.Tasks(), e.sb.LeadCopies()
			moved := 0
			for _, m := range e.sb.StageMoves() {
				if m.Changed {
					moved++
				}
			}
			if len(tasks) != tc.tasks || len(copies) != tc.copies || moved != tc.moves {
				t.Fatalf("%d tasks, %d copies, %d stage changes; want %d, %d, %d", len(tasks), len(copies), moved, tc.tasks, tc.copies, tc.moves)
			}
			if st := e.sb.Stats(); st.Replayed != 0 || st.Injected[sandbox.FaultDrop] != 3 {
				t.Errorf("sandbox stats %+v: want 3 drops and no idempotent replay", st)
			}
			if tc.key == "" {
				return
			}
			if tasks[0].ID != out.Task.TaskID || copies[0].Lead.ID != out.Copy.LeadID || !out.Move.Moved {
				t.Errorf("outputs %+v do not name the objects created (task %s, copy %s)", out, tasks[0].ID, copies[0].Lead.ID)
			}
			marker := conecrm.Marker(key("call"))
			if tasks[0].Note != "She asked about the RAV4.\n\n"+marker {
				t.Errorf("task note %q", tasks[0].Note)
			}
			if want := "2025 RAV4 Hybrid XLE — online inquiry " + conecrm.Marker(key("copy")); copies[0].Lead.Subject != want {
				t.Errorf("copy subject %q, want %q", copies[0].Lead.Subject, want)
			}
		})
	}
}

func TestWithMarker(t *testing.T) {
	m := conecrm.Marker("k")
	cases := []struct {
		text, want string
		limit      int
	}{
		{"", m, 100},
		{"Call back", "Call back " + m, 100},
		{"Call back " + m, "Call back " + m, 100},
		{"abcdefghij", "abcd " + m, len(m) + 5},
		{"abcdefghij", m, len(m)},
	}
	for _, c := range cases {
		got := conecrm.WithMarker(c.text, " ", m, c.limit)
		if got != c.want || len([]rune(got)) > c.limit {
			t.Errorf("WithMarker(%q, limit %d) = %q, want %q", c.text, c.limit, got, c.want)
		}
	}
	if conecrm.Marker("k") != m || conecrm.Marker("k2") == m || conecrm.Marker("") != "" {
		t.Error("Marker is not a stable function of the key")
	}
}
