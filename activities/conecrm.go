package activities

import (
	"context"

	"go.temporal.io/sdk/temporal"

	"github.com/conecrm/automation-runtime/internal/conecrm"
	"github.com/conecrm/automation-runtime/internal/validate"
)

// CreateTaskInput is a rendered create_task node.
type CreateTaskInput struct {
	NodeID         string              `json:"nodeId"`
	IdempotencyKey string              `json:"idempotencyKey"`
	Task           conecrm.TaskRequest `json:"task"`
}

// CreateTaskOutput is stored under steps.<nodeId>.
type CreateTaskOutput struct {
	TaskID string `json:"taskId"`
	Type   string `json:"type,omitempty"`
}

// CreateTask creates a ConeCRM task.
func (a *Activities) CreateTask(ctx context.Context, in CreateTaskInput) (CreateTaskOutput, error) {
	if err := validate.Struct(in.Task); err != nil {
		return CreateTaskOutput{}, temporal.NewApplicationErrorWithOptions("node "+in.NodeID+": task "+err.Error(), ErrInvalidInput, temporal.ApplicationErrorOptions{NonRetryable: true})
	}
	task, err := a.ConeCRM.CreateTask(ctx, in.Task, in.IdempotencyKey)
	if err != nil {
		return CreateTaskOutput{}, coneCRMError(in.NodeID, err)
	}
	a.Log.Info().Str("node_id", in.NodeID).Str("task_id", task.ID).Msg("task created")
	return CreateTaskOutput{TaskID: task.ID, Type: task.Type}, nil
}

// CopyLeadInput is a rendered copy_lead node: the seed's CopyLeadData.
type CopyLeadInput struct {
	NodeID         string `json:"nodeId"`
	IdempotencyKey string `json:"idempotencyKey"`
	LeadID         string `json:"leadId"`
	Subject        string `json:"subject,omitempty"`
	DepartmentID   string `json:"departmentId,omitempty"`
	FranchiseID    string `json:"franchiseId,omitempty"`
	ContactID      string `json:"contactId"`
	AccountID      string `json:"accountId,omitempty"`
}

// CopyLeadOutput is stored under steps.<nodeId>.
type CopyLeadOutput struct {
	LeadID string `json:"leadId"`
}

// MoveStageInput is a rendered move_stage node.
type MoveStageInput struct {
	NodeID         string `json:"nodeId"`
	IdempotencyKey string `json:"idempotencyKey"`
	LeadID         string `json:"leadId"`
	StageID        string `json:"stageId"`
	// CurrentStageID is the stage in the workflow's lead snapshot, so a lead
	// already there is a no-op without a call.
	CurrentStageID string `json:"currentStageId,omitempty"`
}

// MoveStageOutput is stored under steps.<nodeId>.
type MoveStageOutput struct {
	StageID   string `json:"stageId"`
	StageName string `json:"stageName,omitempty"`
	Moved     bool   `json:"moved"`
}
