package plan

import (
	"strings"
	"testing"
	"time"

	"github.com/conecrm/automation-runtime/internal/expr"
	"github.com/conecrm/automation-runtime/internal/nodes"
	"github.com/conecrm/automation-runtime/internal/validate"
)

// createThenUpdate is trigger → create_task "call" → update_task "resched"
// → end, the update's data being the defaults with extra applied (nil
// deletes a key).
func createThenUpdate(extra obj) obj {
	d := obj{"label": "Reschedule", "task": "{{ steps.call.taskId }}", "assignee": userSam, "title": "Call {{ lead.subject }} again", "dueIn": "2d"}
	for k, v := range extra {
		if v == nil {
			delete(d, k)
		} else {
			d[k] = v
		}
	}
	call := task(nil).with("id", "call")
	return document(
		[]obj{node("start", "trigger", nil), call, node("resched", "update_task", d), node("end", "end", nil)},
		[]obj{edge("e1", "start", "call", ""), edge("e2", "call", "resched", ""), edge("e3", "resched", "end", "")},
	)
}

func TestUpdateTaskValidation(t *testing.T) {
	problem := func(field, msg string) validate.Problem {
		return validate.Problem{NodeID: "resched", Path: "nodes[2].data." + field, Message: msg}
	}
	for _, r := range []rule{
		{name: "task required", bad: createThenUpdate(obj{"task": nil}), good: createThenUpdate(nil), want: problem("task", "is required")},
		{name: "task is a UUID or template", bad: createThenUpdate(obj{"task": "the call"}), good: createThenUpdate(obj{"task": "0192f0a0-0009-7000-8000-000000000001"}), want: problem("task", `must be a UUID or a {{ }} expression, got "the call"`)},
		{name: "task template compiles", bad: createThenUpdate(obj{"task": "{{ steps.call. }}"}), good: createThenUpdate(obj{"task": "{{ steps.call.taskId }}"}), want: problem("task", "does not compile")},
		{name: "assignee required", bad: createThenUpdate(obj{"assignee": nil}), good: createThenUpdate(obj{"assignee": "{{ lead.owner.id }}"}), want: problem("assignee", "is required")},
		{name: "assignee is a UUID", bad: createThenUpdate(obj{"assignee": "sam"}), good: createThenUpdate(obj{"assignee": userSam}), want: problem("assignee", `must be a UUID or a {{ }} expression, got "sam"`)},
		{name: "title required", bad: createThenUpdate(obj{"title": nil}), good: createThenUpdate(obj{"title": "Call back"}), want: problem("title", "is required")},
		{name: "type enumeration", bad: createThenUpdate(obj{"type": "FAX"}), good: createThenUpdate(obj{"type": "MEETING"}), want: problem("type", `must be one of CALL, MEETING`)},
		{name: "start is a timestamp", bad: createThenUpdate(obj{"dueIn": nil, "start": "next week"}), good: createThenUpdate(obj{"dueIn": nil, "start": "2026-03-02T09:00:00Z"}), want: problem("start", "must be a date and time such as")},
		{name: "dueIn or start", bad: createThenUpdate(obj{"start": "2026-03-02T09:00:00Z"}), good: createThenUpdate(obj{"dueIn": nil, "start": "2026-03-02T09:00:00Z"}), want: problem("dueIn", "cannot be set together with start")},
		{name: "dueIn is a positive duration", bad: createThenUpdate(obj{"dueIn": "-1d"}), good: createThenUpdate(obj{"dueIn": "1d"}), want: problem("dueIn", `duration "-1d"`)},
		{name: "ends after it starts", bad: createThenUpdate(obj{"dueIn": nil, "start": "2026-03-02T10:00:00Z", "end": "2026-03-02T09:00:00Z"}), good: createThenUpdate(obj{"dueIn": nil, "start": "2026-03-02T09:00:00Z", "end": "2026-03-02T10:00:00Z"}), want: problem("end", "the task ends")},
		{name: "contact is a UUID", bad: createThenUpdate(obj{"contact": "alice"}), good: createThenUpdate(obj{"contact": "{{ lead.contact.id }}"}), want: problem("contact", "must be a UUID")},
		{name: "note template closed", bad: createThenUpdate(obj{"note": "Was {{ steps.call.taskId"}), good: createThenUpdate(obj{"note": "Was {{ steps.call.taskId }}"}), want: problem("note", `is never closed with "}}"`)},
	} {
		t.Run(r.name, func(t *testing.T) {
			if _, problems := compileJSON(t, r.good); len(problems) > 0 {
				t.Fatalf("the passing document has problems:\n%v", dump(problems))
			}
			p, problems := compileJSON(t, r.bad)
			if p != nil {
				t.Fatalf("the failing document compiled")
			}
			for _, got := range problems {
				if got.NodeID == r.want.NodeID && got.Path == r.want.Path && strings.Contains(got.Message, r.want.Message) {
					return
				}
			}
			t.Errorf("no problem like %+v among:\n%s", r.want, dump(problems))
		})
	}
}

// TestUpdateTaskRender renders the update from the run's values: the task
// id from the earlier step, the new start from the run's clock.
func TestUpdateTaskRender(t *testing.T) {
	p, problems := compileJSON(t, createThenUpdate(obj{"note": "Rescheduled from {{ steps.call.taskId }}"}))
	if len(problems) > 0 {
		t.Fatal(dump(problems))
	}
	n := p.Node("resched").Impl.(*nodes.UpdateTask)
	now := time.Date(2026, 3, 2, 14, 0, 0, 0, time.UTC)
	const created = "0192f0a0-0009-7000-8000-000000000001"
	vars := expr.Vars{Now: now, Lead: map[string]any{"subject": "2026 Civic"}, Steps: map[string]any{"call": map[string]any{"taskId": created}}}
	id, req, err := n.Render(vars)
	if err != nil {
		t.Fatal(err)
	}
	if id != created || req.Title != "Call 2026 Civic again" || req.Assignee != userSam || req.Note != "Rescheduled from "+created {
		t.Errorf("rendered %q %+v", id, req)
	}
	if req.Start == nil || !req.Start.Equal(now.Add(48*time.Hour)) || req.Contact != "" || req.Connection != "" {
		t.Errorf("start %v, contact %q, connection %q: want now+2d and the task's links left alone", req.Start, req.Contact, req.Connection)
	}
	vars.Steps = map[string]any{}
	if _, _, err := n.Render(vars); err == nil || !strings.Contains(err.Error(), "task: rendered empty") {
		t.Errorf("no earlier task: %v", err)
	}
}
