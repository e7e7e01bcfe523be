// Package baseline holds hand-written Temporal workflows equivalent to the example automations in
// automations/ and to single nodes of each type: what a developer would
// write without the interpreter. They are the baseline of the history-size
// comparison (workflows/eventcount_test.go) and of the interpreter
// benchmarks. They call the same activities with the same options and are
// equally visible in the Web UI: the same search-attribute upserts (the
// enrolment attributes when the starter did not set them, CurrentNode and
// CurrentNodeType on entering an action, delay or wait, skipping unchanged
// values), labelled timers and activity summaries.
package baseline

import (
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/conecrm/automation-runtime/activities"
	"github.com/conecrm/automation-runtime/internal/conecrm"
	"github.com/conecrm/automation-runtime/internal/event"
	"github.com/conecrm/automation-runtime/internal/searchattr"
	"github.com/conecrm/automation-runtime/workflows"
)

// HandwrittenWorkflows lists the hand-written workflows by the example
// automation (file name without .json) they reproduce.
var HandwrittenWorkflows = map[string]any{
	"new-lead-call-task":       HandwrittenNewLeadCallTask,
	"brand-specialist-routing": HandwrittenBrandSpecialistRouting,
	"lost-lead-reengagement":   HandwrittenLostLeadReengagement,
	"qualified-lead-hubspot":   HandwrittenQualifiedLeadHubspot,
	"stale-lead-follow-up":     HandwrittenStaleLeadFollowUp,
	"test-drive-to-salesforce": HandwrittenTestDriveToSalesforce,
	"web-lead-call-escalate":   HandwrittenWebLeadCallEscalate,
}

// hand holds what every hand-written workflow needs.
type hand struct {
	ctx      workflow.Context
	ev       event.Lead
	lead     map[string]any
	wfID     string
	node     string
	signals  workflow.ReceiveChannel
	applied  map[string]bool
	loc      *time.Location
	automate string
}

func newHand(ctx workflow.Context, automationID string, ev event.Lead) *hand {
	loc, _ := time.LoadLocation("America/Toronto")
	h := &hand{ctx: ctx, ev: ev, lead: ev.Lead, wfID: workflow.GetInfo(ctx).WorkflowExecution.ID,
		signals: workflow.GetSignalChannel(ctx, workflows.SignalLeadEvent), applied: map[string]bool{ev.ID: true}, loc: loc, automate: automationID}
	if _, ok := workflow.GetTypedSearchAttributes(ctx).GetKeyword(searchattr.AutomationID); !ok {
		_ = workflow.UpsertTypedSearchAttributes(ctx,
			searchattr.CurrentNode.ValueSet("start"), searchattr.CurrentNodeType.ValueSet("trigger"),
			searchattr.AutomationID.ValueSet(automationID), searchattr.LeadID.ValueSet(ev.LeadID()), searchattr.Trigger.ValueSet(ev.Type))
	}
	h.node = "start"
	return h
}

func (h *hand) at(node, typ string) {
	if node == h.node {
		return
	}
	h.node = node
	_ = workflow.UpsertTypedSearchAttributes(h.ctx, searchattr.CurrentNode.ValueSet(node), searchattr.CurrentNodeType.ValueSet(typ))
}

func (h *hand) str(key string) string { s, _ := h.lead[key].(string); return s }

func (h *hand) ref(key string) string {
	if m, ok := h.lead[key].(map[string]any); ok {
		s, _ := m["id"].(string)
		return s
	}
	return ""
}

func (h *hand) key(node string) string {
	return fmt.Sprintf("%s|%s|%s|1", h.wfID, h.ev.ID, node)
}

func (h *hand) activity(node, typ, name, summary string, in, out any) error {
	h.at(node, typ)
	ctx := workflow.WithActivityOptions(h.ctx, workflow.ActivityOptions{
		ActivityID: node, Summary: summary, StartToCloseTimeout: 30 * time.Second, RetryPolicy: workflows.RetryPolicy, WaitForCancellation: true,
	})
	return workflow.ExecuteActivity(ctx, name, in).Get(ctx, out)
}

func (h *hand) createTask(node, summary, typ, assignee, title, note string, due time.Duration) error {
	start := workflow.Now(h.ctx).Add(due).UTC()
	task := conecrm.TaskRequest{Type: typ, Assignee: assignee, Title: title, Note: note, Start: &start,
		Contact: h.ref("contact"), Account: h.ref("account"), Connection: h.str("id")}
	var out activities.CreateTaskOutput
	return h.activity(node, "create_task", "CreateTask", summary, activities.CreateTaskInput{NodeID: node, IdempotencyKey: h.key(node), Task: task}, &out)
}

