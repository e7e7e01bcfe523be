package plan

import (
	"fmt"
	"testing"

	"github.com/conecrm/automation-runtime/internal/automation"
	"github.com/conecrm/automation-runtime/internal/nodes"
)

// bigDocument is a realistic 200-node automation: a trigger and a chain of
// condition → task → delay segments, each condition's false exit ending.
func bigDocument(b testing.TB) *automation.Document {
	ns := []obj{node("start", "trigger", obj{"label": "Lead created", "filter": obj{"expression": "has(lead.category) && lead.category == 'CAR'"}})}
	var es []obj
	prev := "start"
	for i := 0; len(ns)+4 <= 198; i++ {
		c, tk, d, stop := idf("check", i), idf("task", i), idf("wait", i), idf("stop", i)
		ns = append(ns,
			node(c, "condition", obj{"label": "Still open?", "expression": fmt.Sprintf("lead.priority >= %d && !has(lead.closedDate)", i%5)}),
			node(tk, "create_task", obj{"label": "Follow up", "type": "FOLLOW_UP", "assignee": userSam, "title": fmt.Sprintf("Follow-up %d: {{ lead.subject }}", i), "dueIn": "1d"}),
			node(d, "delay", obj{"label": "Wait", "duration": "2d", "at": "09:00", "days": []string{"MON", "TUE", "WED", "THU", "FRI"}}),
			node(stop, "end", obj{"label": "Closed"}),
		)
		es = append(es, edge("e-"+c, prev, c, ""), edge("e-"+tk, c, tk, "true"), edge("e-"+stop, c, stop, "false"), edge("e-"+d, tk, d, ""))
		prev = d
	}
	ns = append(ns,
		node("final", "create_task", obj{"label": "Last call", "type": "CALL", "assignee": userSam, "title": "Last call: {{ lead.subject }}"}),
		node("final-wait", "delay", obj{"label": "Wait", "until": "now + duration('1h')"}),
		node("done", "end", obj{"label": "Done"}))
	es = append(es, edge("e-final", prev, "final", ""), edge("e-final-wait", "final", "final-wait", ""), edge("e-done", "final-wait", "done", ""))
	doc, err := automation.Parse(mustJSON(b, document(ns, es)))
	if err != nil {
		b.Fatal(err)
	}
	if len(doc.Nodes) != 200 {
		b.Fatalf("%d nodes", len(doc.Nodes))
	}
	return doc
}

func BenchmarkCompile200Nodes(b *testing.B) {
	doc := bigDocument(b)
	if _, problems := Compile(doc, nodes.Builtin()); len(problems) > 0 {
		b.Fatal(problems)
	}
	b.ReportAllocs()
	for b.Loop() {
		Compile(doc, nodes.Builtin())
	}
}
