package push_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/conecrm/automation-runtime/internal/crm"
	"github.com/conecrm/automation-runtime/internal/crm/push"
	"github.com/conecrm/automation-runtime/internal/devkit/crmfake"
)

// contactOnly pushes a HubSpot contact without lookup: one request a push.
func contactOnly(url string) crm.Integration {
	return crm.Integration{
		Provider: "hubspot", InstanceURL: url, IsEnabled: true, IsLive: true,
		Config: crm.Config{ObjectConfigs: []crm.ObjectConfig{
			{Key: "Contact", ExternalName: "contacts", FieldMappings: []crm.FieldMapping{
				{FieldName: "email", SourceAttribute: "contact.primaryEmail", Required: true},
				{FieldName: "lastname", SourceAttribute: "contact.lastName"},
			}},
		}},
	}
}

// burst runs n pushes through the pushers, workers goroutines each (the
// activity slots of a worker), and returns the failures.
func burst(pushers []*push.Pusher, integrationID string, n, workers int) []error {
	jobs := make(chan int)
	var mu sync.Mutex
	var failed []error
	var wg sync.WaitGroup
	for _, p := range pushers {
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range jobs {
					rec := leadRecord()
					rec["contact"].(map[string]any)["primaryEmail"] = fmt.Sprintf("lead%d@example.com", i)
					if _, err := p.Push(context.Background(), push.Request{IntegrationID: integrationID, Record: rec}); err != nil {
						mu.Lock()
						failed = append(failed, err)
						mu.Unlock()
					}
				}
			}()
		}
	}
	for i := range n {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	return failed
}

// TestSharedRateLimitAcrossWorkers: two workers (two Pushers, each with
// its own handle on one store) push 500 records as fast as they can into
// a HubSpot that refuses more than 50 requests in 500 ms. The shared
// request log keeps them under it: no 429, no failed push.
func TestSharedRateLimitAcrossWorkers(t *testing.T) {
	dir := filepath.Join(specDir(t), "hubspot")
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			hs, err := crmfake.NewHubSpot(dir)
			if err != nil {
				t.Fatal(err)
			}
			hs.SetRateLimit(50, 500*time.Millisecond)
			srv := httptest.NewServer(hs)
			defer srv.Close()
			a, b := sharedStores()[backend](t)
			cipher, _ := crm.NewCipher(make([]byte, 32))
			raw, _ := json.Marshal(contactOnly(srv.URL))
			sealed, _ := cipher.Seal("crm_hs", crm.Credentials{Secret: "pat-na1-x"})
			if err := a.Create(ctx, crm.Record{HeronID: "crm_hs", Integration: raw, SealedCredentials: sealed, CreatedAt: time.Now(), UpdatedAt: time.Now()}); err != nil {
				t.Fatal(err)
			}
			// The vendor's 50 per 500 ms, counted over 1 s: network delays
			// cannot bunch requests the limiter spaced.
			rules := map[string][]crm.RateRule{"hubspot": {{Name: "burst", Max: 50, Window: time.Second}}}
			var pushers []*push.Pusher
			for _, s := range []sharedStore{a, b} {
				p, err := push.New(push.Options{Store: s, Cipher: cipher, RateRules: rules})
				if err != nil {
					t.Fatal(err)
				}
				pushers = append(pushers, p)
			}
			if failed := burst(pushers, "crm_hs", 500, 8); len(failed) > 0 {
				t.Fatalf("%d of 500 pushes failed, first: %v", len(failed), failed[0])
			}
			st := hs.Stats()
			if st.RateLimited != 0 || st.Creates != 500 {
				t.Fatalf("fake HubSpot: %d requests refused with 429, %d contacts created (want 0 and 500); at most %d requests in one window", st.RateLimited, st.Creates, st.MaxInWindow)
			}
			noViolations(t, hs)
		})
	}
}

