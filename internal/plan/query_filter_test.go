package plan

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/conecrm/automation-runtime/internal/automation"
	"github.com/conecrm/automation-runtime/internal/expr"
	"github.com/conecrm/automation-runtime/internal/nodes"
)

// The lost-lead example filters with a ConeCRM QueryBuilder query: it must
// accept a lead in the Lost stage and nothing else, a lead without a stage
// included (the missing-field rule), without an evaluation error.
func TestExampleQueryBuilderFilter(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "automations", "lost-lead-reengagement.json"))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := automation.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	p, problems := Compile(doc, nodes.Builtin())
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	cases := []struct {
		name string
		lead map[string]any
		want bool
	}{
		{"lost", map[string]any{"id": "l1", "stage": map[string]any{"id": "0192f0a0-0002-7000-8000-000000000006"}}, true},
		{"contacted", map[string]any{"id": "l1", "stage": map[string]any{"id": "0192f0a0-0002-7000-8000-000000000002"}}, false},
		{"no stage", map[string]any{"id": "l1"}, false},
		{"null stage", map[string]any{"id": "l1", "stage": nil}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := p.Trigger().Accepts(expr.Vars{Lead: tc.lead})
			if err != nil || got != tc.want {
				t.Fatalf("Accepts = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}
