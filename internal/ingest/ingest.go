// Package ingest is the starter's front door for lead events: it matches
// automations, enrols leads (one workflow per automation and lead) and
// delivers later events to enrolled runs as signals.
package ingest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"sync"

	"github.com/rs/zerolog"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/conecrm/automation-runtime/internal/automation"
	"github.com/conecrm/automation-runtime/internal/event"
	"github.com/conecrm/automation-runtime/internal/expr"
	"github.com/conecrm/automation-runtime/internal/plan"
	"github.com/conecrm/automation-runtime/internal/searchattr"
	"github.com/conecrm/automation-runtime/workflows"
)

// Source lists the automations events are matched against.
type Source interface {
	All() []*plan.Plan
}

// Outcome is what happened for one automation.
type Outcome struct {
	AutomationID string `json:"automationId"`
	Version      string `json:"version,omitempty"`
	Result       string `json:"result"` // enrolled, signalled, skipped
	WorkflowID   string `json:"workflowId,omitempty"`
	RunID        string `json:"runId,omitempty"`
	Reason       string `json:"reason,omitempty"`
}

// Results.
const (
	Enrolled  = "enrolled"
	Signalled = "signalled"
	Skipped   = "skipped"
)

// Ingester enrols and signals.
type Ingester struct {
	Temporal  client.Client
	Source    Source
	TaskQueue string
	Log       zerolog.Logger

	seenMu sync.Mutex
	seen   map[string]Outcome
}

// WorkflowID derives a run's id from the automation and lead ids (never from
// personal data). Re-enrolment "always" adds the enrolling event id.
func WorkflowID(p *plan.Plan, leadID, eventID string) string {
	id := "automation/" + safe(p.Doc.ID) + "/lead/" + safe(leadID)
	if p.Doc.ReenrollmentMode() == automation.ReenrollAlways {
		id += "/event/" + safe(eventID)
	}
	return id
}

