// Package runlog keeps the starter's record of closed automation runs: a
// poller lists runs closed since its cursor in Temporal's visibility store,
// reads each one's close event once (result, or failure with the result as
// its details), and writes one row per run to the store, together with its
// failure notification. The console and the stats endpoint read these rows,
// so no page load fetches a history, and the workflow adds no event for it.
package runlog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/rs/zerolog"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/conecrm/automation-runtime/internal/automation"
	"github.com/conecrm/automation-runtime/internal/store"
	"github.com/conecrm/automation-runtime/workflows"
)

// Temporal is the part of the client the run log uses.
type Temporal interface {
	ListWorkflow(ctx context.Context, req *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error)
	GetWorkflow(ctx context.Context, workflowID, runID string) client.WorkflowRun
}

// CursorName is the store cursor holding the newest close time read (Unix
// milliseconds).
const CursorName = "runlog.closed"

// Overlap is how far before its cursor each poll looks again: visibility
// stores index closes with a delay, and recorded runs are skipped.
const Overlap = 2 * time.Minute

// Recorder records closed runs.
type Recorder struct {
	Temporal  Temporal
	Store     *store.Store
	Namespace string
	// Channels are the franchises' failure notification webhooks.
	Channels Channels
	// UIURL is the Temporal Web UI's root, for the links in notifications.
	UIURL string
	Log   zerolog.Logger
}

// Run polls every interval until ctx ends.
func (r *Recorder) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if n, err := r.Poll(ctx); err != nil && ctx.Err() == nil {
			r.Log.Warn().Err(err).Msg("run log: reading closed runs")
		} else if n > 0 {
			r.Log.Debug().Int("recorded", n).Msg("run log: closed runs recorded")
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Poll records the runs closed since the cursor and returns how many it
// recorded.
func (r *Recorder) Poll(ctx context.Context) (int, error) {
	cursor, err := r.Store.Cursor(ctx, CursorName)
	if err != nil {
		return 0, fmt.Errorf("reading the cursor: %w", err)
	}
	query := fmt.Sprintf("WorkflowType = '%s' AND ExecutionStatus != 'Running' AND ExecutionStatus != 'ContinuedAsNew'", workflows.WorkflowName)
	if cursor > 0 {
		query += " AND CloseTime >= '" + time.UnixMilli(cursor).Add(-Overlap).UTC().Format(time.RFC3339Nano) + "'"
	}
	var (
		token    []byte
		recorded int
		newest   = cursor
	)
	for {
		resp, err := r.Temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: r.Namespace, Query: query, PageSize: 500, NextPageToken: token})
		if err != nil {
			return recorded, fmt.Errorf("listing closed runs: %w", err)
		}
		for _, ex := range resp.GetExecutions() {
			ok, err := r.record(ctx, ex)
			if err != nil {
				// Leave the cursor where it is: the next poll retries.
				return recorded, err
			}
			if ok {
				recorded++
			}
			if ms := ex.GetCloseTime().AsTime().UnixMilli(); ms > newest {
				newest = ms
			}
		}
		token = resp.GetNextPageToken()
		if len(token) == 0 {
			break
		}
	}
	if newest > cursor {
		if err := r.Store.SetCursor(ctx, CursorName, newest); err != nil {
			return recorded, fmt.Errorf("writing the cursor: %w", err)
		}
	}
	return recorded, nil
}

// Keyword reads a Keyword search attribute ("" when unset).
func Keyword(sa *commonpb.SearchAttributes, name string) string {
	p := sa.GetIndexedFields()[name]
	if p == nil {
		return ""
	}
	var s string
	if err := converter.GetDefaultDataConverter().FromPayload(p, &s); err != nil {
		return ""
	}
	return s
}

var statusNames = map[enumspb.WorkflowExecutionStatus]string{
	enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED:  workflows.StatusCompleted,
	enumspb.WORKFLOW_EXECUTION_STATUS_FAILED:     workflows.StatusFailed,
	enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED:   workflows.StatusCancelled,
	enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED: "terminated",
	enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT:  "timed_out",
}

// failedNodeRE reads the node from the failure message of runs that
// carry no details ("node call (Call the lead) failed: ...").
var failedNodeRE = regexp.MustCompile(`^node (\S+) \(`)

