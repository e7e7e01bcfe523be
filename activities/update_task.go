package activities

import (
	"context"
	"strings"
	"time"

	"github.com/conecrm/automation-runtime/internal/conecrm"
	"github.com/conecrm/automation-runtime/internal/validate"
)

// UpdateTaskInput is a rendered update_task node: the task to change and the
// seed's whole TaskRequest (PATCH /api/task/{task} requires its assignee
// and title too).
type UpdateTaskInput struct {
	NodeID         string              `json:"nodeId"`
	IdempotencyKey string              `json:"idempotencyKey"`
	TaskID         string              `json:"taskId" validate:"required,uuid"`
	Task           conecrm.TaskRequest `json:"task"`
}

// UpdateTaskOutput is stored under steps.<nodeId>.
type UpdateTaskOutput struct {
	TaskID string     `json:"taskId"`
	Type   string     `json:"type,omitempty"`
	Start  *time.Time `json:"start,omitempty"`
	End    *time.Time `json:"end,omitempty"`
}

// UpdateTask updates a ConeCRM task, typically one an earlier node of the
// run created: it reschedules it, reassigns it or rewords it.
func (a *Activities) UpdateTask(ctx context.Context, in UpdateTaskInput) (UpdateTaskOutput, error) {
	if err := validate.Struct(in); err != nil {
		return UpdateTaskOutput{}, invalid(in.NodeID, "task update "+err.Error())
	}
	if strings.TrimSpace(in.Task.Title) == "" {
		return UpdateTaskOutput{}, invalid(in.NodeID, "task title: is empty")
	}
	if in.Task.Start != nil && in.Task.End != nil && in.Task.End.Before(*in.Task.Start) {
		return UpdateTaskOutput{}, invalid(in.NodeID, "task end: is before start")
	}
	if err := a.needConeCRM(in.NodeID); err != nil {
		return UpdateTaskOutput{}, err
	}
	task, err := a.ConeCRM.UpdateTask(ctx, in.TaskID, in.Task, in.IdempotencyKey)
	if conecrm.IsKeyReused(err) {
		// A reset run re-executes the update with times computed anew under
		// the same key: the first execution's update stands. An update
		// carries no marker, so only an answer that names the key counts.
		found, ferr := a.ConeCRM.FindTasks(ctx, conecrm.Rule{Field: "id", Operator: "=", Value: in.TaskID})
		if ferr == nil && len(found) == 1 {
			a.log(ctx).Info().Str("node_id", in.NodeID).Str("task_id", in.TaskID).Msg("task updated by an earlier execution (key reused)")
			t := found[0]
			return UpdateTaskOutput{TaskID: t.ID, Type: t.Type, Start: t.Start, End: t.End}, nil
		}
	}
	if err != nil {
		return UpdateTaskOutput{}, coneCRMError(in.NodeID, err)
	}
	a.log(ctx).Info().Str("node_id", in.NodeID).Str("task_id", task.ID).Msg("task updated")
	return UpdateTaskOutput{TaskID: task.ID, Type: task.Type, Start: task.Start, End: task.End}, nil
}
