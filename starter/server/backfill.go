package server

import (
	"context"
	"fmt"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/conecrm/automation-runtime/internal/runlog"
	"github.com/conecrm/automation-runtime/internal/store"
	"github.com/conecrm/automation-runtime/workflows"
)

// backfillCursor marks a store whose enrolment index has been filled from
// Temporal once.
const backfillCursor = "enrolments_backfilled"

// BackfillEnrolments records in the enrolment index every running run
// Temporal's visibility lists, once per store: runs started before the
// index existed then receive their lead's later events, which are routed by
// the index alone. It returns how many runs it recorded (0 when done
// before).
func BackfillEnrolments(ctx context.Context, c client.Client, st *store.Store, namespace string) (int, error) {
	if done, err := st.Cursor(ctx, backfillCursor); err != nil || done > 0 {
		return 0, err
	}
	query := fmt.Sprintf("WorkflowType = '%s' AND ExecutionStatus = 'Running'", workflows.WorkflowName)
	n := 0
	var token []byte
	for {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: namespace, Query: query, PageSize: 500, NextPageToken: token})
		if err != nil {
			return n, fmt.Errorf("listing running runs: %w", err)
		}
		for _, ex := range resp.GetExecutions() {
			sa := ex.GetSearchAttributes()
			e := store.Enrolment{
				LeadID: runlog.Keyword(sa, "LeadId"), WorkflowID: ex.GetExecution().GetWorkflowId(),
				AutomationID: runlog.Keyword(sa, "AutomationId"), Franchise: runlog.Keyword(sa, "FranchiseId"),
				StartedAt: ex.GetStartTime().AsTime(),
			}
			if e.LeadID == "" || e.AutomationID == "" {
				continue
			}
			if err := st.RecordEnrolment(ctx, e); err != nil {
				return n, err
			}
			n++
		}
		if token = resp.GetNextPageToken(); len(token) == 0 {
			break
		}
	}
	return n, st.SetCursor(ctx, backfillCursor, 1)
}