func (h *hand) sleepUntil(node string, until time.Time, summary string) error {
	h.at(node, "delay")
	d := until.Sub(workflow.Now(h.ctx))
	if d <= 0 {
		return nil
	}
	return workflow.NewTimerWithOptions(h.ctx, d, workflow.TimerOptions{Summary: summary}).Get(h.ctx, nil)
}

// waitFor waits for an event of the given type satisfying match, up to
// timeout; goal, when set, ends the wait early with goalReached.
func (h *hand) waitFor(node, typ string, match, goal func(event.Lead) bool, timeout time.Duration) (got, goalReached bool, err error) {
	h.at(node, "wait_for_event")
	ctx, cancel := workflow.WithCancel(h.ctx)
	defer cancel()
	timer := workflow.NewTimerWithOptions(ctx, timeout, workflow.TimerOptions{Summary: "Wait for " + typ})
	timedOut := false
	for !got && !goalReached && !timedOut {
		sel := workflow.NewSelector(h.ctx)
		sel.AddFuture(timer, func(workflow.Future) { timedOut = true })
		sel.AddReceive(h.signals, func(c workflow.ReceiveChannel, _ bool) {
			var ev event.Lead
			c.Receive(h.ctx, &ev)
			if h.applied[ev.ID] {
				return
			}
			h.applied[ev.ID] = true
			if ev.Lead != nil {
				h.lead = ev.Lead
			}
			if goal != nil && goal(ev) {
				goalReached = true
				return
			}
			got = ev.Type == typ && (match == nil || match(ev))
		})
		sel.Select(h.ctx)
	}
	return got, goalReached, ctx.Err()
}

// HandwrittenNewLeadCallTask is automations/new-lead-call-task.json by hand.
func HandwrittenNewLeadCallTask(ctx workflow.Context, ev event.Lead) (string, error) {
	h := newHand(ctx, "0193a4c2-7a10-7c5e-9d1a-2f6b8c1e0a01", ev)
	if h.str("category") != "CAR" {
		return "not a car lead", nil
	}
	form := h.str("formName")
	if form == "" {
		form = "an unknown form"
	}
	note := fmt.Sprintf("New lead from %s; priority %v.", form, h.lead["priority"])
	if err := h.createTask("call", "Call the new lead — Create call task", "CALL", "0193a4c2-0000-7000-8000-0000000000a1", "Call about "+h.str("subject"), note, 2*time.Hour); err != nil {
		return "", err
	}
	return "call task created", nil
}

// HandwrittenBrandSpecialistRouting is automations/brand-specialist-routing.json by hand.
func HandwrittenBrandSpecialistRouting(ctx workflow.Context, ev event.Lead) (string, error) {
	h := newHand(ctx, "brand-specialist-routing", ev)
	mk := h.str("makeStr")
	title := mk + " lead: call " + h.str("subject")
	var err error
	switch strings.ToLower(mk) {
	case "toyota", "lexus":
		err = h.createTask("toyota-specialist", "Create call task", "CALL", "0192f0a0-0001-7000-8000-000000000001", title, "", 2*time.Hour)
	case "honda", "acura":
		err = h.createTask("honda-specialist", "Create call task", "CALL", "0192f0a0-0001-7000-8000-000000000003", title, "", 2*time.Hour)
	default:
		err = h.createTask("bdc-triage", "Create follow up task", "FOLLOW_UP", "0192f0a0-0001-7000-8000-000000000002", "Find a specialist for this "+mk+" lead: "+h.str("subject"), "", 4*time.Hour)
	}
	if err != nil {
		return "", err
	}
	return "task created for the brand specialist", nil
}

// HandwrittenLostLeadReengagement is automations/lost-lead-reengagement.json by hand.
func HandwrittenLostLeadReengagement(ctx workflow.Context, ev event.Lead) (string, error) {
	h := newHand(ctx, "lost-lead-reengagement", ev)
	t := workflow.Now(ctx).Add(30 * 24 * time.Hour).In(h.loc)
	for i := 0; i < 8; i++ {
		day := t.AddDate(0, 0, i)
		cand := time.Date(day.Year(), day.Month(), day.Day(), 10, 0, 0, 0, h.loc)
		if !cand.Before(t) && cand.Weekday() != time.Saturday && cand.Weekday() != time.Sunday {
			t = cand
			break
		}
	}
	if err := h.sleepUntil("wait-30-days", t, "Wait 30 days, then a weekday at 10:00"); err != nil {
		return "", err
	}
	if h.ref("contact") == "" {
		return "no contact to re-engage", nil
	}
	in := activities.CopyLeadInput{NodeID: "copy", IdempotencyKey: h.key("copy"), LeadID: h.str("id"), Subject: "Re-engagement: " + h.str("subject"),
		DepartmentID: "0192f0a0-0006-7000-8000-000000000004", FranchiseID: h.ref("franchise"), ContactID: h.ref("contact"), AccountID: h.ref("account")}
	var out activities.CopyLeadOutput
	if err := h.activity("copy", "copy_lead", "CopyLead", "Copy into Re-engagement — Copy lead into another department", in, &out); err != nil {
		return "", err
	}
	return "copied into the re-engagement department", nil
}

