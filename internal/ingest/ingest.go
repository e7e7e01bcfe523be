// Package ingest is the starter's front door for lead events: it matches
// automations, enrols leads (one workflow per automation and lead) and
// delivers later events to enrolled runs as signals.
package ingest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/conecrm/automation-runtime/internal/auth"
	"github.com/conecrm/automation-runtime/internal/automation"
	"github.com/conecrm/automation-runtime/internal/event"
	"github.com/conecrm/automation-runtime/internal/expr"
	"github.com/conecrm/automation-runtime/internal/plan"
	"github.com/conecrm/automation-runtime/internal/searchattr"
	"github.com/conecrm/automation-runtime/internal/store"
	"github.com/conecrm/automation-runtime/workflows"
)

// Source is the catalog events are matched against.
type Source interface {
	// Route lists the automations an event of the franchise and type may
	// enrol a lead in.
	Route(franchise, trigger string) []*plan.Plan
	// Get returns an automation's current version.
	Get(id string) (*plan.Plan, bool)
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
	// Events records event ids durably (the store); nil keeps them in
	// memory, for tests.
	Events EventLog
	// Secret, when not empty, is the key POST /events signatures are checked
	// with; empty accepts unsigned events (tests only: serve requires one).
	Secret []byte
	// Now is the clock signatures are checked against; nil is time.Now.
	Now func() time.Time
	// Enrolments is the enrolment index (the store); nil keeps it in
	// memory, for tests.
	Enrolments Enrolments
	// Tokens, when set, admits POST /events carrying an API token (the
	// admin token, or a franchise token for its own franchise's leads) in
	// place of a signature.
	Tokens interface {
		Authenticate(ctx context.Context, token string) (auth.Identity, error)
	}
	// HistoryBudget, when positive, is the history length past which runs
	// continue as new (tests use small ones); zero is the workflow's default.
	HistoryBudget int
	// Holidays, when set, gives each new run its franchise's holiday
	// calendar (business-hours delays skip the holidays).
	Holidays HolidaySource

	memOnce sync.Once
	mem     *MemoryEvents
	enrOnce sync.Once
	memEnr  *MemoryEnrolments
}

// EventLog claims event ids so each takes effect once per automation.
type EventLog interface {
	ClaimEvent(ctx context.Context, automationID, eventID string) (store.Claim, error)
	CompleteEvent(ctx context.Context, automationID, eventID string, outcome json.RawMessage) error
	ReleaseEvent(ctx context.Context, automationID, eventID string) error
}

var _ EventLog = (*store.Store)(nil)

func (in *Ingester) events() EventLog {
	if in.Events != nil {
		return in.Events
	}
	in.memOnce.Do(func() { in.mem = NewMemoryEvents() })
	return in.mem
}

func (in *Ingester) enrolments() Enrolments {
	if in.Enrolments != nil {
		return in.Enrolments
	}
	in.enrOnce.Do(func() { in.memEnr = NewMemoryEnrolments() })
	return in.memEnr
}

