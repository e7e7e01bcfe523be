// Package workflows holds the automation interpreter: one Temporal workflow
// that runs any compiled automation for one enrolled lead.
package workflows

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/conecrm/automation-runtime/internal/event"
	"github.com/conecrm/automation-runtime/internal/expr"
	"github.com/conecrm/automation-runtime/internal/holidays"
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

// DefaultHistoryBudget is the history length past which a run continues as
// new at its next quiet point (every branch parked in a delay or a wait).
// Temporal's hard limit is 51,200 events; runs stay an order of magnitude
// below it. New runs carry it in their input (RunLimits); changing it changes
// only runs started afterwards.
const DefaultHistoryBudget = 2000

// RunLimits are the tunables that decide what a run does: when it continues
// as new, which duplicate events it still recognises, when an expression
// evaluation is stopped. A run replays its history with whatever code the
// worker has, so they cannot come from the worker's constants: each run
// carries the values it started with in its input (and hands them to its
// continuations). Admission limits (sizes, lengths) are not among them: they
// are checked before a run starts and never inside it (plan.Limits).
type RunLimits struct {
	// HistoryBudget is the history length past which the run continues as new.
	HistoryBudget int `json:"historyBudget,omitempty"`
	// EventWindow is how many applied event ids are remembered to ignore duplicates.
	EventWindow int `json:"eventWindow,omitempty"`
	// ExpressionCost is the runtime cost limit of one expression evaluation.
	ExpressionCost uint64 `json:"expressionCost,omitempty"`
}

// NewRunLimits are the limits the starter gives the runs it starts. Tune
// them here; runs in flight keep theirs.
var NewRunLimits = RunLimits{HistoryBudget: DefaultHistoryBudget, EventWindow: 500, ExpressionCost: expr.CostLimit}

// legacyLimits are the values of the constants before runs carried their
// limits: a run whose input has none replays with them. Never change them.
var legacyLimits = RunLimits{HistoryBudget: 2000, EventWindow: 500, ExpressionCost: 100_000}

// RunLimits returns the run's limits: the ones in its input, the legacy values
// for what the input lacks, and HistoryBudget's override.
func (in Input) RunLimits() RunLimits {
	l := legacyLimits
	if c := in.Limits; c != nil {
		if c.HistoryBudget > 0 {
			l.HistoryBudget = c.HistoryBudget
		}
		if c.EventWindow > 0 {
			l.EventWindow = c.EventWindow
		}
		if c.ExpressionCost > 0 {
			l.ExpressionCost = c.ExpressionCost
		}
	}
	if in.HistoryBudget > 0 {
		l.HistoryBudget = in.HistoryBudget
	}
	return l
}

// NewInput is the input of a new run of p for ev, with NewRunLimits.
func NewInput(p *plan.Plan, ev event.Lead) Input {
	lim := NewRunLimits
	return Input{Automation: p.Canonical, Version: p.Version, Event: ev, Limits: &lim}
}

// Input starts a run: the pinned automation version and the enrolling event.
type Input struct {
	// Event is the enrolling event; it stays the same across continue-as-new
	// (idempotency keys derive from it). It comes first so the Web UI's
	// input panel opens on the lead event rather than on the graph.
	Event event.Lead `json:"event"`
	// Automation is the canonical document of the pinned version.
	Automation json.RawMessage `json:"automation"`
	Version    string          `json:"version"`
	// HistoryBudget overrides the history budget of Limits (tests use small ones).
	HistoryBudget int `json:"historyBudget,omitempty"`
	// Limits are the run's frozen tunables; nil in runs started before
	// they existed (see RunLimits).
	Limits *RunLimits `json:"limits,omitempty"`
	// Holidays is the franchise's holiday calendar as it stood at
	// enrolment (the dates still ahead): business-hours delays skip them.
	// The run reads it from here, never from a store, so replay sees the
	// same calendar; nil for runs without one.
	Holidays *holidays.Calendar `json:"holidays,omitempty"`
	// Carried is the state of the run this one continues; nil for a new
	// enrolment.
	Carried *Carried `json:"carried,omitempty"`
}

