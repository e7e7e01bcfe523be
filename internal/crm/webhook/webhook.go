// Package webhook pushes each mapped object as a signed JSON POST to the
// integration's instance_url. The receiver answers {"id": "...",
// "created": bool}; the id chains to later objects and is written back.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/conecrm/automation-runtime/internal/crm"
	"github.com/conecrm/automation-runtime/internal/retryafter"
)

// Header names of the signature scheme: the signature is
// "v1=" + hex(HMAC-SHA256(secret, timestamp + "." + body)).
const (
	HeaderSignature   = "X-ConeCRM-Signature"
	HeaderTimestamp   = "X-ConeCRM-Timestamp"
	HeaderIdempotency = "Idempotency-Key"
)

const name = "webhook"

// Client posts to one webhook URL.
type Client struct {
	http   *http.Client
	url    string
	secret []byte
	now    func() time.Time
}

var _ crm.Provider = (*Client)(nil)

// New builds a client; the secret signs every request.
func New(conn crm.Connection) (*Client, error) {
	if conn.Credentials.Secret == "" {
		return nil, &crm.Error{Provider: name, Message: "integration has no secret (signing key)"}
	}
	return &Client{http: conn.Client(), url: conn.InstanceURL, secret: []byte(conn.Credentials.Secret), now: time.Now}, nil
}

// Payload is the body of each POST.
type Payload struct {
	IdempotencyKey string         `json:"idempotency_key,omitempty"`
	Object         string         `json:"object"`
	ExternalName   string         `json:"external_name"`
	ID             string         `json:"id,omitempty"`
	UpsertField    string         `json:"upsert_field,omitempty"`
	UpsertValue    string         `json:"upsert_value,omitempty"`
	Fields         map[string]any `json:"fields"`
	CreateOnly     map[string]any `json:"create_only,omitempty"`
}

// Sign returns the signature header value for a timestamp and body.
func Sign(secret []byte, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(timestamp))
	m.Write([]byte("."))
	m.Write(body)
	return "v1=" + hex.EncodeToString(m.Sum(nil))
}

// Push posts the objects one by one.
func (c *Client) Push(ctx context.Context, objs []crm.Object, opts crm.PushOptions) ([]crm.ObjectResult, error) {
	return crm.PushEach(ctx, name, objs, opts, func(ctx context.Context, obj *crm.Object) (string, bool, error) {
		key := ""
		if opts.IdempotencyKey != "" {
			key = opts.IdempotencyKey + ":" + obj.Key
		}
		body, err := json.Marshal(Payload{
			IdempotencyKey: key, Object: obj.Key, ExternalName: obj.ExternalName, ID: obj.KnownID,
			UpsertField: obj.UpsertField, UpsertValue: obj.UpsertValue, Fields: obj.Fields, CreateOnly: obj.CreateOnly,
		})
		if err != nil {
			return "", false, err
		}
		ts := strconv.FormatInt(c.now().Unix(), 10)
		h := http.Header{HeaderTimestamp: {ts}, HeaderSignature: {Sign(c.secret, ts, body)}}
		if key != "" {
			h.Set(HeaderIdempotency, key)
		}
		resp, err := crm.DoRaw(ctx, c.http, name, http.MethodPost, c.url, h, bytes.NewReader(body))
		if err != nil {
			return "", false, err
		}
		if resp.Status < 200 || resp.Status >= 300 {
			e := &crm.Error{Provider: name, Object: obj.Key, StatusCode: resp.Status, Retryable: crm.StatusRetryable(resp.Status), Message: "receiver answered " + http.StatusText(resp.Status)}
			e.RetryAfter = retryafter.FromHeader(resp.Header, c.now())
			return "", false, e
		}
		var out struct {
			ID      string `json:"id"`
			Created bool   `json:"created"`
		}
		_ = json.Unmarshal(resp.Body, &out) // an empty or non-JSON 2xx is a success without id
		if out.ID == "" {
			out.ID = obj.KnownID
		}
		return out.ID, out.Created, nil
	})
}
