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
