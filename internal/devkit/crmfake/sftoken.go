package crmfake

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// sfTokenPath is Salesforce's OAuth 2.0 token endpoint on the instance.
const sfTokenPath = "/services/oauth2/token"

// AddRefreshToken makes rt a refresh token the token endpoint accepts.
func (s *Salesforce) AddRefreshToken(rt string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refreshTokens == nil {
		s.refreshTokens = map[string]bool{}
	}
	s.refreshTokens[rt] = true
}

// RevokeRefreshToken makes the token endpoint refuse rt (invalid_grant).
func (s *Salesforce) RevokeRefreshToken(rt string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.refreshTokens, rt)
}

// Refreshes counts the access tokens the token endpoint issued.
func (s *Salesforce) Refreshes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refreshes
}

// SetTokenTTL is the lifetime of the access tokens the token endpoint
// issues (default: no expiry).
func (s *Salesforce) SetTokenTTL(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.issuedTTL = d
}

// token serves the refresh-token grant as Salesforce does: a form POST
// with grant_type, refresh_token, client_id (and client_secret); errors
// are {"error", "error_description"} with 400. s.mu is held.
func (s *Salesforce) token(w http.ResponseWriter, r *http.Request, body []byte) {
	if r.Method != http.MethodPost {
		s.violate("%s %s: the token endpoint takes POST", r.Method, r.URL.Path)
		writeJSONStatus(w, http.StatusMethodNotAllowed, map[string]string{"error": "invalid_request", "error_description": "must use HTTP POST"})
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
		s.violate("POST %s: Content-Type %q, want application/x-www-form-urlencoded", r.URL.Path, ct)
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		writeJSONStatus(w, http.StatusBadRequest, map[string]string{"error": "invalid_request", "error_description": "malformed body"})
		return
	}
	if form.Get("grant_type") != "refresh_token" {
		writeJSONStatus(w, http.StatusBadRequest, map[string]string{"error": "unsupported_grant_type", "error_description": "grant type not supported"})
		return
	}
	if form.Get("client_id") == "" {
		s.violate("POST %s: refresh without client_id", r.URL.Path)
		writeJSONStatus(w, http.StatusBadRequest, map[string]string{"error": "invalid_client_id", "error_description": "client identifier invalid"})
		return
	}
	if !s.refreshTokens[form.Get("refresh_token")] {
		writeJSONStatus(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant", "error_description": "expired access/refresh token"})
		return
	}
	s.refreshes++
	s.seq++
	tok := fmt.Sprintf("00Dfake!refreshed.%d", s.seq)
	if s.tokens == nil {
		s.tokens = map[string]time.Time{}
	}
	var exp time.Time
	if s.issuedTTL > 0 {
		exp = s.clock().Add(s.issuedTTL)
	}
	s.tokens[tok] = exp
	now := s.clock()
	writeJSONStatus(w, http.StatusOK, map[string]string{
		"access_token": tok, "instance_url": "http://" + r.Host, "id": "http://" + r.Host + "/id/00Dfake/005fake",
		"token_type": "Bearer", "issued_at": strconv.FormatInt(now.UnixMilli(), 10), "signature": "fake",
		"scope": "api refresh_token",
	})
}