var safeID = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,100}$`)

// safe keeps ids that are plain identifiers (UUIDs) and hashes anything else,
// so no free text reaches a workflow id.
func safe(s string) string {
	if safeID.MatchString(s) {
		return s
	}
	sum := sha256.Sum256([]byte(s))
	return "h-" + hex.EncodeToString(sum[:12])
}

// Deliver processes one validated event against every automation.
func (in *Ingester) Deliver(ctx context.Context, ev event.Lead) ([]Outcome, error) {
	leadID := ev.LeadID()
	if leadID == "" {
		return nil, errors.New("lead.id is required")
	}
	var out []Outcome
	for _, p := range in.Source.All() {
		o, err := in.deliverOne(ctx, p, ev, leadID)
		if err != nil {
			return out, fmt.Errorf("automation %s: %w", p.Doc.ID, err)
		}
		if o != nil {
			out = append(out, *o)
		}
	}
	if out == nil {
		out = []Outcome{}
	}
	return out, nil
}

func (in *Ingester) deliverOne(ctx context.Context, p *plan.Plan, ev event.Lead, leadID string) (*Outcome, error) {
	o := &Outcome{AutomationID: p.Doc.ID, Version: p.Version}
	wfID := WorkflowID(p, leadID, ev.ID)
	// An enrolled lead receives every later event, whatever its type, so
	// waits and goals see it; only enrolment needs the trigger to match.
	if p.Doc.AutomationTrigger != ev.Type {
		if err := in.signal(ctx, wfID, ev); err == nil {
			o.Result, o.WorkflowID = Signalled, wfID
			return o, nil
		} else if !isNotFound(err) {
			return nil, err
		}
		return nil, nil // not enrolled and not a trigger for it: not listed
	}
	if !p.Doc.Active() {
		o.Result, o.Reason = Skipped, "automation inactive"
		return o, nil
	}
	if key := p.Doc.ID + "|" + ev.ID; in.remembered(key) {
		o.Result, o.WorkflowID, o.Reason = Skipped, wfID, "event already processed"
		return o, nil
	}
	ok, err := p.Trigger().Accepts(expr.Vars{Lead: ev.Lead, Event: ev.Map(), Previous: ev.Previous, Now: ev.OccurredAt})
	if err != nil {
		o.Result, o.Reason = Skipped, "filter could not be evaluated: "+err.Error()
		return o, nil
	}
	if !ok {
		// A lead already enrolled still gets the event.
		if err := in.signal(ctx, wfID, ev); err == nil {
			o.Result, o.WorkflowID = Signalled, wfID
			return o, nil
		}
		o.Result, o.Reason = Skipped, "filter false"
		return o, nil
	}
	run, err := in.Temporal.ExecuteWorkflow(ctx, in.startOptions(p, ev, wfID, leadID), workflows.WorkflowName, workflows.Input{Automation: p.Canonical, Version: p.Version, Event: ev})
	if err == nil {
		o.Result, o.WorkflowID, o.RunID = Enrolled, wfID, run.GetRunID()
		in.remember(p.Doc.ID+"|"+ev.ID, *o)
		in.Log.Info().Str("workflow_id", wfID).Str("run_id", run.GetRunID()).Str("automation_id", p.Doc.ID).Str("event_id", ev.ID).Msg("lead enrolled")
		return o, nil
	}
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if !errors.As(err, &started) {
		return nil, fmt.Errorf("starting workflow: %w", err)
	}
	// Already running: deliver the event to it. The run ignores an event id
	// it has applied, so concurrent or repeated deliveries change nothing.
	if err := in.signal(ctx, wfID, ev); err == nil {
		o.Result, o.WorkflowID, o.Reason = Signalled, wfID, "already enrolled"
		return o, nil
	} else if !isNotFound(err) {
		return nil, err
	}
	o.Result, o.WorkflowID, o.Reason = Skipped, wfID, "re-enrolment not allowed"
	return o, nil
}

func (in *Ingester) startOptions(p *plan.Plan, ev event.Lead, wfID, leadID string) client.StartWorkflowOptions {
	reuse := enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE
	if p.Doc.ReenrollmentMode() == automation.ReenrollAfterFinish {
		reuse = enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE
	}
	sa := []temporal.SearchAttributeUpdate{
		searchattr.AutomationID.ValueSet(p.Doc.ID),
		searchattr.AutomationVersion.ValueSet(p.Version),
		searchattr.LeadID.ValueSet(leadID),
		searchattr.Trigger.ValueSet(p.Doc.AutomationTrigger),
		searchattr.CurrentNode.ValueSet(p.TriggerID),
		searchattr.CurrentNodeType.ValueSet("trigger"),
	}
	if f := ev.FranchiseID(); f != "" {
		sa = append(sa, searchattr.FranchiseID.ValueSet(f))
	} else if p.Doc.Franchise != nil && p.Doc.Franchise.ID != "" {
		sa = append(sa, searchattr.FranchiseID.ValueSet(p.Doc.Franchise.ID))
	}
	return client.StartWorkflowOptions{
		ID:                       wfID,
		TaskQueue:                in.TaskQueue,
		WorkflowIDReusePolicy:    reuse,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		TypedSearchAttributes:    temporal.NewSearchAttributes(sa...),
		StaticSummary:            fmt.Sprintf("%s · lead %s", p.Doc.Name, leadID),
		StaticDetails:            fmt.Sprintf("Automation %s version %s, trigger %s, enrolled by event %s", p.Doc.ID, p.Version, p.Doc.AutomationTrigger, ev.ID),
	}
}

func (in *Ingester) signal(ctx context.Context, wfID string, ev event.Lead) error {
	return in.Temporal.SignalWorkflow(ctx, wfID, "", workflows.SignalLeadEvent, ev)
}

func isNotFound(err error) bool {
	var nf *serviceerror.NotFound
	return errors.As(err, &nf)
}

const maxRemembered = 100_000

func (in *Ingester) remembered(key string) bool {
	in.seenMu.Lock()
	defer in.seenMu.Unlock()
	_, ok := in.seen[key]
	return ok
}

func (in *Ingester) remember(key string, o Outcome) {
	in.seenMu.Lock()
	defer in.seenMu.Unlock()
	if in.seen == nil || len(in.seen) > maxRemembered {
		in.seen = map[string]Outcome{}
	}
	in.seen[key] = o
}
