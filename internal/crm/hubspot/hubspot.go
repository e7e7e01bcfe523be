// Package hubspot pushes objects to HubSpot's CRM v3 object API: a search
// (from external_lookup_config or the upsert key) finds an existing record,
// which is updated with batch/update; otherwise batch/upsert with idProperty
// (or batch/create without one) writes it. 207 partial failures are mapped
// per record; 429 carries HubSpot's rate-limit headers.
package hubspot

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/conecrm/automation-runtime/internal/crm"
	"github.com/conecrm/automation-runtime/internal/retryafter"
)

// DefaultAPIPath is the object API prefix; HubSpot is moving to dated paths
// (e.g. /crm/objects/2025-09), so integrations may override it with
// config.api_base_path.
const DefaultAPIPath = "/crm/v3/objects"

// DefaultInstanceURL is HubSpot's API host.
const DefaultInstanceURL = "https://api.hubapi.com"

const name = "hubspot"

// Client talks to one HubSpot portal.
type Client struct {
	http  *http.Client
	base  string
	token string
}

var _ crm.Provider = (*Client)(nil)

// New builds a client; the integration secret is a private-app or OAuth
// access token.
func New(conn crm.Connection) (*Client, error) {
	if conn.Credentials.Secret == "" {
		return nil, &crm.Error{Provider: name, Message: "integration has no secret (access token)"}
	}
	if conn.InstanceURL == "" {
		conn.InstanceURL = DefaultInstanceURL
	}
	return &Client{http: conn.Client(), base: conn.BaseURL(DefaultAPIPath), token: conn.Credentials.Secret}, nil
}

// ObjectType maps an external name to HubSpot's object type segment.
func ObjectType(externalName string) string {
	switch strings.ToLower(externalName) {
	case "contact", "contacts":
		return "contacts"
	case "company", "companies", "account":
		return "companies"
	case "deal", "deals", "opportunity", "0-3":
		return "deals"
	}
	return externalName
}

// associationTypes are HubSpot's unlabeled HUBSPOT_DEFINED association
// types, by the object types they go from and to.
var associationTypes = map[[2]string]int{
	{"contacts", "companies"}: 279, {"companies", "contacts"}: 280,
	{"deals", "contacts"}: 3, {"contacts", "deals"}: 4,
	{"deals", "companies"}: 341, {"companies", "deals"}: 342,
}

// Association links a record to another when it is created.
type Association struct {
	To    PublicObjectID    `json:"to"`
	Types []AssociationSpec `json:"types"`
}

// PublicObjectID names the record associated to.
type PublicObjectID struct {
	ID string `json:"id"`
}

// AssociationSpec is one association type.
type AssociationSpec struct {
	Category string `json:"associationCategory"`
	TypeID   int    `json:"associationTypeId"`
}

type written struct{ typ, id string }

// Push writes the objects one by one (HubSpot has no cross-object batch),
// chaining ids of earlier objects. An object created by the push is
// associated with the companies, contacts and deals written before it in
// the same push (a contact with its company, a deal with its contact and
// company), in the create request itself.
func (c *Client) Push(ctx context.Context, objs []crm.Object, opts crm.PushOptions) ([]crm.ObjectResult, error) {
	var earlier []written
	return crm.PushEach(ctx, name, objs, opts, func(ctx context.Context, obj *crm.Object) (string, bool, error) {
		id, created, err := c.upsert(ctx, obj, opts.IdempotencyKey, associations(ObjectType(obj.ExternalName), earlier))
		if err == nil {
			earlier = append(earlier, written{ObjectType(obj.ExternalName), id})
		}
		return id, created, err
	})
}

// associations are those a new record of type typ gets with the records
// written before it.
func associations(typ string, earlier []written) []Association {
	out := []Association{}
	for _, e := range earlier {
		if t, ok := associationTypes[[2]string{typ, e.typ}]; ok && e.id != "" {
			out = append(out, Association{To: PublicObjectID{ID: e.id}, Types: []AssociationSpec{{Category: "HUBSPOT_DEFINED", TypeID: t}}})
		}
	}
	return out
}

