// Package dryrun runs the automation workflow itself in the Temporal SDK's
// test environment, with time skipped and every activity replaced by a
// recorder: the path a lead would take and the actions it would perform,
// rendered, with no side effect. It is the same interpreter as production,
// not a second implementation of the semantics.
package dryrun

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/conecrm/automation-runtime/activities"
	"github.com/conecrm/automation-runtime/internal/automation"
	"github.com/conecrm/automation-runtime/internal/event"
	"github.com/conecrm/automation-runtime/internal/nodes"
	"github.com/conecrm/automation-runtime/internal/plan"
	"github.com/conecrm/automation-runtime/workflows"
)

// Action is one activity call the run made, with its rendered input.
type Action struct {
	NodeID   string `json:"nodeId"`
	Activity string `json:"activity"`
	Input    any    `json:"input"`
	Error    string `json:"error,omitempty"`
}

// Registry is what activities register with: a worker or a test environment.
type Registry interface {
	RegisterActivityWithOptions(a any, options activity.RegisterOptions)
}

// Recorder stands in for every activity: each records its rendered input
// and returns a plausible output. It is safe for concurrent use.
type Recorder struct {
	// Fail makes the activity of the named node fail, non-retryably, with
	// the given message (to exercise onError).
	Fail map[string]string

	mu      sync.Mutex
	actions []Action
}

// Actions returns the calls recorded so far, in call order.
func (r *Recorder) Actions() []Action {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Action(nil), r.actions...)
}

// Register registers the recorder under the activity of every action node
// type in the registry, with the output its definition fabricates.
func (r *Recorder) Register(reg Registry) {
	for _, def := range nodes.Builtin().Definitions() {
		if def.Activity != nil {
			reg.RegisterActivityWithOptions(def.Activity.DryRunFunc(r.record), activity.RegisterOptions{Name: def.Activity.Name()})
		}
	}
}

// record stores the call of the node the activity runs for and returns its
// sequence number, or the configured failure.
func (r *Recorder) record(ctx context.Context, name string, in any) (int, error) {
	// The activity id is the node id, with #<visit> from the second visit.
	nodeID, _, _ := strings.Cut(activity.GetInfo(ctx).ActivityID, "#")
	r.mu.Lock()
	defer r.mu.Unlock()
	a := Action{NodeID: nodeID, Activity: name, Input: in}
	var err error
	if msg, ok := r.Fail[nodeID]; ok {
		a.Error = msg
		err = temporal.NewApplicationErrorWithOptions("node "+nodeID+": "+msg, activities.ErrRejected, temporal.ApplicationErrorOptions{NonRetryable: true})
	}
	r.actions = append(r.actions, a)
	return len(r.actions), err
}

// Output is what a dry run reports.
type Output struct {
	Status  string                 `json:"status"`
	Reason  string                 `json:"reason,omitempty"`
	Error   string                 `json:"error,omitempty"`
	Path    []string               `json:"path"`
	Actions []Action               `json:"actions"`
	Steps   []workflows.StepResult `json:"steps"`
}

// Options tune a dry run.
type Options struct {
	// Later are events signalled to the run after enrolment, each at its
	// occurredAt (or a second after the previous one when that is not later).
	Later []event.Lead
	// Fail makes the named nodes' activities fail (see Recorder.Fail).
	Fail map[string]string
}

// Run dry-runs the automation document for the enrolling event.
func Run(doc []byte, ev event.Lead, opts Options) (*Output, error) {
	d, err := automation.Parse(doc)
	if err != nil {
		return nil, err
	}
	p, problems := plan.Compile(d, nodes.Builtin())
	if len(problems) > 0 {
		return nil, fmt.Errorf("the automation has problems: %w", problems)
	}
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	env := suite.NewTestWorkflowEnvironment()
	env.SetTestTimeout(time.Minute)
	env.RegisterWorkflowWithOptions(workflows.AutomationRun, workflow.RegisterOptions{Name: workflows.WorkflowName})
	rec := &Recorder{Fail: opts.Fail}
	rec.Register(env)
	start := ev.OccurredAt
	if start.IsZero() {
		start = time.Date(2026, 1, 5, 14, 0, 0, 0, time.UTC)
	}
	env.SetStartTime(start)
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: "dry-run/automation/" + d.ID + "/lead/" + ev.LeadID()})
	at := start
	for _, later := range opts.Later {
		if later.OccurredAt.After(at) {
			at = later.OccurredAt
		} else {
			at = at.Add(time.Second)
		}
		env.RegisterDelayedCallback(func() { env.SignalWorkflow(workflows.SignalLeadEvent, later) }, at.Sub(start))
	}
	env.ExecuteWorkflow(workflows.AutomationRun, workflows.NewInput(p, ev))
	out := &Output{Actions: rec.Actions()}
	if out.Actions == nil {
		out.Actions = []Action{}
	}
	if !env.IsWorkflowCompleted() {
		return nil, errors.New("the run did not finish")
	}
	if err := env.GetWorkflowError(); err != nil {
		out.Status, out.Error = "failed", err.Error()
		var app *temporal.ApplicationError
		if errors.As(err, &app) {
			out.Error = app.Message()
		}
		if v, qerr := env.QueryWorkflow(workflows.QueryState); qerr == nil {
			var s workflows.State
			if v.Get(&s) == nil {
				out.Path = s.Path
			}
		}
		return out, nil
	}
	var res workflows.Result
	if err := env.GetWorkflowResult(&res); err != nil {
		return nil, err
	}
	out.Status, out.Reason, out.Path, out.Steps = res.Status, res.Reason, res.Path, res.Steps
	return out, nil
}
