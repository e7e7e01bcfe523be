// Package salesforce pushes objects to Salesforce's REST API: SOQL lookups
// built from external_lookup_config, then one composite request for the
// whole chain (account → contact → opportunity), with creates, updates by id
// and upserts by external id. Per-object failures are mapped from
// Salesforce's [{"message","errorCode","fields"}] errors.
package salesforce

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"strings"
	"time"

	"github.com/conecrm/automation-runtime/internal/crm"
	"github.com/conecrm/automation-runtime/internal/retryafter"
)

// DefaultAPIPath is the REST API version used when the integration sets no
// api_base_path.
const DefaultAPIPath = "/services/data/v60.0"

const name = "salesforce"

// Client talks to one Salesforce org.
type Client struct {
	http  *http.Client
	base  string // instance URL + API path
	token string
	path  string // API path alone, for composite sub-request URLs
}

var _ crm.Provider = (*Client)(nil)

// New builds a client; the integration secret is the OAuth access token.
func New(conn crm.Connection) (*Client, error) {
	if conn.Credentials.Secret == "" {
		return nil, &crm.Error{Provider: name, Message: "integration has no secret (OAuth access token)"}
	}
	p := conn.APIBasePath
	if p == "" {
		p = DefaultAPIPath
	}
	return &Client{http: conn.Client(), base: conn.BaseURL(DefaultAPIPath), token: conn.Credentials.Secret, path: p}, nil
}

func (c *Client) header() http.Header {
	return http.Header{"Authorization": {"Bearer " + c.token}}
}

// APIError is one entry of Salesforce's error array.
type APIError struct {
	Message   string   `json:"message"`
	ErrorCode string   `json:"errorCode"`
	Fields    []string `json:"fields,omitempty"`
}

var retryableCodes = map[string]bool{
	"REQUEST_LIMIT_EXCEEDED": true, "UNABLE_TO_LOCK_ROW": true, "SERVER_UNAVAILABLE": true,
	"CONCURRENT_REQUESTS_LIMIT_EXCEEDED": true,
}

// mapError turns a status and Salesforce error body into a *crm.Error.
func mapError(status int, h http.Header, body []byte, object string) *crm.Error {
	e := &crm.Error{Provider: name, Object: object, StatusCode: status, Retryable: crm.StatusRetryable(status)}
	var errs []APIError
	if json.Unmarshal(body, &errs) == nil && len(errs) > 0 {
		e.Code = errs[0].ErrorCode
		e.Message = crm.Truncate(errs[0].Message, 300)
		e.Field = strings.Join(errs[0].Fields, ", ")
		if retryableCodes[e.Code] {
			e.Retryable = true
		}
	} else {
		e.Message = http.StatusText(status)
	}
	if status == http.StatusUnauthorized {
		e.Message = "session expired or invalid: refresh the integration's access token"
	}
	if h != nil {
		e.RetryAfter = retryafter.FromHeader(h, time.Now())
	}
	return e
}

