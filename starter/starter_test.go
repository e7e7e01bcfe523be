package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/conecrm/automation-runtime/internal/conecrm"
	"github.com/conecrm/automation-runtime/internal/devkit/sandbox"
	"github.com/conecrm/automation-runtime/internal/devkit/stack"
	"github.com/conecrm/automation-runtime/internal/ingest"
	"github.com/conecrm/automation-runtime/starter/server"
)

// A database that does not answer at start: a clear message and exit 1,
// before anything listens.
func TestServeDatabaseUnavailable(t *testing.T) {
	t.Setenv(server.EnvAPIToken, "t")
	t.Setenv(ingest.SecretEnv, "s")
	t.Setenv(server.EnvDatabaseURL, "postgres://u:pw@127.0.0.1:1/db?sslmode=disable&connect_timeout=2")
	t.Setenv(server.EnvAddr, "127.0.0.1:0")
	stderr := captureStderr(t, func() {
		if code := serve(nil); code != 1 {
			t.Errorf("exit code %d, want 1", code)
		}
	})
	if !strings.Contains(stderr, "cannot open the database") || !strings.Contains(stderr, "unavailable") || strings.Contains(stderr, "pw") {
		t.Fatalf("stderr %q", stderr)
	}
}

func TestServeNeedsSecrets(t *testing.T) {
	t.Setenv(server.EnvAPIToken, "")
	t.Setenv(ingest.SecretEnv, "")
	stderr := captureStderr(t, func() {
		if code := serve(nil); code != 1 {
			t.Errorf("exit code %d, want 1", code)
		}
	})
	if !strings.Contains(stderr, server.EnvAPIToken) || !strings.Contains(stderr, ingest.SecretEnv) {
		t.Fatalf("stderr %q", stderr)
	}
}

func captureStderr(t *testing.T, f func()) string {
	t.Helper()
	r, w, _ := os.Pipe()
	old := os.Stderr
	os.Stderr = w
	done := make(chan string)
	go func() {
		b, _ := io.ReadAll(r)
		done <- string(b)
	}()
	f()
	w.Close()
	os.Stderr = old
	return <-done
}

func TestTriggerSignsAndPosts(t *testing.T) {
	secret := "trigger-secret"
	var got []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ = io.ReadAll(r.Body)
		if err := ingest.Verify([]byte(secret), r.Header.Get(ingest.HeaderTimestamp), r.Header.Get(ingest.HeaderSignature), got, time.Now()); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		_, _ = w.Write([]byte(`{"eventId":"x","automations":[]}`))
	}))
	defer srv.Close()
	file := filepath.Join(t.TempDir(), "ev.json")
	_ = os.WriteFile(file, []byte(`{"id":"e1","type":"LEAD_CREATED","occurredAt":"2026-11-24T10:00:00Z","lead":{"id":"l1"}}`), 0o644)

	t.Setenv(ingest.SecretEnv, secret)
	var out, errOut bytes.Buffer
	if code := triggerCmd(&out, &errOut, []string{"--event", file, "--url", srv.URL}); code != 0 {
		t.Fatalf("exit %d: %s %s", code, out.String(), errOut.String())
	}
	if !strings.Contains(out.String(), "HTTP 200") {
		t.Fatalf("output %q", out.String())
	}
	out.Reset()
	if code := triggerCmd(&out, &errOut, []string{"--event", file, "--url", srv.URL, "--new-ids"}); code != 0 {
		t.Fatalf("exit %d", code)
	}
	var ev map[string]any
	_ = json.Unmarshal(got, &ev)
	if ev["id"] == "e1" || ev["lead"].(map[string]any)["id"] != "l1" {
		t.Fatalf("--new-ids: want a new event id for the same lead: %s", got)
	}
	t.Setenv(ingest.SecretEnv, "wrong")
	if code := triggerCmd(&out, &errOut, []string{"--event", file, "--url", srv.URL}); code != 1 {
		t.Fatalf("a rejected event exits %d, want 1", code)
	}
	t.Setenv(ingest.SecretEnv, "")
	if code := triggerCmd(&out, &errOut, []string{"--event", file}); code != 2 {
		t.Fatalf("no secret: exit %d, want 2", code)
	}
}

