package nodes

import (
	"go.temporal.io/sdk/workflow"

	"github.com/conecrm/automation-runtime/activities"
	"github.com/conecrm/automation-runtime/internal/expr"
)

var moveStageDef = Definition{
	Type:        "move_stage",
	Category:    CategoryAction,
	Description: "Moves the lead to another pipeline stage.",
	Handles:     []string{Plain, HandleError},
	Required:    []string{Plain},
	New:         func() Node { return &MoveStage{} },
	Activity:    moveStageActivity,
}

var moveStageActivity = NewActivity((*activities.Activities).MoveStage,
	func(in activities.MoveStageInput, _ int) activities.MoveStageOutput {
		return activities.MoveStageOutput{StageID: in.StageID, Moved: in.StageID != in.CurrentStageID}
	})

// MoveStage moves the lead to stageId.
type MoveStage struct {
	StageID string `json:"stageId" validate:"required"`

	stage *expr.Template
}

func (n *MoveStage) Compile(c *Compiler) { n.stage = uuidTemplate(c, "stageId", n.StageID) }

func (n *MoveStage) Run(ctx workflow.Context, x Exec) (Outcome, error) {
	v := x.Vars()
	r := renderer{v: v}
	in := activities.MoveStageInput{
		NodeID:         x.NodeID(),
		IdempotencyKey: x.IdempotencyKey(),
		LeadID:         stringAt(v.Lead, "id"),
		StageID:        r.uuid("stageId", n.stage, ""),
		CurrentStageID: leadRef(v.Lead, "stage"),
	}
	if err := r.err(); err != nil {
		return Outcome{}, Invalid(err)
	}
	out, err := moveStageActivity.Execute(ctx, x, "Move lead to stage "+in.StageID, in)
	if err != nil {
		return Outcome{}, err
	}
	if out.Moved {
		if lead := v.Lead; lead != nil {
			// Later conditions see the stage the run just set.
			lead["stage"] = map[string]any{"id": out.StageID}
		}
	}
	return Outcome{Handle: Plain, Output: out, Summary: "stage " + orDefault(out.StageName, out.StageID)}, nil
}
