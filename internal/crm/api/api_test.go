package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/conecrm/automation-runtime/internal/auth"
	"github.com/conecrm/automation-runtime/internal/crm"
	"github.com/conecrm/automation-runtime/internal/crm/api"
)

func do(t *testing.T, h http.Handler, method, path string, body []byte) (int, map[string]any, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	auth.Fixed(auth.Identity{TokenID: auth.AdminTokenID}, h).ServeHTTP(rec, httptest.NewRequest(method, path, bytes.NewReader(body)))
	var out map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &out)
	return rec.Code, out, rec.Body.String()
}

func TestIntegrationsAPI(t *testing.T) {
	cipher, _ := crm.NewCipher(make([]byte, 32))
	store := crm.NewMemoryStore()
	var logs bytes.Buffer
	h := api.New(store, cipher, zerolog.New(&logs))
	body, err := os.ReadFile("../testdata/salesforce.json")
	if err != nil {
		t.Fatal(err)
	}

	code, out, raw := do(t, h, http.MethodPost, "/api/crm_integrations", body)
	if code != http.StatusCreated {
		t.Fatalf("create: %d %s", code, raw)
	}
	integ := out["crm_integration"].(map[string]any)
	id := integ["heron_id"].(string)
	if !strings.HasPrefix(id, "crm_") || strings.Contains(raw, "00Dxx!token") || strings.Contains(raw, `"secret"`) {
		t.Fatalf("create response: %s", raw)
	}
	rec, _ := store.Get(context.Background(), id)
	if bytes.Contains(rec.SealedCredentials, []byte("00Dxx")) || bytes.Contains(rec.Integration, []byte("00Dxx")) {
		t.Fatal("secret stored in clear")
	}

	code, out, raw = do(t, h, http.MethodPatch, "/api/crm_integrations/"+id, []byte(`{"is_live": false, "secret": "new-token", "config": {"value_mappings": [{"name": "state", "mapping": {"Quebec": "QC"}}]}}`))
	if code != http.StatusOK || out["is_live"] != false || out["provider"] != "salesforce" || strings.Contains(raw, "new-token") {
		t.Fatalf("patch: %d %s", code, raw)
	}
	if cfg := out["config"].(map[string]any); len(cfg["object_configs"].([]any)) != 3 {
		t.Fatalf("patch lost object_configs: %s", raw)
	}
	rec, _ = store.Get(context.Background(), id)
	if creds, err := cipher.Open(id, rec.SealedCredentials); err != nil || creds.Secret != "new-token" {
		t.Fatalf("secret not replaced: %v", err)
	}

	code, out, raw = do(t, h, http.MethodGet, "/api/crm_integrations/"+id, nil)
	if code != http.StatusOK || out["heron_id"] != id || out["is_live"] != false {
		t.Fatalf("get: %d %s", code, raw)
	}
	code, out, _ = do(t, h, http.MethodGet, "/api/crm_integrations", nil)
	if code != http.StatusOK || len(out["crm_integrations"].([]any)) != 1 {
		t.Fatalf("list: %d %v", code, out)
	}

	code, _, _ = do(t, h, http.MethodGet, "/api/crm_integrations/crm_nope", nil)
	if code != http.StatusNotFound {
		t.Fatalf("unknown get: %d", code)
	}
	code, _, _ = do(t, h, http.MethodPatch, "/api/crm_integrations/crm_nope", []byte(`{}`))
	if code != http.StatusNotFound {
		t.Fatalf("unknown patch: %d", code)
	}

	// Every problem listed, with JSON paths; nothing stored.
	code, out, raw = do(t, h, http.MethodPost, "/api/crm_integrations", []byte(`{"provider": "zoho", "instance_url": "nope", "config": {"object_configs": [{"key": "A", "external_name": "Account", "field_mappings": [{"field_name": "Name", "regex_remove": "("}]}]}}`))
	if code != http.StatusBadRequest {
		t.Fatalf("invalid create: %d %s", code, raw)
	}
	paths := map[string]bool{}
	for _, p := range out["problems"].([]any) {
		paths[p.(map[string]any)["path"].(string)] = true
	}
	for _, want := range []string{"$.provider", "$.instance_url", "$.secret", "$.config.object_configs[0].field_mappings[0].regex_remove"} {
		if !paths[want] {
			t.Errorf("missing problem %s in %s", want, raw)
		}
	}
	code, _, raw = do(t, h, http.MethodPatch, "/api/crm_integrations/"+id, []byte(`{"config": {"object_configs": [{"key": "A"}]}}`))
	if code != http.StatusBadRequest || !strings.Contains(raw, "$.config.object_configs[0].external_name") {
		t.Fatalf("invalid patch: %d %s", code, raw)
	}
	if strings.Contains(logs.String(), "token") {
		t.Fatal("secret logged")
	}
}

