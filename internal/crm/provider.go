package crm

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"strings"
)

// ObjectRef is a field value standing for the id of an object pushed earlier
// in the same sync (external_object_name_for_id). Providers resolve it once
// that object's id is known.
type ObjectRef struct {
	Key string
}

// Object is one mapped record ready to be pushed.
type Object struct {
	Key          string
	ExternalName string
	// Fields are sent on create and on update.
	Fields map[string]any
	// CreateOnly are fields with overwrite_on_update false.
	CreateOnly map[string]any
	// UpsertField and UpsertValue come from external_lookup_field_name: the
	// Salesforce external-id field, HubSpot idProperty, OpenInt upsert_on.
	UpsertField string
	UpsertValue string
	// Lookup finds an existing record before writing, when configured.
	Lookup *LookupConfig
	// KnownID is the CRM id from an earlier push (thirdPartyIds or a
	// previous attempt of this activity): the object is updated by id.
	KnownID string
	// Requires lists the keys of objects whose ids this one needs
	// (required_ids and external_object_name_for_id).
	Requires []string
	Optional bool
}

// Value returns the mapped value of a field, create-only or not.
func (o *Object) Value(field string) (any, bool) {
	if v, ok := o.Fields[field]; ok {
		return v, true
	}
	v, ok := o.CreateOnly[field]
	return v, ok
}

// AllFields returns the fields to send on create.
func (o *Object) AllFields() map[string]any {
	out := make(map[string]any, len(o.Fields)+len(o.CreateOnly))
	maps.Copy(out, o.CreateOnly)
	maps.Copy(out, o.Fields)
	return out
}

// ObjectResult is the outcome of one object.
type ObjectResult struct {
	Key          string `json:"key"`
	ExternalName string `json:"externalName"`
	ID           string `json:"id,omitempty"`
	Created      bool   `json:"created"`
	// Error is set for a failed optional object (the sync went on).
	Error string `json:"error,omitempty"`
}

// PushOptions carry per-sync data to a provider.
type PushOptions struct {
	// IdempotencyKey is derived from the workflow and node; providers send it
	// where the vendor accepts one.
	IdempotencyKey string
	// OnPushed is called after each object is written, so the caller can
	// record progress (the activity heartbeats it, and a retry updates the
	// objects already created instead of creating them again).
	OnPushed func(ObjectResult)
}

// Provider pushes the objects of one sync, in order. It returns the result
// of every object it attempted and, when a non-optional object failed, an
// error (a *Error for vendor failures).
type Provider interface {
	Push(ctx context.Context, objs []Object, opts PushOptions) ([]ObjectResult, error)
}

// Connection is what a provider needs to talk to one integration's CRM.
type Connection struct {
	IntegrationID string
	Provider      string
	InstanceURL   string
	APIBasePath   string
	Credentials   Credentials
	HTTPClient    *http.Client
}

// Client returns the connection's HTTP client or http.DefaultClient.
func (c Connection) Client() *http.Client {
	if c.HTTPClient != nil {
		return c.HTTPClient
	}
	return http.DefaultClient
}

// BaseURL joins the instance URL and the API base path (or def).
func (c Connection) BaseURL(def string) string {
	p := c.APIBasePath
	if p == "" {
		p = def
	}
	return strings.TrimRight(c.InstanceURL, "/") + p
}

// UpsertFunc writes one object whose references are resolved and returns its
// CRM id and whether it was created.
type UpsertFunc func(ctx context.Context, obj *Object) (id string, created bool, err error)

// PushEach is the sequential driver shared by providers without a batch
// endpoint for chains: it enforces required ids, resolves ObjectRefs from
// earlier results, records failures of optional objects and goes on, and
// stops at the first failure of a required one.
func PushEach(ctx context.Context, provider string, objs []Object, opts PushOptions, upsert UpsertFunc) ([]ObjectResult, error) {
	ids := map[string]string{}
	results := make([]ObjectResult, 0, len(objs))
	for i := range objs {
		obj := objs[i]
		res := ObjectResult{Key: obj.Key, ExternalName: obj.ExternalName}
		var err error
		if missing := MissingIDs(&obj, ids); missing != "" {
			err = &Error{Provider: provider, Object: obj.Key, Message: "requires the id of " + missing + ", which was not pushed"}
		} else {
			obj.Fields = ResolveRefs(obj.Fields, ids)
			obj.CreateOnly = ResolveRefs(obj.CreateOnly, ids)
			res.ID, res.Created, err = upsert(ctx, &obj)
		}
		if err != nil {
			if e, ok := AsError(err); ok && e.Object == "" {
				e.Object = obj.Key
			}
			if obj.Optional && !IsRetryable(err) {
				res.Error = err.Error()
				results = append(results, res)
				continue
			}
			return results, err
		}
		ids[obj.Key] = res.ID
		results = append(results, res)
		if opts.OnPushed != nil {
			opts.OnPushed(res)
		}
	}
	return results, nil
}

// MissingIDs names the first required object whose id is unknown, or "".
func MissingIDs(obj *Object, ids map[string]string) string {
	for _, k := range obj.Requires {
		if ids[k] == "" {
			return k
		}
	}
	return ""
}

// ResolveRefs returns fields with every ObjectRef whose id is known replaced
// by that id; fields is not modified.
func ResolveRefs(fields map[string]any, ids map[string]string) map[string]any {
	var out map[string]any
	for k, v := range fields {
		if ref, ok := v.(ObjectRef); ok && ids[ref.Key] != "" {
			if out == nil {
				out = maps.Clone(fields)
			}
			out[k] = ids[ref.Key]
		}
	}
	if out == nil {
		return fields
	}
	return out
}

// FormatValue renders a mapped value as a string (HubSpot properties and
// lookup filters are strings).
func FormatValue(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		if x {
			return "true"
		}
		return "false"
	case float64:
		return trimFloat(x)
	case ObjectRef:
		return "@" + x.Key
	}
	return fmt.Sprint(v)
}

func trimFloat(f float64) string {
	if f == float64(int64(f)) && f < 1e15 && f > -1e15 {
		return fmt.Sprintf("%d", int64(f))
	}
	return fmt.Sprintf("%g", f)
}