// HandwrittenQualifiedLeadHubspot is automations/qualified-lead-hubspot.json by hand.
func HandwrittenQualifiedLeadHubspot(ctx workflow.Context, ev event.Lead) (string, error) {
	h := newHand(ctx, "qualified-lead-hubspot", ev)
	push := map[string]any{"nodeId": "push-hubspot", "idempotencyKey": h.key("push-hubspot"), "integrationId": "demo-hubspot", "record": h.lead,
		"today": workflow.Now(ctx).In(h.loc).Format("2006-01-02")}
	var out map[string]any
	_ = h.activity("push-hubspot", "push_to_crm", "PushToCRM", "Push records to CRM integration demo-hubspot", push, &out) // onError: continue
	body := fmt.Sprintf(`{"leadId": %q, "subject": %q, "priority": %v, "qualifiedAt": %q}`, h.str("id"), h.str("subject"), h.lead["priority"], workflow.Now(ctx).UTC().Format(time.RFC3339))
	hook := activities.WebhookInput{NodeID: "notify-marketing", IdempotencyKey: h.key("notify-marketing"), URL: "https://hooks.example.com/marketing/qualified-leads", Method: "POST",
		Headers: []activities.Header{{Name: "Content-Type", Value: "application/json"}}, SecretHeaders: []activities.SecretHeader{{Header: "Authorization", Secret: "MARKETING_HOOK"}}, Body: body}
	var res activities.WebhookOutput
	_ = h.activity("notify-marketing", "webhook", "CallWebhook", "Tell marketing — Call webhook POST hooks.example.com", hook, &res) // onError: continue
	return "qualified lead shared", nil
}

// HandwrittenStaleLeadFollowUp is automations/stale-lead-follow-up.json by hand.
func HandwrittenStaleLeadFollowUp(ctx workflow.Context, ev event.Lead) (string, error) {
	h := newHand(ctx, "stale-lead-follow-up", ev)
	goal := func(e event.Lead) bool {
		s, _ := e.Lead["stage"].(map[string]any)
		return s != nil && s["id"] == "0192f0a0-0002-7000-8000-000000000005"
	}
	got, goalReached, err := h.waitFor("wait-activity", "LEAD_UPDATED", nil, goal, 7*24*time.Hour)
	switch {
	case err != nil:
		return "", err
	case goalReached:
		return "goal reached", nil
	case got:
		return "the lead was updated within 7 days", nil
	}
	in := activities.MoveStageInput{NodeID: "back-to-new", IdempotencyKey: h.key("back-to-new"), LeadID: h.str("id"), StageID: "0192f0a0-0002-7000-8000-000000000001", CurrentStageID: h.ref("stage")}
	var out activities.MoveStageOutput
	_ = h.activity("back-to-new", "move_stage", "MoveStage", "Move lead to stage 0192f0a0-0002-7000-8000-000000000001", in, &out) // onError: continue
	if err := h.createTask("reminder", "Remind the BDC — Create follow up task", "FOLLOW_UP", "0192f0a0-0001-7000-8000-000000000002",
		"Stale lead back in your queue: "+h.str("subject"), "No activity for 7 days after first contact.", 24*time.Hour); err != nil {
		return "", err
	}
	return "stale lead returned to the BDC queue", nil
}

// HandwrittenTestDriveToSalesforce is automations/test-drive-to-salesforce.json by hand.
func HandwrittenTestDriveToSalesforce(ctx workflow.Context, ev event.Lead) (string, error) {
	h := newHand(ctx, "test-drive-to-salesforce", ev)
	mv := activities.MoveStageInput{NodeID: "to-negotiation", IdempotencyKey: h.key("to-negotiation"), LeadID: h.str("id"), StageID: "0192f0a0-0002-7000-8000-000000000004", CurrentStageID: h.ref("stage")}
	var moved activities.MoveStageOutput
	if err := h.activity("to-negotiation", "move_stage", "MoveStage", "Move lead to stage 0192f0a0-0002-7000-8000-000000000004", mv, &moved); err != nil {
		return "", temporal.NewNonRetryableApplicationError(err.Error(), "NodeFailed", err)
	}
	push := map[string]any{"nodeId": "push-salesforce", "idempotencyKey": h.key("push-salesforce"), "integrationId": "demo-salesforce",
		"objects": []string{"Account", "Contact", "Opportunity"}, "record": h.lead, "today": workflow.Now(ctx).In(h.loc).Format("2006-01-02")}
	var out map[string]any
	if err := h.activity("push-salesforce", "push_to_crm", "PushToCRM", "Push Account, Contact, Opportunity to CRM integration demo-salesforce", push, &out); err == nil {
		return "pushed to Salesforce", nil
	}
	if err := h.createTask("sync-failed", "Tell the manager the sync failed — Create other task", "OTHER", "0192f0a0-0001-7000-8000-000000000003",
		"Salesforce sync failed for "+h.str("subject"), "Push the account, contact and opportunity by hand.", 24*time.Hour); err != nil {
		return "", err
	}
	return "Salesforce push failed; manager notified", nil
}

