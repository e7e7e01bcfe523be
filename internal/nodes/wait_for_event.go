package nodes

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/conecrm/automation-runtime/internal/duration"
	"github.com/conecrm/automation-runtime/internal/event"
	"github.com/conecrm/automation-runtime/internal/expr"
)

var waitForEventDef = Definition{
	Type:        "wait_for_event",
	Category:    CategoryFlow,
	Description: "Waits for a later lead event (optionally matching a condition); takes the timeout edge when none arrives in time.",
	Handles:     []string{"event", "timeout"},
	Required:    []string{"event", "timeout"},
	New:         func() Node { return &WaitForEvent{} },
	Parks:       true,
}

// WaitForEvent pauses until a matching lead event arrives or the timeout passes.
type WaitForEvent struct {
	Event     string `json:"event" validate:"required"`
	Condition string `json:"condition,omitempty"`
	Timeout   string `json:"timeout" validate:"required"`

	cond *expr.Program
	d    time.Duration
}

func (n *WaitForEvent) Compile(c *Compiler) {
	if n.Event != "" && !event.IsType(n.Event) {
		c.Problemf("event", "unknown event type %q (one of %v)", n.Event, event.Types())
	}
	if n.Condition != "" {
		n.cond = c.Expr("condition", n.Condition, expr.KindBool)
	}
	if n.Timeout != "" {
		n.d = c.Duration("timeout", n.Timeout)
	}
}

func (n *WaitForEvent) Run(ctx workflow.Context, x Exec) (Outcome, error) {
	d := n.d
	summary := fmt.Sprintf("Wait for %s up to %s — until %s", n.Event, duration.Format(d),
		workflow.Now(ctx).Add(d).In(x.Location()).Format("2006-01-02 15:04 MST"))
	got, err := x.WaitForEvent(ctx, EventWait{EventType: n.Event, Condition: n.cond, Timeout: d, Summary: summary})
	if err != nil {
		return Outcome{}, err
	}
	if got {
		return Outcome{Handle: "event", Output: "event", Summary: n.Event + " received"}, nil
	}
	return Outcome{Handle: "timeout", Output: "timeout", Summary: "timed out after " + duration.Format(d)}, nil
}
