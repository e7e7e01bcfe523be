package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/conecrm/automation-runtime/internal/conecrm"
	"github.com/conecrm/automation-runtime/internal/devkit/sandbox"
	"github.com/conecrm/automation-runtime/internal/ingest"
)

// make run's sandbox applies SANDBOX_FAULTS, inline or from a file.
func TestSandboxFaultsFromEnv(t *testing.T) {
	post := func(url string) *http.Response {
		req, _ := http.NewRequest("POST", url+"/api/task", strings.NewReader(`{"title":"Call","assignee":"`+sandbox.SeedUsers[0].ID+`"}`))
		req.Header.Set("Authorization", "Bearer tok")
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	tests := []struct {
		name, faults string
		status       int
		retryAfter   string
	}{
		{"no faults", "", 200, ""},
		{"a 429 on every task", `{"seed": 1, "faults": [{"route": "POST /api/task", "kind": "429", "rate": 1, "retryAfter": "3s"}]}`, 429, "3"},
		{"a 500 on every route", `{"faults": [{"route": "*", "kind": "500"}]}`, 500, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(sandbox.EnvFaults, tc.faults)
			srv, url, err := startSandbox("127.0.0.1:0", "tok")
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			resp := post(url)
			if resp.StatusCode != tc.status || resp.Header.Get("Retry-After") != tc.retryAfter {
				t.Errorf("HTTP %d Retry-After %q, want %d %q", resp.StatusCode, resp.Header.Get("Retry-After"), tc.status, tc.retryAfter)
			}
		})
	}
	t.Setenv(sandbox.EnvFaults, `{"faults": [{"route": "POST /api/task", "kind": "fire"}]}`)
	if _, _, err := startSandbox("127.0.0.1:0", "tok"); err == nil || !strings.Contains(err.Error(), sandbox.EnvFaults) {
		t.Errorf("a bad SANDBOX_FAULTS: %v, want an error naming it", err)
	}
}

func TestNewLeadCommand(t *testing.T) {
	t.Setenv(conecrm.EnvBaseURL, "http://127.0.0.1:8090")
	t.Setenv(conecrm.EnvToken, "sandbox-token")
	t.Setenv(ingest.SecretEnv, "demo-signing-secret")
	got := newLeadCommand("automations/events/demo-lead-created.json", true)
	want := "CONECRM_BASE_URL=http://127.0.0.1:8090 CONECRM_TOKEN=sandbox-token EVENTS_SIGNING_SECRET=demo-signing-secret bin/starter trigger --event automations/events/demo-lead-created.json --new-lead"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	t.Setenv(conecrm.EnvToken, "real-secret")
	if got := newLeadCommand("ev.json", false); strings.Contains(got, "real-secret") || !strings.Contains(got, `CONECRM_TOKEN="$CONECRM_TOKEN"`) {
		t.Errorf("a real ConeCRM token is printed: %s", got)
	}
}
