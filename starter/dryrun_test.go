package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/conecrm/automation-runtime/internal/automation"
	"github.com/conecrm/automation-runtime/internal/devkit/docbuild"
	"github.com/conecrm/automation-runtime/workflows/dryrun"
)

// eventFor writes a lead event of the given type; lead adds or replaces
// lead fields.
func eventFor(t *testing.T, trigger string, lead map[string]any) string {
	t.Helper()
	l := map[string]any{
		"id": "0193a4c2-0000-7000-8000-00000000c0a1", "subject": "2025 Honda Civic Touring", "category": "CAR", "priority": 2,
		"formName":  "Website test-drive form",
		"franchise": map[string]any{"id": "0193a4c2-0000-7000-8000-00000000f001"},
		"stage":     map[string]any{"id": "0193a4c2-0000-7000-8000-0000000005a1"},
		"contact":   map[string]any{"id": "0193a4c2-0000-7000-8000-0000000c0001"},
		"account":   map[string]any{"id": "0193a4c2-0000-7000-8000-00000000ac01"},
	}
	for k, v := range lead {
		l[k] = v
	}
	ev := map[string]any{"id": "evt-dry-1", "type": trigger, "occurredAt": "2026-11-24T14:00:00Z", "lead": l}
	p := filepath.Join(t.TempDir(), "event.json")
	b, _ := json.Marshal(ev)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func runDryRun(t *testing.T, args ...string) (int, dryrun.Output, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := dryRun(&stdout, &stderr, append([]string{"--json"}, args...))
	var out dryrun.Output
	if code != 2 && stdout.Len() > 0 {
		if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
			t.Fatalf("output is not JSON: %v\n%s", err, stdout.String())
		}
	}
	return code, out, stderr.String()
}

// Every example automation dry-runs: the path starts at its trigger and
// every recorded action is a node on the path.
func TestDryRunExamples(t *testing.T) {
	files, _ := filepath.Glob("../automations/*.json")
	if len(files) == 0 {
		t.Fatal("no example automations")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			d, err := automation.Parse(data)
			if err != nil {
				t.Fatal(err)
			}
			code, out, stderr := runDryRun(t, "--automation", f, "--event", eventFor(t, d.AutomationTrigger, nil))
			if code == 2 || (code == 1 && out.Status != "failed") {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			if len(out.Path) == 0 || d.Nodes[0].ID == "" {
				t.Fatalf("empty path: %+v", out)
			}
			onPath := map[string]bool{}
			for _, id := range out.Path {
				onPath[id] = true
			}
			for _, n := range d.Nodes {
				if n.Type == "trigger" && out.Path[0] != n.ID {
					t.Errorf("path %v does not start at the trigger %s", out.Path, n.ID)
				}
			}
			for _, a := range out.Actions {
				if !onPath[a.NodeID] {
					t.Errorf("action %s is not on the path %v", a.NodeID, out.Path)
				}
			}
		})
	}
}

func TestDryRunCallTask(t *testing.T) {
	const doc = "../automations/new-lead-call-task.json"
	cases := []struct {
		name     string
		lead     map[string]any
		path     string
		title    string
		exitCode int
	}{
		{"car lead", nil, "start is-car call done", "Call about 2025 Honda Civic Touring", 0},
		{"truck lead", map[string]any{"category": "TRUCK"}, "start is-car not-car", "", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, out, stderr := runDryRun(t, "--automation", doc, "--event", eventFor(t, "LEAD_CREATED", tc.lead))
			if code != tc.exitCode {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			if got := strings.Join(out.Path, " "); got != tc.path {
				t.Fatalf("path %q, want %q", got, tc.path)
			}
			if tc.title == "" {
				if len(out.Actions) != 0 {
					t.Fatalf("actions %+v, want none", out.Actions)
				}
				return
			}
			in, _ := json.Marshal(out.Actions[0].Input)
			if len(out.Actions) != 1 || !strings.Contains(string(in), `"title":"`+tc.title+`"`) {
				t.Fatalf("actions %s", in)
			}
		})
	}
}

