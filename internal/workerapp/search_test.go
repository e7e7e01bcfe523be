package workerapp_test

import (
	"context"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"

	"github.com/conecrm/automation-runtime/internal/devkit/sandbox"
	"github.com/conecrm/automation-runtime/internal/devkit/stack"
)

// TestSearchRecipes runs the README's visibility queries against a real
// server: one run waits in a delay, another failed.
func TestSearchRecipes(t *testing.T) {
	const automation = "0193a4c2-7a10-7c5e-9d1a-2f6b8c1e0e01"
	const unknownLead = "0192f0a0-0005-7000-8000-00000000dead"
	s := stack.Start(t, stack.Options{AutomationsDir: "testdata/waiting"})
	waiting := s.Enrol(leadEvent("evt-search-1", sandbox.LeadAlice, sandbox.SeedContacts[0]))
	s.WaitParked(waiting, 30*time.Second)
	failed := s.Enrol(leadEvent("evt-search-2", unknownLead, sandbox.SeedContacts[1]))
	if err := s.Client.GetWorkflow(t.Context(), failed.WorkflowID, failed.RunID).Get(t.Context(), nil); err == nil {
		t.Fatal("the run for an unknown lead did not fail")
	}

	recipes := []struct {
		name, query string
		want        int64
	}{
		{"all runs of an automation", "AutomationId = '" + automation + "'", 2},
		{"runs waiting in a node", "AutomationId = '" + automation + "' AND CurrentNode = 'wait-1h' AND ExecutionStatus = 'Running'", 1},
		{"runs waiting in any delay (delayedAutomationsCount)", "CurrentNodeType = 'delay' AND ExecutionStatus = 'Running'", 1},
		{"failed runs for a lead", "LeadId = '" + unknownLead + "' AND ExecutionStatus = 'Failed'", 1},
		{"runs of an old version", "AutomationId = '" + automation + "' AND AutomationVersion = '" + waiting.Version + "' AND ExecutionStatus = 'Running'", 1},
		{"runs not on the current version", "AutomationId = '" + automation + "' AND AutomationVersion != 'current-version'", 2},
		{"running runs by trigger", "`Trigger` = 'LEAD_CREATED' AND ExecutionStatus = 'Running'", 1},
	}
	for _, r := range recipes {
		t.Run(r.name, func(t *testing.T) {
			// Visibility is eventually consistent: poll briefly.
			deadline := time.Now().Add(15 * time.Second)
			for {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				resp, err := s.Client.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Namespace: s.Namespace, Query: r.query})
				cancel()
				if err != nil {
					t.Fatalf("%s: %v", r.query, err)
				}
				if resp.GetCount() == r.want {
					return
				}
				if time.Now().After(deadline) {
					t.Fatalf("%s: %d runs, want %d", r.query, resp.GetCount(), r.want)
				}
				time.Sleep(250 * time.Millisecond)
			}
		})
	}
}
