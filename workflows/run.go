package workflows

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/conecrm/automation-runtime/internal/event"
	"github.com/conecrm/automation-runtime/internal/expr"
	"github.com/conecrm/automation-runtime/internal/metrics"
	"github.com/conecrm/automation-runtime/internal/nodes"
	"github.com/conecrm/automation-runtime/internal/plan"
	"github.com/conecrm/automation-runtime/internal/searchattr"
)

// run is the state of one interpretation. Workflow code runs one coroutine
// at a time, so no locking is needed. Nothing here is iterated in map order.
type run struct {
	plan *plan.Plan
	in   Input

	lead, previous, ev map[string]any
	steps              map[string]any
	automation         map[string]any

	applied      map[string]bool
	appliedOrder []string
	waiters      []*waiter

	path      []string
	results   []StepResult
	visits    map[string]int
	active    map[string]int
	endMsgs   []string
	stoppedAt []string

	// live counts the branches walking nodes (a branch that forked waits
	// for its children and does not count); parks are the branches parked
	// in a delay or a wait; running are the actions in flight.
	live    int
	parks   []*park
	running []*park

	// Continuation of a carried run: events to apply once every resumed
	// branch is parked again.
	pending        []event.Lead
	toResume       int
	resumed        int
	pendingApplied bool
	generation     int

	workflowID  string
	saNode      string
	goalReached bool
	// finished is set once every branch has ended: later events only
	// refresh the lead.
	finished   bool
	cancelWalk workflow.CancelFunc
	limits     RunLimits
}

type waiter struct {
	nodeID  string
	wait    nodes.EventWait
	matched bool
}

// park is a branch in a delay or a wait (or, in running, an action).
type park struct {
	Parked
	done func() bool
}

func newRun(ctx workflow.Context, p *plan.Plan, in Input) *run {
	r := &run{
		plan:     p,
		in:       in,
		lead:     in.Event.Lead,
		previous: in.Event.Previous,
		ev:       in.Event.Map(),
		steps:    map[string]any{},
		automation: map[string]any{
			"id": p.Doc.ID, "name": p.Doc.Name, "version": p.Version, "trigger": p.Doc.AutomationTrigger, "timezone": p.Location.String(),
		},
		applied: map[string]bool{},
		visits:  map[string]int{},
		active:  map[string]int{},
		limits:  in.RunLimits(),

		workflowID:     workflow.GetInfo(ctx).WorkflowExecution.ID,
		pendingApplied: true,
	}
	if node, ok := workflow.GetTypedSearchAttributes(ctx).GetKeyword(searchattr.CurrentNode); ok {
		r.saNode = node
	}
	if c := in.Carried; c != nil {
		r.lead, r.previous, r.ev = c.Lead, c.Previous, c.Event
		if c.Steps != nil {
			r.steps = c.Steps
		}
		r.path, r.results, r.endMsgs = c.Path, c.Results, c.EndReasons
		if c.Visits != nil {
			r.visits = c.Visits
		}
		for _, id := range c.Applied {
			r.markApplied(id)
		}
		r.pending = c.Pending
		r.toResume = len(c.Parked)
		r.pendingApplied = len(c.Pending) == 0
		r.generation = c.Generation
	} else {
		r.markApplied(in.Event.ID)
	}
	if r.lead == nil {
		r.lead = map[string]any{}
	}
	return r
}

func (r *run) vars(ctx workflow.Context) expr.Vars {
	return expr.Vars{Lead: r.lead, Event: r.ev, Previous: r.previous, Steps: r.steps, Automation: r.automation, Now: workflow.Now(ctx)}
}

// start is where a branch begins: a node, possibly resumed from a park
// carried over a continue-as-new.
type start struct {
	id     string
	resume *Parked
}

// runFrom walks every start as its own branch until all end.
func (r *run) runFrom(ctx workflow.Context, starts []start) error {
	switch len(starts) {
	case 0:
		return nil
	case 1:
		return r.branch(ctx, starts[0])
	}
	r.live++ // fork counts its caller out
	defer func() { r.live-- }()
	return r.fork(ctx, starts)
}

func (r *run) branch(ctx workflow.Context, s start) error {
	r.live++
	defer func() { r.live-- }()
	return r.walk(ctx, s)
}

