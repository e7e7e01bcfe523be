package crm

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Auth keys of the OAuth refresh-token grant, in an integration's (or a
// link's) sealed auth.
const (
	AuthRefreshToken = "refresh_token"
	AuthClientID     = "client_id"
	AuthClientSecret = "client_secret"
	// AuthExpiresAt is when the access token expires (Unix ms), when the
	// token endpoint said (HubSpot's expires_in; Salesforce says nothing).
	AuthExpiresAt = "expires_at"
)

// hubSpotAPI is HubSpot's API host, used when an integration names none.
const hubSpotAPI = "https://api.hubapi.com"

// TokenURL is the provider's OAuth token endpoint for an instance, or ""
// when the provider has no refresh-token grant: Salesforce's is on the
// instance (/services/oauth2/token), HubSpot's is /oauth/v1/token on the
// API host.
func TokenURL(provider, instanceURL string) string {
	base := strings.TrimRight(instanceURL, "/")
	switch provider {
	case ProviderSalesforce:
		return base + "/services/oauth2/token"
	case ProviderHubSpot:
		if base == "" {
			base = hubSpotAPI
		}
		return base + "/oauth/v1/token"
	}
	return ""
}

// CanRefresh reports whether creds hold what a refresh needs.
func CanRefresh(provider string, creds Credentials) bool {
	return TokenURL(provider, "x") != "" && creds.AuthString(AuthRefreshToken) != ""
}

// ExpiresSoon reports whether the access token's recorded expiry is within
// margin of now (false when no expiry is recorded).
func ExpiresSoon(creds Credentials, now time.Time, margin time.Duration) bool {
	ms, ok := creds.Auth[AuthExpiresAt].(float64)
	if !ok {
		if i, isInt := creds.Auth[AuthExpiresAt].(int64); isInt {
			ms, ok = float64(i), true
		}
	}
	return ok && !now.Add(margin).Before(time.UnixMilli(int64(ms)))
}

// Token is a token endpoint's answer.
type Token struct {
	AccessToken string
	// RefreshToken is set when the vendor rotated it.
	RefreshToken string
	// ExpiresAt is zero when the vendor did not say.
	ExpiresAt time.Time
}

// RefreshAccessToken runs the refresh-token grant (RFC 6749 §6) against
// tokenURL with the refresh token and client credentials in creds. A
// refused grant (invalid_grant, HubSpot's BAD_REFRESH_TOKEN) is a
// non-retryable *Error with Code "invalid_grant", an authentication failure
// (IsAuthFailure); 5xx and network failures are retryable. Messages never
// carry the tokens.
func RefreshAccessToken(ctx context.Context, client *http.Client, provider, tokenURL string, creds Credentials, now time.Time) (Token, error) {
	form := url.Values{
		"grant_type":    {"refresh_token"},
		"refresh_token": {creds.AuthString(AuthRefreshToken)},
	}
	if id := creds.AuthString(AuthClientID); id != "" {
		form.Set("client_id", id)
	}
	if secret := creds.AuthString(AuthClientSecret); secret != "" {
		form.Set("client_secret", secret)
	}
	h := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	resp, err := DoRaw(ctx, client, provider, http.MethodPost, tokenURL, h, strings.NewReader(form.Encode()))
	if err != nil {
		return Token{}, err
	}
	var body struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
		ExpiresIn    int64  `json:"expires_in"`
		Error        string `json:"error"`
		Description  string `json:"error_description"`
		Status       string `json:"status"` // HubSpot's error shape
		Message      string `json:"message"`
	}
	_ = json.Unmarshal(resp.Body, &body)
	if resp.Status != http.StatusOK || body.AccessToken == "" {
		e := &Error{Provider: provider, StatusCode: resp.Status, Retryable: StatusRetryable(resp.Status), Code: body.Error,
			Message: "token refresh failed: " + Truncate(firstNonEmpty(body.Description, body.Message, http.StatusText(resp.Status)), 200)}
		if body.Status == "BAD_REFRESH_TOKEN" || body.Error == "invalid_grant" {
			e.Code, e.Retryable = "invalid_grant", false
		}
		if resp.Status == http.StatusOK {
			e.Message, e.Retryable = "token refresh answered without an access_token", true
		}
		return Token{}, e
	}
	t := Token{AccessToken: body.AccessToken, RefreshToken: body.RefreshToken}
	if body.ExpiresIn > 0 {
		t.ExpiresAt = now.Add(time.Duration(body.ExpiresIn) * time.Second)
	}
	return t, nil
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