func (in *Ingester) now() time.Time {
	if in.Now != nil {
		return in.Now()
	}
	return time.Now()
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

// Deliver processes one validated event: it may enrol the lead in the
// automations of the lead's franchise whose trigger is the event's type
// (the catalog's route), and it is signalled to the runs the lead is in
// (the enrolment index), whatever their automation's franchise, trigger or
// state now. No other automation is looked at, so an event's cost does not
// grow with the number of automations.
func (in *Ingester) Deliver(ctx context.Context, ev event.Lead) ([]Outcome, error) {
	leadID := ev.LeadID()
	if leadID == "" {
		return nil, errors.New("lead.id is required")
	}
	franchise := ev.FranchiseID()
	if franchise == "" {
		return nil, errors.New("lead.franchise.id is required")
	}
	rows, err := in.enrolments().RunningEnrolments(ctx, leadID)
	if err != nil {
		return nil, fmt.Errorf("reading the enrolment index: %w", err)
	}
	var targets []*target
	byID := map[string]*target{}
	for _, p := range in.Source.Route(franchise, ev.Type) {
		t := &target{id: p.Doc.ID, plan: p, route: true}
		targets = append(targets, t)
		byID[t.id] = t
	}
	for _, r := range rows {
		t := byID[r.AutomationID]
		if t == nil {
			t = &target{id: r.AutomationID}
			t.plan, _ = in.Source.Get(r.AutomationID) // nil once deleted: its runs still get events
			targets = append(targets, t)
			byID[t.id] = t
		}
		t.runs = append(t.runs, r.WorkflowID)
	}
	// Automations are independent: deliver to several at once. Every
	// automation is attempted even when one fails; a retried event finds
	// the ones that succeeded already processed.
	results := make([]*Outcome, len(targets))
	errs := make([]error, len(targets))
	sem := make(chan struct{}, maxParallelAutomations)
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			results[i], errs[i] = in.deliverOne(ctx, t, ev, leadID)
			if errs[i] != nil {
				errs[i] = fmt.Errorf("automation %s: %w", t.id, errs[i])
			}
		}()
	}
	wg.Wait()
	out := []Outcome{}
	for _, o := range results {
		if o != nil {
			out = append(out, *o)
		}
	}
	return out, errors.Join(errs...)
}

// target is one automation an event concerns: one it may enrol the lead in
// (route), and/or one whose runs the lead is in (runs, by workflow id).
type target struct {
	id    string
	plan  *plan.Plan // the current version; nil when no longer in the catalog
	route bool
	runs  []string
}

// ErrInProgress is a delivery of an event that another delivery is
// applying: not an acceptance, since that delivery may still fail. The
// HTTP answer is 503 with Retry-After; asked again, the sender gets the
// final outcome ("event already processed") or takes the claim over once
// its lease lapsed.
var ErrInProgress = errors.New("event is being applied by another delivery; retry it")

// maxParallelAutomations bounds the automations one event is delivered to
// at the same time.
const maxParallelAutomations = 8

func (in *Ingester) deliverOne(ctx context.Context, t *target, ev event.Lead, leadID string) (*Outcome, error) {
	p := t.plan
	o := &Outcome{AutomationID: t.id}
	if p != nil {
		o.Version = p.Version
	}
	// An enrolled lead receives every later event, whatever its type, so
	// waits and goals see it; only enrolment needs the route (franchise and
	// trigger) and the filter to match.
	enrol, skipReason := t.route, ""
	switch {
	case !enrol:
	case !p.Doc.Active():
		enrol, skipReason = false, "automation inactive"
	default:
		ok, err := p.Trigger().Accepts(expr.Vars{Lead: ev.Lead, Event: ev.Map(), Previous: ev.Previous, Now: ev.OccurredAt})
		if err != nil {
			enrol, skipReason = false, "filter could not be evaluated: "+err.Error()
		} else if !ok {
			enrol, skipReason = false, "filter false"
		}
	}
	if !enrol && len(t.runs) == 0 {
		// Nothing to start and no run to signal: no claim, no RPC.
		if skipReason == "" {
			return nil, nil
		}
		o.Result, o.Reason = Skipped, skipReason
		return o, nil
	}

	// Claim the event id for this automation durably first, so that of any
	// number of concurrent or later deliveries exactly one takes effect:
	// starts the run or signals it.
	claim, err := in.events().ClaimEvent(ctx, t.id, ev.ID)
	if err != nil {
		return nil, fmt.Errorf("recording event %s: %w", ev.ID, err)
	}
	if !claim.Claimed {
		if !claim.Done {
			// Another delivery holds the claim but has not applied the
			// event yet, and may die before it does (its claim then lapses
			// after the lease): answering "skipped" would let the sender
			// stop with the event unapplied.
			return nil, ErrInProgress
		}
		o.Result, o.Reason = Skipped, "event already processed"
		var prev Outcome
		if json.Unmarshal(claim.Outcome, &prev) == nil {
			o.Version, o.WorkflowID, o.RunID = prev.Version, prev.WorkflowID, prev.RunID
			if prev.Result != "" {
				o.Reason += " (" + prev.Result + ")"
			}
		}
		return o, nil
	}
	release := func() {
		if rerr := in.events().ReleaseEvent(context.WithoutCancel(ctx), t.id, ev.ID); rerr != nil {
			in.Log.Warn().Err(rerr).Str("event_id", ev.ID).Msg("event claim not released; a retry is possible after the lease")
		}
	}
	if enrol {
		err = in.enrol(ctx, p, ev, WorkflowID(p, leadID, ev.ID), leadID, o)
	} else {
		var signalled []string
		signalled, err = in.signalRuns(ctx, leadID, t.runs, ev)
		switch {
		case err != nil:
		case len(signalled) == 0:
			// The runs had closed: forget the event, so that it may enrol
			// if it is delivered again after the automation changed.
			release()
			if skipReason == "" {
				return nil, nil
			}
			o.Result, o.Reason = Skipped, skipReason
			return o, nil
		default:
			o.Result = Signalled
			if len(signalled) == 1 {
				o.WorkflowID = signalled[0]
			}
			if len(signalled) > 1 || p == nil || p.Doc.ReenrollmentMode() == automation.ReenrollAlways {
				o.Reason = fmt.Sprintf("%d running run(s)", len(signalled))
			}
		}
	}
	if err != nil {
		release()
		return nil, err
	}
	done, _ := json.Marshal(o)
	if err := in.events().CompleteEvent(context.WithoutCancel(ctx), p.Doc.ID, ev.ID, done); err != nil {
		// The run started; a retry after the lease finds it and only signals.
		return nil, fmt.Errorf("recording the outcome of event %s: %w", ev.ID, err)
	}
	return o, nil
}

