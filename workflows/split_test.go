package workflows_test

import (
	stdcontext "context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/conecrm/automation-runtime/internal/devkit/sandbox"
	"github.com/conecrm/automation-runtime/internal/devkit/stack"
	"github.com/conecrm/automation-runtime/internal/nodes"
)

// The A/B example on the dev server, through the starter: two leads take
// the two branches of the split (each creates its own kind of task in the
// sandbox), the path says which, and the console's per-node counts show
// one lead on each branch and both through the split.
func TestSplitOnTheDevServer(t *testing.T) {
	raw, err := os.ReadFile("../automations/assigned-lead-first-contact-ab.json")
	if err != nil {
		t.Fatal(err)
	}
	const automationID = "0193a4c2-7a10-7c5e-9d1a-2f6b8c1e0a09"
	s := stack.Start(t, stack.Options{Documents: [][]byte{raw}, Starter: stack.StarterService})
	leads := map[string]string{sandbox.LeadAlice: "text", sandbox.LeadAliceTradeIn: "call"}
	for id, want := range leads {
		// The expectation above is the hash's; check it is (a wrong lead
		// table would make this test prove nothing).
		if b := nodes.Bucket(automationID, "first-contact", id, 100); (b < 50) != (want == "call") {
			t.Fatalf("lead %s falls in bucket %d: not the %s branch", id, b, want)
		}
	}
	since := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
	for id, want := range leads {
		o := s.Enrol(map[string]any{"id": "assigned-" + id, "type": "LEAD_ASSIGNED", "occurredAt": time.Now().UTC().Format(time.RFC3339),
			"lead": map[string]any{"id": id, "subject": "2025 RAV4 Hybrid XLE", "franchise": map[string]any{"id": sandbox.FranchiseMontreal},
				"contact": map[string]any{"id": sandbox.ContactAlice}, "account": map[string]any{"id": sandbox.AccountAlice}}})
		res := s.Result(o, 2*time.Minute)
		if got, wantPath := strings.Join(res.Path, " "), "start first-contact "+want+"-first contacted"; got != wantPath {
			t.Fatalf("lead %s: path %q, want %q", id, got, wantPath)
		}
		st, _ := stepOf(res, "first-contact")
		if st.Handle != want || st.Type != "split" {
			t.Fatalf("lead %s: split step %+v", id, st)
		}
	}
	types := map[string]int{}
	for _, tk := range s.Sandbox.Tasks() {
		types[tk.Type]++
	}
	if types["CALL"] != 1 || types["SMS"] != 1 || len(s.Sandbox.Tasks()) != 2 {
		t.Fatalf("sandbox tasks by type %v, want one CALL and one SMS", types)
	}

	// The console's counts come from the run log: record the closed runs.
	deadline := time.Now().Add(2 * time.Minute)
	var last string
	for {
		ctx, cancel := stdcontext.WithTimeout(stdcontext.Background(), 10*time.Second)
		_, err := s.App.Recorder.Poll(ctx)
		cancel()
		if err != nil {
			t.Fatalf("run log: %v", err)
		}
		code, stats := s.API("GET", "/api/automation/"+automationID+"/stats?since="+since, nil)
		passed := func(node string) any {
			n, _ := stats["nodes"].(map[string]any)[node].(map[string]any)
			return n["passed"]
		}
		last = fmt.Sprintf("HTTP %d split %v call %v text %v", code, passed("first-contact"), passed("call-first"), passed("text-first"))
		if code == 200 && passed("first-contact") == 2.0 && passed("call-first") == 1.0 && passed("text-first") == 1.0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("console counts not as expected after 2 minutes: %s", last)
		}
		time.Sleep(300 * time.Millisecond)
	}
}
