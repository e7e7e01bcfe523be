package e2e

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/conecrm/automation-runtime/activities"
	"github.com/conecrm/automation-runtime/internal/crm"
	"github.com/conecrm/automation-runtime/internal/crm/push"
	"github.com/conecrm/automation-runtime/internal/devkit/crmfake"
	"github.com/conecrm/automation-runtime/internal/devkit/sandbox"
	"github.com/conecrm/automation-runtime/internal/devkit/stack"
	"github.com/conecrm/automation-runtime/workflows"
)

// TestPushToSalesforceAndHubSpot runs the two CRM examples end to end on the
// dev server: a test drive pushes account, contact and opportunity to the
// fake Salesforce in one chain, a qualified lead upserts a contact and a deal
// in the fake HubSpot (requests checked against HubSpot's OpenAPI documents),
// and the external ids are written back to the sandbox's account.
func TestPushToSalesforceAndHubSpot(t *testing.T) {
	specs, ok := crmfake.SpecDir()
	if !ok {
		t.Skip("../shared/specs not found: HubSpot requests cannot be checked against the OpenAPI documents")
	}
	sf := crmfake.NewSalesforce()
	sfSrv := httptest.NewServer(sf)
	t.Cleanup(sfSrv.Close)
	hs, err := crmfake.NewHubSpot(filepath.Join(specs, "hubspot"))
	if err != nil {
		t.Fatal(err)
	}
	hsSrv := httptest.NewServer(hs)
	t.Cleanup(hsSrv.Close)
	var hooks atomic.Int32
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "Bearer hook-secret" {
			hooks.Add(1)
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(hook.Close)
	t.Setenv("WEBHOOK_SECRET_MARKETING_HOOK", "Bearer hook-secret")

	key := make([]byte, 32)
	_, _ = rand.Read(key)
	t.Setenv(crm.SecretsKeyEnv, base64.StdEncoding.EncodeToString(key))
	cipher, err := crm.NewCipherFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	integrations := crm.NewMemoryStore()
	putIntegration(t, integrations, cipher, "demo-salesforce", sfSrv.URL)
	putIntegration(t, integrations, cipher, "demo-hubspot", hsSrv.URL)

	// The two examples, with the marketing webhook pointed at a local server.
	dir := t.TempDir()
	for _, name := range []string{"test-drive-to-salesforce.json", "qualified-lead-hubspot.json"} {
		data, err := os.ReadFile(repoPath(t, "automations/"+name))
		if err != nil {
			t.Fatal(err)
		}
		doc := strings.ReplaceAll(string(data), "https://hooks.example.com/marketing/qualified-leads", hook.URL+"/qualified")
		if err := os.WriteFile(filepath.Join(dir, name), []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s := stack.Start(t, stack.Options{AutomationsDir: dir, Activities: func(a *activities.Activities) {
		p, err := push.New(push.Options{Store: integrations, Cipher: cipher, Writer: push.ConeCRMWriter{Client: a.ConeCRM}, Logger: zerolog.Nop()})
		if err != nil {
			t.Fatal(err)
		}
		a.CRM = p
	}})

	lead := map[string]any{
		"id": sandbox.LeadChloe, "subject": "Ioniq 5 test drive", "price": 52000,
		"stage":     map[string]any{"id": sandbox.StageTestDrive},
		"franchise": map[string]any{"id": sandbox.FranchiseMontreal},
		"contact":   map[string]any{"id": sandbox.ContactChloe, "firstName": "Chloé", "lastName": "Gagnon", "primaryEmail": "chloe.gagnon@example.com"},
		"account":   map[string]any{"id": sandbox.AccountChloe, "name": "Chloé Gagnon", "province": "Quebec"},
	}
	res := runToEnd(s, map[string]any{"id": "evt-sf-1", "type": "LEAD_STAGE_CHANGED", "occurredAt": time.Now().UTC().Format(time.RFC3339), "lead": lead})
	if !contains(res.Path, "synced") {
		t.Fatalf("the Salesforce run did not sync: %+v", res)
	}
	for _, obj := range []string{"Account", "Contact", "Opportunity"} {
		if n := len(sf.Records(obj)); n != 1 {
			t.Errorf("Salesforce has %d %s records, want 1", n, obj)
		}
	}
	acc, _ := s.Sandbox.Account(sandbox.AccountChloe)
	written := 0
	for _, id := range acc.ThirdPartyIDs {
		if strings.HasPrefix(id.SystemName, "salesforce:demo-salesforce:") {
			written++
		}
	}
	if written != 3 {
		t.Errorf("account thirdPartyIds after the push: %d Salesforce ids, want 3 (%+v)", written, acc.ThirdPartyIDs)
	}

	bob := map[string]any{
		"id": sandbox.LeadBob, "subject": "Used F-150 XLT, financing", "priority": 3,
		"franchise": map[string]any{"id": sandbox.FranchiseMontreal},
		"contact":   map[string]any{"id": sandbox.ContactBob, "firstName": "Bob", "lastName": "Martin", "primaryEmail": "bob.martin@example.com"},
		"account":   map[string]any{"id": sandbox.AccountBob},
	}
	res = runToEnd(s, map[string]any{"id": "evt-hs-1", "type": "LEAD_UPDATED", "occurredAt": time.Now().UTC().Format(time.RFC3339), "lead": bob, "previous": map[string]any{"id": sandbox.LeadBob, "priority": 1}})
	if res.Status != workflows.StatusCompleted {
		t.Fatalf("the HubSpot run: %+v", res)
	}
	if n := len(hs.Records("contacts")); n != 1 {
		t.Errorf("HubSpot has %d contacts, want 1", n)
	}
	if n := len(hs.Records("deals")); n != 1 {
		t.Errorf("HubSpot has %d deals, want 1", n)
	}
	if v := hs.Violations(); len(v) > 0 {
		t.Errorf("requests that break HubSpot's OpenAPI documents: %v", v)
	}
	if hooks.Load() != 1 {
		t.Errorf("marketing webhook called %d times with its secret header, want 1", hooks.Load())
	}
}

func putIntegration(t *testing.T, st crm.Store, cipher *crm.Cipher, id, url string) {
	t.Helper()
	data, err := os.ReadFile(repoPath(t, "automations/integrations/"+id+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var in crm.IntegrationInput
	if err := crm.DecodeInput(data, &in); err != nil {
		t.Fatal(err)
	}
	in.InstanceURL, in.HeronID = url, id
	sealed, err := cipher.Seal(id, crm.Credentials{Secret: *in.Secret, Auth: in.Auth})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(in.Integration)
	if err := st.Create(context.Background(), crm.Record{HeronID: id, Integration: raw, SealedCredentials: sealed, CreatedAt: time.Now(), UpdatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
}

// runToEnd posts an event that enrols exactly one run and waits for it.
func runToEnd(s *stack.Stack, ev map[string]any) workflows.Result {
	s.T.Helper()
	return s.Result(s.Enrol(ev), 90*time.Second)
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
