package nodes

import (
	"go.temporal.io/sdk/workflow"

	"github.com/conecrm/automation-runtime/internal/automation"
	"github.com/conecrm/automation-runtime/internal/expr"
)

var conditionDef = Definition{
	Type:        "condition",
	Category:    CategoryCondition,
	Description: "Branches on a CEL expression or a QueryBuilder query: true or false.",
	Handles:     []string{"true", "false"},
	Required:    []string{"true", "false"},
	New:         func() Node { return &Condition{} },
}

// Condition evaluates a bool inside the workflow; it adds no history events.
type Condition struct {
	automation.Condition

	prog *expr.Program
}

func (n *Condition) Compile(c *Compiler) { n.prog = c.Condition("", &n.Condition) }

func (n *Condition) Run(_ workflow.Context, x Exec) (Outcome, error) {
	ok, err := n.prog.EvalBool(x.Vars())
	if err != nil {
		return Outcome{}, err
	}
	if ok {
		return Outcome{Handle: "true", Output: true, Summary: "condition true"}, nil
	}
	return Outcome{Handle: "false", Output: false, Summary: "condition false"}, nil
}