// walk runs the graph from s until the branch ends. Several targets of one
// exit run concurrently; the first failure cancels the others.
func (r *run) walk(ctx workflow.Context, s start) error {
	for {
		next, err := r.step(ctx, r.plan.Node(s.id), s.resume)
		if err != nil {
			return err
		}
		switch len(next) {
		case 0:
			return nil
		case 1:
			s = start{id: next[0]}
			continue
		}
		starts := make([]start, len(next))
		for i, id := range next {
			starts[i] = start{id: id}
		}
		return r.fork(ctx, starts)
	}
}

// fork runs each start as a concurrent branch, in edge order, and returns
// when all have ended. A failing branch cancels its siblings; fork still
// waits for them to unwind so that what they did is recorded.
func (r *run) fork(ctx workflow.Context, starts []start) error {
	ctx, cancel := workflow.WithCancel(ctx)
	defer cancel()
	var (
		firstErr error
		pending  = len(starts)
	)
	r.live--
	defer func() { r.live++ }()
	for _, s := range starts {
		workflow.Go(ctx, func(ctx workflow.Context) {
			defer func() { pending-- }()
			if err := r.branch(ctx, s); err != nil && firstErr == nil {
				firstErr = err
				cancel()
			}
		})
	}
	err := workflow.Await(ctx, func() bool { return pending == 0 })
	if err != nil {
		dctx, _ := workflow.NewDisconnectedContext(ctx)
		_ = workflow.Await(dctx, func() bool { return pending == 0 })
	}
	if firstErr != nil {
		return firstErr
	}
	return err
}

// step runs one node and returns the targets to continue with. A resumed
// node keeps its visit number and is not added to the path again.
func (r *run) step(ctx workflow.Context, node *plan.Node, resume *Parked) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var visit int
	if resume != nil {
		visit = resume.Visit
	} else {
		r.visits[node.ID]++
		visit = r.visits[node.ID]
		r.path = append(r.path, node.ID)
	}
	r.active[node.ID]++
	defer func() {
		if r.active[node.ID]--; r.active[node.ID] <= 0 {
			delete(r.active, node.ID)
		}
	}()
	if producesHistory(node) {
		r.upsert(ctx, node.ID, node.Type, false)
	}
	x := &nodeExec{r: r, node: node, visit: visit, ctx: ctx, carried: resume}
	out, err := node.Impl.Run(ctx, x)
	if err != nil {
		if ctx.Err() != nil {
			countNode(ctx, node, metrics.OutcomeCancelled)
			r.stoppedAt = append(r.stoppedAt, node.ID)
			r.results = append(r.results, StepResult{NodeID: node.ID, Type: node.Type, Summary: "interrupted", Error: errorMessage(ctx.Err()), At: workflow.Now(ctx)})
			return nil, ctx.Err()
		}
		countNode(ctx, node, metrics.OutcomeFailed)
		return r.failed(ctx, node, err)
	}
	countNode(ctx, node, metrics.OutcomeCompleted)
	if out.Output != nil {
		r.steps[node.ID] = normalize(out.Output) //workflowcheck:ignore encoding/json is deterministic here (sorted map keys)
	}
	r.results = append(r.results, StepResult{NodeID: node.ID, Type: node.Type, Handle: out.Handle, Summary: out.Summary, At: workflow.Now(ctx)})
	if out.End {
		r.endMsgs = append(r.endMsgs, out.Summary)
		return nil, nil
	}
	return node.Next(out.Handle), nil
}

// countNode counts a node that runs inside the workflow (replay-safe);
// the worker's activity interceptor counts action nodes.
func countNode(ctx workflow.Context, n *plan.Node, outcome string) {
	if n.Category != nodes.CategoryAction {
		metrics.WorkflowNodeExecuted(ctx, n.Metric, outcome)
	}
}

// normalize turns a node output into the JSON shape expressions read
// (steps.call.taskId) and continue-as-new carries. encoding/json sorts map
// keys, so the result is deterministic.
func normalize(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		return fmt.Sprint(v)
	}
	return out
}

// failed applies the node's onError setting.
func (r *run) failed(ctx workflow.Context, node *plan.Node, err error) ([]string, error) {
	msg := errorMessage(err)
	res := StepResult{NodeID: node.ID, Type: node.Type, Error: msg, At: workflow.Now(ctx)}
	r.steps[node.ID] = map[string]any{"error": msg}
	workflow.GetLogger(ctx).Warn("node failed", "node_id", node.ID, "on_error", node.OnError, "error", msg)
	switch node.OnError {
	case plan.OnErrorContinue:
		res.Handle, res.Summary = nodes.Plain, "failed, continued: "+msg
		r.results = append(r.results, res)
		return node.Next(nodes.Plain), nil
	case plan.OnErrorEdge:
		res.Handle, res.Summary = nodes.HandleError, "failed, took the error exit: "+msg
		r.results = append(r.results, res)
		return node.Next(nodes.HandleError), nil
	}
	res.Summary = "failed: " + msg
	r.results = append(r.results, res)
	typ := "NodeFailed"
	if nodes.IsInvalid(err) {
		typ = "InvalidNodeInput"
	}
	failure := r.result(StatusFailed, msg)
	failure.FailedAt = node.ID
	return nil, temporal.NewNonRetryableApplicationError(fmt.Sprintf("node %s (%s) failed: %s", node.ID, node.Label, msg), typ, err, failure)
}

