package push_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/conecrm/automation-runtime/internal/conecrm"
	"github.com/conecrm/automation-runtime/internal/crm"
	"github.com/conecrm/automation-runtime/internal/crm/push"
	"github.com/conecrm/automation-runtime/internal/devkit/crmfake"
	"github.com/conecrm/automation-runtime/internal/devkit/sandbox"
)

// TestConcurrentPushesKeepBothIDs: two pushes through two integrations for
// one account run at once on two "workers" (pushers with their own ConeCRM
// clients) against the sandbox, whose account calls are slowed so both
// read the account's thirdPartyIds before either writes. Both ids end up
// on the account.
func TestConcurrentPushesKeepBothIDs(t *testing.T) {
	sb := sandbox.New("jwt", sandbox.WithFaults(sandbox.FaultConfig{Seed: 5, Faults: []sandbox.Fault{
		{Route: "PATCH /api/account/{account}", Kind: sandbox.FaultLatency, Latency: sandbox.Duration(100 * time.Millisecond)},
	}}))
	sbSrv := httptest.NewServer(sb)
	defer sbSrv.Close()
	hook := crmfake.NewWebhook("k")
	hookSrv := httptest.NewServer(hook)
	defer hookSrv.Close()

	cipher, err := crm.NewCipher(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	store := crm.NewMemoryStore()
	for _, id := range []string{"crm_a", "crm_b"} {
		integ := crm.Integration{Provider: crm.ProviderWebhook, InstanceURL: hookSrv.URL + "/" + id, IsEnabled: true, IsLive: true, Config: crm.Config{
			ObjectConfigs: []crm.ObjectConfig{{Key: "Account", ExternalName: "account", FieldMappings: []crm.FieldMapping{
				{FieldName: "name", SourceAttribute: "account.name", ExternalLookupFieldName: "name"}}}},
		}}
		if err := crm.Validate(&integ); err != nil {
			t.Fatal(err)
		}
		raw, _ := json.Marshal(integ)
		sealed, _ := cipher.Seal(id, crm.Credentials{Secret: "k"})
		if err := store.Create(context.Background(), crm.Record{HeronID: id, Integration: raw, SealedCredentials: sealed, UpdatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	record := func(integration string) map[string]any {
		return map[string]any{"id": sandbox.LeadAlice, "account": map[string]any{"id": sandbox.AccountAlice, "name": "Alice Tremblay " + integration}}
	}

	var wg sync.WaitGroup
	errs := make([]error, 2)
	start := make(chan struct{})
	for i, id := range []string{"crm_a", "crm_b"} {
		cone := conecrm.New(conecrm.Config{BaseURL: sbSrv.URL, Token: "jwt", WriteBackWindow: time.Second}, &http.Client{Timeout: 5 * time.Second})
		p, err := push.New(push.Options{Store: store, Cipher: cipher, Writer: push.ConeCRMWriter{Client: cone}})
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			res, err := p.Push(context.Background(), push.Request{IntegrationID: id, Record: record(id)})
			if err == nil && !res.WrittenBack {
				err = fmt.Errorf("nothing written back: %+v", res)
			}
			errs[i] = err
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("push %d: %v", i, err)
		}
	}
	acc, _ := sb.Account(sandbox.AccountAlice)
	got := map[string]string{}
	for _, id := range acc.ThirdPartyIDs {
		got[id.SystemName] = id.ThirdPartyID
	}
	if got[push.SystemName("webhook", "crm_a", "Account")] == "" || got[push.SystemName("webhook", "crm_b", "Account")] == "" || got["DMS"] != "CUST-100231" {
		t.Fatalf("account thirdPartyIds %v: an id was lost", got)
	}
}
