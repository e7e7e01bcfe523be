package metrics

import (
	"time"

	"go.temporal.io/sdk/workflow"
)

// WorkflowNodeExecuted counts a node execution from workflow code. It goes
// through the workflow's metrics handler, which records nothing while a
// history replays, so each execution counts once.
func WorkflowNodeExecuted(ctx workflow.Context, nodeType, outcome string) {
	workflow.GetMetricsHandler(ctx).
		WithTags(map[string]string{"node_type": nodeType, "outcome": outcome}).
		Counter(NameNodeExecutions).Inc(1)
}

// WorkflowNodeWaited records the time a branch spent parked in a delay or a
// wait node (replay-safe, like WorkflowNodeExecuted).
func WorkflowNodeWaited(ctx workflow.Context, automationID, nodeID, nodeType string, d time.Duration) {
	workflow.GetMetricsHandler(ctx).
		WithTags(map[string]string{"automation_id": automationID, "node_id": nodeID, "node_type": nodeType}).
		Timer(NameNodeWait).Record(d)
}
