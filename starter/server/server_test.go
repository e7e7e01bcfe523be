package server_test

import (
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/conecrm/automation-runtime/internal/catalog"
	"github.com/conecrm/automation-runtime/internal/devkit/storetest"
	"github.com/conecrm/automation-runtime/internal/ingest"
	"github.com/conecrm/automation-runtime/starter/server"
)

func TestAuthAndHealth(t *testing.T) {
	st := storetest.SQLite(t)
	in := &ingest.Ingester{Source: catalog.New(), Log: zerolog.Nop(), Secret: []byte("s")}
	api := &catalog.API{Store: st, Catalog: catalog.New(), Log: zerolog.Nop()}
	h := server.Handler(in, api, server.CRMHandler(st, zerolog.Nop()), "tok", st)
	srv := httptest.NewServer(h)
	defer srv.Close()
	get := func(method, path, auth string) int {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(`{}`))
		if key, ok := strings.CutPrefix(auth, "x-api-key: "); ok {
			req.Header.Set("X-Api-Key", key)
		} else if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	cases := []struct {
		method, path, auth string
		want               int
	}{
		{"GET", "/healthz", "", 200},
		{"GET", "/api/automation", "", 401},
		{"GET", "/api/automation", "Bearer wrong", 401},
		{"GET", "/api/automation", "tok", 401},
		{"GET", "/api/automation/builder/data", "", 401},
		{"GET", "/api/crm_integrations", "", 401},
		{"GET", "/api/automation", "Bearer tok", 200},
		{"GET", "/api/automation/builder/data", "Bearer tok", 200},
		{"GET", "/api/automation/nope", "Bearer tok", 404},
		{"GET", "/api/automation", "x-api-key: tok", 200}, // Heron's header
		{"GET", "/api/automation", "x-api-key: wrong", 401},
		{"GET", "/api/automation", "x-api-key: ", 401},
		{"GET", "/api/crm_integrations", "x-api-key: wrong", 401},
		{"GET", "/api/integrations/crm_x/links", "", 401},
		// Events need the signature or an API token.
		{"POST", "/events", "", 401},
		{"POST", "/events", "Bearer wrong", 401},
		{"POST", "/events", "Bearer tok", 400}, // admitted; the body {} is not an event
	}
	for _, tc := range cases {
		if got := get(tc.method, tc.path, tc.auth); got != tc.want {
			t.Errorf("%s %s (%q): HTTP %d, want %d", tc.method, tc.path, tc.auth, got, tc.want)
		}
	}
	// No token configured admits nobody.
	open := httptest.NewServer(server.RequireToken("", http.NotFoundHandler()))
	defer open.Close()
	resp, _ := http.Get(open.URL + "/api/automation")
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("empty token: HTTP %d", resp.StatusCode)
	}
	st.Close()
	if got := get("GET", "/healthz", ""); got != 503 {
		t.Fatalf("healthz with the database closed: %d", got)
	}
}

func TestConfigFromEnv(t *testing.T) {
	t.Setenv(server.EnvAPIToken, "")
	t.Setenv(ingest.SecretEnv, "")
	t.Setenv(server.EnvRefresh, "soon")
	_, err := server.ConfigFromEnv()
	if err == nil || !strings.Contains(err.Error(), server.EnvAPIToken) || !strings.Contains(err.Error(), ingest.SecretEnv) || !strings.Contains(err.Error(), server.EnvRefresh) {
		t.Fatalf("want every missing or bad variable named: %v", err)
	}
	t.Setenv(server.EnvAPIToken, "t")
	t.Setenv(ingest.SecretEnv, "s")
	t.Setenv(server.EnvRefresh, "2s")
	cfg, err := server.ConfigFromEnv()
	if err != nil || cfg.Refresh.Seconds() != 2 || cfg.Addr != server.DefaultAddr {
		t.Fatalf("%+v %v", cfg, err)
	}
}

// With CRM_SECRETS_KEY set, the CRM integrations API is served over the
// store behind the token; without it, 503 says why.
func TestCRMIntegrationsMounted(t *testing.T) {
	st := storetest.SQLite(t)
	in := &ingest.Ingester{Source: catalog.New(), Log: zerolog.Nop(), Secret: []byte("s")}
	api := &catalog.API{Store: st, Catalog: catalog.New(), Log: zerolog.Nop()}
	get := func(h http.Handler) (int, string) {
		srv := httptest.NewServer(h)
		defer srv.Close()
		req, _ := http.NewRequest("GET", srv.URL+"/api/crm_integrations", nil)
		req.Header.Set("Authorization", "Bearer tok")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	t.Setenv("CRM_SECRETS_KEY", "")
	if status, body := get(server.Handler(in, api, server.CRMHandler(st, zerolog.Nop()), "tok", st)); status != 503 || !strings.Contains(body, "CRM_SECRETS_KEY") {
		t.Fatalf("without a key: %d %s", status, body)
	}
	t.Setenv("CRM_SECRETS_KEY", base64.StdEncoding.EncodeToString(make([]byte, 32)))
	if status, body := get(server.Handler(in, api, server.CRMHandler(st, zerolog.Nop()), "tok", st)); status != 200 || !strings.Contains(body, "crm_integrations") {
		t.Fatalf("with a key: %d %s", status, body)
	}
}