// SOQL escaping: string literals escape backslash, quotes and control
// characters; identifiers are checked, never escaped.
var soqlEscaper = strings.NewReplacer(`\`, `\\`, `'`, `\'`, `"`, `\"`, "\n", `\n`, "\r", `\r`, "\t", `\t`, "\b", `\b`, "\f", `\f`)

var identRe = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*$`)

// Quote returns a SOQL string literal.
func Quote(s string) string { return "'" + soqlEscaper.Replace(s) + "'" }

func ident(s string) (string, error) {
	if !identRe.MatchString(s) {
		return "", fmt.Errorf("%q is not a Salesforce API name", s)
	}
	return s, nil
}

// literal renders a mapped value in SOQL.
func literal(v any) string {
	switch x := v.(type) {
	case bool, float64:
		return crm.FormatValue(x)
	}
	return Quote(crm.FormatValue(v))
}

// BuildLookupQuery builds the SOQL lookup for an object, or "" when it has
// nothing to look up by. ok is false when a lookup value is the id of an
// object still to be created, which no existing record can match.
func BuildLookupQuery(obj *crm.Object) (q string, ok bool, err error) {
	var and, or []string
	cond := func(field string) (string, bool, error) {
		f, err := ident(field)
		if err != nil {
			return "", false, err
		}
		v, _ := obj.Value(field)
		if _, isRef := v.(crm.ObjectRef); isRef {
			return "", false, nil
		}
		if v == nil {
			return f + " = null", true, nil
		}
		return f + " = " + literal(v), true, nil
	}
	if lc := obj.Lookup; lc != nil {
		for _, f := range lc.FieldsAnd {
			c, ok, err := cond(f)
			if err != nil || !ok {
				return "", ok, err
			}
			and = append(and, c)
		}
		for _, f := range lc.FieldsOr {
			if v, _ := obj.Value(f); v == nil {
				continue // an absent value matches nothing useful
			}
			c, ok, err := cond(f)
			if err != nil {
				return "", false, err
			}
			if ok {
				or = append(or, c)
			}
		}
		if len(lc.FieldsOr) > 0 && len(or) == 0 && len(and) == 0 {
			return "", true, nil
		}
	}
	if obj.UpsertField != "" && len(and) == 0 && len(or) == 0 {
		f, err := ident(obj.UpsertField)
		if err != nil {
			return "", false, err
		}
		and = append(and, f+" = "+Quote(obj.UpsertValue))
	}
	if len(and) == 0 && len(or) == 0 {
		return "", true, nil
	}
	where := strings.Join(and, " AND ")
	if len(or) > 0 {
		o := "(" + strings.Join(or, " OR ") + ")"
		if where != "" {
			where += " AND " + o
		} else {
			where = o
		}
	}
	sobj, err := ident(obj.ExternalName)
	if err != nil {
		return "", false, err
	}
	sortField, err := ident(obj.Lookup.SortField())
	if err != nil {
		return "", false, err
	}
	dir := "ASC"
	if obj.Lookup.Descending() {
		dir = "DESC"
	}
	return fmt.Sprintf("SELECT Id FROM %s WHERE %s ORDER BY %s %s LIMIT 1", sobj, where, sortField, dir), true, nil
}

type queryResult struct {
	TotalSize int `json:"totalSize"`
	Records   []struct {
		ID string `json:"Id"`
	} `json:"records"`
}

func (c *Client) query(ctx context.Context, soql, object string) (string, error) {
	resp, err := crm.DoIdempotent(ctx, c.http, name, http.MethodGet, c.base+"/query?q="+url.QueryEscape(soql), c.header(), nil)
	if err != nil {
		return "", err
	}
	if resp.Status != http.StatusOK {
		return "", mapError(resp.Status, resp.Header, resp.Body, object)
	}
	var qr queryResult
	if err := json.Unmarshal(resp.Body, &qr); err != nil {
		return "", &crm.Error{Provider: name, Object: object, Message: "unreadable query response", Retryable: true}
	}
	if len(qr.Records) == 0 {
		return "", nil
	}
	return qr.Records[0].ID, nil
}

type action int

const (
	actCreate action = iota
	actUpdate
	actUpsert
)

type plan struct {
	obj crm.Object
	act action
	id  string // for updates
	ref string // composite referenceId
}

type subrequest struct {
	Method      string         `json:"method"`
	URL         string         `json:"url"`
	ReferenceID string         `json:"referenceId"`
	Body        map[string]any `json:"body,omitempty"`
}

type compositeRequest struct {
	AllOrNone        bool         `json:"allOrNone"`
	CompositeRequest []subrequest `json:"compositeRequest"`
}

type compositeResponse struct {
	CompositeResponse []struct {
		Body           json.RawMessage   `json:"body"`
		HTTPHeaders    map[string]string `json:"httpHeaders"`
		HTTPStatusCode int               `json:"httpStatusCode"`
		ReferenceID    string            `json:"referenceId"`
	} `json:"compositeResponse"`
}

type saveResult struct {
	ID      string `json:"id"`
	Success bool   `json:"success"`
	Created *bool  `json:"created"`
}

// Push looks every object up, then writes the chain in one composite
// request; ids of objects created in the same request are passed with
// composite references (@{refN.id}). A 300 (several records share the
// external id) is settled by the lookup sort order, then written by id.
func (c *Client) Push(ctx context.Context, objs []crm.Object, opts crm.PushOptions) ([]crm.ObjectResult, error) {
	known := map[string]string{} // object key → id known before writing
	plans := make([]*plan, len(objs))
	for i := range objs {
		p := &plan{obj: objs[i], ref: fmt.Sprintf("ref%d", i)}
		plans[i] = p
		p.obj.Fields = crm.ResolveRefs(p.obj.Fields, known)
		p.obj.CreateOnly = crm.ResolveRefs(p.obj.CreateOnly, known)
		if p.obj.KnownID != "" {
			p.act, p.id = actUpdate, p.obj.KnownID
			known[p.obj.Key] = p.id
			continue
		}
		q, ok, err := BuildLookupQuery(&p.obj)
		if err != nil {
			return nil, &crm.Error{Provider: name, Object: p.obj.Key, Message: err.Error()}
		}
		if ok && q != "" {
			id, err := c.query(ctx, q, p.obj.Key)
			if err != nil {
				return nil, err
			}
			if id != "" {
				p.act, p.id = actUpdate, id
				known[p.obj.Key] = id
				continue
			}
		}
		if p.obj.UpsertField != "" {
			p.act = actUpsert
		}
	}

	sub := make([]subrequest, 0, len(plans))
	for i, p := range plans {
		sub = append(sub, c.subrequest(p, plans[:i]))
	}
	resp, err := crm.Do(ctx, c.http, name, http.MethodPost, c.base+"/composite", c.header(), compositeRequest{AllOrNone: false, CompositeRequest: sub})
	if err != nil {
		return nil, err
	}
	if resp.Status != http.StatusOK {
		return nil, mapError(resp.Status, resp.Header, resp.Body, "")
	}
	var cr compositeResponse
	if err := json.Unmarshal(resp.Body, &cr); err != nil || len(cr.CompositeResponse) != len(plans) {
		return nil, &crm.Error{Provider: name, Message: "unreadable composite response", Retryable: true}
	}

	ids := map[string]string{}
	results := make([]crm.ObjectResult, 0, len(plans))
	for i, p := range plans {
		r := cr.CompositeResponse[i]
		res := crm.ObjectResult{Key: p.obj.Key, ExternalName: p.obj.ExternalName}
		var oerr error
		switch {
		case r.HTTPStatusCode >= 200 && r.HTTPStatusCode < 300:
			res.ID, res.Created = p.id, false
			var sr saveResult
			if len(r.Body) > 0 && json.Unmarshal(r.Body, &sr) == nil && sr.ID != "" {
				res.ID = sr.ID
				res.Created = r.HTTPStatusCode == http.StatusCreated || (sr.Created != nil && *sr.Created)
			}
		case r.HTTPStatusCode == http.StatusMultipleChoices:
			res.ID, oerr = c.settleMultiple(ctx, p, r.Body, ids)
		case halted(r.Body) && crm.MissingIDs(&p.obj, ids) == "":
			// Halted only because an earlier sub-request needed a second
			// step (a 300); its ids are known now, so write it on its own.
			res.ID, res.Created, oerr = c.writeOne(ctx, p, ids)
		default:
			oerr = mapError(r.HTTPStatusCode, nil, r.Body, p.obj.Key)
			if missing := crm.MissingIDs(&p.obj, ids); missing != "" {
				oerr = &crm.Error{Provider: name, Object: p.obj.Key, Message: "requires the id of " + missing + ", which was not pushed"}
			}
		}
		if oerr != nil {
			if p.obj.Optional && !crm.IsRetryable(oerr) {
				res.Error = oerr.Error()
				results = append(results, res)
				continue
			}
			return results, oerr
		}
		ids[p.obj.Key] = res.ID
		results = append(results, res)
		if opts.OnPushed != nil {
			opts.OnPushed(res)
		}
	}
	return results, nil
}

func halted(body []byte) bool {
	var errs []APIError
	if json.Unmarshal(body, &errs) != nil || len(errs) == 0 {
		return false
	}
	switch errs[0].ErrorCode {
	case "PROCESSING_HALTED", "INVALID_REFERENCE", "INVALID_CROSS_REFERENCE_KEY":
		return true
	}
	return false
}

func (c *Client) sobjectURL(apiPath string, p *plan, id string) string {
	u := apiPath + "/sobjects/" + url.PathEscape(p.obj.ExternalName)
	switch p.act {
	case actUpdate:
		return u + "/" + url.PathEscape(id)
	case actUpsert:
		return u + "/" + url.PathEscape(p.obj.UpsertField) + "/" + url.PathEscape(p.obj.UpsertValue)
	}
	return u
}

func (c *Client) subrequest(p *plan, earlier []*plan) subrequest {
	body := p.obj.Fields
	method := http.MethodPatch
	switch p.act {
	case actCreate:
		method, body = http.MethodPost, p.obj.AllFields()
	case actUpsert:
		body = p.obj.AllFields()
		// The external id travels in the URL; Salesforce rejects it in the body too.
		delete(body, p.obj.UpsertField)
	}
	refs := map[string]string{}
	for _, e := range earlier {
		refs[e.obj.Key] = "@{" + e.ref + ".id}"
		if e.act == actUpdate {
			refs[e.obj.Key] = e.id
		}
	}
	return subrequest{Method: method, URL: c.sobjectURL(c.path, p, p.id), ReferenceID: p.ref, Body: crm.ResolveRefs(body, refs)}
}

// settleMultiple handles a 300 from an upsert: several records share the
// external id. The oldest (or newest, per sort_order) by the lookup's sort
// field wins and is updated by id.
func (c *Client) settleMultiple(ctx context.Context, p *plan, body []byte, ids map[string]string) (string, error) {
	var urls []string
	if err := json.Unmarshal(body, &urls); err != nil || len(urls) == 0 {
		return "", &crm.Error{Provider: name, Object: p.obj.Key, StatusCode: 300, Code: "MULTIPLE_CHOICES", Message: "several records match the external id"}
	}
	quoted := make([]string, 0, len(urls))
	for _, u := range urls {
		quoted = append(quoted, Quote(path.Base(u)))
	}
	sobj, err := ident(p.obj.ExternalName)
	if err != nil {
		return "", &crm.Error{Provider: name, Object: p.obj.Key, Message: err.Error()}
	}
	sortField, err := ident(p.obj.Lookup.SortField())
	if err != nil {
		return "", &crm.Error{Provider: name, Object: p.obj.Key, Message: err.Error()}
	}
	dir := "ASC"
	if p.obj.Lookup.Descending() {
		dir = "DESC"
	}
	q := fmt.Sprintf("SELECT Id FROM %s WHERE Id IN (%s) ORDER BY %s %s LIMIT 1", sobj, strings.Join(quoted, ", "), sortField, dir)
	id, err := c.query(ctx, q, p.obj.Key)
	if err != nil {
		return "", err
	}
	if id == "" {
		return "", &crm.Error{Provider: name, Object: p.obj.Key, Message: "matching records disappeared while settling a 300", Retryable: true}
	}
	p.act, p.id = actUpdate, id
	_, _, err = c.writeOne(ctx, p, ids)
	return id, err
}

// writeOne writes a single object outside the composite request.
func (c *Client) writeOne(ctx context.Context, p *plan, ids map[string]string) (string, bool, error) {
	body := crm.ResolveRefs(p.obj.Fields, ids)
	method := http.MethodPatch
	switch p.act {
	case actCreate:
		method, body = http.MethodPost, crm.ResolveRefs(p.obj.AllFields(), ids)
	case actUpsert:
		body = crm.ResolveRefs(p.obj.AllFields(), ids)
		delete(body, p.obj.UpsertField)
	}
	// A PATCH (update by id, upsert by external id) can be resent; a POST
	// create cannot.
	do := crm.DoIdempotent
	if method == http.MethodPost {
		do = crm.Do
	}
	resp, err := do(ctx, c.http, name, method, c.sobjectURL(c.base, p, p.id), c.header(), body)
	if err != nil {
		return "", false, err
	}
	switch {
	case resp.Status == http.StatusNoContent:
		return p.id, false, nil
	case resp.Status == http.StatusOK || resp.Status == http.StatusCreated:
		var sr saveResult
		if err := json.Unmarshal(resp.Body, &sr); err != nil || sr.ID == "" {
			return "", false, &crm.Error{Provider: name, Object: p.obj.Key, Message: "unreadable save result"}
		}
		return sr.ID, resp.Status == http.StatusCreated, nil
	}
	return "", false, mapError(resp.Status, resp.Header, resp.Body, p.obj.Key)
}
