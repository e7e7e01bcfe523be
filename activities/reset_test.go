package activities

import (
	"context"
	"testing"
	"time"

	"github.com/conecrm/automation-runtime/internal/conecrm"
	"github.com/conecrm/automation-runtime/internal/devkit/sandbox"
)

// TestReexecutionAfterReset: a Temporal Reset re-executes the activities
// after its point, as first attempts, with bodies computed anew (a task's
// start from the workflow's clock) under the same Idempotency-Key. The
// sandbox answers 422 for the reused key; each activity returns what the
// first execution made instead of failing, and creates nothing more.
func TestReexecutionAfterReset(t *testing.T) {
	e := newConeEnv(t)
	first := time.Date(2026, 3, 4, 14, 0, 0, 0, time.UTC)
	later := first.Add(36 * time.Hour)
	task := func(start time.Time) CreateTaskInput {
		return CreateTaskInput{NodeID: "call", IdempotencyKey: "wf-1/evt-1/call/1",
			Task: conecrm.TaskRequest{Type: "CALL", Assignee: sandbox.UserSam, Title: "Call Alice", Contact: sandbox.ContactAlice, Connection: sandbox.LeadAlice, Start: &start}}
	}
	created, err := run[CreateTaskInput, CreateTaskOutput](t, e, createTask, task(first))
	if err != nil {
		t.Fatal(err)
	}
	again, err := run[CreateTaskInput, CreateTaskOutput](t, e, createTask, task(later))
	if err != nil || again.TaskID != created.TaskID {
		t.Fatalf("re-executed create: %+v %v, want task %s", again, err, created.TaskID)
	}

	copyIn := func(subject string) CopyLeadInput {
		return CopyLeadInput{NodeID: "copy", IdempotencyKey: "wf-1/evt-1/copy/1", LeadID: sandbox.LeadAlice, ContactID: sandbox.ContactAlice, Subject: subject}
	}
	copied, err := run[CopyLeadInput, CopyLeadOutput](t, e, copyLead, copyIn("Re-engage Alice"))
	if err != nil {
		t.Fatal(err)
	}
	copiedAgain, err := run[CopyLeadInput, CopyLeadOutput](t, e, copyLead, copyIn("Re-engage Alice (lead renamed since)"))
	if err != nil || copiedAgain.LeadID != copied.LeadID {
		t.Fatalf("re-executed copy: %+v %v, want copy %s", copiedAgain, err, copied.LeadID)
	}

	update := func(start time.Time) UpdateTaskInput {
		return UpdateTaskInput{NodeID: "resched", IdempotencyKey: "wf-1/evt-1/resched/1", TaskID: created.TaskID,
			Task: conecrm.TaskRequest{Type: "CALL", Assignee: sandbox.UserMarc, Title: "Call Alice again", Start: &start}}
	}
	if _, err := run[UpdateTaskInput, UpdateTaskOutput](t, e, updateTask, update(first)); err != nil {
		t.Fatal(err)
	}
	updated, err := run[UpdateTaskInput, UpdateTaskOutput](t, e, updateTask, update(later))
	if err != nil || updated.TaskID != created.TaskID || updated.Start == nil || !updated.Start.Equal(first) {
		t.Fatalf("re-executed update: %+v %v, want the task as the first execution left it", updated, err)
	}

	if tasks := e.sb.Tasks(); len(tasks) != 1 {
		t.Errorf("%d tasks, want 1", len(tasks))
	}
	if copies := e.sb.LeadCopies(); len(copies) != 1 {
		t.Errorf("%d copies, want 1", len(copies))
	}
	reused := 0
	for _, r := range e.sb.Requests() {
		if r.Status == 422 {
			reused++
		}
	}
	if reused != 3 {
		t.Errorf("%d answers 422, want 3 (one per re-executed call): the test no longer meets the reused key", reused)
	}
}

// TestUnprocessableWithoutEarlierObject: a 422 that is not about an
// earlier execution of this node (no task carries its marker) still fails
// the node: here the key was used by a request without the marker.
func TestUnprocessableWithoutEarlierObject(t *testing.T) {
	e := newConeEnv(t)
	req := conecrm.TaskRequest{Type: "CALL", Assignee: sandbox.UserSam, Title: "Call", Connection: sandbox.LeadAlice}
	if _, err := e.a.ConeCRM.CreateTask(context.Background(), req, "k-422"); err != nil {
		t.Fatal(err)
	}
	_, err := run[CreateTaskInput, CreateTaskOutput](t, e, createTask, CreateTaskInput{NodeID: "call", IdempotencyKey: "k-422", Task: req})
	appError(t, err, ErrRejected, true, "node call", "Idempotency-Key reused")
	if tasks := e.sb.Tasks(); len(tasks) != 1 {
		t.Errorf("%d tasks, want 1", len(tasks))
	}
}
