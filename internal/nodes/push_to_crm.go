package nodes

import (
	"go.temporal.io/sdk/workflow"

	"github.com/conecrm/automation-runtime/activities"
	"github.com/conecrm/automation-runtime/internal/crm"
	"github.com/conecrm/automation-runtime/internal/crm/push"
)

var pushToCRMDef = Definition{
	Type:        "push_to_crm",
	Category:    CategoryAction,
	Description: "Pushes the lead's records (account, contact, opportunity...) to an external CRM through a CRM integration.",
	Handles:     []string{Plain, HandleError},
	Required:    []string{Plain},
	New:         func() Node { return &PushToCRM{} },
	Activity:    pushToCRMActivity,
}

var pushToCRMActivity = NewActivity((*activities.Activities).PushToCRM,
	func(in activities.PushToCRMInput, _ int) activities.PushToCRMOutput {
		return activities.PushToCRMOutput{IntegrationID: in.IntegrationID, DryRun: true, Objects: []crm.ObjectResult{}, ThirdPartyIDs: []push.ThirdPartyID{}}
	}).WithHeartbeat(activities.PushStartToClose, activities.PushHeartbeatTimeout)

// PushToCRM syncs objects through a CRM integration. Only the integration id
// travels in the workflow; the activity resolves credentials.
type PushToCRM struct {
	IntegrationID string   `json:"integrationId" validate:"required,max=200"`
	Objects       []string `json:"objects,omitempty" validate:"max=20,dive,required,max=100"`
}

func (n *PushToCRM) Compile(*Compiler) {}

func (n *PushToCRM) Run(ctx workflow.Context, x Exec) (Outcome, error) {
	return pushToCRM(ctx, x, n)
}
