package nodes

import (
	"fmt"

	"go.temporal.io/sdk/workflow"

	"github.com/conecrm/automation-runtime/internal/automation"
	"github.com/conecrm/automation-runtime/internal/expr"
)

var switchDef = Definition{
	Type:        "switch",
	Category:    CategoryCondition,
	Description: "Routes to the first case whose condition holds, else to default.",
	Handles:     []string{"default"},
	Required:    []string{"default"},
	New:         func() Node { return &Switch{} },
}

// Switch picks the first matching case, in order.
type Switch struct {
	Cases []SwitchCase `json:"cases" validate:"required,min=1,max=50,dive"`
}

// SwitchCase is one branch of a switch.
type SwitchCase struct {
	Handle string `json:"handle" validate:"required,max=64,ne=default"`
	automation.Condition

	prog *expr.Program
}

func (n *Switch) Handles() []string {
	out := make([]string, len(n.Cases))
	for i, c := range n.Cases {
		out[i] = c.Handle
	}
	return out
}

func (n *Switch) Compile(c *Compiler) {
	seen := map[string]bool{}
	for i := range n.Cases {
		cs := &n.Cases[i]
		field := fmt.Sprintf("cases[%d]", i)
		if seen[cs.Handle] {
			c.Problemf(field+".handle", "handle %q is used by two cases", cs.Handle)
		}
		seen[cs.Handle] = true
		cs.prog = c.Condition(field, &cs.Condition)
	}
}

func (n *Switch) Run(_ workflow.Context, x Exec) (Outcome, error) {
	v := x.Vars()
	for _, cs := range n.Cases {
		ok, err := cs.prog.EvalBool(v)
		if err != nil {
			return Outcome{}, fmt.Errorf("case %q: %w", cs.Handle, err)
		}
		if ok {
			return Outcome{Handle: cs.Handle, Output: cs.Handle, Summary: "case " + cs.Handle}, nil
		}
	}
	return Outcome{Handle: "default", Output: "default", Summary: "default case"}, nil
}
