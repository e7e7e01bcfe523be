package crmfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"time"
)

// OpenInt fakes the unified CRM account and contact endpoints (served with
// or without the /v0 prefix).
type OpenInt struct {
	common
	spec    *specValidator
	records map[string][]map[string]any // entity → records
}

// NewOpenInt returns a fake; specDir holds openapi.v0.json (empty: no
// spec validation).
func NewOpenInt(specDir string) (*OpenInt, error) {
	o := &OpenInt{records: map[string][]map[string]any{}}
	if specDir != "" {
		v, err := loadSpec(filepath.Join(specDir, "openapi.v0.json"))
		if err != nil {
			return nil, err
		}
		o.spec = v
	}
	return o, nil
}

// Records returns the stored records of an entity (account or contact).
func (o *OpenInt) Records(entity string) []map[string]any {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]map[string]any(nil), o.records[entity]...)
}

func oiError(w http.ResponseWriter, status int, code, msg string) {
	writeJSONStatus(w, status, map[string]any{"code": code, "message": msg, "issues": []any{}})
}

func (o *OpenInt) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body := readBody(r)
	o.mu.Lock()
	defer o.mu.Unlock()
	o.stats.Requests++
	o.log = append(o.log, r.Method+" "+r.URL.Path)
	p := strings.TrimPrefix(r.URL.Path, "/v0")
	if o.spec != nil {
		if msg := o.spec.validate(r, p, body); msg != "" {
			o.violate("%s", msg)
		}
	}
	if r.Header.Get("x-apikey") == "" || r.Header.Get("x-connection-id") == "" {
		oiError(w, http.StatusUnauthorized, "UNAUTHORIZED", "Missing API key or connection id")
		return
	}
	if f := o.takeFault(p); f != nil {
		writeFault(w, f)
		return
	}
	parts := strings.Split(strings.TrimPrefix(p, "/unified/crm/"), "/")
	if len(parts) != 2 || (parts[0] != "account" && parts[0] != "contact") {
		oiError(w, http.StatusNotFound, "NOT_FOUND", "Unknown endpoint")
		return
	}
	entity := parts[0]
	var in struct {
		UpsertOn *struct {
			Key    string   `json:"key"`
			Values []string `json:"values"`
		} `json:"upsert_on"`
		Record map[string]any `json:"record"`
	}
	if err := json.Unmarshal(body, &in); err != nil || in.Record == nil {
		oiError(w, http.StatusBadRequest, "BAD_REQUEST", "Invalid input data")
		return
	}
	now := time.Now().UTC().Format(time.RFC3339Nano)
	var rec map[string]any
	switch {
	case r.Method == http.MethodPost && parts[1] == "_upsert" && in.UpsertOn != nil:
		var hits []map[string]any
		for _, existing := range o.records[entity] {
			for _, v := range in.UpsertOn.Values {
				if s, _ := existing[in.UpsertOn.Key].(string); s != "" && strings.EqualFold(s, v) {
					hits = append(hits, existing)
					break
				}
			}
		}
		if len(hits) > 1 {
			oiError(w, http.StatusBadRequest, "BAD_REQUEST", "More than one record matches upsert_on")
			return
		}
		if len(hits) == 1 {
			rec = hits[0]
			o.stats.Updates++
		} else {
			o.seq++
			rec = map[string]any{"id": fmt.Sprintf("oi_%s_%d", entity, o.seq), "created_at": now}
			if in.UpsertOn.Key != "email" {
				rec[in.UpsertOn.Key] = in.UpsertOn.Values[0]
			}
			o.records[entity] = append(o.records[entity], rec)
			o.stats.Creates++
		}
	case r.Method == http.MethodPatch:
		for _, existing := range o.records[entity] {
			if existing["id"] == parts[1] {
				rec = existing
			}
		}
		if rec == nil {
			oiError(w, http.StatusNotFound, "NOT_FOUND", "Record not found")
			return
		}
		o.stats.Updates++
	default:
		oiError(w, http.StatusNotFound, "NOT_FOUND", "Unsupported operation in the fake")
		return
	}
	for k, v := range in.Record {
		rec[k] = v
	}
	rec["updated_at"] = now
	if rec["created_at"] != now {
		rec["updated_at"] = time.Now().UTC().Add(time.Millisecond).Format(time.RFC3339Nano)
	}
	out := map[string]any{}
	for _, k := range []string{"id", "created_at", "updated_at", "name", "website", "first_name", "last_name", "email", "phone", "addresses", "phone_numbers", "lifecycle_stage"} {
		if v, ok := rec[k]; ok {
			out[k] = v
		}
	}
	writeJSONStatus(w, http.StatusOK, map[string]any{"record": out})
}
