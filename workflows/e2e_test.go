package workflows_test

import (
	stdcontext "context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/conecrm/automation-runtime/internal/devkit/sandbox"
	"github.com/conecrm/automation-runtime/internal/devkit/stack"
	"github.com/conecrm/automation-runtime/internal/event"
	"github.com/conecrm/automation-runtime/workflows"
)

// Example automations end to end: the real dev server, the production
// worker registration and activities, and the ConeCRM sandbox behind them.
func TestExamplesEndToEndWithSandbox(t *testing.T) {
	s := stack.Start(t, stack.Options{LenientSandbox: true, Starter: stack.NoStarter})
	c, sb, queue := s.Client, s.Sandbox, s.TaskQueue

	cases := []struct {
		file    string
		ev      event.Lead
		signals []event.Lead
		path    string
		check   func(t *testing.T)
	}{
		{file: "new-lead-call-task.json", ev: sbEvent("e2e-1", "LEAD_CREATED", nil), path: "start is-car call done",
			check: func(t *testing.T) {
				if ts := sb.Tasks(); len(ts) != 1 || ts[0].Title != "Call about 2025 Honda Civic Touring" {
					t.Fatalf("tasks %+v, want the call task", ts)
				}
			}},
		{file: "brand-specialist-routing.json", ev: sbEvent("e2e-2", "LEAD_CREATED", nil), path: "start route-make honda-specialist routed",
			check: func(t *testing.T) {
				ts := sb.Tasks()
				if len(ts) != 1 || !strings.HasPrefix(ts[0].Title, "Honda lead: call") {
					t.Fatalf("tasks %+v, want the Honda specialist's call", ts)
				}
			}},
		{file: "test-drive-to-salesforce.json", ev: sbEvent("e2e-3", "LEAD_STAGE_CHANGED", stage(sandbox.StageTestDrive)),
			path: "start to-negotiation push-salesforce sync-failed failed",
			check: func(t *testing.T) {
				if mv := sb.StageMoves(); len(mv) != 1 || mv[0].ToStageID != sandbox.StageNegotiation {
					t.Fatalf("stage moves %+v", mv)
				}
				// This worker has no CRM configured: the push fails and
				// the error edge tells the manager.
				if ts := sb.Tasks(); len(ts) != 1 || !strings.HasPrefix(ts[0].Title, "Salesforce sync failed") {
					t.Fatalf("tasks %+v", ts)
				}
			}},
		{file: "stale-lead-follow-up.json", ev: sbEvent("e2e-4", "LEAD_STAGE_CHANGED", stage(sandbox.StageContacted)),
			signals: []event.Lead{sbEvent("e2e-4b", "LEAD_UPDATED", stage(sandbox.StageContacted))}, path: "start wait-activity active",
			check: func(t *testing.T) {
				if ts := sb.Tasks(); len(ts) != 0 {
					t.Fatalf("tasks %+v, want none for an active lead", ts)
				}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			sb.Reset()
			ctx, cancel := stdcontext.WithTimeout(stdcontext.Background(), time.Minute)
			defer cancel()
			x := example{file: tc.file}
			in := input(t, x.document(t), tc.ev)
			id := "automation/e2e/" + tc.file + "/lead/" + sandbox.LeadAlice + "/" + queue
			run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: queue}, workflows.WorkflowName, in)
			if err != nil {
				t.Fatal(err)
			}
			for _, ev := range tc.signals {
				for ctx.Err() == nil {
					v, err := c.QueryWorkflow(ctx, id, "", workflows.QueryState)
					var st workflows.State
					if err == nil && v.Get(&st) == nil && len(st.Waiting) > 0 {
						break
					}
					time.Sleep(100 * time.Millisecond)
				}
				if err := c.SignalWorkflow(ctx, id, "", workflows.SignalLeadEvent, ev); err != nil {
					t.Fatal(err)
				}
			}
			var res workflows.Result
			if err := run.Get(ctx, &res); err != nil {
				t.Fatalf("run: %v", err)
			}
			if got := strings.Join(res.Path, " "); got != tc.path {
				t.Fatalf("path %q, want %q", got, tc.path)
			}
			tc.check(t)
			desc, err := c.DescribeWorkflowExecution(ctx, id, run.GetRunID())
			if err != nil {
				t.Fatal(err)
			}
			sa := desc.WorkflowExecutionInfo.SearchAttributes.GetIndexedFields()
			var lead string
			_ = json.Unmarshal(sa["LeadId"].GetData(), &lead)
			if lead != sandbox.LeadAlice || sa["CurrentNode"] == nil || sa["AutomationVersion"] == nil {
				t.Fatalf("search attributes %v", sa)
			}
		})
	}
}