// --new-lead creates the lead in ConeCRM (here the sandbox, which rejects
// tasks for leads it does not hold) and sends the event for it, so the
// run's task for the lead is accepted.
func TestTriggerNewLeadCreatesTheLead(t *testing.T) {
	secret := "trigger-secret"
	var got []byte
	starter := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ = io.ReadAll(r.Body)
		_, _ = w.Write([]byte(`{"eventId":"x","automations":[]}`))
	}))
	defer starter.Close()
	sb := sandbox.New("sb-token")
	sbSrv := httptest.NewServer(sb)
	defer sbSrv.Close()
	file := filepath.Join(t.TempDir(), "ev.json")
	_ = os.WriteFile(file, []byte(`{"id":"e1","type":"LEAD_CREATED","occurredAt":"2026-11-24T10:00:00Z",
		"lead":{"id":"`+sandbox.LeadAlice+`","subject":"Test drive","category":"CAR","contact":{"id":"`+sandbox.ContactAlice+`"},"franchise":{"id":"`+sandbox.FranchiseMontreal+`"}}}`), 0o644)
	t.Setenv(ingest.SecretEnv, secret)

	var out, errOut bytes.Buffer
	t.Setenv("CONECRM_BASE_URL", "")
	if code := triggerCmd(&out, &errOut, []string{"--event", file, "--url", starter.URL, "--new-lead"}); code != 2 || !strings.Contains(errOut.String(), "CONECRM_BASE_URL") {
		t.Fatalf("--new-lead without ConeCRM: exit %d, %q", code, errOut.String())
	}

	t.Setenv("CONECRM_BASE_URL", sbSrv.URL)
	t.Setenv("CONECRM_TOKEN", "sb-token")
	if code := triggerCmd(&out, &errOut, []string{"--event", file, "--url", starter.URL, "--new-lead"}); code != 0 {
		t.Fatalf("exit %d: %s %s", code, out.String(), errOut.String())
	}
	var ev struct {
		ID   string         `json:"id"`
		Lead map[string]any `json:"lead"`
	}
	if err := json.Unmarshal(got, &ev); err != nil {
		t.Fatal(err)
	}
	leadID, _ := ev.Lead["id"].(string)
	if ev.ID == "e1" || leadID == sandbox.LeadAlice || leadID == "" {
		t.Fatalf("--new-lead kept the ids: %s", got)
	}
	lead, ok := sb.Lead(leadID)
	if !ok || lead.Subject != "Test drive" || conecrm.RefID(lead.Contact) != sandbox.ContactAlice {
		t.Fatalf("the event's lead %s is not in ConeCRM as sent: %+v %v", leadID, lead, ok)
	}
	// ConeCRM takes a task for the new lead.
	cc := conecrm.New(conecrm.Config{BaseURL: sbSrv.URL, Token: "sb-token"}, nil)
	if _, err := cc.CreateTask(t.Context(), conecrm.TaskRequest{Type: "CALL", Title: "Call", Assignee: sandbox.SeedUsers[0].ID, Connection: leadID}, ""); err != nil {
		t.Fatalf("task for the new lead: %v", err)
	}

	// A lead ConeCRM rejects stops the command before any event is sent.
	got = nil
	_ = os.WriteFile(file, []byte(`{"id":"e1","type":"LEAD_CREATED","occurredAt":"2026-11-24T10:00:00Z","lead":{"id":"l1","contact":{"id":"nobody"}}}`), 0o644)
	if code := triggerCmd(&out, &errOut, []string{"--event", file, "--url", starter.URL, "--new-lead"}); code != 1 || got != nil {
		t.Fatalf("rejected lead: exit %d, event sent: %s", code, got)
	}
}

