package plan

import (
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/conecrm/automation-runtime/internal/automation"
	"github.com/conecrm/automation-runtime/internal/expr"
	"github.com/conecrm/automation-runtime/internal/nodes"
)

func readExample(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile("../../automations/" + name + ".json")
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// edit decodes JSON, lets f change it and encodes it again.
func edit(t testing.TB, data []byte, f func(d map[string]any)) []byte {
	t.Helper()
	var d map[string]any
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatal(err)
	}
	f(d)
	return mustJSON(t, d)
}

func nodeData(d map[string]any, id string) map[string]any {
	for _, n := range d["nodes"].([]any) {
		n := n.(map[string]any)
		if n["id"] == id {
			return n["data"].(map[string]any)
		}
	}
	panic("no node " + id)
}

func version(t testing.TB, data []byte) string {
	t.Helper()
	p, problems := compileJSON(t, data)
	if len(problems) > 0 {
		t.Fatalf("problems:\n%v", problems)
	}
	return p.Version
}

func TestVersionIgnoresUIOnlyChanges(t *testing.T) {
	orig := readExample(t, "web-lead-call-escalate")
	want := version(t, orig)
	for name, f := range map[string]func(d map[string]any){
		"positions moved": func(d map[string]any) {
			for i, n := range d["nodes"].([]any) {
				n.(map[string]any)["position"] = map[string]any{"x": 17 * i, "y": -3.5}
			}
		},
		"React Flow state": func(d map[string]any) {
			n := d["nodes"].([]any)[1].(map[string]any)
			n["measured"] = map[string]any{"width": 240, "height": 88}
			n["selected"], n["dragging"], n["width"] = true, false, 240
			d["edges"].([]any)[0].(map[string]any)["animated"] = true
			d["edges"].([]any)[0].(map[string]any)["targetHandle"] = "in"
		},
		"viewport":          func(d map[string]any) { d["viewport"] = map[string]any{"x": 120, "y": -40, "zoom": 1.4} },
		"viewport removed":  func(d map[string]any) { delete(d, "viewport") },
		"record metadata":   func(d map[string]any) { d["dateModified"], d["delayedAutomationsCount"] = "2026-11-24T10:00:00Z", 3 },
		"franchise details": func(d map[string]any) { d["franchise"].(map[string]any)["name"] = "Montréal" },
		"unknown data fields": func(d map[string]any) {
			nodeData(d, "call")["color"] = "#ff0000"
			nodeData(d, "call")["collapsed"] = true
		},
		"nested unknown fields": func(d map[string]any) {
			nodeData(d, "business-hours")["businessHours"].(map[string]any)["note"] = "summer"
		},
		"activation": func(d map[string]any) { d["isActive"] = false },
		"failure webhook": func(d map[string]any) {
			d["notifications"] = map[string]any{"webhook": "https://alerts.example/automation-failures"}
		},
	} {
		t.Run(name, func(t *testing.T) {
			if got := version(t, edit(t, orig, f)); got != want {
				t.Errorf("version %s, want %s", got, want)
			}
		})
	}
	t.Run("key order and whitespace", func(t *testing.T) {
		var d any
		_ = json.Unmarshal(orig, &d)
		compact, _ := json.Marshal(d) // sorted keys, no indentation
		if got := version(t, compact); got != want {
			t.Errorf("version %s, want %s", got, want)
		}
	})
}

