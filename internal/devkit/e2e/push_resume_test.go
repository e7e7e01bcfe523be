package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"go.temporal.io/api/enums/v1"

	"github.com/conecrm/automation-runtime/activities"
	"github.com/conecrm/automation-runtime/internal/crm"
	"github.com/conecrm/automation-runtime/internal/crm/push"
	"github.com/conecrm/automation-runtime/internal/devkit/crmfake"
	"github.com/conecrm/automation-runtime/internal/devkit/sandbox"
	"github.com/conecrm/automation-runtime/internal/devkit/stack"
	"github.com/conecrm/automation-runtime/workflows"
)

// TestPushResumesFromHeartbeat: a push creates its first object, then the
// vendor fails the second; the retry reads the first object's id from the
// heartbeat details the dev server kept, updates that object by id instead
// of creating it again, creates the second, and writes both ids back to
// the account. The activity is scheduled with a HeartbeatTimeout and a
// StartToClose longer than the vendor timeout.
func TestPushResumesFromHeartbeat(t *testing.T) {
	hook := crmfake.NewWebhook("hook-secret")
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if requests.Add(1) == 2 {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"error":"try again"}`))
			return
		}
		hook.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)

	cipher, err := crm.NewCipher(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	integrations := crm.NewMemoryStore()
	integ := crm.Integration{Provider: crm.ProviderWebhook, InstanceURL: srv.URL, IsEnabled: true, IsLive: true, Config: crm.Config{
		ObjectConfigs: []crm.ObjectConfig{
			{Key: "Account", ExternalName: "account", FieldMappings: []crm.FieldMapping{{FieldName: "name", SourceAttribute: "account.name"}}},
			{Key: "Contact", ExternalName: "contact", FieldMappings: []crm.FieldMapping{{FieldName: "email", SourceAttribute: "contact.primaryEmail"}}},
		},
	}}
	if err := crm.Validate(&integ); err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(integ)
	sealed, _ := cipher.Seal("crm_hook", crm.Credentials{Secret: "hook-secret"})
	if err := integrations.Create(context.Background(), crm.Record{HeronID: "crm_hook", Integration: raw, SealedCredentials: sealed, CreatedAt: time.Now(), UpdatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	doc := `{"id": "push-resume", "name": "Push on update", "automationTrigger": "LEAD_UPDATED",
	  "franchise": {"id": "` + sandbox.FranchiseMontreal + `"},
	  "nodes": [
	    {"id": "start", "type": "trigger", "data": {}, "position": {"x": 0, "y": 0}},
	    {"id": "push", "type": "push_to_crm", "data": {"label": "Push to the hook", "integrationId": "crm_hook"}, "position": {"x": 0, "y": 100}},
	    {"id": "pushed", "type": "end", "data": {"reason": "pushed"}, "position": {"x": 0, "y": 200}}],
	  "edges": [{"id": "e1", "source": "start", "target": "push"}, {"id": "e2", "source": "push", "target": "pushed"}]}`
	if err := os.WriteFile(filepath.Join(dir, "push.json"), []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	s := stack.Start(t, stack.Options{AutomationsDir: dir, Activities: func(a *activities.Activities) {
		p, err := push.New(push.Options{Store: integrations, Cipher: cipher, Writer: push.ConeCRMWriter{Client: a.ConeCRM}, Logger: zerolog.Nop()})
		if err != nil {
			t.Fatal(err)
		}
		a.CRM = p
	}})
	lead := map[string]any{
		"id": sandbox.LeadBob, "subject": "Used F-150 XLT, financing",
		"franchise": map[string]any{"id": sandbox.FranchiseMontreal},
		"contact":   map[string]any{"id": sandbox.ContactBob, "primaryEmail": "bob.nguyen@example.com"},
		"account":   map[string]any{"id": sandbox.AccountBob, "name": "Bob Nguyen"},
	}
	o := s.Enrol(map[string]any{"id": "evt-push-1", "type": "LEAD_UPDATED", "occurredAt": time.Now().UTC().Format(time.RFC3339), "lead": lead})
	if res := s.Result(o, 90*time.Second); res.Status != workflows.StatusCompleted {
		t.Fatalf("run: %+v", res)
	}
	ctx := context.Background()

	// Attempt 1: Account created (wh_1), Contact answered 503.
	// Attempt 2: Account updated by id, Contact created (wh_2).
	if st := hook.Stats(); st.Creates != 2 || st.Updates != 1 {
		t.Errorf("webhook creates %d updates %d, want 2 and 1", st.Creates, st.Updates)
	}
	if len(hook.Payloads) != 3 || hook.Payloads[1].Object != "Account" || hook.Payloads[1].ID != "wh_1" {
		t.Errorf("the retry did not update the Account by the heartbeated id: %+v", hook.Payloads)
	}
	acc, _ := s.Sandbox.Account(sandbox.AccountBob)
	got := map[string]string{}
	for _, id := range acc.ThirdPartyIDs {
		got[id.SystemName] = id.ThirdPartyID
	}
	if got[push.SystemName("webhook", "crm_hook", "Account")] != "wh_1" || got[push.SystemName("webhook", "crm_hook", "Contact")] != "wh_2" {
		t.Errorf("account thirdPartyIds %v, want both ids written back", got)
	}

	// The activity's options, as the dev server recorded them.
	it := s.Client.GetWorkflowHistory(ctx, o.WorkflowID, o.RunID, false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	found := false
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil && a.GetActivityType().GetName() == "PushToCRM" {
			found = true
			if hb := a.GetHeartbeatTimeout().AsDuration(); hb != activities.PushHeartbeatTimeout {
				t.Errorf("HeartbeatTimeout %v, want %v", hb, activities.PushHeartbeatTimeout)
			}
			if stc := a.GetStartToCloseTimeout().AsDuration(); stc != activities.PushStartToClose {
				t.Errorf("StartToCloseTimeout %v, want %v", stc, activities.PushStartToClose)
			}
		}
	}
	if !found {
		t.Error("no PushToCRM activity in the history")
	}
}
