package nodes

import "go.temporal.io/sdk/workflow"

var endDef = Definition{
	Type:        "end",
	Category:    CategoryFlow,
	Description: "Ends this branch of the run, with an optional reason.",
	Terminal:    true,
	New:         func() Node { return &End{} },
}

// End stops its branch.
type End struct {
	Reason string `json:"reason,omitempty" validate:"max=500"`
}

func (n *End) Compile(*Compiler) {}

func (n *End) Run(workflow.Context, Exec) (Outcome, error) {
	reason := n.Reason
	if reason == "" {
		reason = "end"
	}
	return Outcome{End: true, Output: reason, Summary: reason}, nil
}
