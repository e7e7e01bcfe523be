package push_test

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"testing"

	"github.com/conecrm/automation-runtime/internal/crm"
	"github.com/conecrm/automation-runtime/internal/crm/push"
	"github.com/conecrm/automation-runtime/internal/devkit/crmfake"
)

// companyContactDeal is a HubSpot integration pushing the account as a
// company, then the contact and a deal, each found by a lookup first.
func companyContactDeal(url string) crm.Integration {
	return crm.Integration{
		Provider: "hubspot", InstanceURL: url, IsEnabled: true, IsLive: true,
		Config: crm.Config{
			DefaultID: &crm.IDRef{ExternalName: "Company"},
			DataSourceAccountsConfig: &crm.ObjectConfig{Key: "Company", ExternalName: "companies", FieldMappings: []crm.FieldMapping{
				{FieldName: "name", HeronCompanyAttributeLabel: "lead.account.name", Required: true},
				{FieldName: "conecrm_account_id", HeronCompanyAttributeLabel: "lead.account.id"},
			}, ExternalLookupConfig: &crm.LookupConfig{FieldsAnd: []string{"conecrm_account_id"}}},
			ObjectConfigs: []crm.ObjectConfig{
				{Key: "Contact", ExternalName: "contacts", RequiredIDs: []crm.IDRef{{ExternalName: "Company"}}, FieldMappings: []crm.FieldMapping{
					{FieldName: "email", SourceAttribute: "contact.primaryEmail", Required: true},
					{FieldName: "lastname", SourceAttribute: "contact.lastName"},
				}, ExternalLookupConfig: &crm.LookupConfig{FieldsAnd: []string{"email"}}},
				{Key: "Deal", ExternalName: "deals", FieldMappings: []crm.FieldMapping{
					{FieldName: "dealname", SourceAttribute: "subject", Required: true},
					{FieldName: "conecrm_lead_id", SourceAttribute: "id"},
				}, ExternalLookupConfig: &crm.LookupConfig{FieldsAnd: []string{"conecrm_lead_id"}}},
			},
		},
	}
}

// A push creating a company, a contact and a deal associates them in the
// create requests (v3 objects API, checked against HubSpot's documents):
// contact ↔ company, deal ↔ contact, deal ↔ company. A later push that
// updates them adds nothing.
func TestHubSpotAssociations(t *testing.T) {
	hs, err := crmfake.NewHubSpot(filepath.Join(specDir(t), "hubspot"))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(hs)
	defer srv.Close()
	w := &recorder{}
	p := newPusher(t, companyContactDeal(srv.URL), crm.Credentials{Secret: "pat-na1-x"}, w)
	rec := leadRecord()
	res, err := p.Push(context.Background(), push.Request{IntegrationID: "crm_test", Record: rec, IdempotencyKey: "wf/node"})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	for _, o := range res.Objects {
		if !o.Created {
			t.Fatalf("first push: %+v", res.Objects)
		}
		ids[o.Key] = o.ID
	}
	want := []struct {
		from, id, to string
		want         []string
	}{
		{"contacts", ids["Contact"], "companies", []string{ids["Company"]}},
		{"companies", ids["Company"], "contacts", []string{ids["Contact"]}},
		{"deals", ids["Deal"], "contacts", []string{ids["Contact"]}},
		{"deals", ids["Deal"], "companies", []string{ids["Company"]}},
		{"contacts", ids["Contact"], "deals", []string{ids["Deal"]}},
		{"companies", ids["Company"], "deals", []string{ids["Deal"]}},
	}
	check := func() {
		t.Helper()
		for _, c := range want {
			if got := hs.Associations(c.from, c.id, c.to); !slices.Equal(got, c.want) {
				t.Errorf("%s %s → %s: %v, want %v", c.from, c.id, c.to, got, c.want)
			}
		}
	}
	check()
	w.apply(rec)
	if _, err := p.Push(context.Background(), push.Request{IntegrationID: "crm_test", Record: rec}); err != nil {
		t.Fatal(err)
	}
	if st := hs.Stats(); st.Creates != 3 || st.Updates != 3 {
		t.Fatalf("second push: %+v", st)
	}
	check()
	noViolations(t, hs)
}