// PATCH keeps the sealed credentials unless clearly replaced: "auth": {}
// and an empty secret change nothing; auth merges key by key.
func TestPatchKeepsCredentials(t *testing.T) {
	cipher, _ := crm.NewCipher(make([]byte, 32))
	store := crm.NewMemoryStore()
	h := api.New(store, cipher, zerolog.Nop())
	body, _ := os.ReadFile("../testdata/seed001.json")
	var in map[string]any
	_ = json.Unmarshal(body, &in)
	in["auth"] = map[string]any{"refresh_token": "rt-1", "client_id": "cid"}
	body, _ = json.Marshal(in)
	code, out, raw := do(t, h, http.MethodPost, "/api/crm_integrations", body)
	if code != http.StatusCreated {
		t.Fatalf("create: %d %s", code, raw)
	}
	id := out["crm_integration"].(map[string]any)["heron_id"].(string)
	creds := func() crm.Credentials {
		rec, _ := store.Get(context.Background(), id)
		c, err := cipher.Open(id, rec.SealedCredentials)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	cases := []struct {
		patch      string
		wantSecret string
		wantAuth   map[string]any
	}{
		{`{"auth": {}, "is_live": false}`, "00D5g000004X1yZ!AQ4AQHc1sZ.exampletoken", map[string]any{"refresh_token": "rt-1", "client_id": "cid"}},
		{`{"auth": {}, "secret": ""}`, "00D5g000004X1yZ!AQ4AQHc1sZ.exampletoken", map[string]any{"refresh_token": "rt-1", "client_id": "cid"}},
		{`{"auth": {"refresh_token": "rt-2"}, "secret": "tok-2"}`, "tok-2", map[string]any{"refresh_token": "rt-2", "client_id": "cid"}},
		{`{"auth": {"client_id": null}}`, "tok-2", map[string]any{"refresh_token": "rt-2"}},
		{`{"auth": null}`, "tok-2", nil},
	}
	for _, tc := range cases {
		code, _, raw := do(t, h, http.MethodPatch, "/api/crm_integrations/"+id, []byte(tc.patch))
		if code != http.StatusOK {
			t.Fatalf("%s: %d %s", tc.patch, code, raw)
		}
		c := creds()
		if c.Secret != tc.wantSecret || len(c.Auth) != len(tc.wantAuth) {
			t.Fatalf("%s: secret %q auth %v", tc.patch, c.Secret, c.Auth)
		}
		for k, v := range tc.wantAuth {
			if c.Auth[k] != v {
				t.Fatalf("%s: auth %v", tc.patch, c.Auth)
			}
		}
	}
	code, _, raw = do(t, h, http.MethodPatch, "/api/crm_integrations/"+id, []byte(`{"auth": "x", "secret": 5}`))
	if code != http.StatusBadRequest || !strings.Contains(raw, "$.auth") || !strings.Contains(raw, "$.secret") {
		t.Fatalf("mistyped credentials: %d %s", code, raw)
	}
}

func TestLinksAPI(t *testing.T) {
	cipher, _ := crm.NewCipher(make([]byte, 32))
	store := crm.NewMemoryStore()
	var logs bytes.Buffer
	h := api.New(store, cipher, zerolog.New(&logs))
	body, _ := os.ReadFile("../testdata/seed001.json")
	_, out, _ := do(t, h, http.MethodPost, "/api/crm_integrations", body)
	id := out["crm_integration"].(map[string]any)["heron_id"].(string)
	base := "/api/integrations/" + id + "/links"

	link := `{"access_token": "access-sandbox-de3ce8ef", "end_user_id": "8adccb95-17cd-461f-b68f-360e765b8df8", "end_user_name": "Acme Corp", "item_id": "M5eVJqLnv3tbzdngLDp9FL5OlDNxlNhlE55op"}`
	code, out, raw := do(t, h, http.MethodPost, base, []byte(link))
	if code != http.StatusCreated || strings.Contains(raw, "access-sandbox") {
		t.Fatalf("create link: %d %s", code, raw)
	}
	l := out["link"].(map[string]any)
	for k, want := range map[string]any{"status": "active", "status_message": "", "type": "salesforce", "data_source_heron_id": id, "item_id": "M5eVJqLnv3tbzdngLDp9FL5OlDNxlNhlE55op", "last_successful_sync": nil} {
		if l[k] != want {
			t.Errorf("link %s = %v, want %v", k, l[k], want)
		}
	}
	if l["created"] == nil || l["last_updated"] == nil {
		t.Errorf("link times missing: %s", raw)
	}
	stored, _ := store.LinkFor(context.Background(), id, "8adccb95-17cd-461f-b68f-360e765b8df8")
	if c, err := cipher.Open(crm.LinkSealID(id, stored.EndUserID), stored.SealedCredentials); err != nil || c.Secret != "access-sandbox-de3ce8ef" {
		t.Fatalf("sealed token: %v", err)
	}

	// The same franchise again updates its link.
	code, _, raw = do(t, h, http.MethodPost, base, []byte(strings.Replace(link, "de3ce8ef", "0000", 1)))
	if code != http.StatusOK {
		t.Fatalf("update link: %d %s", code, raw)
	}
	code, out, raw = do(t, h, http.MethodGet, base, nil)
	if code != http.StatusOK || len(out["links"].([]any)) != 1 {
		t.Fatalf("list links: %d %s", code, raw)
	}
	code, out, raw = do(t, h, http.MethodGet, base+"/M5eVJqLnv3tbzdngLDp9FL5OlDNxlNhlE55op", nil)
	if code != http.StatusOK || out["link"].(map[string]any)["end_user_name"] != "Acme Corp" {
		t.Fatalf("get link: %d %s", code, raw)
	}
	for _, tc := range []struct {
		method, path, body string
		want               int
		contains           string
	}{
		{http.MethodGet, base + "/nope", "", 404, "link not found"},
		{http.MethodGet, "/api/integrations/crm_nope/links", "", 404, "crm integration not found"},
		{http.MethodPost, "/api/integrations/crm_nope/links", link, 404, "crm integration not found"},
		{http.MethodPost, base, `{"end_user_id": "x"}`, 400, "$.access_token"},
		{http.MethodPost, base, `{"access_token": "a", "end_user_id": "x", "item_id": "i", "extra": 1}`, 400, "unknown field"},
		{http.MethodPost, base, `{"access_token": "a", "end_user_id": "other-franchise", "item_id": "M5eVJqLnv3tbzdngLDp9FL5OlDNxlNhlE55op"}`, 409, "item_id"},
	} {
		code, _, raw := do(t, h, tc.method, tc.path, []byte(tc.body))
		if code != tc.want || !strings.Contains(raw, tc.contains) {
			t.Errorf("%s %s %s: %d %s", tc.method, tc.path, tc.body, code, raw)
		}
	}
	if strings.Contains(logs.String(), "access-sandbox") {
		t.Fatal("access token logged")
	}
}
