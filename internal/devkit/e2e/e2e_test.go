// Package e2e runs the runtime end to end: a real Temporal dev server, a
// worker, the starter's HTTP handler and the ConeCRM sandbox.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/conecrm/automation-runtime/internal/catalog"
	"github.com/conecrm/automation-runtime/internal/devkit/devserver"
	"github.com/conecrm/automation-runtime/internal/devkit/sandbox"
	"github.com/conecrm/automation-runtime/internal/devkit/stack"
	"github.com/conecrm/automation-runtime/internal/ingest"
	"github.com/conecrm/automation-runtime/internal/searchattr"
	"github.com/conecrm/automation-runtime/workflows"
)

// The package's tests share one dev server, each stack in a namespace of
// its own.
func TestMain(m *testing.M) { stack.Main(m) }

func repoPath(t *testing.T, rel string) string {
	root, err := devserver.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(root, rel)
}

func TestLeadCreatedCreatesOneTask(t *testing.T) {
	s := stack.Start(t, stack.Options{AutomationsDir: repoPath(t, "automations")})
	const leadID = sandbox.LeadBob
	ev := map[string]any{
		"id": "evt-e2e-1", "type": "LEAD_CREATED", "occurredAt": time.Now().UTC().Format(time.RFC3339),
		"lead": map[string]any{
			"id": leadID, "subject": "Used F-150 XLT", "category": "CAR", "priority": 2,
			"franchise": map[string]any{"id": sandbox.FranchiseMontreal},
			"contact":   map[string]any{"id": sandbox.ContactBob},
		},
	}
	status, resp := s.Post(ev)
	if status != 200 {
		t.Fatalf("POST /events: HTTP %d", status)
	}
	var enrolled *ingest.Outcome
	for i := range resp.Automations {
		if resp.Automations[i].Result == ingest.Enrolled {
			enrolled = &resp.Automations[i]
		}
	}
	if enrolled == nil {
		t.Fatalf("no enrolment in %+v", resp.Automations)
	}
	// The same event again changes nothing.
	if _, again := s.Post(ev); len(again.Automations) == 0 || again.Automations[0].Result == ingest.Enrolled {
		t.Fatalf("duplicate delivery enrolled again: %+v", again.Automations)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var result workflows.Result
	if err := s.Client.GetWorkflow(ctx, enrolled.WorkflowID, enrolled.RunID).Get(ctx, &result); err != nil {
		t.Fatalf("workflow: %v", err)
	}
	if result.Status != workflows.StatusCompleted {
		t.Fatalf("status %q, want completed; result %+v", result.Status, result)
	}
	tasks := s.Sandbox.Tasks()
	if len(tasks) != 1 {
		t.Fatalf("%d tasks created, want exactly 1: %+v", len(tasks), tasks)
	}
	if got, want := tasks[0].Title, "Call about Used F-150 XLT"; got != want {
		t.Errorf("task title %q, want %q", got, want)
	}
	if got := tasks[0].Connection; got == nil || got.ID != leadID {
		t.Errorf("task connection %+v, want the lead %s", got, leadID)
	}

	desc, err := s.Client.DescribeWorkflowExecution(ctx, enrolled.WorkflowID, enrolled.RunID)
	if err != nil {
		t.Fatal(err)
	}
	sa := desc.GetWorkflowExecutionInfo().GetSearchAttributes().GetIndexedFields()
	for name, want := range map[string]string{"AutomationId": "0193a4c2-7a10-7c5e-9d1a-2f6b8c1e0a01", "LeadId": leadID} {
		p, ok := sa[name]
		if !ok {
			t.Errorf("search attribute %s not set", name)
			continue
		}
		var got string
		_ = json.Unmarshal(p.GetData(), &got)
		if got != want {
			t.Errorf("search attribute %s = %q, want %q", name, got, want)
		}
	}
	_ = searchattr.Names
}

func TestBadEventsAreRejected(t *testing.T) {
	cat := catalog.New()
	in := &ingest.Ingester{Source: cat, TaskQueue: workflows.TaskQueue, Log: zerolog.Nop()}
	cases := []struct {
		name, body string
	}{
		{"malformed JSON", `{"id": "x", `},
		{"missing lead id", `{"id":"e1","type":"LEAD_CREATED","occurredAt":"2026-11-24T10:00:00Z","lead":{"subject":"x"}}`},
		{"unknown type", `{"id":"e1","type":"LEAD_EXPLODED","occurredAt":"2026-11-24T10:00:00Z","lead":{"id":"l1"}}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			in.HandleEvents(rec, httptest.NewRequest("POST", "/events", bytes.NewBufferString(tc.body)))
			if rec.Code != 400 {
				t.Fatalf("HTTP %d, want 400: %s", rec.Code, rec.Body)
			}
			var er ingest.ErrorResponse
			if err := json.Unmarshal(rec.Body.Bytes(), &er); err != nil || er.Error == "" {
				t.Fatalf("error body %q is not a JSON error", rec.Body)
			}
		})
	}
}
