package plan

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/conecrm/automation-runtime/internal/automation"
	"github.com/conecrm/automation-runtime/internal/nodes"
	"github.com/conecrm/automation-runtime/internal/validate"
)

// rule is one validation rule: bad breaks it (and only it), good is the
// closest document that keeps it.
type rule struct {
	name string
	bad  obj
	good obj
	want validate.Problem // Message is a substring
}

func validationRules() []rule {
	cond := func(expr string) obj { return node("check", "condition", obj{"label": "Check", "expression": expr}) }
	wait := obj{"label": "Wait", "event": "LEAD_STAGE_CHANGED", "timeout": "2d"}
	sw := node("route", "switch", obj{"label": "Make", "cases": []obj{
		{"handle": "toyota", "expression": "lead.make == 'Toyota'"},
		{"handle": "honda", "expression": "lead.make == 'Honda'"},
	}})
	delay := func(d obj) obj { d["label"] = "Wait"; return node("wait", "delay", d) }
	split := func(branches ...obj) obj { return node("ab", "split", obj{"label": "A/B", "branches": branches}) }
	start, end := node("start", "trigger", nil), node("end", "end", nil)
	long := strings.Repeat("lead.priority > 1 && ", 190) + "true"

	return []rule{
		// Graph rules.
		{name: "no trigger",
			bad:  document([]obj{end}, nil),
			good: document([]obj{start, end}, []obj{edge("e1", "start", "end", "")}),
			want: validate.Problem{Path: "nodes", Message: "exactly one trigger node; it has none"}},
		{name: "two triggers",
			bad:  document([]obj{start, node("start2", "trigger", nil), end}, []obj{edge("e1", "start", "end", ""), edge("e2", "start2", "end", "")}),
			good: document([]obj{start, end}, []obj{edge("e1", "start", "end", "")}),
			want: validate.Problem{Path: "nodes", Message: "exactly one trigger node; it has 2"}},
		{name: "duplicate node id",
			bad:  document([]obj{start, end, node("end", "end", nil)}, []obj{edge("e1", "start", "end", "")}),
			good: document([]obj{start, end}, []obj{edge("e1", "start", "end", "")}),
			want: validate.Problem{NodeID: "end", Path: "nodes[2].id", Message: `id "end" is used by another node`}},
		{name: "node without id",
			bad:  document([]obj{start, end, node("", "end", nil)}, []obj{edge("e1", "start", "end", "")}),
			good: document([]obj{start, end}, []obj{edge("e1", "start", "end", "")}),
			want: validate.Problem{Path: "nodes[2].id", Message: "the node has no id"}},
		{name: "duplicate edge id",
			bad:  document([]obj{start, end, node("end2", "end", nil)}, []obj{edge("e0", "start", "end", ""), edge("e0", "start", "end2", "")}),
			good: document([]obj{start, end, node("end2", "end", nil)}, []obj{edge("e0", "start", "end", ""), edge("e1", "start", "end2", "")}),
			want: validate.Problem{EdgeID: "e0", Path: "edges[1].id", Message: `id "e0" is used by another edge`}},
		{name: "edge to a missing node",
			bad:  document([]obj{start, end}, []obj{edge("e1", "start", "end", ""), edge("e2", "start", "nowhere", "")}),
			good: document([]obj{start, end}, []obj{edge("e1", "start", "end", "")}),
			want: validate.Problem{EdgeID: "e2", Path: "edges[1].target", Message: `target node "nowhere" does not exist`}},
		{name: "edge from a missing node",
			bad:  document([]obj{start, end}, []obj{edge("e1", "start", "end", ""), edge("e2", "ghost", "end", "")}),
			good: document([]obj{start, end}, []obj{edge("e1", "start", "end", "")}),
			want: validate.Problem{EdgeID: "e2", Path: "edges[1].source", Message: `source node "ghost" does not exist`}},
		{name: "handle the node type does not have",
			bad:  document([]obj{start, cond("true"), end, node("end2", "end", nil)}, []obj{edge("e1", "start", "check", ""), edge("e2", "check", "end", "true"), edge("e3", "check", "end2", "false"), edge("e4", "check", "end", "")}),
			good: document([]obj{start, cond("true"), end, node("end2", "end", nil)}, []obj{edge("e1", "start", "check", ""), edge("e2", "check", "end", "true"), edge("e3", "check", "end2", "false")}),
			want: validate.Problem{EdgeID: "e4", Path: "edges[3].sourceHandle", Message: `node check (condition) has no plain (no sourceHandle) exit (allowed: "true", "false")`}},
		{name: "condition false exit not connected",
			bad:  branch(cond("true"), "true"),
			good: branch(cond("true"), "true", "false"),
			want: validate.Problem{NodeID: "check", Path: "nodes[1]", Message: `the "false" exit is not connected`}},
		{name: "condition true exit not connected",
			bad:  branch(cond("true"), "false"),
			good: branch(cond("true"), "true", "false"),
			want: validate.Problem{NodeID: "check", Path: "nodes[1]", Message: `the "true" exit is not connected`}},
		{name: "wait_for_event timeout exit not connected",
			bad:  branch(node("w", "wait_for_event", wait), "event"),
			good: branch(node("w", "wait_for_event", wait), "event", "timeout"),
			want: validate.Problem{NodeID: "w", Path: "nodes[1]", Message: `the "timeout" exit is not connected`}},
		{name: "wait_for_event event exit not connected",
			bad:  branch(node("w", "wait_for_event", wait), "timeout"),
			good: branch(node("w", "wait_for_event", wait), "event", "timeout"),
			want: validate.Problem{NodeID: "w", Path: "nodes[1]", Message: `the "event" exit is not connected`}},
		{name: "switch case exit not connected",
			bad:  branch(sw, "toyota", "default"),
			good: branch(sw, "toyota", "honda", "default"),
			want: validate.Problem{NodeID: "route", Path: "nodes[1]", Message: `the "honda" exit is not connected`}},
		{name: "switch default exit not connected",
			bad:  branch(sw, "toyota", "honda"),
			good: branch(sw, "toyota", "honda", "default"),
			want: validate.Problem{NodeID: "route", Path: "nodes[1]", Message: `the "default" exit is not connected`}},
		{name: "switch edge to an unknown case",
			bad:  branch(sw, "toyota", "honda", "default", "ford"),
			good: branch(sw, "toyota", "honda", "default"),
			want: validate.Problem{EdgeID: "e-ford", Message: `node route (switch) has no "ford" exit`}},
		{name: "switch case handles unique",
			bad:  branch(node("route", "switch", obj{"cases": []obj{{"handle": "a", "expression": "true"}, {"handle": "a", "expression": "false"}}}), "a", "default"),
			good: branch(node("route", "switch", obj{"cases": []obj{{"handle": "a", "expression": "true"}, {"handle": "b", "expression": "false"}}}), "a", "b", "default"),
			want: validate.Problem{NodeID: "route", Path: "nodes[1].data.cases[1].handle", Message: `handle "a" is used by two cases`}},
		{name: "switch needs a case",
			bad:  branch(node("route", "switch", obj{"cases": []obj{}}), "default"),
			good: branch(node("route", "switch", obj{"cases": []obj{{"handle": "a", "expression": "true"}}}), "a", "default"),
			want: validate.Problem{NodeID: "route", Path: "nodes[1].data.cases", Message: "must have at least 1 item"}},
		{name: "switch case may not be called default",
			bad:  branch(node("route", "switch", obj{"cases": []obj{{"handle": "default", "expression": "true"}}}), "default"),
			good: branch(node("route", "switch", obj{"cases": []obj{{"handle": "a", "expression": "true"}}}), "a", "default"),
			want: validate.Problem{NodeID: "route", Path: "nodes[1].data.cases[0].handle", Message: `must not be "default"`}},
		// Random split: weights, handles, one edge per branch.
		{name: "split branch exit not connected",
			bad:  branch(split(obj{"handle": "a", "weight": 50}, obj{"handle": "b", "weight": 50}), "a"),
			good: branch(split(obj{"handle": "a", "weight": 50}, obj{"handle": "b", "weight": 50}), "a", "b"),
			want: validate.Problem{NodeID: "ab", Path: "nodes[1]", Message: `the "b" exit is not connected`}},
		{name: "split branch exit leads to one node",
			bad: document([]obj{start, split(obj{"handle": "a", "weight": 1}, obj{"handle": "b", "weight": 1}), end, node("end2", "end", nil)},
				[]obj{edge("e1", "start", "ab", ""), edge("e2", "ab", "end", "a"), edge("e3", "ab", "end2", "a"), edge("e4", "ab", "end", "b")}),
			good: document([]obj{start, split(obj{"handle": "a", "weight": 1}, obj{"handle": "b", "weight": 1}), end, node("end2", "end", nil)},
				[]obj{edge("e1", "start", "ab", ""), edge("e2", "ab", "end", "a"), edge("e3", "ab", "end2", "b")}),
			want: validate.Problem{NodeID: "ab", Path: "nodes[1]", Message: `the "a" exit has 2 edges; each exit of a split leads to exactly one node`}},
		{name: "split has no plain exit",
			bad: document([]obj{start, split(obj{"handle": "a", "weight": 1}, obj{"handle": "b", "weight": 1}), end, node("end2", "end", nil)},
				[]obj{edge("e1", "start", "ab", ""), edge("e2", "ab", "end", "a"), edge("e3", "ab", "end2", "b"), edge("e4", "ab", "end", "")}),
			good: branch(split(obj{"handle": "a", "weight": 1}, obj{"handle": "b", "weight": 1}), "a", "b"),
			want: validate.Problem{EdgeID: "e4", Path: "edges[3].sourceHandle", Message: `node ab (split) has no plain (no sourceHandle) exit (allowed: "a", "b")`}},
		{name: "split handles unique",
			bad:  branch(split(obj{"handle": "a", "weight": 50}, obj{"handle": "a", "weight": 50}), "a"),
			good: branch(split(obj{"handle": "a", "weight": 50}, obj{"handle": "b", "weight": 50}), "a", "b"),
			want: validate.Problem{NodeID: "ab", Path: "nodes[1].data.branches[1].handle", Message: `handle "a" is used by two branches`}},
		{name: "split handle not empty",
			bad:  branch(split(obj{"handle": "", "weight": 50}, obj{"handle": "b", "weight": 50}), "b"),
			good: branch(split(obj{"handle": "a", "weight": 50}, obj{"handle": "b", "weight": 50}), "a", "b"),
			want: validate.Problem{NodeID: "ab", Path: "nodes[1].data.branches[0].handle", Message: "is required"}},
		{name: "split weight positive",
			bad:  branch(split(obj{"handle": "a", "weight": 0}, obj{"handle": "b", "weight": 50}), "a", "b"),
			good: branch(split(obj{"handle": "a", "weight": 1}, obj{"handle": "b", "weight": 50}), "a", "b"),
			want: validate.Problem{NodeID: "ab", Path: "nodes[1].data.branches[0].weight", Message: "must be at least 1, got 0"}},
		{name: "split weight not negative",
			bad:  branch(split(obj{"handle": "a", "weight": -5}, obj{"handle": "b", "weight": 50}), "a", "b"),
			good: branch(split(obj{"handle": "a", "weight": 5}, obj{"handle": "b", "weight": 50}), "a", "b"),
			want: validate.Problem{NodeID: "ab", Path: "nodes[1].data.branches[0].weight", Message: "must be at least 1, got -5"}},
		{name: "split weight a whole number",
			bad:  branch(split(obj{"handle": "a", "weight": 50.5}, obj{"handle": "b", "weight": 50}), "a", "b"),
			good: branch(split(obj{"handle": "a", "weight": 50}, obj{"handle": "b", "weight": 50}), "a", "b"),
			want: validate.Problem{NodeID: "ab", Path: "nodes[1].data.branches.weight", Message: "must be a whole number, got a JSON number 50.5"}},
		{name: "split weight missing",
			bad:  branch(split(obj{"handle": "a"}, obj{"handle": "b", "weight": 50}), "a", "b"),
			good: branch(split(obj{"handle": "a", "weight": 50}, obj{"handle": "b", "weight": 50}), "a", "b"),
			want: validate.Problem{NodeID: "ab", Path: "nodes[1].data.branches[0].weight", Message: "must be at least 1"}},
		{name: "split needs two branches",
			bad:  branch(split(obj{"handle": "a", "weight": 50}), "a"),
			good: branch(split(obj{"handle": "a", "weight": 50}, obj{"handle": "b", "weight": 50}), "a", "b"),
			want: validate.Problem{NodeID: "ab", Path: "nodes[1].data.branches", Message: "must have at least 2 items"}},
		{name: "split handle may not be error",
			bad:  branch(split(obj{"handle": "error", "weight": 50}, obj{"handle": "b", "weight": 50}), "b"),
			good: branch(split(obj{"handle": "a", "weight": 50}, obj{"handle": "b", "weight": 50}), "a", "b"),
			want: validate.Problem{NodeID: "ab", Path: "nodes[1].data.branches[0].handle", Message: `must not be "error"`}},
		{name: "every node reachable",
			bad:  document([]obj{start, end, node("orphan", "end", nil)}, []obj{edge("e1", "start", "end", "")}),
			good: document([]obj{start, end, node("orphan", "end", nil)}, []obj{edge("e1", "start", "end", ""), edge("e2", "start", "orphan", "")}),
			want: validate.Problem{NodeID: "orphan", Path: "nodes[2]", Message: "cannot be reached from the trigger"}},
		{name: "no cycles",
			bad: document([]obj{start, cond("lead.priority > 1"), delay(obj{"duration": "1d"}), end},
				[]obj{edge("e1", "start", "check", ""), edge("e2", "check", "wait", "true"), edge("e3", "wait", "check", ""), edge("e4", "check", "end", "false")}),
			good: document([]obj{start, cond("lead.priority > 1"), delay(obj{"duration": "1d"}), end},
				[]obj{edge("e1", "start", "check", ""), edge("e2", "check", "wait", "true"), edge("e3", "wait", "end", ""), edge("e4", "check", "end", "false")}),
			want: validate.Problem{EdgeID: "e3", Path: "edges[2]", Message: "the edge from wait to check closes a loop"}},
		{name: "no cycles outside the reachable part",
			bad: document([]obj{start, end, delay(obj{"duration": "1d"}), node("w2", "delay", obj{"duration": "1d"})},
				[]obj{edge("e1", "start", "end", ""), edge("e2", "wait", "w2", ""), edge("e3", "w2", "wait", "")}),
			good: document([]obj{start, end, delay(obj{"duration": "1d"}), node("w2", "delay", obj{"duration": "1d"})},
				[]obj{edge("e1", "start", "wait", ""), edge("e2", "wait", "w2", ""), edge("e3", "w2", "end", "")}),
			want: validate.Problem{EdgeID: "e3", Path: "edges[2]", Message: "closes a loop"}},
		{name: "self loop",
			bad:  document([]obj{start, delay(obj{"duration": "1d"}), end}, []obj{edge("e1", "start", "wait", ""), edge("e2", "wait", "wait", ""), edge("e3", "wait", "end", "")}),
			good: chain(delay(obj{"duration": "1d"})),
			want: validate.Problem{EdgeID: "e2", Message: "the edge from wait to wait closes a loop"}},
		{name: "end has no outgoing edge",
			bad:  document([]obj{start, end, node("end2", "end", nil)}, []obj{edge("e1", "start", "end", ""), edge("e2", "end", "end2", "")}),
			good: document([]obj{start, end, node("end2", "end", nil)}, []obj{edge("e1", "start", "end", ""), edge("e2", "start", "end2", "")}),
			want: validate.Problem{EdgeID: "e2", Path: "edges[1]", Message: "node end (end) ends its branch and can have no outgoing edge"}},
		{name: "no edge into the trigger",
			bad:  document([]obj{start, delay(obj{"duration": "1d"}), end}, []obj{edge("e1", "start", "wait", ""), edge("e2", "wait", "start", ""), edge("e3", "wait", "end", "")}),
			good: chain(delay(obj{"duration": "1d"})),
			want: validate.Problem{EdgeID: "e2", Path: "edges[1].target", Message: "no edge may lead into the trigger"}},
		{name: "trigger exit connected",
			bad:  document([]obj{start}, nil),
			good: document([]obj{start, end}, []obj{edge("e1", "start", "end", "")}),
			want: validate.Problem{NodeID: "start", Path: "nodes[0]", Message: "the plain (no sourceHandle) exit is not connected"}},
		{name: "unknown node type",
			bad:  chain(node("x", "send_fax", obj{"label": "Fax"})),
			good: chain(node("x", "delay", obj{"label": "Wait", "duration": "1h"})),
			want: validate.Problem{NodeID: "x", Path: "nodes[1].type", Message: `unknown node type "send_fax" (one of ` + strings.Join(nodes.Builtin().Types(), ", ") + `)`}},
		{name: "data of the wrong JSON type",
			bad:  chain(task(obj{"title": 42})),
			good: chain(task(obj{"title": "42"})),
			want: validate.Problem{NodeID: "task", Path: "nodes[1].data.title", Message: "must be a string, got a JSON number"}},
		{name: "data not an object",
			bad:  chain(node("x", "delay", nil).with("data", "2d")),
			good: chain(node("x", "delay", obj{"duration": "2d"})),
			want: validate.Problem{NodeID: "x", Path: "nodes[1].data", Message: "the node's data must be an object, got a JSON string"}},
		{name: "label length",
			bad:  chain(task(obj{"label": strings.Repeat("x", 201)})),
			good: chain(task(obj{"label": strings.Repeat("x", 200)})),
			want: validate.Problem{NodeID: "task", Path: "nodes[1].data.label", Message: "the label is 201 characters long; the limit is 200"}},

		// Error handling of actions.
		{name: "onError value",
			bad:  chain(task(obj{"onError": "retry"})),
			good: chain(task(obj{"onError": "continue"})),
			want: validate.Problem{NodeID: "task", Path: "nodes[1].data.onError", Message: `unknown onError "retry" (fail, continue or error)`}},
		{name: "onError only on actions",
			bad:  chain(delay(obj{"duration": "1h", "onError": "continue"})),
			good: chain(delay(obj{"duration": "1h"})),
			want: validate.Problem{NodeID: "wait", Path: "nodes[1].data.onError", Message: "onError applies to action nodes only"}},
		{name: "onError error needs the error exit",
			bad:  chain(task(obj{"onError": "error"})),
			good: document([]obj{start, task(obj{"onError": "error"}), end, node("failed", "end", nil)}, []obj{edge("e1", "start", "task", ""), edge("e2", "task", "end", ""), edge("e3", "task", "failed", "error")}),
			want: validate.Problem{NodeID: "task", Path: "nodes[1].data.onError", Message: `onError is "error" but the error exit is not connected`}},
		{name: "error exit needs onError error",
			bad:  document([]obj{start, task(nil), end, node("failed", "end", nil)}, []obj{edge("e1", "start", "task", ""), edge("e2", "task", "end", ""), edge("e3", "task", "failed", "error")}),
			good: chain(task(nil)),
			want: validate.Problem{NodeID: "task", Path: "nodes[1].data.onError", Message: `the error exit is connected; set onError to "error" to use it`}},
		{name: "action timeout parses",
			bad:  chain(task(obj{"timeout": "soon"})),
			good: chain(task(obj{"timeout": "45s"})),
			want: validate.Problem{NodeID: "task", Path: "nodes[1].data.timeout", Message: `duration "soon"`}},
		{name: "action timeout at most a day",
			bad:  chain(task(obj{"timeout": "2d"})),
			good: chain(task(obj{"timeout": "1d"})),
			want: validate.Problem{NodeID: "task", Path: "nodes[1].data.timeout", Message: "an action's timeout is at most 24h"}},

		// create_task: the seed's TaskRequest.
		{name: "task type enumeration",
			bad:  chain(task(obj{"type": "FAX"})),
			good: chain(task(obj{"type": "FOLLOW_UP"})),
			want: validate.Problem{NodeID: "task", Path: "nodes[1].data.type", Message: `must be one of CALL, MEETING, OTHER, SMS, FOLLOW_UP, REMINDER, LINKEDIN_MESSAGE, DM, got "FAX"`}},
		{name: "task title required",
			bad:  chain(task(obj{"title": nil})),
			good: chain(task(obj{"title": "Call back"})),
			want: validate.Problem{NodeID: "task", Path: "nodes[1].data.title", Message: "is required"}},
		{name: "task assignee required",
			bad:  chain(task(obj{"assignee": nil})),
			good: chain(task(obj{"assignee": "{{ lead.owner.id }}"})),
			want: validate.Problem{NodeID: "task", Path: "nodes[1].data.assignee", Message: "is required"}},
		{name: "task assignee is a UUID",
			bad:  chain(task(obj{"assignee": "sam"})),
			good: chain(task(obj{"assignee": userSam})),
			want: validate.Problem{NodeID: "task", Path: "nodes[1].data.assignee", Message: `must be a UUID or a {{ }} expression, got "sam"`}},
		{name: "task contact is a UUID",
			bad:  chain(task(obj{"contact": "0192f0a0-0003"})),
			good: chain(task(obj{"contact": "0192f0a0-0003-7000-8000-000000000001"})),
			want: validate.Problem{NodeID: "task", Path: "nodes[1].data.contact", Message: "must be a UUID"}},
		{name: "task start is a timestamp",
			bad:  chain(task(obj{"start": "tomorrow 9am"})),
			good: chain(task(obj{"start": "2026-03-02T09:00:00-05:00"})),
			want: validate.Problem{NodeID: "task", Path: "nodes[1].data.start", Message: `must be a date and time such as`}},
		{name: "task ends after it starts",
			bad:  chain(task(obj{"start": "2026-03-02T10:00:00Z", "end": "2026-03-02T09:00:00Z"})),
			good: chain(task(obj{"start": "2026-03-02T09:00:00Z", "end": "2026-03-02T10:00:00Z"})),
			want: validate.Problem{NodeID: "task", Path: "nodes[1].data.end", Message: "the task ends"}},
		{name: "task dueIn is a positive duration",
			bad:  chain(task(obj{"dueIn": "-2h"})),
			good: chain(task(obj{"dueIn": "2h"})),
			want: validate.Problem{NodeID: "task", Path: "nodes[1].data.dueIn", Message: `duration "-2h"`}},
		{name: "task dueIn or start",
			bad:  chain(task(obj{"dueIn": "2h", "start": "2026-03-02T09:00:00Z"})),
			good: chain(task(obj{"start": "2026-03-02T09:00:00Z"})),
			want: validate.Problem{NodeID: "task", Path: "nodes[1].data.dueIn", Message: "cannot be set together with start"}},
		{name: "task title template compiles",
			bad:  chain(task(obj{"title": "Call {{ lead.contact.firstName + }}"})),
			good: chain(task(obj{"title": "Call {{ lead.contact.firstName }}"})),
			want: validate.Problem{NodeID: "task", Path: "nodes[1].data.title", Message: "{{ lead.contact.firstName + }} does not compile"}},
		{name: "task template is closed",
			bad:  chain(task(obj{"note": "Priority {{ lead.priority"})),
			good: chain(task(obj{"note": "Priority {{ lead.priority }}"})),
			want: validate.Problem{NodeID: "task", Path: "nodes[1].data.note", Message: `is never closed with "}}"`}},
		{name: "task template renders as text",
			bad:  chain(task(obj{"note": "{{ [1, 2] }}"})),
			good: chain(task(obj{"note": "{{ string(1) }}"})),
			want: validate.Problem{NodeID: "task", Path: "nodes[1].data.note", Message: "must give a value that can be shown as text"}},

		// copy_lead, move_stage, push_to_crm, webhook.
		{name: "copy_lead department is a UUID",
			bad:  chain(node("copy", "copy_lead", obj{"department": "re-engagement"})),
			good: chain(node("copy", "copy_lead", obj{"department": deptUsed})),
			want: validate.Problem{NodeID: "copy", Path: "nodes[1].data.department", Message: `must be a UUID or a {{ }} expression, got "re-engagement"`}},
		{name: "copy_lead franchise is a UUID",
			bad:  chain(node("copy", "copy_lead", obj{"franchise": "laval"})),
			good: chain(node("copy", "copy_lead", obj{"franchise": "{{ lead.franchise.id }}"})),
			want: validate.Problem{NodeID: "copy", Path: "nodes[1].data.franchise", Message: "must be a UUID"}},
		{name: "move_stage stageId required",
			bad:  chain(node("move", "move_stage", obj{})),
			good: chain(node("move", "move_stage", obj{"stageId": stageContacted})),
			want: validate.Problem{NodeID: "move", Path: "nodes[1].data.stageId", Message: "is required"}},
		{name: "move_stage stageId is a UUID",
			bad:  chain(node("move", "move_stage", obj{"stageId": "Contacted"})),
			good: chain(node("move", "move_stage", obj{"stageId": stageContacted})),
			want: validate.Problem{NodeID: "move", Path: "nodes[1].data.stageId", Message: "must be a UUID"}},
		{name: "push_to_crm integrationId required",
			bad:  chain(node("push", "push_to_crm", obj{"objects": []string{"account"}})),
			good: chain(node("push", "push_to_crm", obj{"integrationId": "demo-salesforce", "objects": []string{"account"}})),
			want: validate.Problem{NodeID: "push", Path: "nodes[1].data.integrationId", Message: "is required"}},
		{name: "webhook url absolute",
			bad:  chain(node("hook", "webhook", obj{"url": "/leads"})),
			good: chain(node("hook", "webhook", obj{"url": "https://hooks.example.com/leads"})),
			want: validate.Problem{NodeID: "hook", Path: "nodes[1].data.url", Message: "must be an absolute http(s) URL"}},
		{name: "webhook method",
			bad:  chain(node("hook", "webhook", obj{"url": "https://hooks.example.com/leads", "method": "FETCH"})),
			good: chain(node("hook", "webhook", obj{"url": "https://hooks.example.com/leads", "method": "PUT"})),
			want: validate.Problem{NodeID: "hook", Path: "nodes[1].data.method", Message: "must be one of POST, PUT"}},
		{name: "webhook header names",
			bad:  chain(node("hook", "webhook", obj{"url": "https://hooks.example.com/leads", "headers": obj{"X Token": "secret:DMS"}})),
			good: chain(node("hook", "webhook", obj{"url": "https://hooks.example.com/leads", "headers": obj{"X-Token": "secret:DMS"}})),
			want: validate.Problem{NodeID: "hook", Path: "nodes[1].data.headers", Message: `"X Token" is not a valid HTTP header name`}},
		{name: "webhook secret reference names a secret",
			bad:  chain(node("hook", "webhook", obj{"url": "https://hooks.example.com/leads", "headers": obj{"X-Token": "secret:"}})),
			good: chain(node("hook", "webhook", obj{"url": "https://hooks.example.com/leads", "headers": obj{"X-Token": "secret:DMS"}})),
			want: validate.Problem{NodeID: "hook", Path: "nodes[1].data.headers.X-Token", Message: "secret reference needs a name"}},

		// Delays and waits.
		{name: "delay needs something to wait for",
			bad:  chain(delay(obj{})),
			good: chain(delay(obj{"businessHours": obj{"days": []string{"MON", "TUE"}, "open": "09:00", "close": "17:00"}})),
			want: validate.Problem{NodeID: "wait", Path: "nodes[1].data", Message: "a delay needs duration, until, at or businessHours"}},
		{name: "delay duration parses",
			bad:  chain(delay(obj{"duration": "two days"})),
			good: chain(delay(obj{"duration": "2d"})),
			want: validate.Problem{NodeID: "wait", Path: "nodes[1].data.duration", Message: `duration "two days"`}},
		{name: "delay duration positive",
			bad:  chain(delay(obj{"duration": "0m"})),
			good: chain(delay(obj{"duration": "90m"})),
			want: validate.Problem{NodeID: "wait", Path: "nodes[1].data.duration", Message: "must be positive"}},
		{name: "delay duration or until",
			bad:  chain(delay(obj{"duration": "1d", "until": "now + duration('1h')"})),
			good: chain(delay(obj{"until": "now + duration('1h')"})),
			want: validate.Problem{NodeID: "wait", Path: "nodes[1].data.duration", Message: "cannot be set together with until"}},
		{name: "delay until is a timestamp",
			bad:  chain(delay(obj{"until": "duration('24h')"})),
			good: chain(delay(obj{"until": "timestamp(lead.dueDate) - duration('24h')"})),
			want: validate.Problem{NodeID: "wait", Path: "nodes[1].data.until", Message: "must be a timestamp, but its type is google.protobuf.Duration"}},
		{name: "delay until compiles",
			bad:  chain(delay(obj{"until": "now +"})),
			good: chain(delay(obj{"until": "now + duration('1h')"})),
			want: validate.Problem{NodeID: "wait", Path: "nodes[1].data.until", Message: "expression does not compile"}},
		{name: "delay time zone exists",
			bad:  chain(delay(obj{"at": "09:00", "timezone": "America/Montreal_North"})),
			good: chain(delay(obj{"at": "09:00", "timezone": "America/Montreal"})),
			want: validate.Problem{NodeID: "wait", Path: "nodes[1].data.timezone", Message: `unknown time zone "America/Montreal_North"`}},
		{name: "delay at is a time of day",
			bad:  chain(delay(obj{"at": "9am"})),
			good: chain(delay(obj{"at": "09:00"})),
			want: validate.Problem{NodeID: "wait", Path: "nodes[1].data.at", Message: `time of day "9am" must be HH:MM`}},
		{name: "delay days need at",
			bad:  chain(delay(obj{"duration": "1d", "days": []string{"MON"}})),
			good: chain(delay(obj{"duration": "1d", "at": "09:00", "days": []string{"MON"}})),
			want: validate.Problem{NodeID: "wait", Path: "nodes[1].data.days", Message: "days needs at"}},
		{name: "delay day names",
			bad:  chain(delay(obj{"at": "09:00", "days": []string{"Monday"}})),
			good: chain(delay(obj{"at": "09:00", "days": []string{"MON"}})),
			want: validate.Problem{NodeID: "wait", Path: "nodes[1].data.days[0]", Message: "must be one of MON, TUE"}},
		{name: "business hours close after open",
			bad:  chain(delay(obj{"businessHours": obj{"days": []string{"MON"}, "open": "17:00", "close": "09:00"}})),
			good: chain(delay(obj{"businessHours": obj{"days": []string{"MON"}, "open": "09:00", "close": "17:00"}})),
			want: validate.Problem{NodeID: "wait", Path: "nodes[1].data.businessHours.close", Message: "must be after open"}},
		{name: "wait_for_event event type",
			bad:  branch(node("w", "wait_for_event", obj{"event": "LEAD_DELETED", "timeout": "2d"}), "event", "timeout"),
			good: branch(node("w", "wait_for_event", wait), "event", "timeout"),
			want: validate.Problem{NodeID: "w", Path: "nodes[1].data.event", Message: `unknown event type "LEAD_DELETED"`}},
		{name: "wait_for_event timeout required",
			bad:  branch(node("w", "wait_for_event", obj{"event": "LEAD_STAGE_CHANGED"}), "event", "timeout"),
			good: branch(node("w", "wait_for_event", wait), "event", "timeout"),
			want: validate.Problem{NodeID: "w", Path: "nodes[1].data.timeout", Message: "is required"}},
		{name: "wait_for_event timeout positive",
			bad:  branch(node("w", "wait_for_event", obj{"event": "LEAD_STAGE_CHANGED", "timeout": "-1d"}), "event", "timeout"),
			good: branch(node("w", "wait_for_event", wait), "event", "timeout"),
			want: validate.Problem{NodeID: "w", Path: "nodes[1].data.timeout", Message: `duration "-1d"`}},
		{name: "wait_for_event condition is bool",
			bad:  branch(node("w", "wait_for_event", obj{"event": "LEAD_STAGE_CHANGED", "timeout": "2d", "condition": "'contacted'"}), "event", "timeout"),
			good: branch(node("w", "wait_for_event", obj{"event": "LEAD_STAGE_CHANGED", "timeout": "2d", "condition": "lead.stage.id != previous.stage.id"}), "event", "timeout"),
			want: validate.Problem{NodeID: "w", Path: "nodes[1].data.condition", Message: "must be a bool condition, but its type is string"}},

		// Conditions.
		{name: "condition is bool",
			bad:  branch(cond("lead.priority + 1"), "true", "false"),
			good: branch(cond("lead.priority + 1 > 2"), "true", "false"),
			want: validate.Problem{NodeID: "check", Path: "nodes[1].data.expression", Message: "must be a bool condition"}},
		{name: "condition compiles",
			bad:  branch(cond("lead.priority >"), "true", "false"),
			good: branch(cond("lead.priority > 1"), "true", "false"),
			want: validate.Problem{NodeID: "check", Path: "nodes[1].data.expression", Message: "expression does not compile"}},
		{name: "comprehension ranges over a list or a map",
			bad:  branch(cond("string(lead.priority).exists(c, c == '1')"), "true", "false"),
			good: branch(cond("lead.tags.exists(c, c == '1')"), "true", "false"),
			want: validate.Problem{NodeID: "check", Path: "nodes[1].data.expression", Message: "expression of type 'string' cannot be the range of a comprehension (it must be a list or a map)"}},
		{name: "condition has an expression or a query, not both",
			bad:  branch(node("check", "condition", obj{"expression": "true", "query": obj{"combinator": "and", "rules": []obj{}}}), "true", "false"),
			good: branch(node("check", "condition", obj{"expression": "true", "query": nil}).with("data", obj{"expression": "true", "query": json.RawMessage("null")}), "true", "false"),
			want: validate.Problem{NodeID: "check", Path: "nodes[1].data", Message: "set either expression or query, not both"}},
		{name: "condition needs an expression",
			bad:  branch(node("check", "condition", obj{"label": "Check"}), "true", "false"),
			good: branch(cond("true"), "true", "false"),
			want: validate.Problem{NodeID: "check", Path: "nodes[1].data", Message: "a condition needs an expression or a query"}},
		{name: "trigger filter is bool",
			bad:  document([]obj{node("start", "trigger", obj{"filter": obj{"expression": "size(lead.subject)"}}), end}, []obj{edge("e1", "start", "end", "")}),
			good: document([]obj{node("start", "trigger", obj{"filter": obj{"expression": "lead.subject != ''"}}), end}, []obj{edge("e1", "start", "end", "")}),
			want: validate.Problem{NodeID: "start", Path: "nodes[0].data.filter.expression", Message: "must be a bool condition"}},

		// Size limits.
		{name: "expression length",
			bad:  branch(cond(long+strings.Repeat(" ", 4096)), "true", "false"),
			good: branch(cond(long), "true", "false"),
			want: validate.Problem{NodeID: "check", Path: "nodes[1].data.expression", Message: "characters long; the limit is 4096"}},
		{name: "node count",
			bad:  manyNodes(automation.MaxNodes + 1),
			good: manyNodes(automation.MaxNodes),
			want: validate.Problem{Path: "nodes", Message: "the automation has 501 nodes; the limit is 500"}},

		{name: "edge count",
			bad:  manyEdges(automation.MaxEdges + 1),
			good: manyEdges(automation.MaxEdges),
			want: validate.Problem{Path: "edges", Message: "the automation has 2001 edges; the limit is 2000"}},

		// Automation-level settings.
		{name: "trigger type",
			bad:  chain(delay(obj{"duration": "1h"})).with("automationTrigger", "LEAD_DELETED"),
			good: chain(delay(obj{"duration": "1h"})).with("automationTrigger", "LEAD_STAGE_CHANGED"),
			want: validate.Problem{Path: "automationTrigger", Message: `unknown trigger "LEAD_DELETED" (one of LEAD_CREATED, LEAD_UPDATED, LEAD_STAGE_CHANGED, LEAD_ASSIGNED, LEAD_CLOSED)`}},
		{name: "trigger type required",
			bad:  chain(delay(obj{"duration": "1h"})).with("automationTrigger", nil),
			good: chain(delay(obj{"duration": "1h"})),
			want: validate.Problem{Path: "automationTrigger", Message: "choose the event that starts the automation"}},
		{name: "reenrollment",
			bad:  chain(delay(obj{"duration": "1h"})).with("reenrollment", "sometimes"),
			good: chain(delay(obj{"duration": "1h"})).with("reenrollment", "after_finished"),
			want: validate.Problem{Path: "reenrollment", Message: `unknown re-enrolment mode "sometimes"`}},
		{name: "automation time zone",
			bad:  chain(delay(obj{"duration": "1h"})).with("timezone", "EST5EDT4"),
			good: chain(delay(obj{"duration": "1h"})).with("timezone", "America/Vancouver"),
			want: validate.Problem{Path: "timezone", Message: `unknown time zone "EST5EDT4"`}},
		{name: "automation time zone is not Local",
			bad:  chain(delay(obj{"duration": "1h"})).with("timezone", "Local"),
			good: chain(delay(obj{"duration": "1h"})).with("timezone", "UTC"),
			want: validate.Problem{Path: "timezone", Message: `unknown time zone "Local"`}},
		{name: "goal is bool",
			bad:  chain(delay(obj{"duration": "1h"})).with("goal", obj{"expression": "string(lead.stage.id)"}),
			good: chain(delay(obj{"duration": "1h"})).with("goal", obj{"expression": "lead.stage.id == '" + stageContacted + "'"}),
			want: validate.Problem{Path: "goal.expression", Message: "must be a bool condition"}},
		{name: "goal needs an expression",
			bad:  chain(delay(obj{"duration": "1h"})).with("goal", obj{}),
			good: chain(delay(obj{"duration": "1h"})).with("goal", nil),
			want: validate.Problem{Path: "goal", Message: "a condition needs an expression or a query"}},
		{name: "name required",
			bad:  chain(delay(obj{"duration": "1h"})).with("name", " "),
			good: chain(delay(obj{"duration": "1h"})).with("name", "Stale lead"),
			want: validate.Problem{Path: "name", Message: "the automation needs a name"}},
		{name: "id required",
			bad:  chain(delay(obj{"duration": "1h"})).with("id", nil),
			good: chain(delay(obj{"duration": "1h"})),
			want: validate.Problem{Path: "id", Message: "the automation needs an id"}},
		{name: "franchise id is a UUID",
			bad:  chain(delay(obj{"duration": "1h"})).with("franchise", obj{"id": "montreal"}),
			good: chain(delay(obj{"duration": "1h"})).with("franchise", obj{"id": franchiseMTL, "name": "Montréal"}),
			want: validate.Problem{Path: "franchise.id", Message: `the franchise id must be a UUID, got "montreal"`}},
	}
}

