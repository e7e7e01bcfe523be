// Package openint pushes accounts and contacts through OpenInt's unified CRM
// API: POST /unified/crm/{account,contact}/_upsert with upsert_on, or PATCH
// /unified/crm/{entity}/{id} when the id is known. Fields outside OpenInt's
// unified record go to passthrough_fields.
package openint

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/conecrm/automation-runtime/internal/crm"
	"github.com/conecrm/automation-runtime/internal/retryafter"
)

// DefaultInstanceURL is OpenInt's API root (the integration's instance_url).
const DefaultInstanceURL = "https://api.openint.dev/v0"

const name = "openint"

// Client talks to one OpenInt connection.
type Client struct {
	http         *http.Client
	base         string
	apiKey       string
	connectionID string
}

var _ crm.Provider = (*Client)(nil)

// New builds a client: the secret is the API key, auth.connection_id the
// connection.
func New(conn crm.Connection) (*Client, error) {
	if conn.Credentials.Secret == "" {
		return nil, &crm.Error{Provider: name, Message: "integration has no secret (API key)"}
	}
	connID := conn.Credentials.AuthString("connection_id")
	if connID == "" {
		return nil, &crm.Error{Provider: name, Message: "integration auth has no connection_id"}
	}
	if conn.InstanceURL == "" {
		conn.InstanceURL = DefaultInstanceURL
	}
	return &Client{http: conn.Client(), base: conn.BaseURL(""), apiKey: conn.Credentials.Secret, connectionID: connID}, nil
}

var unified = map[string]map[string]string{ // entity → field → JSON kind
	"account": {"name": "string", "description": "string", "industry": "string", "number_of_employees": "number", "website": "string", "owner_id": "string"},
	"contact": {"first_name": "string", "last_name": "string", "email": "string", "phone": "string"},
}

// Record splits mapped fields into OpenInt's unified record and its
// passthrough_fields.
func Record(entity string, fields map[string]any) map[string]any {
	rec := map[string]any{}
	pass := map[string]any{}
	known := unified[entity]
	for k, v := range fields {
		kind, ok := known[k]
		_, isNum := v.(float64)
		switch {
		case ok && kind == "number" && isNum:
			rec[k] = v
		case ok && kind == "string":
			rec[k] = crm.FormatValue(v)
		default:
			pass[k] = v
		}
	}
	if len(pass) > 0 {
		rec["passthrough_fields"] = pass
	}
	return rec
}

// Push writes objects one by one, chaining ids.
func (c *Client) Push(ctx context.Context, objs []crm.Object, opts crm.PushOptions) ([]crm.ObjectResult, error) {
	return crm.PushEach(ctx, name, objs, opts, c.upsert)
}

func (c *Client) upsert(ctx context.Context, obj *crm.Object) (string, bool, error) {
	entity := strings.ToLower(obj.ExternalName)
	h := http.Header{"x-apikey": {c.apiKey}, "x-connection-id": {c.connectionID}}
	var resp *crm.Response
	var err error
	if obj.KnownID != "" {
		resp, err = crm.DoIdempotent(ctx, c.http, name, http.MethodPatch, c.base+"/unified/crm/"+entity+"/"+url.PathEscape(obj.KnownID), h, map[string]any{"record": Record(entity, obj.Fields)})
	} else {
		if obj.UpsertField == "" {
			return "", false, &crm.Error{Provider: name, Object: obj.Key, Message: "no upsert key: set external_lookup_field_name on one field"}
		}
		body := map[string]any{
			"upsert_on": map[string]any{"key": obj.UpsertField, "values": []string{obj.UpsertValue}},
			"record":    Record(entity, obj.AllFields()),
		}
		resp, err = crm.DoIdempotent(ctx, c.http, name, http.MethodPost, c.base+"/unified/crm/"+entity+"/_upsert", h, body)
	}
	if err != nil {
		return "", false, err
	}
	if resp.Status != http.StatusOK && resp.Status != http.StatusCreated {
		e := &crm.Error{Provider: name, Object: obj.Key, StatusCode: resp.Status, Retryable: crm.StatusRetryable(resp.Status)}
		var body struct {
			Message string `json:"message"`
			Code    string `json:"code"`
			Issues  []struct {
				Message string `json:"message"`
			} `json:"issues"`
		}
		if json.Unmarshal(resp.Body, &body) == nil && body.Message != "" {
			e.Code, e.Message = body.Code, crm.Truncate(body.Message, 200)
			if len(body.Issues) > 0 {
				e.Message += ": " + crm.Truncate(body.Issues[0].Message, 200)
			}
		} else {
			e.Message = http.StatusText(resp.Status)
		}
		if resp.Status == http.StatusTooManyRequests {
			e.RetryAfter = retryafter.FromHeader(resp.Header, timeNow())
		}
		return "", false, e
	}
	var out struct {
		Record struct {
			ID        string  `json:"id"`
			CreatedAt *string `json:"created_at"`
			UpdatedAt string  `json:"updated_at"`
		} `json:"record"`
	}
	if err := json.Unmarshal(resp.Body, &out); err != nil || out.Record.ID == "" {
		return "", false, &crm.Error{Provider: name, Object: obj.Key, Message: "unreadable upsert response", Retryable: true}
	}
	created := obj.KnownID == "" && out.Record.CreatedAt != nil && *out.Record.CreatedAt == out.Record.UpdatedAt
	return out.Record.ID, created, nil
}

var timeNow = time.Now
