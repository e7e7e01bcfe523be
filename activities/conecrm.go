package activities

import (
	"context"
	"fmt"
	"strings"

	"go.temporal.io/sdk/temporal"

	"github.com/conecrm/automation-runtime/internal/conecrm"
	"github.com/conecrm/automation-runtime/internal/validate"
)

// CreateTaskInput is a rendered create_task node. Relative dates (dueIn)
// are already resolved by the workflow from its deterministic clock.
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
		return CreateTaskOutput{}, invalid(in.NodeID, "task "+err.Error())
	}
	if strings.TrimSpace(in.Task.Title) == "" {
		return CreateTaskOutput{}, invalid(in.NodeID, "task title: is empty")
	}
	if in.Task.Start != nil && in.Task.End != nil && in.Task.End.Before(*in.Task.Start) {
		return CreateTaskOutput{}, invalid(in.NodeID, "task end: is before start")
	}
	if err := a.needConeCRM(in.NodeID); err != nil {
		return CreateTaskOutput{}, err
	}
	req := in.Task
	marker := conecrm.Marker(in.IdempotencyKey)
	req.Note = conecrm.WithMarker(req.Note, "\n\n", marker, conecrm.MaxNoteLength)
	if marker != "" && retrying(ctx) {
		earlier, err := a.findEarlierTask(ctx, in.NodeID, marker, req)
		if err != nil {
			return CreateTaskOutput{}, coneCRMError(in.NodeID, err)
		}
		if earlier != nil {
			a.log(ctx).Info().Str("node_id", in.NodeID).Str("task_id", earlier.ID).Msg("task created by an earlier attempt")
			return CreateTaskOutput{TaskID: earlier.ID, Type: earlier.Type}, nil
		}
	}
	task, err := a.ConeCRM.CreateTask(ctx, req, in.IdempotencyKey)
	if conecrm.IsUnprocessable(err) && marker != "" {
		// A reset run re-executes the create with a body computed anew
		// (dueIn from the workflow's clock) under the same key: ConeCRM
		// refuses the key's reuse. The task the first execution created
		// carries the marker; return it.
		if earlier, ferr := a.findEarlierTask(ctx, in.NodeID, marker, req); ferr == nil && earlier != nil {
			a.log(ctx).Info().Str("node_id", in.NodeID).Str("task_id", earlier.ID).Msg("task created by an earlier execution (key reused)")
			return CreateTaskOutput{TaskID: earlier.ID, Type: earlier.Type}, nil
		}
	}
	if err != nil {
		return CreateTaskOutput{}, coneCRMError(in.NodeID, err)
	}
	a.log(ctx).Info().Str("node_id", in.NodeID).Str("task_id", task.ID).Msg("task created")
	return CreateTaskOutput{TaskID: task.ID, Type: task.Type}, nil
}

// CopyLeadInput is a rendered copy_lead node: the seed's CopyLeadData by id.
type CopyLeadInput struct {
	NodeID         string `json:"nodeId"`
	IdempotencyKey string `json:"idempotencyKey"`
	LeadID         string `json:"leadId" validate:"required,uuid"`
	Subject        string `json:"subject,omitempty" validate:"max=1000"`
	DepartmentID   string `json:"departmentId,omitempty" validate:"omitempty,uuid"`
	FranchiseID    string `json:"franchiseId,omitempty" validate:"omitempty,uuid"`
	ContactID      string `json:"contactId" validate:"required,uuid"`
	AccountID      string `json:"accountId,omitempty" validate:"omitempty,uuid"`
	// SourceSubject is the lead's subject, which the copy keeps when
	// Subject is empty; the copy's subject carries the retry marker.
	SourceSubject string `json:"sourceSubject,omitempty"`
}

// CopyLeadOutput is stored under steps.<nodeId>.
type CopyLeadOutput struct {
	LeadID       string `json:"leadId"`
	SourceLeadID string `json:"sourceLeadId,omitempty"`
	StageID      string `json:"stageId,omitempty"`
}

