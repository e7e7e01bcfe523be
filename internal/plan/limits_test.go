package plan

import (
	"strings"
	"testing"

	"github.com/conecrm/automation-runtime/internal/automation"
	"github.com/conecrm/automation-runtime/internal/expr"
	"github.com/conecrm/automation-runtime/internal/nodes"
)

// TestAdmissionLimitsAreNotCheckedOnLoad: each document breaks one
// admission limit, so validation (Compile) rejects it, but a run's own
// compilation (Load) accepts it: a run in flight never fails because a
// limit was tightened after it started.
func TestAdmissionLimitsAreNotCheckedOnLoad(t *testing.T) {
	task := func(data obj) obj {
		d := obj{"label": "Call", "assignee": userSam, "title": "Call {{ lead.contact.firstName }}", "dueIn": "1h"}
		for k, v := range data {
			d[k] = v
		}
		return chain(node("task", "create_task", d))
	}
	longCond := strings.Repeat("lead.priority > 1 && ", 250) + "true"
	many := make([]obj, 0, automation.MaxNodes+1)
	manyEdges := make([]obj, 0, automation.MaxNodes)
	many = append(many, node("start", "trigger", nil))
	for i := range automation.MaxNodes {
		many = append(many, node(idf("end", i), "end", nil))
		manyEdges = append(manyEdges, edge(idf("e", i), "start", idf("end", i), ""))
	}
	for _, tc := range []struct {
		name string
		doc  obj
		want string
	}{
		{"label length", task(obj{"label": strings.Repeat("L", 201)}), "the label is 201 characters long; the limit is 200"},
		{"name length", task(nil).with("name", strings.Repeat("n", 201)), "the name is 201 characters long; the limit is 200"},
		{"node count", document(many, manyEdges), "the automation has 501 nodes; the limit is 500"},
		{"action timeout", task(obj{"timeout": "48h"}), "an action's timeout is at most 24h, got 48h"},
		{"expression length", branch(node("check", "condition", obj{"expression": longCond}), "true", "false"), "characters long; the limit is 4096"},
		{"estimated cost", branch(node("check", "condition", obj{"expression": "lead.tags.all(a, lead.tags.all(b, lead.tags.all(c, a + b + c != '')))"}), "true", "false"), "is too expensive"},
		{"node field length", task(obj{"title": strings.Repeat("t", 1001)}), "title"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, problems := compileJSON(t, tc.doc)
			if !strings.Contains(problems.Error(), tc.want) {
				t.Fatalf("validation: problems %v, want %q", problems, tc.want)
			}
			doc, err := automation.Parse(mustJSON(t, tc.doc))
			if err != nil {
				t.Fatal(err)
			}
			p, problems := compile(doc, nodes.Builtin(), nil, 0)
			if len(problems) > 0 {
				t.Fatalf("a run's compilation: %v", problems)
			}
			if _, err := Load(p.Canonical, 0); err != nil {
				t.Fatalf("Load: %v", err)
			}
		})
	}
}

// TestTighterLimitsTurnAwayNewDocuments: DefaultLimits is what validation
// uses, so tuning it takes effect for new documents at once.
func TestTighterLimitsTurnAwayNewDocuments(t *testing.T) {
	doc := chain(node("task", "create_task", obj{"label": "Call the lead", "assignee": userSam, "title": "Call", "dueIn": "1h"}))
	if _, problems := compileJSON(t, doc); len(problems) > 0 {
		t.Fatal(problems)
	}
	saved := DefaultLimits
	t.Cleanup(func() { DefaultLimits = saved })
	DefaultLimits.LabelLength = 5
	_, problems := compileJSON(t, doc)
	if !strings.Contains(problems.Error(), "the label is 13 characters long; the limit is 5") {
		t.Errorf("problems %v", problems)
	}
}

// TestLoadFreezesTheEvaluationCost: the evaluation cost limit is the one
// the run passes, not the worker's current constant.
func TestLoadFreezesTheEvaluationCost(t *testing.T) {
	doc := chain(node("wait", "delay", obj{"label": "Wait", "duration": "1h"})).
		with("goal", obj{"expression": "lead.tags.exists(t, t == 'never')"})
	p, problems := compileJSON(t, doc)
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	tags := make([]any, 50)
	for i := range tags {
		tags[i] = "tag"
	}
	vars := expr.Vars{Lead: map[string]any{"tags": tags}}
	for _, tc := range []struct {
		cost    uint64
		wantErr bool
	}{{0, false}, {expr.CostLimit, false}, {10, true}} {
		q, err := Load(p.Canonical, tc.cost)
		if err != nil {
			t.Fatal(err)
		}
		_, err = q.Goal.EvalBool(vars)
		if gotErr := err != nil; gotErr != tc.wantErr {
			t.Errorf("cost limit %d: error %v, want error %v", tc.cost, err, tc.wantErr)
		}
	}
}