func TestImportExportCommands(t *testing.T) {
	data := t.TempDir()
	t.Setenv(server.EnvDataDir, data)
	t.Setenv(server.EnvDatabaseURL, "")
	var out, errOut bytes.Buffer
	dir := filepath.Join("..", "automations")
	if code := importCmd(&out, &errOut, []string{dir}); code != 0 {
		t.Fatalf("import: %d %s %s", code, out.String(), errOut.String())
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if !strings.Contains(out.String(), strconv.Itoa(len(files))+" created") {
		t.Fatalf("import output %q", out.String())
	}
	out.Reset()
	if code := importCmd(&out, &errOut, []string{dir}); code != 0 || !strings.Contains(out.String(), strconv.Itoa(len(files))+" unchanged") {
		t.Fatalf("second import: %d %q", code, out.String())
	}
	exp := t.TempDir()
	out.Reset()
	if code := exportCmd(&out, &errOut, []string{exp}); code != 0 {
		t.Fatalf("export: %d %s", code, errOut.String())
	}
	written, _ := filepath.Glob(filepath.Join(exp, "*.json"))
	if len(written) != len(files) {
		t.Fatalf("exported %d files, want %d", len(written), len(files))
	}
	if code := importCmd(&out, &errOut, nil); code != 2 {
		t.Fatalf("import without DIR: %d", code)
	}
}

// trigger --direct matches and starts from the command line, with the
// store's event ids: the same event twice enrols once.
func TestTriggerDirect(t *testing.T) {
	t.Setenv("TEMPORAL_ADDRESS", stack.Shared(t).Address)
	t.Setenv("TEMPORAL_NAMESPACE", stack.Namespace(t))
	t.Setenv(server.EnvDataDir, t.TempDir())
	t.Setenv(server.EnvDatabaseURL, "")
	t.Setenv(ingest.SecretEnv, "")
	var out, errOut bytes.Buffer
	if code := importCmd(&out, &errOut, []string{filepath.Join("..", "automations")}); code != 0 {
		t.Fatalf("import: %s", errOut.String())
	}
	event := filepath.Join("..", "automations", "events", "demo-lead-created.json")
	for i, want := range []string{`"result": "enrolled"`, `"reason": "event already processed (enrolled)"`} {
		out.Reset()
		if code := triggerCmd(&out, &errOut, []string{"--event", event, "--direct"}); code != 0 {
			t.Fatalf("trigger %d: exit %d: %s %s", i, code, out.String(), errOut.String())
		}
		if !strings.Contains(out.String(), want) {
			t.Fatalf("trigger %d: want %s in %s", i, want, out.String())
		}
	}
	// The same lead event from another franchise enrols nowhere (every
	// example automation is franchise ...0001's); without a franchise it
	// is a 400 naming the field.
	raw, err := os.ReadFile(event)
	if err != nil {
		t.Fatal(err)
	}
	var ev map[string]any
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(t.TempDir(), "other.json")
	ev["id"] = "other-franchise-1"
	ev["lead"].(map[string]any)["id"] = "0192f0a0-0005-7000-8000-0000000000f2" // a lead not enrolled yet
	ev["lead"].(map[string]any)["franchise"] = map[string]any{"id": "0192f0a0-0007-7000-8000-0000000000ff"}
	b, _ := json.Marshal(ev)
	_ = os.WriteFile(other, b, 0o644)
	out.Reset()
	if code := triggerCmd(&out, &errOut, []string{"--event", other, "--direct"}); code != 0 || !strings.Contains(out.String(), `"automations": []`) {
		t.Fatalf("another franchise's lead: exit %d: %s %s", code, out.String(), errOut.String())
	}
	ev["id"] = "no-franchise-1"
	delete(ev["lead"].(map[string]any), "franchise")
	b, _ = json.Marshal(ev)
	_ = os.WriteFile(other, b, 0o644)
	out.Reset()
	if code := triggerCmd(&out, &errOut, []string{"--event", other, "--direct"}); code != 1 || !strings.Contains(out.String(), "HTTP 400") || !strings.Contains(out.String(), "lead.franchise.id") {
		t.Fatalf("a lead without franchise: exit %d: %s %s", code, out.String(), errOut.String())
	}
}