func (c *Client) header() http.Header {
	return http.Header{"Authorization": {"Bearer " + c.token}}
}

func stringProps(fields map[string]any) map[string]string {
	out := make(map[string]string, len(fields))
	for k, v := range fields {
		out[k] = crm.FormatValue(v)
	}
	return out
}

type filter struct {
	PropertyName string `json:"propertyName"`
	Operator     string `json:"operator"`
	Value        string `json:"value"`
}

type filterGroup struct {
	Filters []filter `json:"filters"`
}

// SearchRequest is the body of POST /{objectType}/search; the spec marks
// every field required.
type SearchRequest struct {
	FilterGroups []filterGroup `json:"filterGroups"`
	Sorts        []string      `json:"sorts"`
	Properties   []string      `json:"properties"`
	Limit        int           `json:"limit"`
	After        string        `json:"after"`
}

// BuildSearch returns the search for an object, or nil when there is
// nothing to search by.
func BuildSearch(obj *crm.Object) *SearchRequest {
	var and []filter
	var groups []filterGroup
	eq := func(f string) (filter, bool) {
		v, ok := obj.Value(f)
		if !ok || v == nil {
			return filter{}, false
		}
		return filter{PropertyName: f, Operator: "EQ", Value: crm.FormatValue(v)}, true
	}
	if lc := obj.Lookup; lc != nil {
		for _, f := range lc.FieldsAnd {
			flt, ok := eq(f)
			if !ok {
				return nil // a required match has no value: nothing can match
			}
			and = append(and, flt)
		}
		for _, f := range lc.FieldsOr {
			if flt, ok := eq(f); ok && len(groups) < 5 { // HubSpot allows 5 groups
				groups = append(groups, filterGroup{Filters: append(append([]filter{}, and...), flt)})
			}
		}
		if len(groups) == 0 && len(and) > 0 {
			groups = []filterGroup{{Filters: and}}
		}
	}
	if len(groups) == 0 && obj.UpsertField != "" {
		groups = []filterGroup{{Filters: []filter{{PropertyName: obj.UpsertField, Operator: "EQ", Value: obj.UpsertValue}}}}
	}
	if len(groups) == 0 {
		return nil
	}
	sort := obj.Lookup.SortField()
	if sort == crm.DefaultSortField {
		sort = "createdate"
	}
	if obj.Lookup.Descending() {
		sort = "-" + sort
	}
	return &SearchRequest{FilterGroups: groups, Sorts: []string{sort}, Properties: []string{"hs_object_id"}, Limit: 1, After: "0"}
}

type simpleObject struct {
	ID  string `json:"id"`
	New *bool  `json:"new"`
}

type batchResponse struct {
	Status    string         `json:"status"`
	Results   []simpleObject `json:"results"`
	NumErrors int            `json:"numErrors"`
	Errors    []struct {
		Status   string              `json:"status"`
		Category string              `json:"category"`
		Message  string              `json:"message"`
		Context  map[string][]string `json:"context"`
	} `json:"errors"`
}

