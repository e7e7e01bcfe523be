package workerapp

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/rs/zerolog"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/interceptor"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/conecrm/automation-runtime/internal/logging"
	"github.com/conecrm/automation-runtime/internal/metrics"
	"github.com/conecrm/automation-runtime/internal/nodes"
	"github.com/conecrm/automation-runtime/internal/searchattr"
	"github.com/conecrm/automation-runtime/workflows"
)

// headerAutomation carries the automation id and version from a workflow to
// its activities, so activity log lines name them too.
const headerAutomation = "conecrm-automation"

// automationRef is what the header carries: identifiers, never lead data.
type automationRef struct {
	ID      string `json:"id"`
	Version string `json:"version"`
}

// Interceptor puts the run's identity on every log line from workflows
// (replay-safe: it decorates the SDK's workflow logger) and activities, and
// counts activity executions by node type and outcome.
type Interceptor struct {
	interceptor.WorkerInterceptorBase
	// Log is the base logger of activities' context loggers.
	Log zerolog.Logger
	// Metrics receives node executions; nil uses the default registry.
	Metrics *metrics.Registry
}

var _ interceptor.WorkerInterceptor = (*Interceptor)(nil)

// NewInterceptor returns the worker's interceptor.
func NewInterceptor(log zerolog.Logger) *Interceptor {
	return &Interceptor{Log: log, Metrics: metrics.Default()}
}

// InterceptWorkflow is called once per workflow execution on a worker.
func (i *Interceptor) InterceptWorkflow(_ workflow.Context, next interceptor.WorkflowInboundInterceptor) interceptor.WorkflowInboundInterceptor {
	return &workflowInbound{WorkflowInboundInterceptorBase: interceptor.WorkflowInboundInterceptorBase{Next: next}}
}

type workflowInbound struct {
	interceptor.WorkflowInboundInterceptorBase
	ref automationRef
}

func (w *workflowInbound) Init(outbound interceptor.WorkflowOutboundInterceptor) error {
	return w.Next.Init(&workflowOutbound{WorkflowOutboundInterceptorBase: interceptor.WorkflowOutboundInterceptorBase{Next: outbound}, in: w})
}

func (w *workflowInbound) ExecuteWorkflow(ctx workflow.Context, in *interceptor.ExecuteWorkflowInput) (any, error) {
	w.ref = refOf(ctx, in.Args)
	return w.Next.ExecuteWorkflow(ctx, in)
}

// refOf reads the automation id and version from the interpreter's input,
// else from the run's search attributes.
func refOf(ctx workflow.Context, args []any) automationRef {
	var ref automationRef
	if len(args) > 0 {
		var in *workflows.Input
		switch v := args[0].(type) {
		case workflows.Input:
			in = &v
		case *workflows.Input:
			in = v
		}
		if in != nil {
			ref.Version = in.Version
			var doc struct {
				ID string `json:"id"`
			}
			if json.Unmarshal(in.Automation, &doc) == nil {
				ref.ID = doc.ID
			}
		}
	}
	sa := workflow.GetTypedSearchAttributes(ctx)
	if ref.ID == "" {
		ref.ID, _ = sa.GetKeyword(searchattr.AutomationID)
	}
	if ref.Version == "" {
		ref.Version, _ = sa.GetKeyword(searchattr.AutomationVersion)
	}
	return ref
}

type workflowOutbound struct {
	interceptor.WorkflowOutboundInterceptorBase
	in *workflowInbound
}

// GetLogger adds the automation to the SDK's replay-safe workflow logger,
// which already names the workflow and run.
func (w *workflowOutbound) GetLogger(ctx workflow.Context) sdklog.Logger {
	l := w.Next.GetLogger(ctx)
	if w.in.ref.ID == "" {
		return l
	}
	return sdklog.With(l, "automation_id", w.in.ref.ID, "automation_version", w.in.ref.Version)
}