// errorMessage is the innermost readable message of an activity failure.
func errorMessage(err error) string {
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		return app.Message()
	}
	var to *temporal.TimeoutError
	if errors.As(err, &to) {
		return "timed out (" + to.TimeoutType().String() + ")"
	}
	if temporal.IsCanceledError(err) {
		return "cancelled"
	}
	return err.Error()
}

func producesHistory(n *plan.Node) bool {
	return n.Category == nodes.CategoryAction || n.Parks
}

// receiveEvents applies lead events signalled to the run, once per event
// id. A continued run first applies the events its predecessor received
// last, once every resumed branch is parked again.
//
// It takes an event out of the channel only when it applies it (it waits
// on Len, not in Receive): a blocked Receive is handed the next signal as
// soon as it arrives, before this coroutine runs, so the run's decision to
// continue as new or to complete in that workflow task could not see it and
// the event was lost. Whatever is still in the channel is carried or
// applied by the run itself (carry, drain).
func (r *run) receiveEvents(ctx workflow.Context, ch workflow.ReceiveChannel) {
	if !r.pendingApplied {
		if err := workflow.Await(ctx, func() bool { return r.resumed >= r.toResume }); err != nil {
			return
		}
		r.applyPending(ctx)
	}
	for {
		if err := workflow.Await(ctx, func() bool { return ch.Len() > 0 }); err != nil {
			return
		}
		var ev event.Lead
		for ch.ReceiveAsync(&ev) {
			r.apply(ctx, ev)
			ev = event.Lead{}
		}
	}
}

func (r *run) applyPending(ctx workflow.Context) {
	for _, ev := range r.pending {
		r.apply(ctx, ev)
	}
	r.pending = nil
	r.pendingApplied = true
}

// drain applies every event the run received and has not applied yet; the
// run calls it before it closes, so no accepted event goes unapplied.
func (r *run) drain(ctx workflow.Context, ch workflow.ReceiveChannel) {
	if !r.pendingApplied {
		r.applyPending(ctx)
	}
	for {
		var ev event.Lead
		if !ch.ReceiveAsync(&ev) {
			return
		}
		r.apply(ctx, ev)
	}
}

func (r *run) apply(ctx workflow.Context, ev event.Lead) {
	log := workflow.GetLogger(ctx)
	if ev.ID == "" || r.applied[ev.ID] {
		log.Info("duplicate lead event ignored", "event_id", ev.ID)
		return
	}
	r.markApplied(ev.ID)
	if ev.Lead != nil {
		r.previous = ev.Previous
		if r.previous == nil {
			r.previous = r.lead
		}
		r.lead = ev.Lead
	}
	r.ev = ev.Map()
	log.Info("lead event applied", "event_id", ev.ID, "event_type", ev.Type)
	v := r.vars(ctx)
	for _, w := range r.waiters {
		if w.matched || w.wait.EventType != ev.Type {
			continue
		}
		ok := true
		if w.wait.Condition != nil {
			var err error
			if ok, err = w.wait.Condition.EvalBool(v); err != nil {
				log.Warn("wait condition failed; event not matched", "node_id", w.nodeID, "error", err)
				ok = false
			}
		}
		w.matched = ok
	}
	if r.plan.Goal != nil && !r.goalReached && !r.finished {
		ok, err := r.plan.Goal.EvalBool(v)
		if err != nil {
			log.Warn("goal condition failed", "error", err)
		}
		if ok {
			r.goalReached = true
			log.Info("goal reached", "event_id", ev.ID)
			r.cancelWalk()
		}
	}
}

func (r *run) markApplied(id string) {
	if id == "" || r.applied[id] {
		return
	}
	r.applied[id] = true
	r.appliedOrder = append(r.appliedOrder, id)
	if len(r.appliedOrder) > r.limits.EventWindow {
		delete(r.applied, r.appliedOrder[0])
		r.appliedOrder = r.appliedOrder[1:]
	}
}

