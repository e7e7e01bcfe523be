package push_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/conecrm/automation-runtime/internal/crm"
	"github.com/conecrm/automation-runtime/internal/crm/push"
	"github.com/conecrm/automation-runtime/internal/devkit/crmfake"
)

type violator interface{ Violations() []string }

func specDir(t *testing.T) string {
	t.Helper()
	dir, ok := crmfake.SpecDir()
	if !ok {
		t.Skip("vendor OpenAPI documents not found at ../shared/specs from the repository root; skipping spec-validated push tests")
	}
	return dir
}

func noViolations(t *testing.T, v violator) {
	t.Helper()
	for _, p := range v.Violations() {
		t.Errorf("request violates the vendor contract: %s", p)
	}
}

// recorder is a ThirdPartyIDWriter that merges ids like ConeCRM would.
type recorder struct {
	mu    sync.Mutex
	calls int
	ids   map[string]push.ThirdPartyID
}

func (r *recorder) WriteThirdPartyIDs(_ context.Context, accountID string, ids []push.ThirdPartyID) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if r.ids == nil {
		r.ids = map[string]push.ThirdPartyID{}
	}
	for _, id := range ids {
		r.ids[id.SystemName] = id
	}
	return nil
}

// apply puts the written ids on the record's account, as ConeCRM would
// return them on the next event.
func (r *recorder) apply(rec map[string]any) {
	var list []any
	for _, id := range r.ids {
		list = append(list, map[string]any{"systemName": id.SystemName, "thirdPartyId": id.ThirdPartyID})
	}
	rec["account"].(map[string]any)["thirdPartyIds"] = list
}

func newPusher(t *testing.T, integ crm.Integration, creds crm.Credentials, w push.ThirdPartyIDWriter) *push.Pusher {
	t.Helper()
	return newPusherWith(t, integ, creds, push.Options{Writer: w})
}