func (w *workflowOutbound) ExecuteActivity(ctx workflow.Context, activityType string, args ...any) workflow.Future {
	if w.in.ref.ID != "" {
		if p, err := converter.GetDefaultDataConverter().ToPayload(w.in.ref); err == nil {
			interceptor.WorkflowHeader(ctx)[headerAutomation] = p
		}
	}
	return w.Next.ExecuteActivity(ctx, activityType, args...)
}

// InterceptActivity is called for every activity attempt.
func (i *Interceptor) InterceptActivity(_ context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	return &activityInbound{ActivityInboundInterceptorBase: interceptor.ActivityInboundInterceptorBase{Next: next}, root: i}
}

type activityInbound struct {
	interceptor.ActivityInboundInterceptorBase
	root *Interceptor
	kv   []any
}

func (a *activityInbound) Init(outbound interceptor.ActivityOutboundInterceptor) error {
	return a.Next.Init(&activityOutbound{ActivityOutboundInterceptorBase: interceptor.ActivityOutboundInterceptorBase{Next: outbound}, in: a})
}

func (a *activityInbound) ExecuteActivity(ctx context.Context, in *interceptor.ExecuteActivityInput) (any, error) {
	info := activity.GetInfo(ctx)
	var ref automationRef
	if p, ok := interceptor.Header(ctx)[headerAutomation]; ok {
		_ = converter.GetDefaultDataConverter().FromPayload(p, &ref)
	}
	nodeID, _, _ := strings.Cut(info.ActivityID, "#")
	a.kv = []any{"automation_id", ref.ID, "automation_version", ref.Version, "node_id", nodeID}
	l := a.root.Log.With().
		Str("workflow_id", info.WorkflowExecution.ID).
		Str("run_id", info.WorkflowExecution.RunID).
		Str("automation_id", ref.ID).
		Str("automation_version", ref.Version).
		Str("node_id", nodeID).
		Str("activity_type", info.ActivityType.Name).
		Int32("attempt", info.Attempt).
		Logger()
	ctx = logging.WithContext(ctx, l)

	out, err := a.Next.ExecuteActivity(ctx, in)
	if nodeType, ok := NodeType(info.ActivityType.Name); ok {
		reg := a.root.Metrics
		if reg == nil {
			reg = metrics.Default()
		}
		reg.NodeExecuted(nodeType, activityOutcome(info, err))
	}
	return out, err
}

// activityOutcome: completed, cancelled, failed (no retry will follow) or
// retrying.
func activityOutcome(info activity.Info, err error) string {
	if err == nil {
		return metrics.OutcomeCompleted
	}
	if temporal.IsCanceledError(err) || errors.Is(err, context.Canceled) {
		return metrics.OutcomeCancelled
	}
	var app *temporal.ApplicationError
	if errors.As(err, &app) && app.NonRetryable() {
		return metrics.OutcomeFailed
	}
	if rp := info.RetryPolicy; rp != nil {
		if rp.MaximumAttempts > 0 && info.Attempt >= rp.MaximumAttempts {
			return metrics.OutcomeFailed
		}
		if errors.As(err, &app) {
			for _, t := range rp.NonRetryableErrorTypes {
				if t == app.Type() {
					return metrics.OutcomeFailed
				}
			}
		}
	}
	return metrics.OutcomeRetrying
}

// nodeTypes maps each action node type's activity to the node's metric label.
var nodeTypes = func() map[string]string {
	m := map[string]string{}
	for _, def := range nodes.Builtin().Definitions() {
		if def.Activity != nil {
			m[def.Activity.Name()] = def.Metric
		}
	}
	return m
}()

// NodeType is the metric label of the node type whose activity this is;
// false for an activity no node type runs, which is no node execution.
func NodeType(activityType string) (string, bool) {
	t, ok := nodeTypes[activityType]
	return t, ok
}

type activityOutbound struct {
	interceptor.ActivityOutboundInterceptorBase
	in *activityInbound
}

// GetLogger adds the automation and node to activity.GetLogger's logger,
// which already names the workflow, run and activity.
func (a *activityOutbound) GetLogger(ctx context.Context) sdklog.Logger {
	return sdklog.With(a.Next.GetLogger(ctx), a.in.kv...)
}
