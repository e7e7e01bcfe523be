package crm_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/conecrm/automation-runtime/internal/crm"
)

// The token endpoint's answers as Salesforce and HubSpot send them.
func TestRefreshAccessToken(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name      string
		status    int
		body      string
		wantToken string
		wantExp   time.Time
		wantCode  string
		retryable bool
	}{
		{name: "salesforce ok", status: 200, body: `{"access_token":"00D!new","instance_url":"https://x","token_type":"Bearer","issued_at":"1"}`, wantToken: "00D!new"},
		{name: "hubspot ok with expiry and rotation", status: 200, body: `{"access_token":"hs-new","refresh_token":"rt-2","expires_in":1800}`, wantToken: "hs-new", wantExp: now.Add(30 * time.Minute)},
		{name: "salesforce invalid_grant", status: 400, body: `{"error":"invalid_grant","error_description":"expired access/refresh token"}`, wantCode: "invalid_grant"},
		{name: "hubspot bad refresh token", status: 400, body: `{"status":"BAD_REFRESH_TOKEN","message":"missing or unknown refresh token"}`, wantCode: "invalid_grant"},
		{name: "5xx", status: 503, body: `oops`, retryable: true},
		{name: "200 without a token", status: 200, body: `{}`, retryable: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var form url.Values
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				form, _ = url.ParseQuery(string(b))
				if r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
					t.Errorf("content type %q", r.Header.Get("Content-Type"))
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(c.status)
				_, _ = io.WriteString(w, c.body)
			}))
			defer srv.Close()
			creds := crm.Credentials{Secret: "old", Auth: map[string]any{"refresh_token": "rt-1", "client_id": "cid", "client_secret": "cs"}}
			tok, err := crm.RefreshAccessToken(context.Background(), srv.Client(), "hubspot", srv.URL, creds, now)
			if form.Get("grant_type") != "refresh_token" || form.Get("refresh_token") != "rt-1" || form.Get("client_id") != "cid" || form.Get("client_secret") != "cs" {
				t.Fatalf("form %v", form)
			}
			if c.wantToken != "" {
				if err != nil || tok.AccessToken != c.wantToken || !tok.ExpiresAt.Equal(c.wantExp) {
					t.Fatalf("token %+v, %v", tok, err)
				}
				return
			}
			e, ok := crm.AsError(err)
			if !ok || e.Code != c.wantCode || e.Retryable != c.retryable || crm.IsAuthFailure(err) != (c.wantCode == "invalid_grant") {
				t.Fatalf("error %#v", err)
			}
		})
	}
}