// continueAsNewDue says whether to continue as new now: the history is over
// budget (or the server suggests it), and every live branch is parked with
// nothing about to wake it, so the state can be carried whole.
//
// Events still in the channel are carried (Pending) and applied by the
// continuation. With more than one the run waits for them to be applied
// first: the receiver used to take one event out of the channel unseen, so
// runs recorded before decided on "at most one" exactly like this, and their
// histories replay the same (the one they lost is now carried).
func (r *run) continueAsNewDue(ctx workflow.Context, signals workflow.ReceiveChannel) bool {
	info := workflow.GetInfo(ctx)
	if !info.GetContinueAsNewSuggested() && info.GetCurrentHistoryLength() < r.limits.HistoryBudget {
		return false
	}
	if r.goalReached || !r.pendingApplied || r.live == 0 || len(r.parks) != r.live || len(r.running) > 0 || signals.Len() > 1 {
		return false
	}
	for _, p := range r.parks {
		if p.done() {
			return false
		}
	}
	return true
}

// carry captures the state for the continuation, with every event received
// and not applied yet.
func (r *run) carry(signals workflow.ReceiveChannel) *Carried {
	c := &Carried{
		Lead: r.lead, Previous: r.previous, Event: r.ev, Steps: r.steps,
		Path: r.path, Results: r.results, Visits: r.visits, Applied: r.appliedOrder,
		EndReasons: r.endMsgs, Generation: r.generation + 1, Parked: []Parked{},
	}
	for _, p := range r.parks {
		c.Parked = append(c.Parked, p.Parked)
	}
	for {
		var ev event.Lead
		if !signals.ReceiveAsync(&ev) {
			break
		}
		if ev.ID != "" && !r.applied[ev.ID] && !pendingHas(c.Pending, ev.ID) {
			c.Pending = append(c.Pending, ev)
		}
	}
	return c
}

func pendingHas(evs []event.Lead, id string) bool {
	for _, ev := range evs {
		if ev.ID == id {
			return true
		}
	}
	return false
}

func (r *run) addPark(list *[]*park, p *park) { *list = append(*list, p) }

func (r *run) removePark(list *[]*park, p *park) {
	for i, x := range *list {
		if x == p {
			*list = append((*list)[:i], (*list)[i+1:]...)
			return
		}
	}
}

// refreshDetails sets the run's current details from what every branch is
// doing: actions in flight, delays and waits with their deadlines.
func (r *run) refreshDetails(ctx workflow.Context) {
	var lines []string
	for _, p := range r.running {
		lines = append(lines, p.Summary)
	}
	for _, p := range r.parks {
		switch p.Kind {
		case "wait":
			lines = append(lines, fmt.Sprintf("Waiting for a %s event (node %s) until %s", p.Event, p.NodeID, describeUntil(p.Until, r.plan.Location)))
		default:
			label, _, _ := strings.Cut(p.Summary, " — resumes ")
			lines = append(lines, fmt.Sprintf("Waiting in %s (node %s) until %s", label, p.NodeID, describeUntil(p.Until, r.plan.Location)))
		}
	}
	if len(lines) == 0 {
		return
	}
	workflow.SetCurrentDetails(ctx, strings.Join(lines, "\n"))
}

func (r *run) currentNodes() []string {
	out := make([]string, 0, len(r.active))
	for id := range r.active {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

func (r *run) endReason() string {
	if len(r.endMsgs) == 0 {
		return "all branches finished"
	}
	return strings.Join(r.endMsgs, "; ")
}

func (r *run) result(status, reason string) Result {
	return Result{Status: status, Reason: reason, Path: append([]string(nil), r.path...), Steps: append([]StepResult(nil), r.results...), StoppedAt: append([]string(nil), r.stoppedAt...),
		Applied: append([]string(nil), r.appliedOrder...)}
}

func (r *run) state() (State, error) {
	s := State{AutomationID: r.plan.Doc.ID, Version: r.plan.Version, CurrentNodes: r.currentNodes(), Path: r.path, Steps: r.steps, Timers: []PendingTimer{}, Generation: r.generation, Results: r.results,
		Applied: r.appliedOrder}
	for _, p := range r.parks {
		s.Timers = append(s.Timers, PendingTimer{NodeID: p.NodeID, FiresAt: p.Until.UTC(), Summary: p.Summary})
	}
	for _, w := range r.waiters {
		if !w.matched {
			s.Waiting = append(s.Waiting, w.nodeID+": "+w.wait.EventType)
		}
	}
	return s, nil
}