// HandwrittenWebLeadCallEscalate is automations/web-lead-call-escalate.json by hand.
func HandwrittenWebLeadCallEscalate(ctx workflow.Context, ev event.Lead) (string, error) {
	h := newHand(ctx, "web-lead-call-escalate", ev)
	now := workflow.Now(ctx).In(h.loc)
	resume := now
	if mins := now.Hour()*60 + now.Minute(); now.Weekday() == time.Sunday || mins < 9*60 || mins >= 18*60 {
		for i := 0; i < 8; i++ {
			day := now.AddDate(0, 0, i)
			cand := time.Date(day.Year(), day.Month(), day.Day(), 9, 0, 0, 0, h.loc)
			if !cand.Before(now) && cand.Weekday() != time.Sunday {
				resume = cand
				break
			}
		}
	}
	if err := h.sleepUntil("business-hours", resume, "Wait for opening hours"); err != nil {
		return "", err
	}
	if err := h.createTask("call", "Call the new web lead — Create call task", "CALL", "0192f0a0-0001-7000-8000-000000000002", "Call "+h.str("subject"), "Web lead. Call within the hour.", time.Hour); err != nil {
		return "", err
	}
	left := func(e event.Lead) bool {
		s, _ := e.Lead["stage"].(map[string]any)
		return s != nil && s["id"] != "0192f0a0-0002-7000-8000-000000000001"
	}
	got, _, err := h.waitFor("wait-contacted", "LEAD_STAGE_CHANGED", left, nil, 48*time.Hour)
	if err != nil {
		return "", err
	}
	if got {
		return "the lead left New within 2 days", nil
	}
	if err := h.createTask("escalate", "Escalate to the sales manager — Create reminder task", "REMINDER", "0192f0a0-0001-7000-8000-000000000003",
		"Escalation: web lead not contacted in 2 days — "+h.str("subject"), "Still in New.", 4*time.Hour); err != nil {
		return "", err
	}
	return "escalated to the sales manager", nil
}

// NodeBenchInput selects the single node HandwrittenNode runs.
type NodeBenchInput struct {
	Type  string        `json:"type"`
	Event event.Lead    `json:"event"`
	Delay time.Duration `json:"delay,omitempty"`
}

// HandwrittenNode runs one node of the given type between a trigger and an
// end, as the per-node-type rows of the comparison do with the interpreter.
func HandwrittenNode(ctx workflow.Context, in NodeBenchInput) (string, error) {
	h := newHand(ctx, "node-"+in.Type, in.Event)
	switch in.Type {
	case "condition", "switch", "split", "end":
		if h.str("category") == "CAR" { // evaluated in code: no events
			return "car", nil
		}
		return "other", nil
	case "delay":
		return "", h.sleepUntil("node", workflow.Now(ctx).Add(in.Delay), "Delay")
	case "wait_for_event":
		_, _, err := h.waitFor("node", "LEAD_UPDATED", nil, nil, in.Delay)
		return "", err
	case "create_task":
		return "", h.createTask("node", "Create call task", "CALL", "0193a4c2-0000-7000-8000-0000000000a1", "Call", "", time.Hour)
	case "copy_lead":
		var out activities.CopyLeadOutput
		return "", h.activity("node", in.Type, "CopyLead", "Copy lead", activities.CopyLeadInput{NodeID: "node", LeadID: h.str("id"), ContactID: h.ref("contact")}, &out)
	case "move_stage":
		var out activities.MoveStageOutput
		return "", h.activity("node", in.Type, "MoveStage", "Move lead", activities.MoveStageInput{NodeID: "node", LeadID: h.str("id"), StageID: "0192f0a0-0002-7000-8000-000000000004"}, &out)
	case "push_to_crm":
		var out map[string]any
		return "", h.activity("node", in.Type, "PushToCRM", "Push records", map[string]any{"nodeId": "node", "integrationId": "x", "record": h.lead}, &out)
	case "webhook":
		var out activities.WebhookOutput
		return "", h.activity("node", in.Type, "CallWebhook", "Call webhook", activities.WebhookInput{NodeID: "node", URL: "https://hooks.example.com/x", Method: "POST"}, &out)
	}
	return "", fmt.Errorf("unknown node type %q", in.Type)
}