func TestVersionChangesWithSemantics(t *testing.T) {
	orig := readExample(t, "web-lead-call-escalate")
	base := version(t, orig)
	seen := map[string]string{base: "original"}
	for name, f := range map[string]func(d map[string]any){
		"name":         func(d map[string]any) { d["name"] = "Web lead v2" },
		"id":           func(d map[string]any) { d["id"] = "0193a4c2-7a10-7c5e-9d1a-2f6b8c1e0aff" },
		"trigger":      func(d map[string]any) { d["automationTrigger"] = "LEAD_ASSIGNED" },
		"reenrollment": func(d map[string]any) { d["reenrollment"] = "always" },
		"timezone":     func(d map[string]any) { d["timezone"] = "America/Vancouver" },
		"goal":         func(d map[string]any) { d["goal"] = map[string]any{"expression": "lead.priority > 4"} },
		"franchise":    func(d map[string]any) { d["franchise"] = map[string]any{"id": "0192f0a0-0007-7000-8000-000000000002"} },
		"label":        func(d map[string]any) { nodeData(d, "call")["label"] = "Call now" },
		"task title":   func(d map[string]any) { nodeData(d, "call")["title"] = "Call back {{ lead.subject }}" },
		"nested field": func(d map[string]any) {
			nodeData(d, "business-hours")["businessHours"].(map[string]any)["open"] = "08:30"
		},
		"timeout": func(d map[string]any) { nodeData(d, "wait-contacted")["timeout"] = "3d" },
		"filter":  func(d map[string]any) { nodeData(d, "start")["filter"] = map[string]any{"expression": "true"} },
		"edge target": func(d map[string]any) {
			d["edges"].([]any)[5].(map[string]any)["target"] = "contacted"
			d["nodes"] = d["nodes"].([]any)[:6]
		},
		"edge handle": func(d map[string]any) {
			e := d["edges"].([]any)
			e[3].(map[string]any)["sourceHandle"], e[4].(map[string]any)["sourceHandle"] = "timeout", "event"
		},
		"edge order":     func(d map[string]any) { e := d["edges"].([]any); e[3], e[4] = e[4], e[3] },
		"node type data": func(d map[string]any) { nodeData(d, "escalate")["type"] = "CALL" },
		"added onError":  func(d map[string]any) { nodeData(d, "escalate")["onError"] = "continue" },
	} {
		t.Run(name, func(t *testing.T) {
			got := version(t, edit(t, orig, f))
			if prev, dup := seen[got]; dup {
				t.Errorf("version %s is the same as for %s", got, prev)
			}
			seen[got] = name
		})
	}
}

// TestCanonicalRoundTrip: the workflow compiles the plan's canonical form;
// it must compile to the same version and graph.
func TestCanonicalRoundTrip(t *testing.T) {
	for _, f := range exampleFiles(t) {
		data, _ := os.ReadFile(f)
		data = edit(t, data, func(d map[string]any) {
			for _, n := range d["nodes"].([]any) {
				n.(map[string]any)["data"].(map[string]any)["uiColor"] = "blue"
			}
		})
		p, problems := compileJSON(t, data)
		if len(problems) > 0 {
			t.Fatalf("%s: %v", f, problems)
		}
		if strings.Contains(string(p.Canonical), "uiColor") || strings.Contains(string(p.Canonical), "position") {
			t.Errorf("%s: canonical form keeps UI fields: %s", f, p.Canonical)
		}
		q, err := Load(p.Canonical, 0)
		if err != nil {
			t.Fatalf("%s: Load: %v", f, err)
		}
		if q.Version != p.Version || string(q.Canonical) != string(p.Canonical) {
			t.Errorf("%s: reloaded version %s, want %s", f, q.Version, p.Version)
		}
		if !reflect.DeepEqual(q.NodeIDs(), p.NodeIDs()) || !reflect.DeepEqual(walk(q), walk(p)) {
			t.Errorf("%s: reloaded graph differs", f)
		}
	}
}

// walk lists every node's exits in a deterministic order.
func walk(p *Plan) []string {
	var out []string
	for _, id := range p.NodeIDs() {
		n := p.Node(id)
		for _, h := range []string{nodes.Plain, "true", "false", "event", "timeout", "error", "default", "toyota", "honda"} {
			for _, t := range n.Next(h) {
				out = append(out, fmt.Sprintf("%s -%s-> %s", id, h, t))
			}
		}
	}
	return out
}

func TestPlanIsImmutable(t *testing.T) {
	data := readExample(t, "brand-specialist-routing")
	doc, err := automation.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	p, problems := Compile(doc, nodes.Builtin())
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	version, canonical, ids, graph := p.Version, string(p.Canonical), p.NodeIDs(), walk(p)

	// Changing the document it was compiled from changes nothing.
	doc.Name = "changed"
	doc.Nodes[0].Data = json.RawMessage(`{"label":"changed"}`)
	doc.Edges[1].Target = "routed"
	doc.Nodes = append(doc.Nodes[:1], doc.Nodes[2:]...)
	// Neither does changing what the plan hands out.
	ids[0] = "changed"
	next := p.Node("route-make").Next("toyota")
	next[0] = "changed"
	_ = append(p.Node("start").Next(nodes.Plain)[:0], "changed")

	if p.Version != version || string(p.Canonical) != canonical || !reflect.DeepEqual(walk(p), graph) ||
		p.NodeIDs()[0] != "start" || p.Doc.Name == "changed" || len(p.Doc.Nodes) != 6 {
		t.Errorf("the plan changed: version %s, ids %v, graph %v", p.Version, p.NodeIDs(), walk(p))
	}
	if got := automation.VersionOf(p.Canonical); got != p.Version {
		t.Errorf("Version %s is not the hash of Canonical (%s)", p.Version, got)
	}
}

