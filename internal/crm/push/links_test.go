package push_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/conecrm/automation-runtime/internal/crm"
	"github.com/conecrm/automation-runtime/internal/crm/push"
	"github.com/conecrm/automation-runtime/internal/devkit/crmfake"
	"github.com/conecrm/automation-runtime/internal/ingest"
)

// channel records signed notifications, checking each signature with the
// verifier POST /events uses.
type channel struct {
	mu     sync.Mutex
	secret []byte
	got    []crm.LinkNotification
	bad    []string
}

func (c *channel) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := ingest.Verify(c.secret, r.Header.Get(ingest.HeaderTimestamp), r.Header.Get(ingest.HeaderSignature), body, time.Now()); err != nil {
		c.bad = append(c.bad, err.Error())
	}
	var n crm.LinkNotification
	if err := json.Unmarshal(body, &n); err != nil {
		c.bad = append(c.bad, err.Error())
	}
	c.got = append(c.got, n)
	w.WriteHeader(http.StatusNoContent)
}

func (c *channel) notifications() []crm.LinkNotification {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]crm.LinkNotification(nil), c.got...)
}

// A push goes through the link of the lead's franchise with the link's
// token; a refused token marks the link login-required (one signed
// notification), later pushes fail at once without calling Salesforce, and
// updating the link restores it.
func TestPushThroughLinkStatus(t *testing.T) {
	ctx := context.Background()
	sf := crmfake.NewSalesforce()
	sf.IssueToken("integration-token", 0)
	sf.IssueToken("montreal-token", 0)
	srv := httptest.NewServer(sf)
	defer srv.Close()
	ch := &channel{secret: []byte("notify-secret")}
	chSrv := httptest.NewServer(ch)
	defer chSrv.Close()

	cipher, _ := crm.NewCipher(make([]byte, 32))
	store := crm.NewMemoryStore()
	var in crm.IntegrationInput
	if err := crm.DecodeInput(mustRead(t, "../testdata/seed001.json"), &in); err != nil {
		t.Fatal(err)
	}
	in.InstanceURL = srv.URL
	url := chSrv.URL + "/crm-alerts"
	in.FailureNotificationChannel = &url
	if err := crm.Validate(&in.Integration); err != nil {
		t.Fatal(err)
	}
	sealed, _ := cipher.Seal("crm_seed", crm.Credentials{Secret: "integration-token"})
	raw, _ := json.Marshal(in.Integration)
	if err := store.Create(ctx, crm.Record{HeronID: "crm_seed", Integration: raw, SealedCredentials: sealed, UpdatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	putLink := func(token string) crm.Link {
		t.Helper()
		s, _ := cipher.Seal(crm.LinkSealID("crm_seed", "fr-montreal"), crm.Credentials{Secret: token})
		l, _, err := store.PutLink(ctx, crm.Link{IntegrationID: "crm_seed", ItemID: "item-mtl", EndUserID: "fr-montreal", EndUserName: "Montréal", Type: "salesforce", SealedCredentials: s, LastUpdated: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	putLink("montreal-token")
	p, err := push.New(push.Options{Store: store, Cipher: cipher, Notifier: &crm.Notifier{Secret: ch.secret, Backoff: time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	lead := func(franchise string) map[string]any {
		r := leadRecord()
		r["franchise"] = map[string]any{"id": franchise}
		return r
	}

	// Active: the push creates the account with the link's token.
	res, err := p.Push(ctx, push.Request{IntegrationID: "crm_seed", Record: lead("fr-montreal"), Today: "2026-11-29"})
	if err != nil {
		t.Fatal(err)
	}
	if accs := sf.Records("Account"); len(accs) != 1 || accs[0]["Name"] != `O'Brien \ Sons "Autos"` || accs[0]["Type"] != "Customer - Direct" || accs[0]["BillingState"] != "QC" || res.PrimaryID == "" {
		t.Fatalf("accounts %+v, result %+v", accs, res)
	}
	l, _ := store.LinkFor(ctx, "crm_seed", "fr-montreal")
	if l.Status != crm.LinkActive || l.LastSuccessfulSync == nil {
		t.Fatalf("after success: %+v", l)
	}
	firstSync := *l.LastSuccessfulSync

	// A franchise without a link uses the integration's secret.
	if _, err := p.Push(ctx, push.Request{IntegrationID: "crm_seed", Record: lead("fr-quebec"), Today: "2026-11-29"}); err != nil {
		t.Fatalf("franchise without a link: %v", err)
	}

	// The franchise's session ends: login required, notified once.
	sf.RevokeToken("montreal-token")
	_, err = p.Push(ctx, push.Request{IntegrationID: "crm_seed", Record: lead("fr-montreal"), Today: "2026-11-29"})
	if !crm.IsAuthFailure(err) || crm.IsRetryable(err) {
		t.Fatalf("revoked token: %v", err)
	}
	l, _ = store.LinkFor(ctx, "crm_seed", "fr-montreal")
	if l.Status != crm.LinkLoginRequired || !strings.HasPrefix(l.StatusMessage, "[ITEM_LOGIN_REQUIRED] ") || !strings.Contains(l.StatusMessage, "INVALID_SESSION_ID") || !l.LastSuccessfulSync.Equal(firstSync) {
		t.Fatalf("after 401: %+v", l)
	}
	requests := len(sf.Requests())
	_, err = p.Push(ctx, push.Request{IntegrationID: "crm_seed", Record: lead("fr-montreal"), Today: "2026-11-29"})
	if err == nil || crm.IsRetryable(err) || !strings.Contains(err.Error(), l.StatusMessage) {
		t.Fatalf("push through a login-required link: %v", err)
	}
	if n := len(sf.Requests()); n != requests {
		t.Fatalf("a push through a login-required link called Salesforce (%d requests)", n-requests)
	}

	// Rate limits and 5xx leave the status alone.
	putLink("montreal-token-2")
	sf.IssueToken("montreal-token-2", 0)
	sf.InjectFault(crmfake.SalesforceLimit())
	if _, err := p.Push(ctx, push.Request{IntegrationID: "crm_seed", Record: lead("fr-montreal"), Today: "2026-11-29"}); !crm.IsRetryable(err) {
		t.Fatalf("rate limit: %v", err)
	}
	sf.InjectFault(crmfake.Fault{Status: 503, Body: `[{"message":"down","errorCode":"SERVER_UNAVAILABLE"}]`, Times: 3})
	if _, err := p.Push(ctx, push.Request{IntegrationID: "crm_seed", Record: lead("fr-montreal"), Today: "2026-11-29"}); !crm.IsRetryable(err) {
		t.Fatalf("503: %v", err)
	}
	if l, _ = store.LinkFor(ctx, "crm_seed", "fr-montreal"); l.Status != crm.LinkActive {
		t.Fatalf("after 403 limit and 503: %+v", l)
	}
	if _, err := p.Push(ctx, push.Request{IntegrationID: "crm_seed", Record: lead("fr-montreal"), Today: "2026-11-29"}); err != nil {
		t.Fatalf("after the link was updated: %v", err)
	}
	if l, _ = store.LinkFor(ctx, "crm_seed", "fr-montreal"); !l.LastSuccessfulSync.After(firstSync) && !l.LastSuccessfulSync.Equal(firstSync) {
		t.Fatalf("last_successful_sync not moved: %+v", l)
	}

	ns := ch.notifications()
	if len(ns) != 1 || ns[0].Status != crm.LinkLoginRequired || ns[0].PreviousStatus != crm.LinkActive || ns[0].ItemID != "item-mtl" || ns[0].EndUserID != "fr-montreal" || ns[0].IntegrationID != "crm_seed" {
		t.Fatalf("notifications %+v", ns)
	}
	if len(ch.bad) > 0 {
		t.Fatalf("badly signed notifications: %v", ch.bad)
	}
	noViolations(t, sf)
}
