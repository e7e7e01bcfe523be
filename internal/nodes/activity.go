package nodes

import (
	"context"
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/conecrm/automation-runtime/activities"
)

// ActivityRef is a typed reference to an activity, a method of
// activities.Activities. Its name is derived once, from the method, the way
// the worker's RegisterActivity names it; the node that runs it, the
// dry-run and the worker's metrics all read it from here.
type ActivityRef[In, Out any] struct {
	name   string
	dryRun func(in In, seq int) Out
	// minStartToClose and heartbeatTimeout, when set, go into every call's
	// ActivityCall (see WithHeartbeat).
	minStartToClose, heartbeatTimeout time.Duration
}

// Activity is the registry's untyped view of an ActivityRef.
type Activity interface {
	// Name is the activity type name the worker registers.
	Name() string
	// DryRunFunc returns a function with the activity's signature that
	// records the call through rec instead of performing it and returns the
	// node's plausible dry-run output.
	DryRunFunc(rec DryRunRecorder) any
}

// DryRunRecorder records a dry-run call of the named activity and returns
// its sequence number in the run, or the failure the dry run injects.
type DryRunRecorder func(ctx context.Context, activity string, in any) (seq int, err error)

// NewActivity references method, an activity method expression such as
// (*activities.Activities).CreateTask. dryRun, optional, fabricates the
// output a dry run reports for input in (seq numbers the run's calls); nil
// reports Out's zero value.
func NewActivity[In, Out any](method func(*activities.Activities, context.Context, In) (Out, error), dryRun func(in In, seq int) Out) *ActivityRef[In, Out] {
	name := runtime.FuncForPC(reflect.ValueOf(method).Pointer()).Name()
	name = strings.TrimSuffix(name[strings.LastIndex(name, ".")+1:], "-fm")
	// A closure would be named func1: only a method of Activities is
	// registered under its name.
	if _, ok := reflect.TypeOf(&activities.Activities{}).MethodByName(name); !ok {
		panic(fmt.Sprintf("nodes.NewActivity: %q is not a method of activities.Activities", name))
	}
	return &ActivityRef[In, Out]{name: name, dryRun: dryRun}
}

// WithHeartbeat is for an activity that runs long and heartbeats its
// progress: every call gets at least minStartToClose and the given
// HeartbeatTimeout. It returns r.
func (r *ActivityRef[In, Out]) WithHeartbeat(minStartToClose, heartbeatTimeout time.Duration) *ActivityRef[In, Out] {
	r.minStartToClose, r.heartbeatTimeout = minStartToClose, heartbeatTimeout
	return r
}

// Name is the activity type name.
func (r *ActivityRef[In, Out]) Name() string { return r.name }

// Execute runs the activity for the node with x's options, labelled summary.
func (r *ActivityRef[In, Out]) Execute(ctx workflow.Context, x Exec, summary string, in In) (Out, error) {
	var out Out
	err := x.Activity(ctx, ActivityCall{Name: r.name, Summary: summary, Input: in, MinStartToClose: r.minStartToClose, HeartbeatTimeout: r.heartbeatTimeout}, &out)
	return out, err
}

// DryRunFunc implements Activity.
func (r *ActivityRef[In, Out]) DryRunFunc(rec DryRunRecorder) any {
	return func(ctx context.Context, in In) (Out, error) {
		var out Out
		seq, err := rec(ctx, r.name, in)
		if err != nil {
			return out, err
		}
		if r.dryRun != nil {
			out = r.dryRun(in, seq)
		}
		return out, nil
	}
}