// Carried is what a run hands to its continuation: everything the graph can
// observe, and where each live branch is parked.
type Carried struct {
	Lead       map[string]any `json:"lead"`
	Previous   map[string]any `json:"previous,omitempty"`
	Event      map[string]any `json:"event"`
	Steps      map[string]any `json:"steps"`
	Path       []string       `json:"path"`
	Results    []StepResult   `json:"results"`
	Visits     map[string]int `json:"visits"`
	Applied    []string       `json:"applied"`
	EndReasons []string       `json:"endReasons,omitempty"`
	// Parked are the live branches, each in a delay or a wait.
	Parked []Parked `json:"parked"`
	// Pending are lead events received but not applied yet.
	Pending    []event.Lead `json:"pending,omitempty"`
	Generation int          `json:"generation"`
}

// Parked is a branch waiting in a delay or a wait_for_event node.
type Parked struct {
	NodeID  string    `json:"nodeId"`
	Visit   int       `json:"visit"`
	Kind    string    `json:"kind"` // "delay" or "wait"
	Until   time.Time `json:"until"`
	Summary string    `json:"summary"`
	// Event is the event type a wait waits for.
	Event string `json:"event,omitempty"`
}

// Result says how the run ended, the path it took and each step's outcome.
type Result struct {
	Status string       `json:"status"`
	Reason string       `json:"reason,omitempty"`
	Path   []string     `json:"path"`
	Steps  []StepResult `json:"steps"`
	// StoppedAt lists the nodes a cancellation or a goal interrupted.
	StoppedAt []string `json:"stoppedAt,omitempty"`
	// FailedAt is the node whose failure failed the run. A failed run
	// carries its Result as the failure's details, so the starter's run
	// log reads path and steps from the close event alone.
	FailedAt string `json:"failedAt,omitempty"`
	// Applied are the ids of the lead events the run applied, the enrolling
	// one first, in order (the last 500, the de-duplication window).
	Applied []string `json:"applied,omitempty"`
}

// Run statuses.
const (
	StatusCompleted   = "completed"
	StatusGoalReached = "goal_reached"
	StatusCancelled   = "cancelled"
	StatusFailed      = "failed"
)

// StepResult is the outcome of one node execution.
type StepResult struct {
	NodeID  string `json:"nodeId"`
	Type    string `json:"type"`
	Handle  string `json:"handle,omitempty"`
	Summary string `json:"summary,omitempty"`
	Error   string `json:"error,omitempty"`
	// At is when the step ended (workflow time).
	At time.Time `json:"at,omitempty"`
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
	Generation   int            `json:"generation"`
	// Results are the steps so far, as the run's Result will list them.
	Results []StepResult `json:"results,omitempty"`
	// Applied are the lead event ids applied so far, as in Result.
	Applied []string `json:"applied,omitempty"`
}

// PendingTimer is a delay or wait timeout that has not fired.
type PendingTimer struct {
	NodeID  string    `json:"nodeId"`
	FiresAt time.Time `json:"firesAt"`
	Summary string    `json:"summary"`
}

