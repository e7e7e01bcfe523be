package stack_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/conecrm/automation-runtime/internal/devkit/docbuild"
	"github.com/conecrm/automation-runtime/internal/devkit/stack"
	"github.com/conecrm/automation-runtime/internal/ingest"
	"github.com/conecrm/automation-runtime/workflows"
)

func TestMain(m *testing.M) { stack.Main(m) }

func instant(id string) []byte {
	return docbuild.New(id).Trigger("LEAD_ASSIGNED").Reenrollment("never").
		Node("start", "trigger", nil).Node("done", "end", docbuild.Data{"reason": "done"}).
		Edge("start", "done").JSON()
}

// Two stacks on the shared dev server run the same automation for the same
// lead (the same workflow id) side by side: each in its namespace, each run
// done by the stack's own worker, each visible only to its stack. One
// fronts the whole starter service (signed events, the API), the other the
// events handler.
func TestStacksShareTheServerApart(t *testing.T) {
	a := stack.Start(t, stack.Options{Documents: [][]byte{instant("same")}})
	b := stack.Start(t, stack.Options{Documents: [][]byte{instant("same")}, Starter: stack.StarterService})
	if a.Server != b.Server || a.Namespace == b.Namespace {
		t.Fatalf("servers %p %p, namespaces %q %q: want one server, two namespaces", a.Server, b.Server, a.Namespace, b.Namespace)
	}
	var runs []ingest.Outcome
	for _, s := range []*stack.Stack{a, b} {
		status, er := s.Event("ev-1", "LEAD_ASSIGNED", "lead-1", nil)
		if status != http.StatusOK || len(er.Automations) != 1 || er.Automations[0].Result != ingest.Enrolled {
			t.Fatalf("%s: HTTP %d %+v, want one enrolment", s.Namespace, status, er.Automations)
		}
		o := er.Automations[0]
		if res := s.Result(o, time.Minute); res.Status != workflows.StatusCompleted {
			t.Fatalf("%s: %+v", s.Namespace, res)
		}
		runs = append(runs, o)
	}
	if runs[0].WorkflowID != runs[1].WorkflowID || runs[0].RunID == runs[1].RunID {
		t.Fatalf("runs %+v: want the same workflow id, two runs", runs)
	}
	for _, s := range []*stack.Stack{a, b} {
		deadline := time.Now().Add(20 * time.Second)
		for n := s.Count("AutomationId = 'same'"); n != 1; n = s.Count("AutomationId = 'same'") {
			if time.Now().After(deadline) {
				t.Fatalf("%s lists %d runs, want its own one", s.Namespace, n)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	// The starter service checks signatures: PostRaw signs (the event is
	// then refused for what it is), the API answers.
	resp, err := http.Post(b.StarterURL+"/events", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("unsigned event: HTTP %d, want 401", resp.StatusCode)
	}
	if status, _ := b.PostRaw([]byte(`{}`)); status != http.StatusBadRequest {
		t.Fatalf("signed empty event: HTTP %d, want 400", status)
	}
	if status, got := b.API("GET", "/api/automation/same", nil); status != http.StatusOK || got["id"] != "same" {
		t.Fatalf("GET /api/automation/same: %d %v", status, got)
	}
}
