package bench

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/conecrm/automation-runtime/activities"
	"github.com/conecrm/automation-runtime/internal/conecrm"
	"github.com/conecrm/automation-runtime/internal/crm"
	"github.com/conecrm/automation-runtime/internal/devkit/docbuild"
	"github.com/conecrm/automation-runtime/internal/devkit/sandbox"
	"github.com/conecrm/automation-runtime/internal/event"
	"github.com/conecrm/automation-runtime/internal/searchattr"
	"github.com/conecrm/automation-runtime/workflows"
)

// Ids of the bench-local automations and the fake HubSpot integration.
const (
	ReferenceID       = "bench-reference"
	WaitingID         = "bench-waiting"
	IngestID          = "bench-ingest"
	HubSpotID         = "bench-hubspot"
	HandwrittenName   = "HandwrittenReference"
	referenceTimezone = "America/Toronto"
)

// ReferenceAutomation is the reference path: trigger → condition →
// create_task → 1 s delay → move_stage → push_to_crm (fake HubSpot).
var ReferenceAutomation = docbuild.New(ReferenceID).Name("Bench reference: call task, 1 s delay, contacted, HubSpot").
	Trigger("LEAD_CREATED").Timezone(referenceTimezone).Set("franchise", docbuild.Data{"id": "0192f0a0-0007-7000-8000-000000000001"}).
	Node("start", "trigger", docbuild.Data{"label": "New lead"}).
	Node("is-car", "condition", docbuild.Data{"label": "Car lead?", "expression": "has(lead.category) && lead.category == 'CAR'"}).
	Node("call", "create_task", docbuild.Data{"label": "Call the lead", "type": "CALL", "assignee": sandbox.UserSam, "title": "Call {{ lead.subject }}", "dueIn": "2h"}).
	Node("wait", "delay", docbuild.Data{"label": "Wait a second", "duration": "1s"}).
	Node("contacted", "move_stage", docbuild.Data{"label": "Mark contacted", "stageId": sandbox.StageContacted}).
	Node("push", "push_to_crm", docbuild.Data{"label": "Upsert in HubSpot", "integrationId": HubSpotID}).
	Node("done", "end", docbuild.Data{"label": "Done", "reason": "pushed"}).
	Node("not-car", "end", docbuild.Data{"label": "Not a car lead", "reason": "not a car lead"}).
	Chain(1, "start", "is-car").EdgeID("e2", "is-car", "call", "true").EdgeID("e3", "is-car", "not-car", "false").
	Chain(4, "call", "wait", "contacted", "push", "done").String()

// WaitingAutomation parks every run in a one-hour delay; a stage change to
// Sold reaches the goal and ends the run (the drain).
var WaitingAutomation = docbuild.New(WaitingID).Name("Bench waiting: one hour, then a task").
	Trigger("LEAD_ASSIGNED").Timezone(referenceTimezone).
	Set("goal", docbuild.Data{"expression": "has(lead.stage) && lead.stage.id == '" + sandbox.StageSold + "'"}).
	Node("start", "trigger", docbuild.Data{"label": "Lead assigned"}).
	Node("hour", "delay", docbuild.Data{"label": "Wait an hour", "duration": "1h"}).
	Node("call", "create_task", docbuild.Data{"label": "Call", "type": "CALL", "assignee": sandbox.UserSam, "title": "Call {{ lead.subject }}"}).
	Node("done", "end", docbuild.Data{"label": "Done"}).
	Chain(1, "start", "hour", "call", "done").String()

// IngestAutomation enrols on every LEAD_UPDATED; its runs go to a task queue
// no worker polls, so ingestion is measured alone.
var IngestAutomation = docbuild.New(IngestID).Name("Bench ingestion").Trigger("LEAD_UPDATED").
	Set("franchise", docbuild.Data{"id": sandbox.FranchiseMontreal}).
	Node("start", "trigger", docbuild.Data{"label": "Lead updated"}).
	Node("done", "end", docbuild.Data{"label": "Done"}).
	Chain(1, "start", "done").String()

// HubSpotIntegration is the integration push_to_crm uses: a contact looked
// up by email and a deal looked up by the ConeCRM lead id.
func HubSpotIntegration(url string) crm.Integration {
	return crm.Integration{
		Provider: "hubspot", InstanceURL: url, IsEnabled: true, IsLive: true,
		Config: crm.Config{
			ObjectConfigs: []crm.ObjectConfig{
				{Key: "Contact", ExternalName: "contacts", FieldMappings: []crm.FieldMapping{
					{FieldName: "email", SourceAttribute: "contact.primaryEmail", ExternalLookupFieldName: "email", Required: true},
					{FieldName: "firstname", SourceAttribute: "contact.firstName"},
					{FieldName: "lastname", SourceAttribute: "contact.lastName"},
				}},
				{Key: "Deal", ExternalName: "deals", FieldMappings: []crm.FieldMapping{
					{FieldName: "dealname", SourceAttribute: "subject", Required: true},
					{FieldName: "conecrm_lead_id", SourceAttribute: "id"},
					{FieldName: "conecrm_contact", ExternalObjectNameForID: "Contact"},
				}, ExternalLookupConfig: &crm.LookupConfig{FieldsAnd: []string{"conecrm_lead_id"}, SortOrder: "DESC"}},
			},
		},
	}
}