func TestWalkOrderIsDeterministic(t *testing.T) {
	data := readExample(t, "brand-specialist-routing")
	p, _ := compileJSON(t, data)
	want := walk(p)
	if got := p.Node("route-make").Next("toyota"); !reflect.DeepEqual(got, []string{"toyota-specialist"}) {
		t.Errorf("Next(toyota) = %v", got)
	}
	if got := p.NodeIDs(); got[0] != "start" || got[len(got)-1] != "routed" {
		t.Errorf("NodeIDs not in document order: %v", got)
	}
	for i := 0; i < 50; i++ {
		q, _ := compileJSON(t, data)
		if got := walk(q); !reflect.DeepEqual(got, want) || q.Version != p.Version {
			t.Fatalf("compilation %d walks %v, want %v", i, got, want)
		}
	}
	// Branches leaving by the same handle keep the document's edge order.
	d := document([]obj{node("start", "trigger", nil), node("b", "end", nil), node("a", "end", nil), node("c", "end", nil)},
		[]obj{edge("e1", "start", "b", ""), edge("e2", "start", "a", ""), edge("e3", "start", "c", "")})
	q, problems := compileJSON(t, d)
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	if got := q.Node("start").Next(nodes.Plain); !reflect.DeepEqual(got, []string{"b", "a", "c"}) {
		t.Errorf("parallel branches %v, want document order b, a, c", got)
	}
}

// TestEveryProblemAtOnce: one document breaking many rules gets all of them.
func TestEveryProblemAtOnce(t *testing.T) {
	d := document([]obj{
		node("start", "trigger", nil),
		task(obj{"type": "FAX", "assignee": "sam", "title": nil}),
		node("check", "condition", obj{"expression": "lead.priority +"}),
		node("orphan", "end", nil),
		node("wait", "delay", obj{"duration": "-1h"}),
	}, []obj{
		edge("e1", "start", "task", ""), edge("e2", "task", "check", ""), edge("e3", "check", "wait", "true"),
		edge("e4", "wait", "nowhere", ""),
	}).with("timezone", "Mars/Olympus").with("reenrollment", "twice").with("notifications", obj{"webhook": "ftp://alerts.example"})
	_, problems := compileJSON(t, d)
	want := []string{
		"timezone: unknown time zone",
		"notifications.webhook: the failure webhook must be an absolute http or https URL",
		"reenrollment: unknown re-enrolment mode",
		"node task: nodes[1].data.type: must be one of",
		"node task: nodes[1].data.title: is required",
		"node task: nodes[1].data.assignee: must be a UUID",
		"node check: nodes[2].data.expression: expression does not compile",
		"node wait: nodes[4].data.duration: duration \"-1h\"",
		"edge e4: edges[3].target: target node \"nowhere\" does not exist",
		"node check: nodes[2]: the \"false\" exit is not connected",
		"node wait: nodes[4]: the plain (no sourceHandle) exit is not connected",
		"node orphan: nodes[3]: the node cannot be reached from the trigger",
	}
	got := problems.Error()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("missing %q in:\n%s", w, got)
		}
	}
	if len(problems) != len(want) {
		t.Errorf("%d problems, want %d:\n%s", len(problems), len(want), got)
	}
}

// TestBrokenNodeDoesNotHideTheGraph: a node whose data does not decode is
// reported once; edges to it exist and nodes after it stay reachable.
func TestBrokenNodeDoesNotHideTheGraph(t *testing.T) {
	d := document([]obj{node("start", "trigger", nil), task(obj{"title": 5}), node("end", "end", nil)},
		[]obj{edge("e1", "start", "task", ""), edge("e2", "task", "end", "")})
	_, problems := compileJSON(t, d)
	if len(problems) != 1 || problems[0].Path != "nodes[1].data.title" {
		t.Errorf("want exactly the title problem, got:\n%s", dump(problems))
	}
}

func TestTriggerFilterEvaluates(t *testing.T) {
	p := loadExample(t, "qualified-lead-hubspot")
	for _, tc := range []struct {
		lead, prev map[string]any
		want       bool
	}{
		{map[string]any{"priority": 3.0}, map[string]any{"priority": 2.0}, true},
		{map[string]any{"priority": 3.0}, nil, true},
		{map[string]any{"priority": 4.0}, map[string]any{"priority": 3.0}, false},
		{map[string]any{"priority": 1.0}, nil, false},
		{map[string]any{}, nil, false},
	} {
		got, err := p.Trigger().Accepts(expr.Vars{Lead: tc.lead, Previous: tc.prev})
		if err != nil || got != tc.want {
			t.Errorf("lead %v previous %v: %v, %v; want %v", tc.lead, tc.prev, got, err, tc.want)
		}
	}
}
