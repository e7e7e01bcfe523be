package crmfake_test

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/conecrm/automation-runtime/internal/devkit/crmfake"
)

func post(t *testing.T, url, body string, h map[string]string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range h {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// The fakes must catch requests that break the vendors' contracts, or the
// push tests' "no violations" would prove nothing.
func TestFakesCatchContractViolations(t *testing.T) {
	dir, ok := crmfake.SpecDir()
	if !ok {
		t.Skip("vendor OpenAPI documents not found at ../shared/specs from the repository root")
	}
	hs, err := crmfake.NewHubSpot(filepath.Join(dir, "hubspot"))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(hs)
	defer srv.Close()
	auth := map[string]string{"Authorization": "Bearer x"}
	post(t, srv.URL+"/crm/v3/objects/contacts/search", `{"filterGroups":[],"limit":1}`, auth)                // missing after, properties, sorts
	post(t, srv.URL+"/crm/v3/objects/contacts/batch/upsert", `{"inputs":[{"properties":{"n":1}}]}`, auth)    // no id, non-string property
	post(t, srv.URL+"/crm/v3/objects/deals/batch/create", `{"inputs":[{"properties":{}}]}`, auth)            // no associations
	post(t, srv.URL+"/crm/v3/objects/contacts/batch/update", `{"inputs":[{"id":"1","properties":{}}]}`, nil) // no credentials
	if v := hs.Violations(); len(v) != 4 {
		t.Fatalf("HubSpot violations = %d, want 4:\n%s", len(v), strings.Join(v, "\n"))
	}

	oi, err := crmfake.NewOpenInt(filepath.Join(dir, "openint"))
	if err != nil {
		t.Fatal(err)
	}
	osrv := httptest.NewServer(oi)
	defer osrv.Close()
	keys := map[string]string{"x-apikey": "k", "x-connection-id": "c"}
	post(t, osrv.URL+"/v0/unified/crm/contact/_upsert", `{"upsert_on":{"key":"phone","values":["1"]},"record":{}}`, keys) // bad key
	post(t, osrv.URL+"/v0/unified/crm/account/_upsert", `{"upsert_on":{"key":"website","values":["x"]},"record":{"number_of_employees":"12"}}`, keys)
	post(t, osrv.URL+"/v0/unified/crm/account/_upsert", `{"upsert_on":{"key":"website","values":["x"]},"record":{"name":null}}`, nil)
	if v := oi.Violations(); len(v) != 3 {
		t.Fatalf("OpenInt violations = %d, want 3:\n%s", len(v), strings.Join(v, "\n"))
	}

	sf := crmfake.NewSalesforce()
	ssrv := httptest.NewServer(sf)
	defer ssrv.Close()
	bearer := map[string]string{"Authorization": "Bearer t"}
	post(t, ssrv.URL+"/services/data/v60.0/composite", `{"compositeRequest":[{"method":"POST","url":"/sobjects/Account","referenceId":"a-1","body":{"Name":"x"}}]}`, bearer)
	post(t, ssrv.URL+"/services/data/v60.0/sobjects/Account", `{"Name":"x","Bad Field":1}`, bearer)
	if v := sf.Violations(); len(v) < 3 {
		t.Fatalf("Salesforce violations = %d, want at least 3:\n%s", len(v), strings.Join(v, "\n"))
	}
}
