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

	"github.com/conecrm/automation-runtime/internal/crm"
	"github.com/conecrm/automation-runtime/internal/crm/api"
)

func do(t *testing.T, h http.Handler, method, path string, body []byte) (int, map[string]any, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, bytes.NewReader(body)))
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
