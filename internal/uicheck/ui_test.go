package uicheck_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/conecrm/automation-runtime/internal/devserver"
	"github.com/conecrm/automation-runtime/internal/runtime/runtimetest"
	"github.com/conecrm/automation-runtime/internal/sandbox"
	"github.com/conecrm/automation-runtime/internal/uicheck"
)

// TestRunReadsInWebUI runs an automation that branches, acts and then waits
// an hour, and checks in headless Chromium that the run's page in the
// Temporal Web UI tells the story: the summary names the automation and the
// lead, the activity shows its node's summary, the timer its label, and the
// current details what the run waits for.
func TestRunReadsInWebUI(t *testing.T) {
	chromium, err := uicheck.Chromium()
	if err != nil {
		t.Skipf("SKIP browser check: %v", err)
	}
	root, err := devserver.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	artifacts := filepath.Join(root, "artifacts", "ui")

	s := runtimetest.Start(t, runtimetest.Options{AutomationsDir: "testdata/automations", UI: true})
	leadID := sandbox.LeadAlice
	run := s.Enrol(map[string]any{
		"id": "evt-ui-1", "type": "LEAD_CREATED", "occurredAt": time.Now().UTC().Format(time.RFC3339),
		"lead": map[string]any{"id": leadID, "subject": "2025 Honda Civic Touring", "category": "CAR"},
	})
	state := s.WaitParked(run, 60*time.Second)
	t.Logf("run %s/%s parked in %+v", run.WorkflowID, run.RunID, state.Timers)

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	b, err := uicheck.Open(ctx, chromium, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	page := uicheck.RunURL(s.Server.UIURL, "default", run.WorkflowID, run.RunID)
	t.Logf("run page: %s", page)
	if err := b.Navigate(ctx, page); err != nil {
		t.Fatal(err)
	}

	check := func(name string, texts ...string) {
		t.Helper()
		missing, err := b.WaitText(ctx, 45*time.Second, texts...)
		shot := filepath.Join(artifacts, name+".png")
		if serr := b.Screenshot(ctx, shot); serr != nil {
			t.Errorf("screenshot %s: %v", shot, serr)
		} else {
			t.Logf("screenshot: %s", shot)
		}
		if err != nil || len(missing) > 0 {
			body, _ := b.Text(ctx)
			_ = os.WriteFile(filepath.Join(artifacts, name+".txt"), []byte(body), 0o644)
			t.Fatalf("%s: the page does not show %q (err %v); its text is in %s", name, missing, err, filepath.Join(artifacts, name+".txt"))
		}
	}

	const automationName = "UI check: call, wait an hour, follow up"
	summary := automationName + " · lead " + leadID
	// The history: the run's summary (on its start event), the activity's
	// node summary and the timer's label, in the timeline and the list.
	check("run-history",
		summary,
		"CreateTask • Call the new lead — Create call task",
		"Give the lead an hour — resumes",
	)
	// The User Metadata tab: summary, details, and the current details
	// saying what the run waits for and until when.
	if ok, err := b.Click(ctx, "User Metadata"); err != nil || !ok {
		t.Fatalf("no User Metadata tab on the run page (err %v)", err)
	}
	check("run-user-metadata",
		summary,
		"Waiting in Give the lead an hour",
		"(node wait-1h) until",
	)
	if strings.Contains(page, "@") {
		t.Errorf("run page URL carries personal data: %s", page)
	}
}
