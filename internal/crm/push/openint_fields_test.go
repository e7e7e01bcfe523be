package push_test

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/conecrm/automation-runtime/internal/crm"
	"github.com/conecrm/automation-runtime/internal/crm/push"
	"github.com/conecrm/automation-runtime/internal/devkit/crmfake"
)

func openIntAccount(url string, extra ...crm.FieldMapping) crm.Integration {
	fields := append([]crm.FieldMapping{
		{FieldName: "name", SourceAttribute: "account.name"},
		{FieldName: "website", StaticValue: "https://obrien.example", ExternalLookupFieldName: "website"},
	}, extra...)
	return crm.Integration{Provider: "openint", InstanceURL: url + "/v0", IsEnabled: true, IsLive: true, Config: crm.Config{
		ObjectConfigs: []crm.ObjectConfig{{Key: "Account", ExternalName: "account", FieldMappings: fields}},
	}}
}

// Seed 004's structured account fields are record fields, not
// passthrough: addresses by type, phone numbers by type and the lifecycle
// stage, checked against OpenInt's OpenAPI document.
func TestOpenIntStructuredFields(t *testing.T) {
	oi, err := crmfake.NewOpenInt(filepath.Join(specDir(t), "openint"))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(oi)
	defer srv.Close()
	creds := crm.Credentials{Secret: "key", Auth: map[string]any{"connection_id": "conn_1"}}
	rec := leadRecord()
	acc := rec["account"].(map[string]any)
	acc["address"], acc["city"], acc["postalCode"], acc["country"] = "1 rue Sainte-Catherine", "Montréal", "H2X 1Y4", "CA"

	p := newPusher(t, openIntAccount(srv.URL,
		crm.FieldMapping{FieldName: "addresses.billing.street_1", SourceAttribute: "account.address"},
		crm.FieldMapping{FieldName: "addresses.billing.city", SourceAttribute: "account.city"},
		crm.FieldMapping{FieldName: "addresses.billing.state", SourceAttribute: "account.province"},
		crm.FieldMapping{FieldName: "addresses.billing.postal_code", SourceAttribute: "account.postalCode"},
		crm.FieldMapping{FieldName: "addresses.billing.country", SourceAttribute: "account.country"},
		crm.FieldMapping{FieldName: "addresses.shipping.city", StaticValue: "Laval"},
		crm.FieldMapping{FieldName: "phone_numbers.primary", SourceAttribute: "account.workPhone"},
		crm.FieldMapping{FieldName: "phone_numbers.mobile", SourceAttribute: "contact.mobilePhone"},
		crm.FieldMapping{FieldName: "lifecycle_stage", StaticValue: "Customer"},
		crm.FieldMapping{FieldName: "province", SourceAttribute: "account.province"},
	), creds, nil)
	if _, err := p.Push(context.Background(), push.Request{IntegrationID: "crm_test", Record: rec}); err != nil {
		t.Fatal(err)
	}
	got := oi.Records("account")[0]
	wantAddresses := []any{
		map[string]any{"address_type": "billing", "street_1": "1 rue Sainte-Catherine", "street_2": nil, "city": "Montréal", "state": "Quebec", "postal_code": "H2X 1Y4", "country": "CA"},
		map[string]any{"address_type": "shipping", "street_1": nil, "street_2": nil, "city": "Laval", "state": nil, "postal_code": nil, "country": nil},
	}
	wantPhones := []any{
		map[string]any{"phone_number": "514-555-0100", "phone_number_type": "primary"},
		map[string]any{"phone_number": "+1 (514) 555-0199", "phone_number_type": "mobile"},
	}
	if !reflect.DeepEqual(got["addresses"], wantAddresses) || !reflect.DeepEqual(got["phone_numbers"], wantPhones) || got["lifecycle_stage"] != "customer" {
		t.Fatalf("record: addresses %v, phone_numbers %v, lifecycle_stage %v", got["addresses"], got["phone_numbers"], got["lifecycle_stage"])
	}
	if pass := got["passthrough_fields"].(map[string]any); len(pass) != 1 || pass["province"] != "Quebec" {
		t.Fatalf("passthrough_fields %v", pass)
	}
	noViolations(t, oi)

	bad := []struct {
		field crm.FieldMapping
		want  string
	}{
		{crm.FieldMapping{FieldName: "lifecycle_stage", StaticValue: "Hot"}, `lifecycle_stage "Hot" is not one of subscriber,`},
		{crm.FieldMapping{FieldName: "addresses.home.city", StaticValue: "Laval"}, "addresses.<primary|mailing|billing|shipping|other>"},
		{crm.FieldMapping{FieldName: "addresses.billing.zip", StaticValue: "H2X"}, "(fields: addresses.billing.zip)"},
		{crm.FieldMapping{FieldName: "phone_numbers.pager", StaticValue: "555"}, "phone_numbers.<primary|mobile|fax|other>"},
	}
	for _, b := range bad {
		t.Run(b.field.FieldName, func(t *testing.T) {
			p := newPusher(t, openIntAccount(srv.URL, b.field), creds, nil)
			before := oi.Stats().Requests
			_, err := p.Push(context.Background(), push.Request{IntegrationID: "crm_test", Record: leadRecord()})
			if e, ok := crm.AsError(err); !ok || e.Retryable || e.Object != "Account" || !strings.Contains(err.Error(), b.want) {
				t.Fatalf("error %v, want one containing %q", err, b.want)
			}
			if oi.Stats().Requests != before {
				t.Fatal("an invalid record was sent")
			}
		})
	}
}