// enrol starts a run, or signals the lead's running one (start with
// conflict policy FAIL, then signal: the server decides atomically which
// delivery starts the run). A run that closes between the two is retried
// when re-enrolment allows it. Every run started or found running is
// recorded in the enrolment index; with `reenrollment: never` a lead the
// index knows is never started again, whether or not Temporal still
// remembers its closed run.
func (in *Ingester) enrol(ctx context.Context, p *plan.Plan, ev event.Lead, wfID, leadID string, o *Outcome) error {
	mode := p.Doc.ReenrollmentMode()
	row := store.Enrolment{LeadID: leadID, WorkflowID: wfID, AutomationID: p.Doc.ID, Franchise: enrolmentFranchise(p, ev)}
	if mode == automation.ReenrollNever {
		prev, err := in.enrolments().GetEnrolment(ctx, leadID, wfID)
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return fmt.Errorf("reading the enrolment index: %w", err)
		case !prev.Running:
			o.Result, o.WorkflowID, o.Reason = Skipped, wfID, "re-enrolment not allowed"
			return nil
		default:
			asked := time.Now()
			err := in.signal(ctx, wfID, ev)
			if err == nil {
				o.Result, o.WorkflowID, o.Reason = Signalled, wfID, "already enrolled"
				return nil
			}
			if !isNotFound(err) {
				return fmt.Errorf("signalling %s: %w", wfID, err)
			}
			if err := in.enrolments().EndEnrolment(ctx, leadID, wfID, asked); err != nil {
				return fmt.Errorf("recording the end of %s: %w", wfID, err)
			}
			o.Result, o.WorkflowID, o.Reason = Skipped, wfID, "re-enrolment not allowed"
			return nil
		}
	}
	input, err := in.input(ctx, p, ev)
	if err != nil {
		return err
	}
	input.HistoryBudget = in.HistoryBudget
	for attempt := 0; ; attempt++ {
		run, err := in.Temporal.ExecuteWorkflow(ctx, in.StartOptions(p, ev, wfID, leadID), workflows.WorkflowName, input)
		if err == nil {
			o.Result, o.WorkflowID, o.RunID = Enrolled, wfID, run.GetRunID()
			in.Log.Info().Str("workflow_id", wfID).Str("run_id", run.GetRunID()).Str("automation_id", p.Doc.ID).Str("event_id", ev.ID).Msg("lead enrolled")
			if err := in.enrolments().RecordEnrolment(ctx, row); err != nil {
				// The run started; the sender's retry finds it running,
				// signals it (the run ignores an event it applied) and
				// records it.
				return fmt.Errorf("recording the enrolment %s: %w", wfID, err)
			}
			return nil
		}
		var started *serviceerror.WorkflowExecutionAlreadyStarted
		if !errors.As(err, &started) {
			return fmt.Errorf("starting workflow: %w", err)
		}
		// Already running: deliver the event to it. The run ignores an
		// event id it has applied.
		err = in.signal(ctx, wfID, ev)
		if err == nil {
			o.Result, o.WorkflowID, o.Reason = Signalled, wfID, "already enrolled"
			if err := in.enrolments().RecordEnrolment(ctx, row); err != nil {
				return fmt.Errorf("recording the enrolment %s: %w", wfID, err)
			}
			return nil
		}
		if !isNotFound(err) {
			return fmt.Errorf("signalling %s: %w", wfID, err)
		}
		if mode == automation.ReenrollAfterFinish && attempt < 3 {
			continue // the previous run closed in between: enrol again
		}
		if mode == automation.ReenrollNever {
			// A closed run Temporal still remembers and the index does not
			// (enrolled before the index existed): remember it for good.
			if err := in.enrolments().RecordEnrolment(ctx, row); err != nil {
				return fmt.Errorf("recording the enrolment %s: %w", wfID, err)
			}
			if err := in.enrolments().EndEnrolment(ctx, leadID, wfID, time.Now()); err != nil {
				return fmt.Errorf("recording the end of %s: %w", wfID, err)
			}
		}
		o.Result, o.WorkflowID, o.Reason = Skipped, wfID, "re-enrolment not allowed"
		return nil
	}
}

