package activities

import (
	"strings"
	"testing"
	"time"

	"github.com/conecrm/automation-runtime/internal/conecrm"
	"github.com/conecrm/automation-runtime/internal/devkit/sandbox"
)

func updateTask(a *Activities) any { return a.UpdateTask }

// TestUpdateTaskActivity reschedules a task the sandbox holds, then checks
// how each ConeCRM answer of PATCH /api/task/{task} fails the node.
func TestUpdateTaskActivity(t *testing.T) {
	e := newConeEnv(t)
	created, err := run[CreateTaskInput, CreateTaskOutput](t, e, createTask, CreateTaskInput{NodeID: "call", IdempotencyKey: "k-create",
		Task: conecrm.TaskRequest{Type: "CALL", Assignee: sandbox.UserSam, Title: "Call Alice", Note: "First call", Contact: sandbox.ContactAlice}})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 3, 4, 14, 0, 0, 0, time.UTC)
	resched := conecrm.TaskRequest{Type: "CALL", Assignee: sandbox.UserMarc, Title: "Call Alice again", Start: &start}
	out, err := run[UpdateTaskInput, UpdateTaskOutput](t, e, updateTask, UpdateTaskInput{NodeID: "resched", IdempotencyKey: "k-update", TaskID: created.TaskID, Task: resched})
	if err != nil || out.TaskID != created.TaskID || out.Start == nil || !out.Start.Equal(start) {
		t.Fatalf("%+v %v", out, err)
	}
	tasks := e.sb.Tasks()
	if len(tasks) != 1 || tasks[0].Title != "Call Alice again" || conecrm.RefID(tasks[0].Assignee) != sandbox.UserMarc ||
		!strings.HasPrefix(tasks[0].Note, "First call") || conecrm.RefID(tasks[0].Contact) != sandbox.ContactAlice {
		t.Fatalf("the task after the update: %+v (note and contact were not sent, so they stay)", tasks)
	}
	last := e.sb.Requests()[len(e.sb.Requests())-1]
	if last.Method != "PATCH" || last.Path != "/api/task/"+created.TaskID || last.IdempotencyKey != "k-update" {
		t.Errorf("request %+v", last)
	}

	for _, tc := range []struct {
		name         string
		in           UpdateTaskInput
		typ          string
		nonRetryable bool
		parts        []string
	}{
		{"task id not a UUID", UpdateTaskInput{NodeID: "n", TaskID: "dry-run-task-1", Task: resched}, ErrInvalidInput, true, []string{"node n", "taskId: must be a UUID"}},
		{"title missing", UpdateTaskInput{NodeID: "n", TaskID: created.TaskID, Task: conecrm.TaskRequest{Assignee: sandbox.UserSam}}, ErrInvalidInput, true, []string{"node n", "title: is required"}},
		{"blank title", UpdateTaskInput{NodeID: "n", TaskID: created.TaskID, Task: conecrm.TaskRequest{Assignee: sandbox.UserSam, Title: "  "}}, ErrInvalidInput, true, []string{"task title: is empty"}},
		{"unknown task (404)", UpdateTaskInput{NodeID: "n", TaskID: "0192f0a0-0009-7000-8000-000000000009", Task: resched}, ErrNotFound, true, []string{"node n", "404"}},
		{"another tenant's task (403)", UpdateTaskInput{NodeID: "n", TaskID: sandbox.ForeignTaskID, Task: resched}, ErrUnauthorized, true, []string{"node n", "403"}},
		{"unknown assignee (400)", UpdateTaskInput{NodeID: "n", TaskID: created.TaskID, Task: conecrm.TaskRequest{Assignee: sandbox.ContactAlice, Title: "x"}}, ErrRejected, true, []string{"node n", "assignee This value is not valid."}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := run[UpdateTaskInput, UpdateTaskOutput](t, e, updateTask, tc.in)
			appError(t, err, tc.typ, tc.nonRetryable, tc.parts...)
		})
	}
	if tasks := e.sb.Tasks(); tasks[0].Title != "Call Alice again" {
		t.Errorf("a rejected update changed the task: %+v", tasks[0])
	}
}
