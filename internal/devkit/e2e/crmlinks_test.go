package e2e

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/conecrm/automation-runtime/activities"
	"github.com/conecrm/automation-runtime/internal/crm"
	"github.com/conecrm/automation-runtime/internal/crm/push"
	"github.com/conecrm/automation-runtime/internal/devkit/crmfake"
	"github.com/conecrm/automation-runtime/internal/devkit/docbuild"
	"github.com/conecrm/automation-runtime/internal/devkit/sandbox"
	"github.com/conecrm/automation-runtime/internal/devkit/stack"
	"github.com/conecrm/automation-runtime/internal/devkit/storetest"
	"github.com/conecrm/automation-runtime/internal/ingest"
	"github.com/conecrm/automation-runtime/internal/store/crmstore"
	"github.com/conecrm/automation-runtime/workflows"
)

// notifications records the signed POSTs a failure_notification_channel
// receives, checking each with the verifier of POST /events.
type notifications struct {
	mu     sync.Mutex
	secret []byte
	got    []crm.LinkNotification
	bad    []string
}

func (n *notifications) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := ingest.Verify(n.secret, r.Header.Get(ingest.HeaderTimestamp), r.Header.Get(ingest.HeaderSignature), body, time.Now()); err != nil {
		n.bad = append(n.bad, err.Error())
	}
	var ln crm.LinkNotification
	_ = json.Unmarshal(body, &ln)
	n.got = append(n.got, ln)
	w.WriteHeader(http.StatusNoContent)
}

func (n *notifications) list() ([]crm.LinkNotification, []string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]crm.LinkNotification(nil), n.got...), append([]string(nil), n.bad...)
}

