// Package workflows holds the automation interpreter: one Temporal workflow
// that runs any compiled automation for one enrolled lead.
package workflows

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/conecrm/automation-runtime/internal/event"
	"github.com/conecrm/automation-runtime/internal/plan"
	"github.com/conecrm/automation-runtime/internal/searchattr"
)

// Names the starter and tests use to address the workflow.
const (
	WorkflowName    = "AutomationRun"
	SignalLeadEvent = "lead-event"
	QueryState      = "state"
	TaskQueue       = "automations"
)

// Input starts a run: the pinned automation version and the enrolling event.
type Input struct {
	// Automation is the canonical document of the pinned version.
	Automation json.RawMessage `json:"automation"`
	Version    string          `json:"version"`
	Event      event.Lead      `json:"event"`
}

// Result says how the run ended, the path it took and each step's outcome.
type Result struct {
	Status string       `json:"status"`
	Reason string       `json:"reason,omitempty"`
	Path   []string     `json:"path"`
	Steps  []StepResult `json:"steps"`
}

// Run statuses.
const (
	StatusCompleted   = "completed"
	StatusGoalReached = "goal_reached"
)

// StepResult is the outcome of one node execution.
type StepResult struct {
	NodeID  string `json:"nodeId"`
	Type    string `json:"type"`
	Handle  string `json:"handle,omitempty"`
	Summary string `json:"summary,omitempty"`
	Error   string `json:"error,omitempty"`
}

// State answers the "state" query.
type State struct {
	AutomationID string         `json:"automationId"`
	Version      string         `json:"version"`
	CurrentNodes []string       `json:"currentNodes"`
	Path         []string       `json:"path"`
	Timers       []PendingTimer `json:"timers"`
	Waiting      []string       `json:"waitingFor,omitempty"`
	Steps        map[string]any `json:"steps"`
}

// PendingTimer is a delay or wait timeout that has not fired.
type PendingTimer struct {
	NodeID  string    `json:"nodeId"`
	FiresAt time.Time `json:"firesAt"`
	Summary string    `json:"summary"`
}

// AutomationRun interprets the automation for one lead.
func AutomationRun(ctx workflow.Context, in Input) (Result, error) {
	p, err := plan.Load(in.Automation)
	if err != nil {
		return Result{}, temporal.NewNonRetryableApplicationError("automation does not load: "+err.Error(), "InvalidAutomation", err)
	}
	r := newRun(ctx, p, in)
	if err := workflow.SetQueryHandler(ctx, QueryState, r.state); err != nil {
		return Result{}, err
	}
	r.upsert(ctx, p.TriggerID, "trigger", true)
	workflow.SetCurrentDetails(ctx, "Enrolled by "+in.Event.Type+" event "+in.Event.ID)

	walkCtx, cancelWalk := workflow.WithCancel(ctx)
	r.cancelWalk = cancelWalk
	workflow.Go(ctx, r.receiveEvents)

	err = r.walk(walkCtx, p.TriggerID)
	if r.goalReached {
		workflow.SetCurrentDetails(ctx, "Finished: goal reached")
		return r.result(StatusGoalReached, "goal reached"), nil
	}
	if err != nil {
		if temporal.IsCanceledError(err) || errors.Is(ctx.Err(), workflow.ErrCanceled) {
			workflow.SetCurrentDetails(ctx, "Cancelled at "+fmt.Sprint(r.currentNodes()))
			workflow.GetLogger(ctx).Info("run cancelled", "nodes", r.currentNodes())
			return r.result("cancelled", "cancelled"), err
		}
		workflow.SetCurrentDetails(ctx, "Failed: "+err.Error())
		return Result{}, err
	}
	workflow.SetCurrentDetails(ctx, "Finished: "+r.endReason())
	return r.result(StatusCompleted, r.endReason()), nil
}

// upsert records the node the run is in, for visibility queries. It skips
// writes that change nothing, so conditions add no history events.
func (r *run) upsert(ctx workflow.Context, nodeID, nodeType string, start bool) {
	if !start && nodeID == r.saNode {
		return
	}
	updates := []temporal.SearchAttributeUpdate{
		searchattr.CurrentNode.ValueSet(nodeID),
		searchattr.CurrentNodeType.ValueSet(nodeType),
	}
	if start {
		// The starter sets these at start; set them again for runs started
		// another way (tests, the CLI), so every run is searchable.
		sa := workflow.GetTypedSearchAttributes(ctx)
		if _, ok := sa.GetKeyword(searchattr.AutomationID); !ok {
			updates = append(updates,
				searchattr.AutomationID.ValueSet(r.plan.Doc.ID),
				searchattr.AutomationVersion.ValueSet(r.plan.Version),
				searchattr.LeadID.ValueSet(r.in.Event.LeadID()),
				searchattr.Trigger.ValueSet(r.plan.Doc.AutomationTrigger),
			)
			if f := r.in.Event.FranchiseID(); f != "" {
				updates = append(updates, searchattr.FranchiseID.ValueSet(f))
			}
		} else {
			r.saNode = nodeID // the starter set everything, CurrentNode included
			return
		}
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, updates...); err != nil {
		workflow.GetLogger(ctx).Warn("search attributes not updated", "error", err)
		return
	}
	r.saNode = nodeID
}