func (c *Client) upsert(ctx context.Context, obj *crm.Object, idem string, assoc []Association) (string, bool, error) {
	typ := ObjectType(obj.ExternalName)
	id := obj.KnownID
	if id == "" {
		if sr := BuildSearch(obj); sr != nil {
			var err error
			if id, err = c.search(ctx, typ, sr, obj.Key); err != nil {
				return "", false, err
			}
		}
	}
	trace := ""
	if idem != "" {
		trace = idem + ":" + obj.Key
	}
	var path string
	var body any
	switch {
	case id != "":
		path = "/batch/update"
		body = map[string]any{"inputs": []map[string]any{{"id": id, "properties": stringProps(obj.Fields), "objectWriteTraceId": trace}}}
	case obj.UpsertField != "":
		path = "/batch/upsert"
		body = map[string]any{"inputs": []map[string]any{{"id": obj.UpsertValue, "idProperty": obj.UpsertField, "properties": stringProps(obj.AllFields()), "objectWriteTraceId": trace}}}
	default:
		path = "/batch/create"
		body = map[string]any{"inputs": []map[string]any{{"associations": assoc, "properties": stringProps(obj.AllFields()), "objectWriteTraceId": trace}}}
	}
	// An update by id or an upsert by key can be resent; a create cannot.
	do := crm.DoIdempotent
	if path == "/batch/create" {
		do = crm.Do
	}
	resp, err := do(ctx, c.http, name, http.MethodPost, c.base+"/"+typ+path, c.header(), body)
	if err != nil {
		return "", false, err
	}
	if resp.Status != http.StatusOK && resp.Status != http.StatusCreated && resp.Status != http.StatusMultiStatus {
		return "", false, mapError(resp, obj.Key)
	}
	var br batchResponse
	if err := json.Unmarshal(resp.Body, &br); err != nil {
		return "", false, &crm.Error{Provider: name, Object: obj.Key, Message: "unreadable batch response", Retryable: true}
	}
	if len(br.Errors) > 0 || len(br.Results) == 0 {
		e := &crm.Error{Provider: name, Object: obj.Key, StatusCode: resp.Status, Message: "record rejected"}
		if len(br.Errors) > 0 {
			first := br.Errors[0]
			e.Code, e.Message = first.Category, crm.Truncate(first.Message, 300)
			e.Field = strings.Join(first.Context["propertyName"], ", ")
		}
		return "", false, e
	}
	r := br.Results[0]
	created := path == "/batch/create"
	if r.New != nil {
		created = *r.New
	}
	return r.ID, created, nil
}

func (c *Client) search(ctx context.Context, typ string, sr *SearchRequest, object string) (string, error) {
	resp, err := crm.DoIdempotent(ctx, c.http, name, http.MethodPost, c.base+"/"+typ+"/search", c.header(), sr)
	if err != nil {
		return "", err
	}
	if resp.Status != http.StatusOK {
		return "", mapError(resp, object)
	}
	var out struct {
		Results []simpleObject `json:"results"`
	}
	if err := json.Unmarshal(resp.Body, &out); err != nil {
		return "", &crm.Error{Provider: name, Object: object, Message: "unreadable search response", Retryable: true}
	}
	if len(out.Results) == 0 {
		return "", nil
	}
	return out.Results[0].ID, nil
}

// mapError reads HubSpot's error object; a 429 becomes retryable with the
// delay from Retry-After or, failing that, the rate-limit window headers.
func mapError(resp *crm.Response, object string) *crm.Error {
	e := &crm.Error{Provider: name, Object: object, StatusCode: resp.Status, Retryable: crm.StatusRetryable(resp.Status)}
	var body struct {
		Category string `json:"category"`
		Message  string `json:"message"`
		Errors   []struct {
			In string `json:"in"`
		} `json:"errors"`
	}
	if json.Unmarshal(resp.Body, &body) == nil && body.Message != "" {
		e.Code, e.Message = body.Category, crm.Truncate(body.Message, 300)
		for _, d := range body.Errors {
			if d.In != "" {
				e.Field = d.In
				break
			}
		}
	} else {
		e.Message = http.StatusText(resp.Status)
	}
	if resp.Status == http.StatusUnauthorized {
		e.Message = "access token rejected: reconnect the HubSpot integration"
	}
	if resp.Status == http.StatusTooManyRequests {
		e.RetryAfter = RateLimitDelay(resp.Header, time.Now())
	}
	return e
}

// RateLimitDelay is how long HubSpot asks us to wait: Retry-After when
// present, else the interval of whichever rate-limit window is exhausted.
func RateLimitDelay(h http.Header, now time.Time) time.Duration {
	if d := retryafter.FromHeader(h, now); d > 0 {
		return d
	}
	if h.Get("X-HubSpot-RateLimit-Secondly-Remaining") == "0" {
		return time.Second
	}
	if h.Get("X-HubSpot-RateLimit-Remaining") == "0" {
		if ms, err := strconv.Atoi(h.Get("X-HubSpot-RateLimit-Interval-Milliseconds")); err == nil && ms > 0 {
			return time.Duration(ms) * time.Millisecond
		}
	}
	return 0
}