// CopyLead copies the lead (POST /api/lead/{lead}/copy).
func (a *Activities) CopyLead(ctx context.Context, in CopyLeadInput) (CopyLeadOutput, error) {
	if err := validate.Struct(in); err != nil {
		return CopyLeadOutput{}, invalid(in.NodeID, "copy lead "+err.Error())
	}
	if err := a.needConeCRM(in.NodeID); err != nil {
		return CopyLeadOutput{}, err
	}
	subject := in.Subject
	if subject == "" {
		subject = in.SourceSubject
	}
	marker := conecrm.Marker(in.IdempotencyKey)
	subject = conecrm.WithMarker(subject, " ", marker, conecrm.MaxSubjectLength)
	if marker != "" && retrying(ctx) {
		earlier, err := a.findEarlierCopy(ctx, in.NodeID, marker, in.ContactID)
		if err != nil {
			return CopyLeadOutput{}, coneCRMError(in.NodeID, err)
		}
		if earlier != nil {
			a.log(ctx).Info().Str("node_id", in.NodeID).Str("lead_id", in.LeadID).Str("copy_id", earlier.ID).Msg("lead copied by an earlier attempt")
			return CopyLeadOutput{LeadID: earlier.ID, SourceLeadID: in.LeadID, StageID: conecrm.RefID(earlier.Stage)}, nil
		}
	}
	data := conecrm.CopyLeadData{
		Contact:    conecrm.Ref(in.ContactID),
		Account:    conecrm.Ref(in.AccountID),
		Subject:    subject,
		Department: conecrm.Ref(in.DepartmentID),
		Franchise:  conecrm.Ref(in.FranchiseID),
	}
	lead, err := a.ConeCRM.CopyLead(ctx, in.LeadID, data, in.IdempotencyKey)
	if conecrm.IsUnprocessable(err) && marker != "" {
		// A re-executed copy (a reset run) whose body changed: return the
		// copy the first execution made, found by its marker.
		if earlier, ferr := a.findEarlierCopy(ctx, in.NodeID, marker, in.ContactID); ferr == nil && earlier != nil {
			a.log(ctx).Info().Str("node_id", in.NodeID).Str("lead_id", in.LeadID).Str("copy_id", earlier.ID).Msg("lead copied by an earlier execution (key reused)")
			return CopyLeadOutput{LeadID: earlier.ID, SourceLeadID: in.LeadID, StageID: conecrm.RefID(earlier.Stage)}, nil
		}
	}
	if err != nil {
		return CopyLeadOutput{}, coneCRMError(in.NodeID, err)
	}
	a.log(ctx).Info().Str("node_id", in.NodeID).Str("lead_id", in.LeadID).Str("copy_id", lead.ID).Msg("lead copied")
	return CopyLeadOutput{LeadID: lead.ID, SourceLeadID: in.LeadID, StageID: conecrm.RefID(lead.Stage)}, nil
}

// MoveStageInput is a rendered move_stage node.
type MoveStageInput struct {
	NodeID         string `json:"nodeId"`
	IdempotencyKey string `json:"idempotencyKey"`
	LeadID         string `json:"leadId" validate:"required,uuid"`
	StageID        string `json:"stageId" validate:"required,uuid"`
	// CurrentStageID is the stage in the workflow's lead snapshot, so a lead
	// already there is a no-op without a call.
	CurrentStageID string `json:"currentStageId,omitempty"`
	// ContactID, when set and CurrentStageID is not, lets the activity read
	// the lead's current stage from the contact's open leads.
	ContactID string `json:"contactId,omitempty" validate:"omitempty,uuid"`
}

// MoveStageOutput is stored under steps.<nodeId>.
type MoveStageOutput struct {
	StageID   string `json:"stageId"`
	StageName string `json:"stageName,omitempty"`
	Moved     bool   `json:"moved"`
}

