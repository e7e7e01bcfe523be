// Package openint pushes accounts and contacts through OpenInt's unified CRM
// API: POST /unified/crm/{account,contact}/_upsert with upsert_on, or PATCH
// /unified/crm/{entity}/{id} when the id is known. Fields outside OpenInt's
// unified record go to passthrough_fields.
package openint

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
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

// Structured account fields (seed 004's crm.account_input): a field
// mapping names one part of them.
var (
	addressTypes  = []string{"primary", "mailing", "billing", "shipping", "other"}
	addressParts  = []string{"street_1", "street_2", "city", "state", "postal_code", "country"}
	phoneTypes    = []string{"primary", "mobile", "fax", "other"}
	lifecycleEnum = []string{"subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity", "customer", "evangelist", "other"}
)

// Record splits mapped fields into OpenInt's unified record and its
// passthrough_fields. On accounts, "addresses.<address_type>.<part>"
// fields build the addresses list (one address per type, parts not
// mapped null), "phone_numbers.<phone_number_type>" the phone_numbers
// list, and "lifecycle_stage" must be one of OpenInt's stages; a name or
// value outside them is an error naming the field.
func Record(entity string, fields map[string]any) (map[string]any, error) {
	rec := map[string]any{}
	pass := map[string]any{}
	known := unified[entity]
	addresses := map[string]map[string]any{}
	phones := map[string]string{}
	for k, v := range fields {
		kind, ok := known[k]
		_, isNum := v.(float64)
		switch {
		case entity == "account" && k == "lifecycle_stage":
			stage := strings.ToLower(crm.FormatValue(v))
			if !slices.Contains(lifecycleEnum, stage) {
				return nil, &crm.Error{Provider: name, Field: k, Message: fmt.Sprintf("lifecycle_stage %q is not one of %s (translate it with a value mapping)", crm.Truncate(crm.FormatValue(v), 60), strings.Join(lifecycleEnum, ", "))}
			}
			rec[k] = stage
		case entity == "account" && strings.HasPrefix(k, "addresses."):
			typ, part, _ := strings.Cut(strings.TrimPrefix(k, "addresses."), ".")
			if !slices.Contains(addressTypes, typ) || !slices.Contains(addressParts, part) {
				return nil, &crm.Error{Provider: name, Field: k, Message: fmt.Sprintf("an address field is addresses.<%s>.<%s>", strings.Join(addressTypes, "|"), strings.Join(addressParts, "|"))}
			}
			if addresses[typ] == nil {
				addresses[typ] = map[string]any{}
			}
			if v != nil {
				addresses[typ][part] = crm.FormatValue(v)
			}
		case entity == "account" && strings.HasPrefix(k, "phone_numbers."):
			typ := strings.TrimPrefix(k, "phone_numbers.")
			if !slices.Contains(phoneTypes, typ) {
				return nil, &crm.Error{Provider: name, Field: k, Message: "a phone field is phone_numbers.<" + strings.Join(phoneTypes, "|") + ">"}
			}
			if v != nil {
				phones[typ] = crm.FormatValue(v)
			}
		case ok && kind == "number" && isNum:
			rec[k] = v
		case ok && kind == "string":
			rec[k] = crm.FormatValue(v)
		default:
			pass[k] = v
		}
	}
	// Lists in a fixed order, so the same fields always send the same body.
	for _, typ := range addressTypes {
		if a, ok := addresses[typ]; ok {
			addr := map[string]any{"address_type": typ}
			for _, part := range addressParts {
				addr[part] = a[part] // nil when not mapped: the spec requires every part
			}
			list, _ := rec["addresses"].([]any)
			rec["addresses"] = append(list, addr)
		}
	}
	for _, typ := range phoneTypes {
		if n, ok := phones[typ]; ok {
			list, _ := rec["phone_numbers"].([]any)
			rec["phone_numbers"] = append(list, map[string]any{"phone_number": n, "phone_number_type": typ})
		}
	}
	if len(pass) > 0 {
		rec["passthrough_fields"] = pass
	}
	return rec, nil
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
	fields := obj.Fields
	if obj.KnownID == "" {
		fields = obj.AllFields()
	}
	record, err := Record(entity, fields)
	if err != nil {
		if e, ok := crm.AsError(err); ok {
			e.Object = obj.Key
		}
		return "", false, err
	}
	if obj.KnownID != "" {
		resp, err = crm.DoIdempotent(ctx, c.http, name, http.MethodPatch, c.base+"/unified/crm/"+entity+"/"+url.PathEscape(obj.KnownID), h, map[string]any{"record": record})
	} else {
		if obj.UpsertField == "" {
			return "", false, &crm.Error{Provider: name, Object: obj.Key, Message: "no upsert key: set external_lookup_field_name on one field"}
		}
		body := map[string]any{
			"upsert_on": map[string]any{"key": obj.UpsertField, "values": []string{obj.UpsertValue}},
			"record":    record,
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