// heron calls the starter's Heron-compatible API with x-api-key, as seeds
// 000-002 do.
func heron(t *testing.T, s *stack.Stack, method, path string, body []byte) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, s.StarterURL+path, bytes.NewReader(body))
	req.Header.Set("x-api-key", stack.APIToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// TestCRMLinkLifecycle is issue 15's acceptance on the dev server: a
// seed-001-shaped integration posted with x-api-key, a Montréal link, and
// an automation whose pushes go through it: active (the account is created
// in Salesforce) → the session is revoked: login required, notified, the
// next push fails at once → the link is updated: active again, notified,
// and the push goes through.
func TestCRMLinkLifecycle(t *testing.T) {
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	t.Setenv(crm.SecretsKeyEnv, base64.StdEncoding.EncodeToString(key))
	t.Setenv(crm.NotifySecretEnv, "notify-secret-e2e")
	cipher, err := crm.NewCipherFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	sf := crmfake.NewSalesforce()
	sf.IssueToken("integration-token", 0)
	sf.IssueToken("montreal-token-1", 0)
	sfSrv := httptest.NewServer(sf)
	t.Cleanup(sfSrv.Close)
	channel := &notifications{secret: []byte("notify-secret-e2e")}
	chSrv := httptest.NewServer(channel)
	t.Cleanup(chSrv.Close)

	st := storetest.SQLite(t)
	s := stack.Start(t, stack.Options{Starter: stack.StarterService, Store: st, LenientSandbox: true, Activities: func(a *activities.Activities) {
		p, err := push.New(push.Options{Store: crmstore.New(st), Cipher: cipher, Writer: push.ConeCRMWriter{Client: a.ConeCRM},
			Notifier: &crm.Notifier{Secret: []byte("notify-secret-e2e")}})
		if err != nil {
			t.Fatal(err)
		}
		a.CRM = p
	}})

	// Seed 001's body, realistic values, sent with x-api-key.
	var body map[string]any
	data, err := os.ReadFile(repoPath(t, "internal/crm/testdata/seed001.json"))
	if err != nil {
		t.Fatal(err)
	}
	_ = json.Unmarshal(data, &body)
	body["instance_url"] = sfSrv.URL
	body["secret"] = "integration-token"
	body["failure_notification_channel"] = chSrv.URL + "/crm-alerts"
	data, _ = json.Marshal(body)
	status, out := heron(t, s, http.MethodPost, "/api/crm_integrations", data)
	if status != http.StatusCreated {
		t.Fatalf("POST /api/crm_integrations with x-api-key: %d %v", status, out)
	}
	heronID := out["crm_integration"].(map[string]any)["heron_id"].(string)
	links := "/api/integrations/" + heronID + "/links"
	link := func(token string) (int, map[string]any) {
		b, _ := json.Marshal(map[string]string{"access_token": token, "end_user_id": sandbox.FranchiseMontreal, "end_user_name": "Montréal", "item_id": "item-montreal"})
		return heron(t, s, http.MethodPost, links, b)
	}
	if status, out := link("montreal-token-1"); status != http.StatusCreated {
		t.Fatalf("POST link: %d %v", status, out)
	}
	getLink := func() map[string]any {
		status, out := heron(t, s, http.MethodGet, links+"/item-montreal", nil)
		if status != http.StatusOK {
			t.Fatalf("GET link: %d %v", status, out)
		}
		return out["link"].(map[string]any)
	}

	doc := docbuild.New("push-to-salesforce").Trigger("LEAD_UPDATED").Reenrollment("always").
		Node("start", "trigger", nil).
		Node("push", "push_to_crm", docbuild.Data{"integrationId": heronID, "onError": "error"}).
		Node("synced", "end", docbuild.Data{"reason": "synced"}).
		Node("failed", "end", docbuild.Data{"reason": "push failed"}).
		Edge("start", "push").Edge("push", "synced").EdgeFrom("push", "error", "failed")
	if status, out := s.API(http.MethodPost, "/api/automation", doc.Map()); status != http.StatusOK {
		t.Fatalf("POST /api/automation: %d %v", status, out)
	}
	n := 0
	run := func() workflows.Result {
		t.Helper()
		n++
		lead := map[string]any{
			"subject": "Ioniq 5", "franchise": map[string]any{"id": sandbox.FranchiseMontreal},
			"account": map[string]any{"id": sandbox.AccountChloe, "name": "Chloé Gagnon", "province": "Quebec", "workPhone": "514-555-0100"},
		}
		var o ingest.Outcome
		eventually(t, "the automation enrols", func() bool {
			n++
			_, er := s.Event("ev-link-"+itoa(n), "LEAD_UPDATED", "lead-link", lead)
			for _, x := range er.Automations {
				if x.AutomationID == "push-to-salesforce" && x.Result == ingest.Enrolled {
					o = x
					return true
				}
			}
			return false
		})
		return s.Result(o, 90*time.Second)
	}

	// Active: the account is created in Salesforce through the link.
	res := run()
	if !contains(res.Path, "synced") {
		t.Fatalf("first push: %+v", res)
	}
	if accs := sf.Records("Account"); len(accs) != 1 || accs[0]["Name"] != "Chloé Gagnon" || accs[0]["BillingState"] != "QC" || accs[0]["Type"] != "Customer - Direct" {
		t.Fatalf("Salesforce accounts %+v", accs)
	}
	l := getLink()
	if l["status"] != crm.LinkActive || l["last_successful_sync"] == nil {
		t.Fatalf("link after the first push: %v", l)
	}
	firstSync := l["last_successful_sync"]

	// The franchise's Salesforce session is revoked: login required.
	sf.RevokeToken("montreal-token-1")
	res = run()
	if !contains(res.Path, "failed") {
		t.Fatalf("push with a revoked token: %+v", res)
	}
	l = getLink()
	msg, _ := l["status_message"].(string)
	if l["status"] != crm.LinkLoginRequired || !strings.HasPrefix(msg, "[ITEM_LOGIN_REQUIRED] ") || l["last_successful_sync"] != firstSync {
		t.Fatalf("link after the refused push: %v", l)
	}
	// Pushes through it now fail at once, with its message, and never
	// reach Salesforce.
	before := len(sf.Requests())
	res = run()
	if !contains(res.Path, "failed") || !strings.Contains(stepError(res, "push"), msg) {
		t.Fatalf("push through a login-required link: %+v", res)
	}
	if after := len(sf.Requests()); after != before {
		t.Fatalf("a push through a login-required link sent %d requests to Salesforce", after-before)
	}

	// The franchise logs in again: the link is updated, active again.
	sf.IssueToken("montreal-token-2", 0)
	if status, out := link("montreal-token-2"); status != http.StatusOK || out["link"].(map[string]any)["status"] != crm.LinkActive {
		t.Fatalf("updating the link: %d %v", status, out)
	}
	res = run()
	if !contains(res.Path, "synced") {
		t.Fatalf("push after the update: %+v", res)
	}
	if l = getLink(); l["status"] != crm.LinkActive || l["last_successful_sync"] == firstSync {
		t.Fatalf("link after the update and a push: %v", l)
	}
	if accs := sf.Records("Account"); len(accs) != 1 {
		t.Fatalf("the account was duplicated: %d", len(accs))
	}

	got, bad := channel.list()
	if len(bad) > 0 {
		t.Fatalf("badly signed notifications: %v", bad)
	}
	if len(got) != 2 || got[0].Status != crm.LinkLoginRequired || got[0].PreviousStatus != crm.LinkActive ||
		got[1].Status != crm.LinkActive || got[1].PreviousStatus != crm.LinkLoginRequired || got[0].ItemID != "item-montreal" || got[0].IntegrationID != heronID {
		t.Fatalf("notifications %+v", got)
	}
	for _, v := range sf.Violations() {
		t.Errorf("Salesforce contract: %s", v)
	}
}

func stepError(res workflows.Result, node string) string {
	for _, s := range res.Steps {
		if s.NodeID == node {
			return s.Error
		}
	}
	return ""
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}
