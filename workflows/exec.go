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
	"github.com/conecrm/automation-runtime/internal/nodes"
	"github.com/conecrm/automation-runtime/internal/plan"
)

// nodeExec is what one node execution sees of the run.
type nodeExec struct {
	r     *run
	node  *plan.Node
	visit int
	ctx   workflow.Context
}

var _ nodes.Exec = (*nodeExec)(nil)

func (x *nodeExec) NodeID() string           { return x.node.ID }
func (x *nodeExec) Label() string            { return x.node.Label }
func (x *nodeExec) Location() *time.Location { return x.r.plan.Location }

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
		StartToCloseTimeout: x.node.Timeout,
		RetryPolicy:         RetryPolicy,
	})
	return workflow.ExecuteActivity(ctx, call.Name, call.Input).Get(ctx, out)
}

func (x *nodeExec) SleepUntil(ctx workflow.Context, until time.Time, summary string) error {
	d := until.Sub(workflow.Now(ctx))
	if d <= 0 {
		return nil
	}
	key := timerKey(x.node.ID, x.visit)
	x.r.timers[key] = PendingTimer{NodeID: x.node.ID, FiresAt: until.UTC(), Summary: summary}
	defer delete(x.r.timers, key)
	workflow.SetCurrentDetails(ctx, fmt.Sprintf("Waiting in %s until %s", summary, until.In(x.r.plan.Location).Format("2006-01-02 15:04 MST")))
	return workflow.NewTimerWithOptions(ctx, d, workflow.TimerOptions{Summary: summary}).Get(ctx, nil)
}

func (x *nodeExec) WaitForEvent(ctx workflow.Context, w nodes.EventWait) (bool, error) {
	wt := &waiter{nodeID: x.node.ID, wait: w}
	x.r.waiters = append(x.r.waiters, wt)
	defer x.r.removeWaiter(wt)
	key := timerKey(x.node.ID, x.visit)
	until := workflow.Now(ctx).Add(w.Timeout)
	x.r.timers[key] = PendingTimer{NodeID: x.node.ID, FiresAt: until.UTC(), Summary: w.Summary}
	defer delete(x.r.timers, key)
	workflow.SetCurrentDetails(ctx, fmt.Sprintf("Waiting for a %s event (node %s) until %s", w.EventType, x.node.ID, until.In(x.r.plan.Location).Format("2006-01-02 15:04 MST")))
	return workflow.AwaitWithOptions(ctx, workflow.AwaitOptions{Timeout: w.Timeout, TimerOptions: workflow.TimerOptions{Summary: w.Summary}}, func() bool { return wt.matched })
}

func (r *run) removeWaiter(w *waiter) {
	for i, x := range r.waiters {
		if x == w {
			r.waiters = append(r.waiters[:i], r.waiters[i+1:]...)
			return
		}
	}
}
