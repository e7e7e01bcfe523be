package workflows

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/conecrm/automation-runtime/internal/event"
	"github.com/conecrm/automation-runtime/internal/expr"
	"github.com/conecrm/automation-runtime/internal/nodes"
	"github.com/conecrm/automation-runtime/internal/plan"
)

// maxAppliedEvents bounds the event ids remembered for de-duplication.
const maxAppliedEvents = 500

// run is the state of one interpretation. Workflow code runs one coroutine
// at a time, so no locking is needed.
type run struct {
	plan *plan.Plan
	in   Input

	lead, previous, ev map[string]any
	steps              map[string]any
	automation         map[string]any

	applied      map[string]bool
	appliedOrder []string
	waiters      []*waiter

	path    []string
	results []StepResult
	visits  map[string]int
	active  map[string]int
	timers  map[string]PendingTimer
	endMsgs []string

	workflowID  string
	saNode      string
	goalReached bool
	cancelWalk  workflow.CancelFunc
	failure     error
}

type waiter struct {
	nodeID  string
	wait    nodes.EventWait
	matched bool
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
		timers:  map[string]PendingTimer{},

		workflowID: workflow.GetInfo(ctx).WorkflowExecution.ID,
	}
	if r.lead == nil {
		r.lead = map[string]any{}
	}
	r.markApplied(in.Event.ID)
	return r
}

func (r *run) vars(ctx workflow.Context) expr.Vars {
	return expr.Vars{Lead: r.lead, Event: r.ev, Previous: r.previous, Steps: r.steps, Automation: r.automation, Now: workflow.Now(ctx)}
}

// walk runs the graph from id until every branch that starts there ends.
// Several targets of one exit run concurrently; the first failure cancels
// the others.
func (r *run) walk(ctx workflow.Context, id string) error {
	for {
		node := r.plan.Node(id)
		next, err := r.step(ctx, node)
		if err != nil {
			return err
		}
		switch len(next) {
		case 0:
			return nil
		case 1:
			id = next[0]
			continue
		}
		return r.fork(ctx, next)
	}
}

func (r *run) fork(ctx workflow.Context, targets []string) error {
	ctx, cancel := workflow.WithCancel(ctx)
	defer cancel()
	var (
		firstErr error
		pending  = len(targets)
	)
	for _, t := range targets {
		workflow.Go(ctx, func(ctx workflow.Context) {
			defer func() { pending-- }()
			if err := r.walk(ctx, t); err != nil && firstErr == nil {
				firstErr = err
				cancel()
			}
		})
	}
	if err := workflow.Await(ctx, func() bool { return pending == 0 }); err != nil && firstErr == nil {
		// Cancelled from above: wait for the branches to unwind.
		dctx, _ := workflow.NewDisconnectedContext(ctx)
		_ = workflow.Await(dctx, func() bool { return pending == 0 })
		return err
	}
	return firstErr
}

// step runs one node and returns the targets to continue with.
func (r *run) step(ctx workflow.Context, node *plan.Node) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r.visits[node.ID]++
	visit := r.visits[node.ID]
	r.active[node.ID]++
	defer func() {
		if r.active[node.ID]--; r.active[node.ID] <= 0 {
			delete(r.active, node.ID)
		}
	}()
	r.path = append(r.path, node.ID)
	if producesHistory(node) {
		r.upsert(ctx, node.ID, node.Type, false)
	}
	if node.Category == nodes.CategoryAction {
		workflow.SetCurrentDetails(ctx, fmt.Sprintf("Running %s (%s)", node.Label, node.Type))
	}
	x := &nodeExec{r: r, node: node, visit: visit, ctx: ctx}
	out, err := node.Impl.Run(ctx, x)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return r.failed(ctx, node, err)
	}
	if out.Output != nil {
		r.steps[node.ID] = out.Output
	}
	r.results = append(r.results, StepResult{NodeID: node.ID, Type: node.Type, Handle: out.Handle, Summary: out.Summary})
	if out.End {
		r.endMsgs = append(r.endMsgs, out.Summary)
		return nil, nil
	}
	return node.Next(out.Handle), nil
}

// failed applies the node's onError setting.
func (r *run) failed(ctx workflow.Context, node *plan.Node, err error) ([]string, error) {
	msg := errorMessage(err)
	res := StepResult{NodeID: node.ID, Type: node.Type, Error: msg}
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
	return nil, temporal.NewNonRetryableApplicationError(fmt.Sprintf("node %s (%s) failed: %s", node.ID, node.Label, msg), typ, err)
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
	return err.Error()
}

func producesHistory(n *plan.Node) bool {
	return n.Category == nodes.CategoryAction || n.Type == "delay" || n.Type == "wait_for_event"
}

// receiveEvents applies lead events signalled to the run, once per event id.
func (r *run) receiveEvents(ctx workflow.Context) {
	ch := workflow.GetSignalChannel(ctx, SignalLeadEvent)
	for {
		var ev event.Lead
		if !ch.Receive(ctx, &ev) {
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
	if r.plan.Goal != nil && !r.goalReached {
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
	if id == "" {
		return
	}
	r.applied[id] = true
	r.appliedOrder = append(r.appliedOrder, id)
	if len(r.appliedOrder) > maxAppliedEvents {
		delete(r.applied, r.appliedOrder[0])
		r.appliedOrder = r.appliedOrder[1:]
	}
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
	return Result{Status: status, Reason: reason, Path: append([]string(nil), r.path...), Steps: append([]StepResult(nil), r.results...)}
}

func (r *run) state() (State, error) {
	s := State{AutomationID: r.plan.Doc.ID, Version: r.plan.Version, CurrentNodes: r.currentNodes(), Path: r.path, Steps: r.steps, Timers: []PendingTimer{}}
	keys := make([]string, 0, len(r.timers))
	for k := range r.timers {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		s.Timers = append(s.Timers, r.timers[k])
	}
	for _, w := range r.waiters {
		if !w.matched {
			s.Waiting = append(s.Waiting, w.nodeID+": "+w.wait.EventType)
		}
	}
	return s, nil
}

// timerKey identifies one pending timer of a node visit.
func timerKey(nodeID string, visit int) string { return fmt.Sprintf("%s#%d", nodeID, visit) }