func TestDryRunLaterEvents(t *testing.T) {
	dir := t.TempDir()
	doc := docbuild.New("a1").Name("Wait").Trigger("LEAD_CREATED").
		Node("start", "trigger", nil).
		Node("wait", "wait_for_event", docbuild.Data{"event": "LEAD_STAGE_CHANGED", "timeout": "2d"}).
		Node("hook", "webhook", docbuild.Data{"url": "https://hooks.example.com/{{ lead.stage.id }}"}).
		Node("done", "end", nil).Node("late", "end", docbuild.Data{"reason": "no stage change"}).
		Edge("start", "wait").EdgeFrom("wait", "event", "hook").EdgeFrom("wait", "timeout", "late").Edge("hook", "done").
		JSON()
	events := `[{"id":"e2","type":"LEAD_STAGE_CHANGED","occurredAt":"2026-11-25T10:00:00Z","lead":{"id":"0193a4c2-0000-7000-8000-00000000c0a1","stage":{"id":"s2"}}}]`
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	docFile, evFile := write("a.json", string(doc)), eventFor(t, "LEAD_CREATED", nil)
	_, out, stderr := runDryRun(t, "--automation", docFile, "--event", evFile, "--events", write("later.json", events))
	if got := strings.Join(out.Path, " "); got != "start wait hook done" {
		t.Fatalf("path %q (%s)", got, stderr)
	}
	if in, _ := json.Marshal(out.Actions[0].Input); !strings.Contains(string(in), "hooks.example.com/s2") {
		t.Fatalf("webhook input %s", in)
	}
	_, out, _ = runDryRun(t, "--automation", docFile, "--event", evFile)
	if got := strings.Join(out.Path, " "); got != "start wait late" {
		t.Fatalf("without the later event: path %q", got)
	}
}

func TestDryRunUsage(t *testing.T) {
	if code, _, _ := runDryRun(t, "--automation", "x.json"); code != 2 {
		t.Fatalf("exit %d without --event, want 2", code)
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	_ = os.WriteFile(bad, []byte(`{"name":"x","automationTrigger":"LEAD_CREATED","nodes":[],"edges":[]}`), 0o644)
	if code, _, stderr := runDryRun(t, "--automation", bad, "--event", eventFor(t, "LEAD_CREATED", nil)); code != 1 || !strings.Contains(stderr, "trigger") {
		t.Fatalf("exit %d, stderr %q; want 1 naming the problem", code, stderr)
	}
}

// The A/B example dry-runs each lead down the branch the live run takes
// (the split hashes the automation, the node and the lead): Alice texts,
// her trade-in calls, and a repeated dry run gives the same answer.
func TestDryRunSplit(t *testing.T) {
	const doc = "../automations/assigned-lead-first-contact-ab.json"
	for _, tc := range []struct {
		lead, path, taskType string
	}{
		{"0192f0a0-0005-7000-8000-000000000001", "start first-contact text-first contacted", "SMS"},
		{"0192f0a0-0005-7000-8000-000000000002", "start first-contact call-first contacted", "CALL"},
	} {
		for i := 0; i < 2; i++ {
			code, out, stderr := runDryRun(t, "--automation", doc, "--event", eventFor(t, "LEAD_ASSIGNED", map[string]any{"id": tc.lead}))
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			if got := strings.Join(out.Path, " "); got != tc.path {
				t.Fatalf("lead %s: path %q, want %q", tc.lead, got, tc.path)
			}
			in, _ := json.Marshal(out.Actions)
			if len(out.Actions) != 1 || !strings.Contains(string(in), `"type":"`+tc.taskType+`"`) {
				t.Fatalf("lead %s: actions %s, want one %s task", tc.lead, in, tc.taskType)
			}
			if out.Steps[1].NodeID != "first-contact" || !strings.HasPrefix(out.Steps[1].Summary, "branch ") {
				t.Fatalf("split step %+v", out.Steps[1])
			}
		}
	}
}