// LeadEvent is a LEAD_CREATED-style event for a lead copied in the sandbox:
// a car lead of Alice's, with a contact e-mail unique to the lead (so the
// HubSpot contact is one per run).
func LeadEvent(typ, eventID, leadID string, n int) event.Lead {
	return event.Lead{ID: eventID, Type: typ, OccurredAt: time.Now().UTC().Truncate(time.Second), Lead: map[string]any{
		"id": leadID, "subject": fmt.Sprintf("Bench lead %d", n), "category": "CAR",
		"stage":     map[string]any{"id": sandbox.StageNew},
		"contact":   map[string]any{"id": sandbox.ContactAlice, "firstName": "Alice", "lastName": fmt.Sprintf("Bench%d", n), "primaryEmail": fmt.Sprintf("lead-%s@bench.example", leadID)},
		"account":   map[string]any{"id": sandbox.AccountAlice, "name": "Alice Tremblay"},
		"franchise": map[string]any{"id": sandbox.FranchiseMontreal},
	}}
}

// HandwrittenReference is ReferenceAutomation written by hand: the same
// activities with the same options and idempotency keys, the same timer,
// the same CurrentNode search-attribute upserts. It is started with the
// starter's enrolment search attributes, as the interpreter's runs are.
func HandwrittenReference(ctx workflow.Context, ev event.Lead) (string, error) {
	lead := ev.Lead
	if c, _ := lead["category"].(string); c != "CAR" {
		return "not a car lead", nil
	}
	wfID := workflow.GetInfo(ctx).WorkflowExecution.ID
	leadID, _ := lead["id"].(string)
	subject, _ := lead["subject"].(string)
	key := func(node string) string {
		sum := sha256.Sum256([]byte(fmt.Sprintf("%s|%s|%s|%d", wfID, ev.ID, node, 1)))
		return hex.EncodeToString(sum[:16])
	}
	ref := func(k string) string {
		m, _ := lead[k].(map[string]any)
		s, _ := m["id"].(string)
		return s
	}
	act := func(node, typ, name, summary string, in, out any) error {
		_ = workflow.UpsertTypedSearchAttributes(ctx, searchattr.CurrentNode.ValueSet(node), searchattr.CurrentNodeType.ValueSet(typ))
		actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			ActivityID: node, Summary: summary, StartToCloseTimeout: 30 * time.Second, RetryPolicy: workflows.RetryPolicy, WaitForCancellation: true,
		})
		return workflow.ExecuteActivity(actx, name, in).Get(actx, out)
	}

	due := workflow.Now(ctx).Add(2 * time.Hour).UTC()
	task := conecrm.TaskRequest{Type: "CALL", Assignee: sandbox.UserSam, Title: "Call " + subject, Start: &due,
		Contact: ref("contact"), Account: ref("account"), Connection: leadID}
	var created activities.CreateTaskOutput
	if err := act("call", "create_task", "CreateTask", "Call the lead — Create call task",
		activities.CreateTaskInput{NodeID: "call", IdempotencyKey: key("call"), Task: task}, &created); err != nil {
		return "", err
	}

	_ = workflow.UpsertTypedSearchAttributes(ctx, searchattr.CurrentNode.ValueSet("wait"), searchattr.CurrentNodeType.ValueSet("delay"))
	if err := workflow.NewTimerWithOptions(ctx, time.Second, workflow.TimerOptions{Summary: "Wait a second"}).Get(ctx, nil); err != nil {
		return "", err
	}

	var moved activities.MoveStageOutput
	if err := act("contacted", "move_stage", "MoveStage", "Mark contacted — Move lead to stage "+sandbox.StageContacted,
		activities.MoveStageInput{NodeID: "contacted", IdempotencyKey: key("contacted"), LeadID: leadID, StageID: sandbox.StageContacted, CurrentStageID: ref("stage")}, &moved); err != nil {
		return "", err
	}

	loc, _ := time.LoadLocation(referenceTimezone)
	var pushed activities.PushToCRMOutput
	if err := act("push", "push_to_crm", "PushToCRM", "Upsert in HubSpot — Push records to CRM integration "+HubSpotID,
		activities.PushToCRMInput{NodeID: "push", IdempotencyKey: key("push"), IntegrationID: HubSpotID, Record: lead, Today: workflow.Now(ctx).In(loc).Format("2006-01-02")}, &pushed); err != nil {
		return "", err
	}
	return "pushed", nil
}

// referenceSearchAttributes are the enrolment attributes the starter sets,
// for runs started without a starter.
func referenceSearchAttributes(ev event.Lead) temporal.SearchAttributes {
	return temporal.NewSearchAttributes(
		searchattr.AutomationID.ValueSet(ReferenceID), searchattr.LeadID.ValueSet(ev.LeadID()), searchattr.Trigger.ValueSet(ev.Type),
		searchattr.CurrentNode.ValueSet("start"), searchattr.CurrentNodeType.ValueSet("trigger"))
}
