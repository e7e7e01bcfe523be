package uicheck_test

import (
	"context"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/conecrm/automation-runtime/internal/codec"
	"github.com/conecrm/automation-runtime/internal/devkit/devserver"
	"github.com/conecrm/automation-runtime/internal/devkit/sandbox"
	"github.com/conecrm/automation-runtime/internal/devkit/stack"
	"github.com/conecrm/automation-runtime/internal/devkit/uicheck"
	"github.com/conecrm/automation-runtime/internal/ingest"
)

const automationName = "UI check: call, wait an hour, follow up"

func chromium(t *testing.T) string {
	t.Helper()
	p, err := uicheck.Chromium()
	if err != nil {
		t.Skipf("SKIP browser check: %v", err)
	}
	return p
}

func enrol(t *testing.T, s *stack.Stack) ingest.Outcome {
	t.Helper()
	run := s.Enrol(map[string]any{
		"id": "evt-ui-1", "type": "LEAD_CREATED", "occurredAt": time.Now().UTC().Format(time.RFC3339),
		"lead": map[string]any{"id": sandbox.LeadAlice, "subject": "2025 Honda Civic Touring", "category": "CAR"},
	})
	state := s.WaitParked(run, 60*time.Second)
	t.Logf("run %s/%s parked in %+v", run.WorkflowID, run.RunID, state.Timers)
	return run
}

// TestRunReadsInWebUI runs an automation that branches, acts and then waits
// an hour, and checks in headless Chromium that the run's page in the
// Temporal Web UI tells the story: the summary names the automation and the
// lead, the activity shows its node's summary, the timer its label, and the
// current details what the run waits for and until when.
func TestRunReadsInWebUI(t *testing.T) {
	browser := chromium(t)
	s := stack.Start(t, stack.Options{AutomationsDir: "testdata/automations", UI: true})
	checkRunPage(t, browser, s, enrol(t, s), "run")
}

// TestEncryptedRunReadsThroughCodecEndpoint does the same with payload
// encryption on: the server stores summaries and details encrypted, and the
// Web UI, given the codec endpoint, shows them decoded.
func TestEncryptedRunReadsThroughCodecEndpoint(t *testing.T) {
	browser := chromium(t)
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	c, err := codec.New(codec.Key{ID: "ui", Key: k})
	if err != nil {
		t.Fatal(err)
	}
	// The endpoint must allow the UI's origin, known once the UI runs.
	var endpoint atomic.Pointer[http.Handler]
	codecSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h := endpoint.Load(); h != nil {
			(*h).ServeHTTP(w, r)
			return
		}
		http.Error(w, "codec endpoint not ready", http.StatusServiceUnavailable)
	}))
	defer codecSrv.Close()
	s := stack.Start(t, stack.Options{
		AutomationsDir: "testdata/automations", UI: true,
		DevServerArgs: []string{"--ui-codec-endpoint", codecSrv.URL},
		DataConverter: c.DataConverter(), FailureConverter: c.FailureConverter(),
	})
	h := c.Handler(codec.HandlerOptions{Origins: []string{s.Server.UIURL}})
	endpoint.Store(&h)
	checkRunPage(t, browser, s, enrol(t, s), "encrypted-run")
}

func checkRunPage(t *testing.T, browser string, s *stack.Stack, run ingest.Outcome, name string) {
	root, err := devserver.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	artifacts := filepath.Join(root, "artifacts", "ui")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	b, err := uicheck.Open(ctx, browser, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	page := uicheck.RunURL(s.Server.UIURL, s.Namespace, run.WorkflowID, run.RunID)
	t.Logf("run page: %s", page)
	if err := b.Navigate(ctx, page); err != nil {
		t.Fatal(err)
	}
	check := func(view string, texts ...string) {
		t.Helper()
		missing, err := b.WaitText(ctx, 45*time.Second, texts...)
		shot := filepath.Join(artifacts, name+"-"+view+".png")
		if serr := b.Screenshot(ctx, shot); serr != nil {
			t.Errorf("screenshot %s: %v", shot, serr)
		} else {
			t.Logf("screenshot: %s", shot)
		}
		if err != nil || len(missing) > 0 {
			body, _ := b.Text(ctx)
			txt := filepath.Join(artifacts, name+"-"+view+".txt")
			_ = os.WriteFile(txt, []byte(body), 0o644)
			t.Fatalf("%s: the page does not show %q (err %v); its text is in %s", view, missing, err, txt)
		}
	}

	summary := automationName + " · lead " + sandbox.LeadAlice
	// The history: the run's summary (on its start event), the activity's
	// node summary and the timer's label, in the timeline and the list.
	check("history",
		summary,
		"CreateTask • Call the new lead — Create call task",
		"Give the lead an hour — resumes",
	)
	// The User Metadata tab: summary, details, and the current details
	// saying what the run waits for and until when.
	if ok, err := b.Click(ctx, "User Metadata"); err != nil || !ok {
		t.Fatalf("no User Metadata tab on the run page (err %v)", err)
	}
	check("user-metadata",
		summary,
		"Automation 0193a4c2-7a10-7c5e-9d1a-2f6b8c1e0b01 version",
		"Waiting in Give the lead an hour",
		"(node wait-1h) until",
	)
}
