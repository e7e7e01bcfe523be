package push_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/conecrm/automation-runtime/internal/crm"
	"github.com/conecrm/automation-runtime/internal/crm/push"
	"github.com/conecrm/automation-runtime/internal/devkit/crmfake"
	"github.com/conecrm/automation-runtime/internal/devkit/storetest"
	"github.com/conecrm/automation-runtime/internal/store"
	"github.com/conecrm/automation-runtime/internal/store/crmstore"
)

// sharedStore is one store as two worker processes see it: each opens
// its own handle on the same database.
type sharedStore interface {
	crm.Store
	crm.LinkStore
}

// sharedStores returns two handles on one fresh store per backend: the
// in-memory store (one object), a SQLite file opened twice and a
// PostgreSQL database opened twice.
func sharedStores() map[string]func(t *testing.T) (sharedStore, sharedStore) {
	openSQL := func(t *testing.T, url string) sharedStore {
		s, err := store.Open(context.Background(), store.Options{DatabaseURL: url})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return crmstore.New(s)
	}
	return map[string]func(t *testing.T) (sharedStore, sharedStore){
		"memory": func(t *testing.T) (sharedStore, sharedStore) {
			m := crm.NewMemoryStore()
			return m, m
		},
		"sqlite": func(t *testing.T) (sharedStore, sharedStore) {
			url := "sqlite:" + filepath.Join(t.TempDir(), "shared.db")
			return openSQL(t, url), openSQL(t, url)
		},
		"postgres": func(t *testing.T) (sharedStore, sharedStore) {
			url := storetest.PostgresURL(t)
			return openSQL(t, url), openSQL(t, url)
		},
	}
}

type refreshEnv struct {
	sf       *crmfake.Salesforce
	cipher   *crm.Cipher
	stores   [2]sharedStore
	pushers  [2]*push.Pusher
	channel  *channel
	integID  string
	initAuth map[string]any
}

// newRefreshEnv stores a Salesforce integration whose access token the
// fake refuses and whose refresh token it accepts, and builds one Pusher
// per store handle (two workers).
func newRefreshEnv(t *testing.T, open func(t *testing.T) (sharedStore, sharedStore), auth map[string]any) *refreshEnv {
	t.Helper()
	ctx := context.Background()
	e := &refreshEnv{sf: crmfake.NewSalesforce(), integID: "crm_refresh", channel: &channel{secret: []byte("notify-secret")}}
	e.sf.IssueToken("another-session", 0) // from now on unknown tokens are refused
	e.sf.AddRefreshToken("rt-integration")
	srv := httptest.NewServer(e.sf)
	t.Cleanup(srv.Close)
	chSrv := httptest.NewServer(e.channel)
	t.Cleanup(chSrv.Close)
	e.cipher, _ = crm.NewCipher(make([]byte, 32))
	e.stores[0], e.stores[1] = open(t)
	in := salesforceIntegration(t, srv.URL)
	url := chSrv.URL + "/alerts"
	in.FailureNotificationChannel = &url
	raw, _ := json.Marshal(in)
	e.initAuth = auth
	sealed, _ := e.cipher.Seal(e.integID, crm.Credentials{Secret: "expired-token", Auth: auth})
	if err := e.stores[0].Create(ctx, crm.Record{HeronID: e.integID, Integration: raw, SealedCredentials: sealed, CreatedAt: time.Now(), UpdatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	for i, s := range e.stores {
		p, err := push.New(push.Options{Store: s, Cipher: e.cipher, Notifier: &crm.Notifier{Secret: e.channel.secret, Backoff: time.Millisecond}})
		if err != nil {
			t.Fatal(err)
		}
		e.pushers[i] = p
	}
	return e
}

func (e *refreshEnv) lead(i int, franchise string) map[string]any {
	r := leadRecord()
	acc := r["account"].(map[string]any)
	acc["id"], acc["name"] = fmt.Sprintf("acc-%d", i), fmt.Sprintf("Garage %d", i)
	if franchise != "" {
		r["franchise"] = map[string]any{"id": franchise}
	}
	return r
}

// pushAll runs n pushes at once, alternating between the two workers,
// and returns their errors.
func (e *refreshEnv) pushAll(n int, franchise string) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = e.pushers[i%2].Push(context.Background(), push.Request{IntegrationID: e.integID, Record: e.lead(i, franchise), Today: "2026-11-29"})
		}()
	}
	wg.Wait()
	return errs
}

// TestRefreshSingleFlightAcrossWorkers: many pushes from two workers hit
// the expired token at once; the token endpoint is called once, the new
// token is stored sealed, and every push goes through.
func TestRefreshSingleFlightAcrossWorkers(t *testing.T) {
	for name, open := range sharedStores() {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			e := newRefreshEnv(t, open, map[string]any{"refresh_token": "rt-integration", "client_id": "cid", "client_secret": "csecret"})
			for i, err := range e.pushAll(12, "") {
				if err != nil {
					t.Fatalf("push %d: %v", i, err)
				}
			}
			if n := e.sf.Refreshes(); n != 1 {
				t.Fatalf("%d token refreshes for 12 concurrent pushes from 2 workers, want 1", n)
			}
			if n := len(e.sf.Records("Account")); n != 12 {
				t.Fatalf("%d accounts, want 12", n)
			}
			rec, _ := e.stores[1].Get(ctx, e.integID)
			creds, err := e.cipher.Open(e.integID, rec.SealedCredentials)
			if err != nil || !strings.HasPrefix(creds.Secret, "00Dfake!refreshed.") || creds.AuthString("refresh_token") != "rt-integration" || creds.AuthString("client_secret") != "csecret" {
				t.Fatalf("stored credentials after the refresh: secret refreshed=%v, auth kept=%v, %v", strings.HasPrefix(creds.Secret, "00Dfake!refreshed."), creds.AuthString("client_secret") == "csecret", err)
			}
			// The stored token is used from then on: no further refresh.
			for _, err := range e.pushAll(4, "") {
				if err != nil {
					t.Fatal(err)
				}
			}
			if n := e.sf.Refreshes(); n != 1 {
				t.Fatalf("%d refreshes after the token was stored", n)
			}
			noViolations(t, e.sf)
		})
	}
}