// The fake does enforce its limit: the same burst without shared rules
// meets 429s (a control for the test above).
func TestRateLimitControl(t *testing.T) {
	hs, err := crmfake.NewHubSpot(filepath.Join(specDir(t), "hubspot"))
	if err != nil {
		t.Fatal(err)
	}
	hs.SetRateLimit(5, 10*time.Minute)
	srv := httptest.NewServer(hs)
	defer srv.Close()
	p := newPusherWith(t, contactOnly(srv.URL), crm.Credentials{Secret: "pat-na1-x"}, push.Options{RateRules: map[string][]crm.RateRule{}})
	failed := burst([]*push.Pusher{p}, "crm_test", 10, 2)
	if len(failed) != 5 || hs.Stats().RateLimited != 5 {
		t.Fatalf("%d failed pushes, %d 429s; want 5 and 5", len(failed), hs.Stats().RateLimited)
	}
	for _, err := range failed {
		if e, ok := crm.AsError(err); !ok || !e.Retryable || e.StatusCode != 429 {
			t.Fatalf("failure %v", err)
		}
	}
}

// The limits a vendor states in its answers are kept from then on: a
// Salesforce org with an allocation of 5 requests (Sforce-Limit-Info) and
// a HubSpot portal allowing 5 requests in 10 minutes
// (X-HubSpot-RateLimit-*) never see a sixth; the push that would send it
// fails retryably, with the wait as retry delay, without sending it.
func TestVendorStatedLimits(t *testing.T) {
	retryLater := func(t *testing.T, err error) {
		t.Helper()
		if e, ok := crm.AsError(err); !ok || !e.Retryable || e.RetryAfter < 9*time.Minute {
			t.Fatalf("push past the stated limit: %v", err)
		}
	}
	t.Run("salesforce daily allocation", func(t *testing.T) {
		sf := crmfake.NewSalesforce()
		sf.DailyLimit = 5
		srv := httptest.NewServer(sf)
		defer srv.Close()
		p := newPusher(t, salesforceIntegration(t, srv.URL), crm.Credentials{Secret: "token"}, nil)
		if _, err := p.Push(context.Background(), push.Request{IntegrationID: "crm_test", Record: leadRecord(), Today: "2026-11-29"}); err != nil {
			t.Fatal(err)
		}
		rec := leadRecord()
		rec["account"].(map[string]any)["name"] = "Another Garage"
		_, err := p.Push(context.Background(), push.Request{IntegrationID: "crm_test", Record: rec, Today: "2026-11-29"})
		retryLater(t, err)
		if st := sf.Stats(); st.Requests != 5 || st.RateLimited != 0 {
			t.Fatalf("Salesforce saw %d requests, %d over its allocation; want 5 and 0", st.Requests, st.RateLimited)
		}
	})
	t.Run("hubspot interval", func(t *testing.T) {
		hs, err := crmfake.NewHubSpot(filepath.Join(specDir(t), "hubspot"))
		if err != nil {
			t.Fatal(err)
		}
		hs.SetRateLimit(5, 10*time.Minute)
		srv := httptest.NewServer(hs)
		defer srv.Close()
		p := newPusher(t, contactOnly(srv.URL), crm.Credentials{Secret: "pat-na1-x"}, nil)
		for i := range 6 {
			rec := leadRecord()
			rec["contact"].(map[string]any)["primaryEmail"] = fmt.Sprintf("lead%d@example.com", i)
			_, err := p.Push(context.Background(), push.Request{IntegrationID: "crm_test", Record: rec})
			if i < 5 && err != nil {
				t.Fatalf("push %d: %v", i, err)
			}
			if i == 5 {
				retryLater(t, err)
			}
		}
		if st := hs.Stats(); st.Requests != 5 || st.RateLimited != 0 {
			t.Fatalf("HubSpot saw %d requests, %d refused; want 5 and 0", st.Requests, st.RateLimited)
		}
		noViolations(t, hs)
	})
}
