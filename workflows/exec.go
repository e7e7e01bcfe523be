package workflows

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/conecrm/automation-runtime/activities"
	"github.com/conecrm/automation-runtime/internal/expr"
	"github.com/conecrm/automation-runtime/internal/holidays"
	"github.com/conecrm/automation-runtime/internal/metrics"
	"github.com/conecrm/automation-runtime/internal/nodes"
	"github.com/conecrm/automation-runtime/internal/plan"
)

// nodeExec is what one node execution sees of the run.
type nodeExec struct {
	r     *run
	node  *plan.Node
	visit int
	ctx   workflow.Context
	// carried is the park this execution resumes after a continue-as-new.
	carried *Parked
}

var (
	_ nodes.Exec            = (*nodeExec)(nil)
	_ nodes.Resumer         = (*nodeExec)(nil)
	_ nodes.HolidayCalendar = (*nodeExec)(nil)
)

func (x *nodeExec) NodeID() string           { return x.node.ID }
func (x *nodeExec) Label() string            { return x.node.Label }
func (x *nodeExec) Location() *time.Location { return x.r.plan.Location }

// Holidays is the calendar the run was enrolled with.
func (x *nodeExec) Holidays() *holidays.Calendar { return x.r.in.Holidays }

func (x *nodeExec) Vars() expr.Vars {
	return x.r.vars(x.ctx)
}

// IdempotencyKey derives from the enrolment (workflow id and enrolling
// event), the node and the arrival number, never from run ids, so it is
// stable across retries, replays and continue-as-new.
func (x *nodeExec) IdempotencyKey() string {
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s|%s|%s|%d", x.r.workflowID, x.r.in.Event.ID, x.node.ID, x.visit)))
	return hex.EncodeToString(sum[:16])
}

// RetryPolicy is the policy of every action: quick first retries, capped
// backoff, and no retry for errors a retry cannot fix.
var RetryPolicy = &temporal.RetryPolicy{
	InitialInterval:        time.Second,
	BackoffCoefficient:     2,
	MaximumInterval:        time.Minute,
	MaximumAttempts:        25,
	NonRetryableErrorTypes: activities.NonRetryableErrorTypes,
}

func (x *nodeExec) Activity(ctx workflow.Context, call nodes.ActivityCall, out any) error {
	id := x.node.ID
	if x.visit > 1 {
		id = fmt.Sprintf("%s#%d", x.node.ID, x.visit)
	}
	summary := call.Summary
	if x.node.Label != x.node.Type && x.node.Label != "" {
		summary = x.node.Label + " — " + call.Summary
	}
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		ActivityID:          id,
		Summary:             summary,
		StartToCloseTimeout: max(x.node.Timeout, call.MinStartToClose),
		HeartbeatTimeout:    call.HeartbeatTimeout,
		RetryPolicy:         RetryPolicy,
		// A cancelled run waits for the activity to say how it ended, so a
		// side effect is never left half-reported.
		WaitForCancellation: true,
	})
	p := &park{Parked: Parked{NodeID: x.node.ID, Visit: x.visit, Kind: "action", Summary: fmt.Sprintf("Running %s (node %s)", summary, x.node.ID)}}
	x.r.addPark(&x.r.running, p)
	x.r.refreshDetails(ctx)
	defer x.r.removePark(&x.r.running, p)
	return workflow.ExecuteActivity(ctx, call.Name, call.Input).Get(ctx, out)
}

// Resumed gives a delay carried over a continue-as-new its original deadline.
func (x *nodeExec) Resumed() (time.Time, string, bool) {
	if x.carried == nil || x.carried.Kind != "delay" {
		return time.Time{}, "", false
	}
	return x.carried.Until, x.carried.Summary, true
}

// resuming counts a resumed branch as parked again and waits for the events
// its predecessor received last to be applied.
func (x *nodeExec) resuming(ctx workflow.Context) error {
	if x.carried == nil {
		return nil
	}
	x.r.resumed++
	return workflow.Await(ctx, func() bool { return x.r.pendingApplied })
}