// manyNodes is a chain of n nodes: a trigger, delays and an end.
func manyNodes(n int) obj {
	ns := []obj{node("n0", "trigger", nil)}
	var es []obj
	for i := 1; i < n; i++ {
		typ, data := "delay", obj{"duration": "1m"}
		if i == n-1 {
			typ, data = "end", nil
		}
		ns = append(ns, node(idf("n", i), typ, data))
		es = append(es, edge(idf("e", i), idf("n", i-1), idf("n", i), ""))
	}
	return document(ns, es)
}

func TestValidationRules(t *testing.T) {
	for _, r := range validationRules() {
		t.Run(r.name, func(t *testing.T) {
			if _, problems := compileJSON(t, r.good); len(problems) > 0 {
				t.Errorf("the passing document has problems:\n%v", problems)
			}
			p, problems := compileJSON(t, r.bad)
			if p != nil {
				t.Fatalf("the failing document compiled")
			}
			for _, got := range problems {
				if got.NodeID == r.want.NodeID && got.EdgeID == r.want.EdgeID && (r.want.Path == "" || got.Path == r.want.Path) && strings.Contains(got.Message, r.want.Message) {
					return
				}
			}
			t.Errorf("no problem like %+v among:\n%s", r.want, dump(problems))
		})
	}
}

func dump(ps validate.Problems) string {
	var b strings.Builder
	for _, p := range ps {
		b.WriteString(fmt.Sprintf("  %+v\n", p))
	}
	return b.String()
}

// manyEdges is a trigger with n parallel branches to one end node.
func manyEdges(n int) obj {
	es := make([]obj, n)
	for i := range es {
		es[i] = edge(idf("e", i), "start", "end", "")
	}
	return document([]obj{node("start", "trigger", nil), node("end", "end", nil)}, es)
}
