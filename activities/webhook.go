package activities

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/conecrm/automation-runtime/internal/retryafter"
)

// Header is a rendered webhook header.
type Header struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// SecretHeader is a header whose value the activity reads from the worker's
// environment variable WEBHOOK_SECRET_<Secret>.
type SecretHeader struct {
	Header string `json:"header"`
	Secret string `json:"secret"`
}

// WebhookInput is a rendered webhook node.
type WebhookInput struct {
	NodeID         string         `json:"nodeId"`
	IdempotencyKey string         `json:"idempotencyKey"`
	URL            string         `json:"url"`
	Method         string         `json:"method"`
	Headers        []Header       `json:"headers,omitempty"`
	SecretHeaders  []SecretHeader `json:"secretHeaders,omitempty"`
	Body           string         `json:"body,omitempty"`
}

// WebhookOutput is stored under steps.<nodeId>.
type WebhookOutput struct {
	Status int `json:"status"`
}

// WebhookSigningSecretEnv names the variable whose value signs webhook bodies
// (X-Signature: sha256=<hex HMAC of timestamp.body>), when set.
const WebhookSigningSecretEnv = "WEBHOOK_SIGNING_SECRET"

// CallWebhook sends the request. 2xx succeeds; 408, 429 and 5xx retry
// (honouring Retry-After); other statuses fail the node.
func (a *Activities) CallWebhook(ctx context.Context, in WebhookInput) (WebhookOutput, error) {
	req, err := http.NewRequestWithContext(ctx, in.Method, in.URL, strings.NewReader(in.Body))
	if err != nil {
		return WebhookOutput{}, temporal.NewApplicationErrorWithOptions("node "+in.NodeID+": webhook request: "+err.Error(), ErrInvalidInput, temporal.ApplicationErrorOptions{NonRetryable: true})
	}
	if in.Body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Idempotency-Key", in.IdempotencyKey)
	req.Header.Set("User-Agent", "conecrm-automation-runtime/1")
	for _, h := range in.Headers {
		req.Header.Set(h.Name, h.Value)
	}
	for _, h := range in.SecretHeaders {
		v, ok := os.LookupEnv("WEBHOOK_SECRET_" + h.Secret)
		if !ok {
			return WebhookOutput{}, temporal.NewApplicationErrorWithOptions(fmt.Sprintf("node %s: secret %q is not configured on the worker (set WEBHOOK_SECRET_%s)", in.NodeID, h.Secret, h.Secret), ErrInvalidInput, temporal.ApplicationErrorOptions{NonRetryable: true})
		}
		req.Header.Set(h.Header, v)
	}
	if secret := os.Getenv(WebhookSigningSecretEnv); secret != "" {
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write([]byte(ts + "." + in.Body))
		req.Header.Set("X-Timestamp", ts)
		req.Header.Set("X-Signature", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	}
	client := a.HTTP
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return WebhookOutput{}, temporal.NewApplicationErrorWithOptions("node "+in.NodeID+": webhook: "+err.Error(), ErrRetryableHTTP, temporal.ApplicationErrorOptions{})
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	switch s := resp.StatusCode; {
	case s >= 200 && s < 300:
		return WebhookOutput{Status: s}, nil
	case s == http.StatusRequestTimeout || s == http.StatusTooManyRequests || s >= 500:
		return WebhookOutput{}, temporal.NewApplicationErrorWithOptions(fmt.Sprintf("node %s: webhook answered HTTP %d", in.NodeID, s), ErrRetryableHTTP, temporal.ApplicationErrorOptions{NextRetryDelay: retryafter.FromHeader(resp.Header, time.Now())})
	default:
		return WebhookOutput{}, temporal.NewApplicationErrorWithOptions(fmt.Sprintf("node %s: webhook answered HTTP %d", in.NodeID, s), ErrRejected, temporal.ApplicationErrorOptions{NonRetryable: true})
	}
}