func (x *nodeExec) SleepUntil(ctx workflow.Context, until time.Time, summary string) error {
	if err := x.resuming(ctx); err != nil {
		return err
	}
	d := until.Sub(workflow.Now(ctx))
	if d <= 0 {
		return nil
	}
	timer := workflow.NewTimerWithOptions(ctx, d, workflow.TimerOptions{Summary: summary})
	p := &park{Parked: Parked{NodeID: x.node.ID, Visit: x.visit, Kind: "delay", Until: until.UTC(), Summary: summary}, done: timer.IsReady}
	x.r.addPark(&x.r.parks, p)
	x.r.refreshDetails(ctx)
	defer x.r.removePark(&x.r.parks, p)
	defer x.waited(ctx, workflow.Now(ctx))
	return timer.Get(ctx, nil)
}

func (x *nodeExec) WaitForEvent(ctx workflow.Context, w nodes.EventWait) (bool, error) {
	wt := &waiter{nodeID: x.node.ID, wait: w}
	x.r.waiters = append(x.r.waiters, wt)
	defer x.r.removeWaiter(wt)
	until, summary := workflow.Now(ctx).Add(w.Timeout), w.Summary
	if x.carried != nil {
		until, summary = x.carried.Until, x.carried.Summary
	}
	if err := x.resuming(ctx); err != nil {
		return false, err
	}
	if x.carried == nil && x.holdsAlready(ctx, w) {
		return true, nil
	}
	d := until.Sub(workflow.Now(ctx))
	if wt.matched || d <= 0 {
		return wt.matched, nil
	}
	// A timer and a condition, as AwaitWithOptions does, but with the timer
	// visible to the continue-as-new check.
	tctx, cancelTimer := workflow.WithCancel(ctx)
	defer cancelTimer()
	timer := workflow.NewTimerWithOptions(tctx, d, workflow.TimerOptions{Summary: summary})
	p := &park{Parked: Parked{NodeID: x.node.ID, Visit: x.visit, Kind: "wait", Until: until.UTC(), Summary: summary, Event: w.EventType},
		done: func() bool { return wt.matched || timer.IsReady() }}
	x.r.addPark(&x.r.parks, p)
	x.r.refreshDetails(ctx)
	defer x.r.removePark(&x.r.parks, p)
	defer x.waited(ctx, workflow.Now(ctx))
	if err := workflow.Await(ctx, p.done); err != nil {
		return false, err
	}
	return wt.matched, nil
}

// Change ids for workflow.GetVersion: each names a behaviour change that
// would make histories recorded before it replay differently (README,
// "Changing the interpreter"). Never rename or remove one while runs that
// may have recorded it, or that predate it, can still be replayed.
const (
	// versionWaitHoldsAtStart: a wait whose condition already holds when it
	// begins leaves by its event exit at once. Before it, such a wait waited
	// for a new event or its timeout.
	versionWaitHoldsAtStart = "wait-condition-holds-at-start"
)

// holdsAlready says whether a wait's condition holds for the current lead as
// the wait begins (PRODUCT.md §5): such a wait leaves by its event exit at
// once. A wait without a condition always needs a new event. The version is
// asked only when the condition holds, the only case that differs, so runs
// that never meet it record no marker.
func (x *nodeExec) holdsAlready(ctx workflow.Context, w nodes.EventWait) bool {
	if w.Condition == nil {
		return false
	}
	ok, err := w.Condition.EvalBool(x.r.vars(ctx))
	if err != nil {
		workflow.GetLogger(ctx).Warn("wait condition failed at the start of the wait", "node_id", x.node.ID, "error", err)
		return false
	}
	return ok && workflow.GetVersion(ctx, versionWaitHoldsAtStart, workflow.DefaultVersion, 1) >= 1
}

// waited records the time the branch spent parked in this node.
func (x *nodeExec) waited(ctx workflow.Context, since time.Time) {
	metrics.WorkflowNodeWaited(ctx, x.r.plan.Doc.ID, x.node.ID, x.node.Metric, workflow.Now(ctx).Sub(since))
}

func (r *run) removeWaiter(w *waiter) {
	for i, x := range r.waiters {
		if x == w {
			r.waiters = append(r.waiters[:i], r.waiters[i+1:]...)
			return
		}
	}
}
