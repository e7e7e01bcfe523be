package nodes

import (
	"go.temporal.io/sdk/workflow"

	"github.com/conecrm/automation-runtime/internal/automation"
	"github.com/conecrm/automation-runtime/internal/expr"
)

var triggerDef = Definition{
	Type:        "trigger",
	Category:    CategoryFlow,
	Description: "Where a run starts; its optional filter decides which leads enrol.",
	Handles:     []string{Plain},
	Required:    []string{Plain},
	New:         func() Node { return &Trigger{} },
}

// Trigger starts the graph. Its filter is evaluated by the starter before
// enrolment, so in the workflow it only passes through.
type Trigger struct {
	Filter *automation.Condition `json:"filter,omitempty"`

	filter *expr.Program
}

func (t *Trigger) Compile(c *Compiler) {
	if !t.Filter.Empty() {
		t.filter = c.Condition("filter", t.Filter)
	}
}

// Accepts evaluates the enrolment filter; no filter accepts every lead.
func (t *Trigger) Accepts(v expr.Vars) (bool, error) {
	if t.filter == nil {
		return true, nil
	}
	return t.filter.EvalBool(v)
}

func (t *Trigger) Run(workflow.Context, Exec) (Outcome, error) {
	return Outcome{Handle: Plain, Summary: "enrolled"}, nil
}