// enrolmentFranchise is the franchise an enrolment is filed under: the
// lead's, else the automation's.
func enrolmentFranchise(p *plan.Plan, ev event.Lead) string {
	if f := ev.FranchiseID(); f != "" {
		return f
	}
	if p.Doc.Franchise != nil {
		return p.Doc.Franchise.ID
	}
	return ""
}

// StartOptions are the options a run of p for the lead is started with:
// its id, reuse and conflict policies, search attributes and summary.
func (in *Ingester) StartOptions(p *plan.Plan, ev event.Lead, wfID, leadID string) client.StartWorkflowOptions {
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
		// Without this the SDK hides the conflict and returns the existing
		// run, which would be reported as a new enrolment.
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		TypedSearchAttributes:                    temporal.NewSearchAttributes(sa...),
		StaticSummary:                            fmt.Sprintf("%s · lead %s", p.Doc.Name, leadID),
		StaticDetails:                            fmt.Sprintf("Automation %s version %s, trigger %s, enrolled by event %s", p.Doc.ID, p.Version, p.Doc.AutomationTrigger, ev.ID),
	}
}

// signalRuns delivers ev to the lead's runs the enrolment index lists, by
// workflow id (an empty run id reaches the current run of a chain that
// continued as new); it returns those signalled. A run found closed is
// ended in the index.
func (in *Ingester) signalRuns(ctx context.Context, leadID string, runs []string, ev event.Lead) ([]string, error) {
	var signalled []string
	for _, wfID := range runs {
		asked := time.Now()
		err := in.signal(ctx, wfID, ev)
		switch {
		case err == nil:
			signalled = append(signalled, wfID)
		case isNotFound(err):
			if err := in.enrolments().EndEnrolment(ctx, leadID, wfID, asked); err != nil {
				return signalled, fmt.Errorf("recording the end of %s: %w", wfID, err)
			}
		default:
			return signalled, fmt.Errorf("signalling %s: %w", wfID, err)
		}
	}
	return signalled, nil
}

func (in *Ingester) signal(ctx context.Context, wfID string, ev event.Lead) error {
	return in.Temporal.SignalWorkflow(ctx, wfID, "", workflows.SignalLeadEvent, ev)
}

func isNotFound(err error) bool {
	var nf *serviceerror.NotFound
	return errors.As(err, &nf)
}
