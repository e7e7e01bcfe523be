package nodes

import (
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/conecrm/automation-runtime/internal/expr"
)

// Exec is what the interpreter workflow offers a running node.
type Exec interface {
	// NodeID is the id of the running node.
	NodeID() string
	// Label is the node's label, or a readable default.
	Label() string
	// Vars are the values expressions see now (lead, event, steps, now...).
	Vars() expr.Vars
	// Location is the automation's time zone.
	Location() *time.Location
	// IdempotencyKey is stable across retries and replays of this node's
	// execution and differs between enrolments, nodes and arrivals.
	IdempotencyKey() string
	// Activity runs an activity with the node's options (activity id = node
	// id, summary, timeout, retry policy) and decodes its result into out.
	Activity(ctx workflow.Context, call ActivityCall, out any) error
	// SleepUntil waits on a durable timer labelled with summary.
	SleepUntil(ctx workflow.Context, until time.Time, summary string) error
	// WaitForEvent waits for a later lead event of the given type whose
	// condition holds, up to timeout. It reports whether one arrived.
	WaitForEvent(ctx workflow.Context, w EventWait) (bool, error)
}

// ActivityCall names an activity and its input.
type ActivityCall struct {
	Name    string
	Summary string
	Input   any
	// MinStartToClose raises the node's timeout for activities that make
	// several calls (push_to_crm); HeartbeatTimeout is set for activities
	// that heartbeat their progress. Zero leaves the defaults.
	MinStartToClose  time.Duration
	HeartbeatTimeout time.Duration
}

// EventWait is what a wait_for_event node waits for.
type EventWait struct {
	EventType string
	Condition *expr.Program
	Timeout   time.Duration
	Summary   string
}

// Resumer is implemented by an Exec that resumes a delay carried over a
// continue-as-new: the delay keeps the deadline and summary it had instead
// of computing new ones from the current clock.
type Resumer interface {
	Resumed() (until time.Time, summary string, ok bool)
}
