package crm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/conecrm/automation-runtime/internal/retryafter"
)

// Response is a vendor's HTTP answer, body read (at most 1 MiB).
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

const maxBody = 1 << 20

// Do sends a JSON request. Transport failures come back as retryable *Error
// values whose message leaves out the URL, which may hold personal data (a
// Salesforce external id is often an e-mail address).
func Do(ctx context.Context, client *http.Client, provider, method, rawURL string, header http.Header, body any) (*Response, error) {
	var rd io.Reader
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return nil, fmt.Errorf("encode %s request: %w", provider, err)
		}
		rd = bytes.NewReader(payload)
	}
	return DoRaw(ctx, client, provider, method, rawURL, header, rd)
}

// DoRaw is Do with an already encoded body.
func DoRaw(ctx context.Context, client *http.Client, provider, method, rawURL string, header http.Header, body io.Reader) (*Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, rawURL, body)
	if err != nil {
		return nil, &Error{Provider: provider, Message: "cannot build request: invalid instance_url or API path"}
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if body != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var ce *Error
		if errors.As(err, &ce) {
			return nil, ce // the transport's own (a spent shared rate limit)
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, &Error{Provider: provider, Message: "request failed: " + Truncate(err.Error(), 200), Retryable: true}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, &Error{Provider: provider, Message: "reading response failed", Retryable: true, StatusCode: resp.StatusCode}
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: data}, nil
}

// Inline retries of idempotent requests: a search, an update by id or an
// upsert by key may be sent again without creating anything twice, so a
// lone 5xx, reset or short rate limit is absorbed here rather than failing
// the whole activity attempt. Creates never come through here. The policy
// is retryafter's Inline*; tests shorten the backoff.
var inlineBackoff = retryafter.InlineBackoff

// DoIdempotent is Do for a request that is safe to repeat. It retries
// transport failures and retryable statuses up to three times in all,
// honouring a Retry-After of at most two seconds; a longer one is returned
// at once so that the activity's retry waits it out instead of a held
// worker slot.
func DoIdempotent(ctx context.Context, client *http.Client, provider, method, rawURL string, header http.Header, body any) (*Response, error) {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return nil, fmt.Errorf("encode %s request: %w", provider, err)
		}
	}
	for try := 1; ; try++ {
		var rd io.Reader
		if payload != nil {
			rd = bytes.NewReader(payload)
		}
		resp, err := DoRaw(ctx, client, provider, method, rawURL, header, rd)
		wait := inlineBackoff(try)
		switch {
		case err != nil && !IsRetryable(err):
			return nil, err
		case err != nil && ctx.Err() != nil:
			return nil, err
		case err == nil && !StatusRetryable(resp.Status):
			return resp, nil
		case err == nil:
			d := retryafter.FromHeader(resp.Header, time.Now())
			if d > retryafter.InlineMaxWait {
				return resp, nil
			}
			wait = max(wait, d)
		}
		if try >= retryafter.InlineTries {
			return resp, err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			if err == nil {
				return resp, nil
			}
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}
