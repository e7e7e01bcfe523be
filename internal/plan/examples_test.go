package plan

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/conecrm/automation-runtime/internal/automation"
	"github.com/conecrm/automation-runtime/internal/expr"
	"github.com/conecrm/automation-runtime/internal/nodes"
)

func exampleFiles(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob("../../automations/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples in automations/: %v", err)
	}
	return files
}

// TestExamples compiles every example and checks that together they use
// every node type, and that every node carries a label for the Web UI.
func TestExamples(t *testing.T) {
	used := map[string]bool{}
	for _, f := range exampleFiles(t) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := automation.Parse(data)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if _, problems := Compile(doc, nodes.Builtin()); len(problems) > 0 {
			t.Errorf("%s:\n%v", f, problems)
		}
		for _, n := range doc.Nodes {
			used[n.Type] = true
			if !strings.Contains(string(n.Data), `"label"`) {
				t.Errorf("%s: node %s has no label", f, n.ID)
			}
		}
	}
	for _, typ := range nodes.Builtin().Types() {
		if !used[typ] {
			t.Errorf("no example uses the %s node type", typ)
		}
	}
	if n := len(exampleFiles(t)); n < 7 {
		t.Errorf("%d examples, want the original and at least six more", n)
	}
}

func loadExample(t testing.TB, name string) *Plan {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("../../automations", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := automation.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	p, problems := Compile(doc, nodes.Builtin())
	if len(problems) > 0 {
		t.Fatalf("%s:\n%v", name, problems)
	}
	return p
}

// TestExampleFilters checks each example's enrolment filter on a lead it
// is meant for and on the demo lead, which only new-lead-call-task takes
// (the end-to-end test expects exactly one task for it).
func TestExampleFilters(t *testing.T) {
	var demo struct {
		Lead map[string]any `json:"lead"`
	}
	data, err := os.ReadFile("../../automations/events/demo-lead-created.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &demo); err != nil {
		t.Fatal(err)
	}
	stage := func(id string) map[string]any { return map[string]any{"id": id} }
	for _, tc := range []struct {
		name           string
		lead, previous map[string]any
		demo           bool
	}{
		{name: "new-lead-call-task", lead: demo.Lead, demo: true},
		{name: "web-lead-call-escalate", lead: map[string]any{"subject": "RAV4", "source": map[string]any{"name": "Website"}}},
		{name: "stale-lead-follow-up", lead: map[string]any{"stage": stage(stageContacted)}},
		{name: "test-drive-to-salesforce", lead: map[string]any{"stage": stage("0192f0a0-0002-7000-8000-000000000003")}},
		{name: "lost-lead-reengagement", lead: map[string]any{"stage": stage("0192f0a0-0002-7000-8000-000000000006")}},
		{name: "qualified-lead-hubspot", lead: map[string]any{"priority": 3.0}, previous: map[string]any{"priority": 1.0}},
		{name: "brand-specialist-routing", lead: map[string]any{"makeStr": "Toyota"}},
		{name: "test-drive-rebooked", lead: map[string]any{"stage": stage("0192f0a0-0002-7000-8000-000000000003")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			trig := loadExample(t, tc.name).Trigger()
			ok, err := trig.Accepts(expr.Vars{Lead: tc.lead, Previous: tc.previous})
			if err != nil || !ok {
				t.Errorf("intended lead: accepted %v, error %v", ok, err)
			}
			ok, err = trig.Accepts(expr.Vars{Lead: demo.Lead})
			if err != nil || ok != tc.demo {
				t.Errorf("demo lead: accepted %v, want %v (error %v)", ok, tc.demo, err)
			}
		})
	}
}

// TestExampleTasksRender renders every create_task of the examples for a
// lead each automation is meant for, so that no template fails at run time.
func TestExampleTasksRender(t *testing.T) {
	lead := map[string]any{
		"id": "0192f0a0-0005-7000-8000-000000000001", "subject": "2025 RAV4 Hybrid XLE — online inquiry", "category": "CAR",
		"makeStr": "Toyota", "modelStr": "RAV4 Hybrid", "priority": 3.0, "source": map[string]any{"name": "Website"},
		"contact":   map[string]any{"id": "0192f0a0-0003-7000-8000-000000000001"},
		"account":   map[string]any{"id": "0192f0a0-0004-7000-8000-000000000001"},
		"franchise": map[string]any{"id": franchiseMTL},
		"stage":     map[string]any{"id": stageContacted},
	}
	now := time.Date(2026, 3, 3, 15, 0, 0, 0, time.UTC)
	rendered := 0
	for _, f := range exampleFiles(t) {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		p := loadExample(t, name)
		for _, id := range p.NodeIDs() {
			task, ok := p.Node(id).Impl.(*nodes.CreateTask)
			if !ok {
				continue
			}
			req, err := task.Render(expr.Vars{Lead: lead, Now: now})
			if err != nil {
				t.Errorf("%s: node %s: %v", name, id, err)
				continue
			}
			if req.Title == "" || strings.Contains(req.Title, "{{") || req.Assignee == "" {
				t.Errorf("%s: node %s rendered %+v", name, id, req)
			}
			rendered++
		}
	}
	if rendered < 8 {
		t.Errorf("%d tasks rendered", rendered)
	}
}