// MoveStage moves the lead to a stage. The stage must exist; a lead already
// in it is a success with Moved false.
func (a *Activities) MoveStage(ctx context.Context, in MoveStageInput) (MoveStageOutput, error) {
	if err := validate.Struct(in); err != nil {
		return MoveStageOutput{}, invalid(in.NodeID, "move stage "+err.Error())
	}
	if err := a.needConeCRM(in.NodeID); err != nil {
		return MoveStageOutput{}, err
	}
	stage, err := a.ConeCRM.GetStage(ctx, in.StageID)
	if conecrm.IsNotFound(err) {
		return MoveStageOutput{}, temporal.NewApplicationErrorWithOptions(fmt.Sprintf("node %s: stage %s does not exist", in.NodeID, in.StageID), ErrNotFound, temporal.ApplicationErrorOptions{NonRetryable: true})
	}
	if err != nil {
		return MoveStageOutput{}, coneCRMError(in.NodeID, err)
	}
	out := MoveStageOutput{StageID: in.StageID, StageName: stage.Name}
	current := in.CurrentStageID
	if current == "" && in.ContactID != "" {
		leads, err := a.ConeCRM.OpenLeadsOfContact(ctx, in.ContactID)
		if err != nil && !conecrm.IsNotFound(err) {
			return MoveStageOutput{}, coneCRMError(in.NodeID, err)
		}
		for _, l := range leads {
			if l.ID == in.LeadID {
				current = conecrm.RefID(l.Stage)
			}
		}
	}
	if current == in.StageID {
		a.log(ctx).Info().Str("node_id", in.NodeID).Str("lead_id", in.LeadID).Str("stage_id", in.StageID).Msg("lead already in stage")
		return out, nil
	}
	if retrying(ctx) {
		// An earlier attempt may have moved the lead and lost the answer.
		now, err := a.stageNow(ctx, in.LeadID)
		if err != nil {
			return MoveStageOutput{}, coneCRMError(in.NodeID, err)
		}
		if now == in.StageID {
			a.log(ctx).Info().Str("node_id", in.NodeID).Str("lead_id", in.LeadID).Str("stage_id", in.StageID).Msg("lead moved by an earlier attempt")
			out.Moved = true
			return out, nil
		}
	}
	if _, err := a.ConeCRM.MoveLeadToStage(ctx, in.LeadID, in.StageID, in.IdempotencyKey); err != nil {
		return MoveStageOutput{}, coneCRMError(in.NodeID, err)
	}
	out.Moved = true
	a.log(ctx).Info().Str("node_id", in.NodeID).Str("lead_id", in.LeadID).Str("stage_id", in.StageID).Msg("lead moved")
	return out, nil
}

// WriteThirdPartyIdsInput writes external ids to a ConeCRM account.
type WriteThirdPartyIdsInput struct {
	NodeID         string                 `json:"nodeId"`
	IdempotencyKey string                 `json:"idempotencyKey"`
	AccountID      string                 `json:"accountId" validate:"required,uuid"`
	IDs            []conecrm.ThirdPartyID `json:"ids" validate:"required,min=1,dive"`
	// Existing is the account's current thirdPartyIds when the workflow
	// knows them (null: the activity reads them first).
	Existing []conecrm.ThirdPartyID `json:"existing"`
}

// WriteThirdPartyIdsOutput is stored under steps.<nodeId>.
type WriteThirdPartyIdsOutput struct {
	AccountID     string                 `json:"accountId"`
	Written       bool                   `json:"written"`
	ThirdPartyIDs []conecrm.ThirdPartyID `json:"thirdPartyIds"`
}

// WriteThirdPartyIds merges ids into the account's thirdPartyIds by
// systemName, keeping the others (PATCH /api/account/{account}).
func (a *Activities) WriteThirdPartyIds(ctx context.Context, in WriteThirdPartyIdsInput) (WriteThirdPartyIdsOutput, error) {
	if err := validate.Struct(in); err != nil {
		return WriteThirdPartyIdsOutput{}, invalid(in.NodeID, "third-party ids "+err.Error())
	}
	seen := map[string]bool{}
	for i, t := range in.IDs {
		if seen[t.SystemName] {
			return WriteThirdPartyIdsOutput{}, invalid(in.NodeID, fmt.Sprintf("third-party ids ids[%d].systemName: %s appears twice", i, t.SystemName))
		}
		seen[t.SystemName] = true
	}
	if err := a.needConeCRM(in.NodeID); err != nil {
		return WriteThirdPartyIdsOutput{}, err
	}
	acc, written, err := a.ConeCRM.WriteThirdPartyIDs(ctx, in.AccountID, in.Existing, in.IDs, in.IdempotencyKey)
	if err != nil {
		return WriteThirdPartyIdsOutput{}, coneCRMError(in.NodeID, err)
	}
	a.log(ctx).Info().Str("node_id", in.NodeID).Str("account_id", in.AccountID).Bool("written", written).Msg("third-party ids written")
	return WriteThirdPartyIdsOutput{AccountID: in.AccountID, Written: written, ThirdPartyIDs: acc.ThirdPartyIDs}, nil
}

// invalid fails the node at once for input a retry cannot fix.
func invalid(nodeID, msg string) error {
	return temporal.NewApplicationErrorWithOptions("node "+nodeID+": "+msg, ErrInvalidInput, temporal.ApplicationErrorOptions{NonRetryable: true})
}

func (a *Activities) needConeCRM(nodeID string) error {
	if a.ConeCRM == nil {
		return temporal.NewApplicationErrorWithOptions("node "+nodeID+": ConeCRM is not configured (set CONECRM_BASE_URL)", ErrInvalidInput, temporal.ApplicationErrorOptions{NonRetryable: true})
	}
	return nil
}
