package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/conecrm/automation-runtime/internal/catalog"
	"github.com/conecrm/automation-runtime/internal/expr"
)

// Every bench routing event can enrol in exactly one automation of its
// lead's franchise, and the many side's routes hold only a few of them.
func TestRoutingAutomationsEnrolOnePerEvent(t *testing.T) {
	dir := t.TempDir()
	docs := RoutingAutomations("bench-route", 1000, 100)
	for i, d := range docs {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("a%04d.json", i)), []byte(d), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cat := catalog.New()
	if n, err := cat.LoadDir(dir); err != nil || n != 1000 {
		t.Fatalf("loaded %d: %v", n, err)
	}
	for _, lead := range []int{0, 1, 57, 99, 100, 9999} {
		ev := LeadEvent("LEAD_UPDATED", "ev", fmt.Sprint(lead), lead)
		ev.Lead["franchise"] = map[string]any{"id": routeFranchise(lead % 100)}
		routed := cat.Route(routeFranchise(lead%100), "LEAD_UPDATED")
		if len(routed) == 0 || len(routed) > 10 {
			t.Fatalf("lead %d: %d automations routed", lead, len(routed))
		}
		accepted := 0
		for _, p := range routed {
			ok, err := p.Trigger().Accepts(expr.Vars{Lead: ev.Lead, Event: ev.Map(), Previous: ev.Previous, Now: ev.OccurredAt})
			if err != nil {
				t.Fatal(err)
			}
			if ok {
				accepted++
			}
		}
		if accepted != 1 {
			t.Fatalf("lead %d: %d automations accept the event, want 1", lead, accepted)
		}
	}
}