func (r *Recorder) record(ctx context.Context, ex *workflowpb.WorkflowExecutionInfo) (bool, error) {
	wid, rid := ex.GetExecution().GetWorkflowId(), ex.GetExecution().GetRunId()
	if ok, err := r.Store.HasRun(ctx, rid); err != nil || ok {
		return false, err
	}
	sa := ex.GetSearchAttributes()
	o := store.RunOutcome{
		WorkflowID: wid, RunID: rid,
		AutomationID: Keyword(sa, "AutomationId"), Version: Keyword(sa, "AutomationVersion"),
		LeadID: Keyword(sa, "LeadId"), FranchiseID: Keyword(sa, "FranchiseId"),
		Status:    statusNames[ex.GetStatus()],
		StartedAt: ex.GetStartTime().AsTime(), ClosedAt: ex.GetCloseTime().AsTime(),
	}
	if o.Status == "" {
		o.Status = strings.ToLower(strings.TrimPrefix(ex.GetStatus().String(), "WORKFLOW_EXECUTION_STATUS_"))
	}
	var res workflows.Result
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	err := r.Temporal.GetWorkflow(rctx, wid, rid).Get(rctx, &res)
	cancel()
	if err != nil {
		var (
			app      *temporal.ApplicationError
			canceled *temporal.CanceledError
		)
		switch {
		case errors.As(err, &canceled):
			if canceled.HasDetails() {
				_ = canceled.Details(&res)
			}
		case errors.As(err, &app):
			o.Error = app.Message() // the run's own message, not the cause chain (worker identities, event ids)
			if app.HasDetails() {
				if derr := app.Details(&res); derr != nil {
					r.Log.Warn().Err(derr).Str("workflow_id", wid).Msg("run log: failure details unreadable")
				}
			}
		case o.Status == workflows.StatusFailed || o.Status == "terminated" || o.Status == "timed_out":
			o.Error = errMessage(err)
		default:
			return false, fmt.Errorf("reading run %s/%s: %w", wid, rid, err)
		}
	}
	if res.Status == workflows.StatusGoalReached {
		o.Status = workflows.StatusGoalReached
	}
	o.Path = res.Path
	o.FailedNode = res.FailedAt
	if o.FailedNode == "" && o.Status == workflows.StatusFailed {
		if m := failedNodeRE.FindStringSubmatch(o.Error); m != nil {
			o.FailedNode = m[1]
		}
	}
	o.Nodes = NodeOutcomes(res.Path, res.Steps, o.FailedNode)
	if len(res.Steps) > 0 {
		b, err := json.Marshal(res.Steps)
		if err != nil {
			return false, err
		}
		o.Steps = b
	}
	var n *store.Notification
	if o.Status == workflows.StatusFailed {
		n, err = r.notification(ctx, o)
		if err != nil {
			return false, err
		}
	}
	recorded, err := r.Store.RecordRun(ctx, o, n)
	if err != nil || o.LeadID == "" {
		return recorded, err
	}
	// The run closed: the enrolment index stops routing events to it (a
	// newer run under the same id, recorded after the close, stays).
	return recorded, r.Store.EndEnrolment(ctx, o.LeadID, wid, o.ClosedAt)
}

// NodeOutcomes says, per node a run entered, whether it passed it or
// failed at it: a step that ended without a run-failing error passed (an
// onError continue or error exit included); the node that failed the run
// failed; an interrupted step neither. Runs recorded without steps count
// their path.
func NodeOutcomes(path []string, steps []workflows.StepResult, failedNode string) map[string]string {
	out := map[string]string{}
	if len(steps) == 0 {
		for _, id := range path {
			out[id] = store.NodePassed
		}
	}
	for _, s := range steps {
		if s.Error != "" && s.Handle == "" {
			continue // interrupted, or the failure itself
		}
		out[s.NodeID] = store.NodePassed
	}
	if failedNode != "" {
		out[failedNode] = store.NodeFailed
	}
	return out
}

// errMessage is the innermost message of a run's terminal error.
func errMessage(err error) string {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err.Error()
		}
		err = next
	}
}

// RunURL links a run in the Temporal Web UI.
func RunURL(ui, namespace, workflowID, runID string) string {
	return fmt.Sprintf("%s/namespaces/%s/workflows/%s/%s/history", strings.TrimRight(ui, "/"), url.PathEscape(namespace), url.PathEscape(workflowID), url.PathEscape(runID))
}

// Failure is the body of a failure notification: ids, the node, the
// error and links; never the lead's personal data.
type Failure struct {
	Type         string    `json:"type"`
	AutomationID string    `json:"automationId"`
	Version      string    `json:"automationVersion"`
	FranchiseID  string    `json:"franchiseId,omitempty"`
	LeadID       string    `json:"leadId"`
	NodeID       string    `json:"nodeId,omitempty"`
	Error        string    `json:"error"`
	WorkflowID   string    `json:"workflowId"`
	RunID        string    `json:"runId"`
	FailedAt     time.Time `json:"failedAt"`
	RunURL       string    `json:"runUrl"`
}

// FailureType is Failure.Type.
const FailureType = "automation.run.failed"

// notification builds the failed run's notification for the automation's
// channel, else its franchise's; nil when neither is configured.
func (r *Recorder) notification(ctx context.Context, o store.RunOutcome) (*store.Notification, error) {
	target := ""
	at, err := r.Store.Get(ctx, o.AutomationID)
	switch {
	case err == nil:
		if d, perr := automation.Parse(at.Document); perr == nil && d.Notifications != nil {
			target = d.Notifications.Webhook
		}
	case !errors.Is(err, store.ErrNotFound):
		return nil, fmt.Errorf("reading automation %s: %w", o.AutomationID, err)
	}
	if target == "" {
		target = r.Channels.For(o.FranchiseID)
	}
	if target == "" {
		return nil, nil
	}
	body, err := json.Marshal(Failure{
		Type: FailureType, AutomationID: o.AutomationID, Version: o.Version, FranchiseID: o.FranchiseID, LeadID: o.LeadID,
		NodeID: o.FailedNode, Error: o.Error, WorkflowID: o.WorkflowID, RunID: o.RunID, FailedAt: o.ClosedAt.UTC(),
		RunURL: RunURL(r.UIURL, r.Namespace, o.WorkflowID, o.RunID),
	})
	if err != nil {
		return nil, err
	}
	return &store.Notification{URL: target, Body: body}, nil
}