// AutomationRun interprets the automation for one lead.
func AutomationRun(ctx workflow.Context, in Input) (Result, error) {
	// plan.Load depends only on the bytes (JSON decoding, CEL compilation,
	// a cache keyed by their hash); workflowcheck cannot see through them.
	p, err := plan.Load(in.Automation, in.RunLimits().ExpressionCost) //workflowcheck:ignore
	if err != nil {
		return Result{}, temporal.NewNonRetryableApplicationError("automation does not load: "+err.Error(), "InvalidAutomation", err)
	}
	r := newRun(ctx, p, in)
	if err := workflow.SetQueryHandler(ctx, QueryState, r.state); err != nil {
		return Result{}, err
	}
	starts := []start{{id: p.TriggerID}}
	if in.Carried == nil {
		r.upsert(ctx, p.TriggerID, "trigger", true)
		workflow.SetCurrentDetails(ctx, "Enrolled by "+in.Event.Type+" event "+in.Event.ID)
	} else {
		starts = starts[:0]
		for i := range in.Carried.Parked {
			starts = append(starts, start{id: in.Carried.Parked[i].NodeID, resume: &in.Carried.Parked[i]})
		}
	}

	signals := workflow.GetSignalChannel(ctx, SignalLeadEvent)
	walkCtx, cancelWalk := workflow.WithCancel(ctx)
	r.cancelWalk = cancelWalk
	var (
		walkErr error
		done    bool
	)
	workflow.Go(walkCtx, func(ctx workflow.Context) {
		walkErr = r.runFrom(ctx, starts)
		done = true
	})
	workflow.Go(ctx, func(ctx workflow.Context) { r.receiveEvents(ctx, signals) })

	if err := workflow.Await(ctx, func() bool { return done || r.continueAsNewDue(ctx, signals) }); err != nil {
		// The run itself was cancelled: let the branches unwind (running
		// activities report how they ended) before recording where it stopped.
		dctx, _ := workflow.NewDisconnectedContext(ctx)
		_ = workflow.Await(dctx, func() bool { return done })
		r.drain(dctx, signals)
		return r.cancelled(dctx)
	}
	if !done {
		next := in
		next.Carried = r.carry(signals)
		workflow.GetLogger(ctx).Info("continuing as new", "generation", next.Carried.Generation, "parked", len(next.Carried.Parked), "history_length", workflow.GetInfo(ctx).GetCurrentHistoryLength())
		return Result{}, workflow.NewContinueAsNewError(ctx, WorkflowName, next)
	}
	// The walk has ended: events that arrived in this workflow task are
	// applied before the run closes (they refresh the lead the result
	// reports; the goal counts only while branches were walking).
	r.finished = true
	r.drain(ctx, signals)
	if r.goalReached {
		workflow.SetCurrentDetails(ctx, "Finished: goal reached")
		return r.result(StatusGoalReached, "goal reached"), nil
	}
	if walkErr != nil {
		if temporal.IsCanceledError(walkErr) {
			return r.cancelled(ctx)
		}
		workflow.SetCurrentDetails(ctx, "Failed: "+walkErr.Error())
		return Result{}, walkErr
	}
	workflow.SetCurrentDetails(ctx, "Finished: "+r.endReason())
	return r.result(StatusCompleted, r.endReason()), nil
}

// cancelled records where a cancelled run stopped; the result travels as the
// cancellation's details, visible in the history and the Web UI.
func (r *run) cancelled(ctx workflow.Context) (Result, error) {
	reason := "cancelled"
	if len(r.stoppedAt) > 0 {
		reason = "cancelled at " + strings.Join(r.stoppedAt, ", ")
	}
	res := r.result(StatusCancelled, reason)
	workflow.SetCurrentDetails(ctx, "Cancelled: "+reason)
	workflow.GetLogger(ctx).Info("run cancelled", "stopped_at", r.stoppedAt, "path", r.path)
	return res, temporal.NewCanceledError(res)
}

// upsert records the node the run is in, for visibility queries. It skips
// writes that change nothing; conditions and switches never call it, so
// they add no history events.
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
		if _, ok := sa.GetKeyword(searchattr.AutomationID); ok {
			r.saNode = nodeID // the starter set everything, CurrentNode included
			return
		}
		updates = append(updates,
			searchattr.AutomationID.ValueSet(r.plan.Doc.ID),
			searchattr.AutomationVersion.ValueSet(r.plan.Version),
			searchattr.LeadID.ValueSet(r.in.Event.LeadID()),
			searchattr.Trigger.ValueSet(r.plan.Doc.AutomationTrigger),
		)
		if f := r.in.Event.FranchiseID(); f != "" {
			updates = append(updates, searchattr.FranchiseID.ValueSet(f))
		}
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, updates...); err != nil {
		workflow.GetLogger(ctx).Warn("search attributes not updated", "error", err)
		return
	}
	r.saNode = nodeID
}

func describeUntil(t time.Time, loc *time.Location) string {
	return fmt.Sprint(t.In(loc).Format("2006-01-02 15:04 MST"))
}