// newPusherWith stores integ as crm_test in a memory store and builds a
// Pusher over it with opts.
func newPusherWith(t *testing.T, integ crm.Integration, creds crm.Credentials, opts push.Options) *push.Pusher {
	t.Helper()
	cipher, err := crm.NewCipher(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	if err := crm.Validate(&integ); err != nil {
		t.Fatal(err)
	}
	store := crm.NewMemoryStore()
	sealed, _ := cipher.Seal("crm_test", creds)
	raw, _ := json.Marshal(integ)
	if err := store.Create(context.Background(), crm.Record{HeronID: "crm_test", Integration: raw, SealedCredentials: sealed, UpdatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	opts.Store, opts.Cipher = store, cipher
	p, err := push.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func leadRecord() map[string]any {
	return map[string]any{
		"id":      "lead-7",
		"subject": "2024 Civic Touring",
		"price":   "31499",
		"contact": map[string]any{"firstName": "Seán", "lastName": "O'Brien", "primaryEmail": "sean@example.com", "mobilePhone": "+1 (514) 555-0199"},
		"account": map[string]any{"id": "acc-7", "name": `O'Brien \ Sons "Autos"`, "province": "Quebec", "workPhone": "514-555-0100"},
	}
}

func salesforceIntegration(t *testing.T, url string) crm.Integration {
	var in crm.IntegrationInput
	data := mustRead(t, "../testdata/salesforce.json")
	if err := crm.DecodeInput(data, &in); err != nil {
		t.Fatal(err)
	}
	in.InstanceURL = url
	return in.Integration
}

func TestSalesforceChainCreatesOnceThenUpdates(t *testing.T) {
	sf := crmfake.NewSalesforce()
	srv := httptest.NewServer(sf)
	defer srv.Close()
	w := &recorder{}
	p := newPusher(t, salesforceIntegration(t, srv.URL), crm.Credentials{Secret: "token"}, w)

	rec := leadRecord()
	res, err := p.Push(context.Background(), push.Request{IntegrationID: "crm_test", Record: rec, Today: "2025-06-30", IdempotencyKey: "wf/node"})
	if err != nil {
		t.Fatal(err)
	}
	if st := sf.Stats(); st.Creates != 3 || st.Updates != 0 {
		t.Fatalf("first push: %+v", st)
	}
	if len(res.Objects) != 3 || !res.Objects[0].Created || res.PrimaryID != res.Objects[0].ID || !res.WrittenBack || len(w.ids) != 3 {
		t.Fatalf("first push result: %+v", res)
	}
	contact := sf.Records("Contact")[0]
	opp := sf.Records("Opportunity")[0]
	if contact["AccountId"] != res.Objects[0].ID || opp["AccountId"] != res.Objects[0].ID || opp["CloseDate"] != "2025-06-30" || opp["LeadSource"] != "ConeCRM" {
		t.Fatalf("chained ids or fields wrong: contact %v opp %v", contact, opp)
	}
	// One lookup per object without id, then one composite for the chain.
	if reqs := sf.Requests(); len(reqs) != 4 || !strings.HasSuffix(reqs[3], "/composite") {
		t.Fatalf("requests: %v", reqs)
	}

	// Second push: the ids came back on the account's thirdPartyIds.
	w.apply(rec)
	sf.Seed("Opportunity", nil) // unrelated record, must stay untouched
	opp["StageName"] = "Closed Won"
	res2, err := p.Push(context.Background(), push.Request{IntegrationID: "crm_test", Record: rec, Today: "2025-07-01"})
	if err != nil {
		t.Fatal(err)
	}
	if st := sf.Stats(); st.Creates != 3 || st.Updates != 3 {
		t.Fatalf("second push: %+v", st)
	}
	for i, o := range res2.Objects {
		if o.ID != res.Objects[i].ID || o.Created {
			t.Fatalf("second push object %d: %+v", i, o)
		}
	}
	if opp := sf.Records("Opportunity")[0]; opp["StageName"] != "Closed Won" || opp["CloseDate"] != "2025-06-30" {
		t.Fatalf("overwrite_on_update false fields were overwritten: %v", opp)
	}
	if res2.WrittenBack || w.calls != 1 {
		t.Fatalf("unchanged ids written back again (calls %d)", w.calls)
	}
	noViolations(t, sf)
}

func TestSalesforceLookupFindsExistingWithoutIDs(t *testing.T) {
	sf := crmfake.NewSalesforce()
	srv := httptest.NewServer(sf)
	defer srv.Close()
	// Two accounts with the same (hard-to-escape) name: ASC picks the oldest.
	old := sf.Seed("Account", map[string]any{"Name": `O'Brien \ Sons "Autos"`})
	sf.Seed("Account", map[string]any{"Name": `O'Brien \ Sons "Autos"`})
	p := newPusher(t, salesforceIntegration(t, srv.URL), crm.Credentials{Secret: "token"}, nil)
	res, err := p.Push(context.Background(), push.Request{IntegrationID: "crm_test", Record: leadRecord(), Today: "2025-06-30", Objects: []string{"Account", "Contact"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Objects[0].ID != old || res.Objects[0].Created {
		t.Fatalf("lookup did not pick the oldest account: %+v (want %s)", res.Objects[0], old)
	}
	noViolations(t, sf)
}

func TestSalesforceFaults(t *testing.T) {
	cases := []struct {
		name      string
		setup     func(sf *crmfake.Salesforce)
		retryable bool
		errPart   string
		check     func(t *testing.T, sf *crmfake.Salesforce, res push.Result)
	}{
		{name: "403 request limit", setup: func(sf *crmfake.Salesforce) { sf.InjectFault(crmfake.SalesforceLimit()) }, retryable: true, errPart: "REQUEST_LIMIT_EXCEEDED"},
		{name: "500", setup: func(sf *crmfake.Salesforce) {
			sf.InjectFault(crmfake.Fault{PathContains: "/composite", Status: 500, Body: `[{"message":"An unexpected error occurred.","errorCode":"UNKNOWN_EXCEPTION"}]`})
		}, retryable: true, errPart: "UNKNOWN_EXCEPTION"},
		{name: "401", setup: func(sf *crmfake.Salesforce) {
			sf.InjectFault(crmfake.Fault{Status: 401, Body: `[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]`})
		}, errPart: "refresh the integration's access token"},
		{name: "400 field error on a required object", setup: func(sf *crmfake.Salesforce) { sf.RequiredFields["Contact"] = []string{"Department"} },
			errPart: "REQUIRED_FIELD_MISSING: Required fields are missing: [Department] (fields: Department)"},
		{name: "400 on the optional object is recorded", setup: func(sf *crmfake.Salesforce) { sf.RequiredFields["Opportunity"] = []string{"Probability"} },
			check: func(t *testing.T, sf *crmfake.Salesforce, res push.Result) {
				if o := res.Objects[2]; o.ID != "" || !strings.Contains(o.Error, "Probability") || res.Objects[1].ID == "" {
					t.Fatalf("optional failure not recorded: %+v", res.Objects)
				}
			}},
		{name: "300 multiple matches settled by sort order", setup: func(sf *crmfake.Salesforce) {
			sf.Seed("Opportunity", map[string]any{"Name": "first", "ConeCRM_Lead__c": "lead-7"})
			sf.Seed("Opportunity", map[string]any{"Name": "second", "ConeCRM_Lead__c": "lead-7"})
		}, check: func(t *testing.T, sf *crmfake.Salesforce, res push.Result) {
			opps := sf.Records("Opportunity")
			if len(opps) != 2 || opps[0]["Name"] != "2024 Civic Touring" || opps[1]["Name"] != "second" || res.Objects[2].ID != opps[0]["Id"] {
				t.Fatalf("300 not settled on the oldest: %v %+v", opps, res.Objects[2])
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sf := crmfake.NewSalesforce()
			srv := httptest.NewServer(sf)
			defer srv.Close()
			integ := salesforceIntegration(t, srv.URL)
			if strings.HasPrefix(tc.name, "300") {
				// The lookup must not find them first: force the upsert path.
				integ.Config.ObjectConfigs[2].ExternalLookupConfig = &crm.LookupConfig{FieldsAnd: []string{"Amount"}}
			}
			tc.setup(sf)
			p := newPusher(t, integ, crm.Credentials{Secret: "token"}, nil)
			res, err := p.Push(context.Background(), push.Request{IntegrationID: "crm_test", Record: leadRecord(), Today: "2025-06-30"})
			if tc.errPart == "" {
				if err != nil {
					t.Fatal(err)
				}
			} else {
				e, ok := crm.AsError(err)
				if !ok || e.Retryable != tc.retryable || !strings.Contains(err.Error(), tc.errPart) {
					t.Fatalf("err = %v (retryable %v), want %q retryable=%v", err, ok && e.Retryable, tc.errPart, tc.retryable)
				}
				if strings.Contains(err.Error(), "sean@example.com") {
					t.Fatal("error message carries personal data")
				}
			}
			if tc.check != nil {
				tc.check(t, sf, res)
			}
			noViolations(t, sf)
		})
	}
}

func hubspotIntegration(url, basePath string) crm.Integration {
	return crm.Integration{
		Provider: "hubspot", InstanceURL: url, IsEnabled: true, IsLive: true,
		Config: crm.Config{
			APIBasePath: basePath,
			ObjectConfigs: []crm.ObjectConfig{
				{Key: "Contact", ExternalName: "contacts", FieldMappings: []crm.FieldMapping{
					{FieldName: "email", SourceAttribute: "contact.primaryEmail", ExternalLookupFieldName: "email", Required: true},
					{FieldName: "firstname", SourceAttribute: "contact.firstName"},
					{FieldName: "lastname", SourceAttribute: "contact.lastName"},
					{FieldName: "lifecyclestage", StaticValue: "lead", OverwriteOnUpdate: new(bool)},
				}},
				{Key: "Deal", ExternalName: "deals", IsOptional: true, FieldMappings: []crm.FieldMapping{
					{FieldName: "dealname", SourceAttribute: "subject", Required: true},
					{FieldName: "amount", SourceAttribute: "price", ValueType: "number"},
					{FieldName: "conecrm_lead_id", SourceAttribute: "id"},
					{FieldName: "conecrm_contact", ExternalObjectNameForID: "Contact"},
				}, ExternalLookupConfig: &crm.LookupConfig{FieldsAnd: []string{"conecrm_lead_id"}, SortOrder: "DESC"}},
			},
		},
	}
}

func TestHubSpotUpsertTwiceAndFaults(t *testing.T) {
	dir := filepath.Join(specDir(t), "hubspot")
	for _, basePath := range []string{"", "/crm/objects/2025-09"} {
		t.Run("base path "+basePath, func(t *testing.T) {
			hs, err := crmfake.NewHubSpot(dir)
			if err != nil {
				t.Fatal(err)
			}
			if basePath != "" {
				hs.BasePath = basePath
			}
			srv := httptest.NewServer(hs)
			defer srv.Close()
			p := newPusher(t, hubspotIntegration(srv.URL, basePath), crm.Credentials{Secret: "pat-na1-x"}, nil)
			req := push.Request{IntegrationID: "crm_test", Record: leadRecord(), IdempotencyKey: "wf-1/node-2"}
			res, err := p.Push(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if !res.Objects[0].Created || !res.Objects[1].Created {
				t.Fatalf("first push: %+v", res.Objects)
			}
			contacts := hs.Records("contacts")
			contacts[0]["lifecyclestage"] = "customer" // changed in HubSpot since
			res2, err := p.Push(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if st := hs.Stats(); st.Creates != 2 || st.Updates != 2 || res2.Objects[0].ID != res.Objects[0].ID || res2.Objects[0].Created {
				t.Fatalf("second push: %+v %+v", st, res2.Objects)
			}
			if hs.Records("contacts")[0]["lifecyclestage"] != "customer" || hs.Records("deals")[0]["conecrm_contact"] != res.Objects[0].ID {
				t.Fatalf("records: %v %v", hs.Records("contacts"), hs.Records("deals"))
			}
			noViolations(t, hs)

			hs.InjectFault(crmfake.HubSpotRateLimit("3"))
			_, err = p.Push(context.Background(), req)
			if e, ok := crm.AsError(err); !ok || !e.Retryable || e.RetryAfter != 3*time.Second || e.StatusCode != 429 {
				t.Fatalf("429: %v", err)
			}
			// A lone short rate limit is absorbed by the inline retry of an
			// idempotent request; one that persists reaches the activity.
			hs.InjectFault(crmfake.HubSpotRateLimit(""))
			before := hs.Stats().Requests
			if _, err = p.Push(context.Background(), req); err != nil {
				t.Fatalf("a lone 429 was not retried inline: %v", err)
			}
			if n := hs.Stats().Requests - before; n != 5 {
				t.Fatalf("a push absorbing one 429 made %d requests, want 5 (search, update, search, update, retry)", n)
			}
			limit := crmfake.HubSpotRateLimit("")
			limit.Times = 3
			hs.InjectFault(limit)
			_, err = p.Push(context.Background(), req)
			if e, ok := crm.AsError(err); !ok || !e.Retryable || e.RetryAfter != time.Second {
				t.Fatalf("429 without Retry-After: %v", err)
			}
			hs.RejectProperty = "firstname"
			_, err = p.Push(context.Background(), req)
			if e, ok := crm.AsError(err); !ok || e.Retryable || e.StatusCode != 207 || e.Field != "firstname" || e.Object != "Contact" {
				t.Fatalf("207: %#v", err)
			}
			hs.RejectProperty = "dealname" // the deal is optional: recorded, sync succeeds
			res3, err := p.Push(context.Background(), req)
			if err != nil || res3.Objects[1].Error == "" || res3.Objects[0].ID == "" {
				t.Fatalf("optional 207: %v %+v", err, res3.Objects)
			}
			noViolations(t, hs)
		})
	}
}

func TestOpenIntUpsertTwice(t *testing.T) {
	oi, err := crmfake.NewOpenInt(filepath.Join(specDir(t), "openint"))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(oi)
	defer srv.Close()
	integ := crm.Integration{Provider: "openint", InstanceURL: srv.URL + "/v0", IsEnabled: true, IsLive: true, Config: crm.Config{
		ObjectConfigs: []crm.ObjectConfig{
			{Key: "Account", ExternalName: "account", FieldMappings: []crm.FieldMapping{
				{FieldName: "name", SourceAttribute: "account.name"},
				{FieldName: "website", StaticValue: "https://obrien.example", ExternalLookupFieldName: "website"},
				{FieldName: "number_of_employees", StaticValue: "12", ValueType: "number"},
				{FieldName: "province", SourceAttribute: "account.province"},
			}},
			{Key: "Contact", ExternalName: "contact", FieldMappings: []crm.FieldMapping{
				{FieldName: "email", SourceAttribute: "contact.primaryEmail", ExternalLookupFieldName: "email"},
				{FieldName: "first_name", SourceAttribute: "contact.firstName"},
				{FieldName: "account_id", ExternalObjectNameForID: "Account"},
			}},
		},
	}}
	w := &recorder{}
	p := newPusher(t, integ, crm.Credentials{Secret: "key", Auth: map[string]any{"connection_id": "conn_1"}}, w)
	rec := leadRecord()
	res, err := p.Push(context.Background(), push.Request{IntegrationID: "crm_test", Record: rec})
	if err != nil {
		t.Fatal(err)
	}
	w.apply(rec)
	res2, err := p.Push(context.Background(), push.Request{IntegrationID: "crm_test", Record: rec})
	if err != nil {
		t.Fatal(err)
	}
	if st := oi.Stats(); st.Creates != 2 || st.Updates != 2 || res2.Objects[1].ID != res.Objects[1].ID {
		t.Fatalf("stats %+v, %+v vs %+v", st, res.Objects, res2.Objects)
	}
	if c := oi.Records("contact")[0]; c["passthrough_fields"].(map[string]any)["account_id"] != res.Objects[0].ID {
		t.Fatalf("passthrough: %v", c)
	}
	noViolations(t, oi)

	oi.InjectFault(crmfake.Fault{Status: 400, Body: `{"code":"BAD_REQUEST","message":"Invalid input data","issues":[{"message":"email is invalid"}]}`})
	_, err = p.Push(context.Background(), push.Request{IntegrationID: "crm_test", Record: leadRecord()})
	if e, ok := crm.AsError(err); !ok || e.Retryable || !strings.Contains(e.Message, "email is invalid") {
		t.Fatalf("400: %v", err)
	}
	oi.InjectFault(crmfake.Fault{Status: 500, Body: `{"code":"INTERNAL_SERVER_ERROR","message":"Internal server error"}`})
	if _, err = p.Push(context.Background(), push.Request{IntegrationID: "crm_test", Record: leadRecord()}); err != nil {
		t.Fatalf("a lone 500 on an upsert was not retried inline: %v", err)
	}
	oi.InjectFault(crmfake.Fault{Status: 500, Body: `{"code":"INTERNAL_SERVER_ERROR","message":"Internal server error"}`, Times: 3})
	_, err = p.Push(context.Background(), push.Request{IntegrationID: "crm_test", Record: leadRecord()})
	if !crm.IsRetryable(err) {
		t.Fatalf("500: %v", err)
	}
}

func TestWebhookSignedAndChained(t *testing.T) {
	wh := crmfake.NewWebhook("shh")
	srv := httptest.NewServer(wh)
	defer srv.Close()
	integ := crm.Integration{Provider: "webhook", InstanceURL: srv.URL + "/hook", IsEnabled: true, IsLive: true, Config: crm.Config{
		ObjectConfigs: []crm.ObjectConfig{
			{Key: "Account", ExternalName: "account", FieldMappings: []crm.FieldMapping{{FieldName: "name", SourceAttribute: "account.name", ExternalLookupFieldName: "name"}}},
			{Key: "Lead", ExternalName: "lead", FieldMappings: []crm.FieldMapping{{FieldName: "subject", SourceAttribute: "subject", ExternalLookupFieldName: "subject"}, {FieldName: "account", ExternalObjectNameForID: "Account"}}},
		},
	}}
	p := newPusher(t, integ, crm.Credentials{Secret: "shh"}, nil)
	for range 2 {
		if _, err := p.Push(context.Background(), push.Request{IntegrationID: "crm_test", Record: leadRecord(), IdempotencyKey: "wf/n"}); err != nil {
			t.Fatal(err)
		}
	}
	if st := wh.Stats(); st.Creates != 2 || st.Updates != 2 {
		t.Fatalf("stats %+v", st)
	}
	if wh.Payloads[1].Fields["account"] != "wh_1" || wh.Payloads[1].IdempotencyKey != "wf/n:Lead" {
		t.Fatalf("payload: %+v", wh.Payloads[1])
	}
	noViolations(t, wh)
	wh.InjectFault(crmfake.Fault{Status: 503, Header: http.Header{"Retry-After": {"7"}}})
	_, err := p.Push(context.Background(), push.Request{IntegrationID: "crm_test", Record: leadRecord()})
	if e, ok := crm.AsError(err); !ok || !e.Retryable || e.RetryAfter != 7*time.Second {
		t.Fatalf("503: %v", err)
	}
}

func TestIntegrationStates(t *testing.T) {
	integ := salesforceIntegration(t, "https://example.invalid")
	integ.IsLive = false
	p := newPusher(t, integ, crm.Credentials{Secret: "token"}, nil)
	res, err := p.Push(context.Background(), push.Request{IntegrationID: "crm_test", Record: leadRecord(), Today: "2025-06-30"})
	if err != nil || !res.DryRun || len(res.Objects) != 3 {
		t.Fatalf("dry run: %v %+v", err, res)
	}
	if _, err := p.Push(context.Background(), push.Request{IntegrationID: "nope", Record: leadRecord()}); crm.IsRetryable(err) {
		t.Fatalf("unknown integration must not retry: %v", err)
	}
	integ.IsEnabled = false
	p = newPusher(t, integ, crm.Credentials{Secret: "token"}, nil)
	if _, err := p.Push(context.Background(), push.Request{IntegrationID: "crm_test", Record: leadRecord()}); err == nil || crm.IsRetryable(err) {
		t.Fatalf("disabled integration: %v", err)
	}
}