// TestRefreshThroughLink: a franchise's link refreshes with its own
// refresh token (the integration's client id) and keeps the new token on
// the link; a refused refresh token marks the link login-required.
func TestRefreshThroughLink(t *testing.T) {
	for name, open := range sharedStores() {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			e := newRefreshEnv(t, open, map[string]any{"refresh_token": "rt-integration", "client_id": "cid"})
			e.sf.AddRefreshToken("rt-montreal")
			sealed, _ := e.cipher.Seal(crm.LinkSealID(e.integID, "fr-mtl"), crm.Credentials{Secret: "montreal-expired", Auth: map[string]any{"refresh_token": "rt-montreal"}})
			l, _, err := e.stores[0].PutLink(ctx, crm.Link{IntegrationID: e.integID, ItemID: "item-mtl", EndUserID: "fr-mtl", EndUserName: "Montréal", Type: "salesforce", SealedCredentials: sealed, LastUpdated: time.Now()})
			if err != nil {
				t.Fatal(err)
			}
			for i, err := range e.pushAll(8, "fr-mtl") {
				if err != nil {
					t.Fatalf("push %d: %v", i, err)
				}
			}
			if n := e.sf.Refreshes(); n != 1 {
				t.Fatalf("%d refreshes, want 1", n)
			}
			got, _ := e.stores[1].LinkFor(ctx, e.integID, "fr-mtl")
			own, err := e.cipher.Open(crm.LinkSealID(e.integID, "fr-mtl"), got.SealedCredentials)
			if err != nil || !strings.HasPrefix(own.Secret, "00Dfake!refreshed.") || own.AuthString("refresh_token") != "rt-montreal" || own.AuthString("client_id") != "" {
				t.Fatalf("link credentials after refresh: refreshed=%v err=%v", strings.HasPrefix(own.Secret, "00Dfake!refreshed."), err)
			}
			if got.Version != l.Version+1 || got.Status != crm.LinkActive || got.LastSuccessfulSync == nil {
				t.Fatalf("link after refresh: %+v", got)
			}
			rec, _ := e.stores[0].Get(ctx, e.integID)
			if base, _ := e.cipher.Open(e.integID, rec.SealedCredentials); base.Secret != "expired-token" {
				t.Fatal("a link's refresh changed the integration's own token")
			}

			// The franchise revokes the app: the session and the refresh
			// token stop working. The link needs a login, notified once.
			e.sf.RevokeToken(own.Secret)
			e.sf.RevokeRefreshToken("rt-montreal")
			errs := e.pushAll(4, "fr-mtl")
			for i, err := range errs {
				if err == nil || crm.IsRetryable(err) {
					t.Fatalf("push %d with a revoked refresh token: %v", i, err)
				}
			}
			got, _ = e.stores[1].LinkFor(ctx, e.integID, "fr-mtl")
			if got.Status != crm.LinkLoginRequired || !strings.Contains(got.StatusMessage, "invalid_grant") {
				t.Fatalf("after invalid_grant: %+v", got)
			}
			if ns := e.channel.notifications(); len(ns) != 1 || ns[0].Status != crm.LinkLoginRequired {
				t.Fatalf("notifications: %+v", ns)
			}
			noViolations(t, e.sf)
		})
	}
}

// A token whose recorded expiry has passed is refreshed before the push
// sends it; a push whose integration has no refresh token reports the 401.
func TestRefreshCases(t *testing.T) {
	open := sharedStores()["memory"]
	t.Run("expired by its recorded expiry", func(t *testing.T) {
		e := newRefreshEnv(t, open, map[string]any{"refresh_token": "rt-integration", "client_id": "cid", "expires_at": float64(time.Now().Add(-time.Hour).UnixMilli())})
		e.sf.IssueToken("expired-token", 0) // the vendor would still take it
		if _, err := e.pushers[0].Push(context.Background(), push.Request{IntegrationID: e.integID, Record: e.lead(1, ""), Today: "2026-11-29"}); err != nil {
			t.Fatal(err)
		}
		if n := e.sf.Refreshes(); n != 1 {
			t.Fatalf("%d refreshes", n)
		}
		for _, r := range e.sf.Requests()[1:] {
			if strings.Contains(r, "oauth2") {
				t.Fatalf("refresh was not the first request: %v", e.sf.Requests())
			}
		}
	})
	t.Run("no refresh token", func(t *testing.T) {
		e := newRefreshEnv(t, open, map[string]any{})
		_, err := e.pushers[0].Push(context.Background(), push.Request{IntegrationID: e.integID, Record: e.lead(1, ""), Today: "2026-11-29"})
		if !crm.IsAuthFailure(err) || e.sf.Refreshes() != 0 {
			t.Fatalf("err %v, refreshes %d", err, e.sf.Refreshes())
		}
	})
	t.Run("refused refresh token", func(t *testing.T) {
		e := newRefreshEnv(t, open, map[string]any{"refresh_token": "rt-unknown", "client_id": "cid"})
		_, err := e.pushers[0].Push(context.Background(), push.Request{IntegrationID: e.integID, Record: e.lead(1, ""), Today: "2026-11-29"})
		if !crm.IsAuthFailure(err) || crm.IsRetryable(err) || !strings.Contains(err.Error(), "invalid_grant") {
			t.Fatalf("err %v", err)
		}
	})
}
