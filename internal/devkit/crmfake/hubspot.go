package crmfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// HubSpot fakes the CRM v3 object API for contacts, companies and deals.
type HubSpot struct {
	common
	// BasePath is where the fake serves the object API; requests are
	// validated as if sent to /crm/v3/objects (HubSpot's dated paths keep
	// the v3 shapes).
	BasePath string
	// RejectProperty makes every batch write setting this property fail with
	// a 207 VALIDATION_ERROR for that record.
	RejectProperty string
	specs          map[string]*specValidator // object type → validator
	records        map[string][]*hsRecord
}

type hsRecord struct {
	ID        string
	Props     map[string]string
	CreatedAt time.Time
	// Assoc are the ids of associated records by object type.
	Assoc map[string][]string
}

// hsAssociationTypes are the HUBSPOT_DEFINED association type ids the fake
// knows: from type → type id → to type.
var hsAssociationTypes = map[string]map[int]string{
	"contacts":  {279: "companies", 1: "companies", 4: "deals"},
	"companies": {280: "contacts", 2: "contacts", 342: "deals", 6: "deals"},
	"deals":     {3: "contacts", 341: "companies", 5: "companies"},
}

// Associations returns the ids of the records of type to associated with
// the record id of type typ.
func (h *HubSpot) Associations(typ, id, to string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, r := range h.records[typ] {
		if r.ID == id {
			return append([]string(nil), r.Assoc[to]...)
		}
	}
	return nil
}

// NewHubSpot returns a fake; specDir holds contacts.v3.json,
// companies.v3.json and deals.v3.json (empty: no spec validation).
func NewHubSpot(specDir string) (*HubSpot, error) {
	h := &HubSpot{BasePath: "/crm/v3/objects", specs: map[string]*specValidator{}, records: map[string][]*hsRecord{}}
	if specDir != "" {
		for typ, file := range map[string]string{"contacts": "contacts.v3.json", "companies": "companies.v3.json", "deals": "deals.v3.json"} {
			v, err := loadSpec(filepath.Join(specDir, file))
			if err != nil {
				return nil, err
			}
			h.specs[typ] = v
		}
	}
	return h, nil
}

// Records returns the properties of every record of an object type.
func (h *HubSpot) Records(typ string) []map[string]string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []map[string]string
	for _, r := range h.records[typ] {
		out = append(out, r.Props)
	}
	return out
}

func (h *HubSpot) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body := readBody(r)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.stats.Requests++
	h.log = append(h.log, r.Method+" "+r.URL.Path)
	rest, ok := strings.CutPrefix(r.URL.Path, strings.TrimRight(h.BasePath, "/")+"/")
	if !ok {
		h.violate("%s %s: outside base path %s", r.Method, r.URL.Path, h.BasePath)
		hsError(w, http.StatusNotFound, "OBJECT_NOT_FOUND", "Unknown path")
		return
	}
	typ, op, _ := strings.Cut(rest, "/")
	if v := h.specs[typ]; v != nil {
		specTyp := typ
		if typ == "deals" {
			specTyp = "0-3" // the published deals document names the type by id
		}
		if p := v.validate(r, "/crm/v3/objects/"+specTyp+"/"+op, body); p != "" {
			h.violate("%s", p)
		}
	} else if len(h.specs) > 0 {
		h.violate("%s %s: unknown object type %q", r.Method, r.URL.Path, typ)
	}
	if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
		hsError(w, http.StatusUnauthorized, "INVALID_AUTHENTICATION", "Authentication credentials not found.")
		return
	}
	if h.overLimit(time.Now()) {
		writeFault(w, &Fault{Status: http.StatusTooManyRequests, Header: h.limitHeaders(), Body: hubSpotLimitBody})
		return
	}
	if h.limitMax > 0 {
		// HubSpot states its limits on every answer.
		for k, v := range h.limitHeaders() {
			if k != "Content-Type" {
				w.Header()[k] = v
			}
		}
		w.Header().Set("X-Hubspot-Ratelimit-Remaining", fmt.Sprint(h.limitMax-len(h.admitted)))
	}
	if f := h.takeFault(r.URL.Path); f != nil {
		writeFault(w, f)
		return
	}
	var in struct {
		Inputs []struct {
			ID           string            `json:"id"`
			IDProperty   string            `json:"idProperty"`
			Properties   map[string]string `json:"properties"`
			Associations []struct {
				To struct {
					ID string `json:"id"`
				} `json:"to"`
				Types []struct {
					Category string `json:"associationCategory"`
					TypeID   int    `json:"associationTypeId"`
				} `json:"types"`
			} `json:"associations"`
		} `json:"inputs"`
		FilterGroups []struct {
			Filters []struct {
				PropertyName string `json:"propertyName"`
				Value        string `json:"value"`
			} `json:"filters"`
		} `json:"filterGroups"`
		Sorts []string `json:"sorts"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		hsError(w, http.StatusBadRequest, "VALIDATION_ERROR", "Invalid input JSON")
		return
	}
	now := time.Now().UTC()
	switch {
	case r.Method == http.MethodPost && op == "search":
		var hits []*hsRecord
		for _, rec := range h.records[typ] {
			for _, g := range in.FilterGroups {
				all := true
				for _, f := range g.Filters {
					if !strings.EqualFold(rec.Props[f.PropertyName], f.Value) {
						all = false
					}
				}
				if all {
					hits = append(hits, rec)
					break
				}
			}
		}
		desc := len(in.Sorts) > 0 && strings.HasPrefix(in.Sorts[0], "-")
		slices.SortStableFunc(hits, func(a, b *hsRecord) int {
			if desc {
				return b.CreatedAt.Compare(a.CreatedAt)
			}
			return a.CreatedAt.Compare(b.CreatedAt)
		})
		results := []any{}
		for _, rec := range hits {
			results = append(results, hsObject(rec, nil))
		}
		writeJSONStatus(w, http.StatusOK, map[string]any{"total": len(hits), "results": results})
	case r.Method == http.MethodPost && (op == "batch/create" || op == "batch/update" || op == "batch/upsert"):
		var results, errs []any
		for _, input := range in.Inputs {
			if h.RejectProperty != "" {
				if _, bad := input.Properties[h.RejectProperty]; bad {
					errs = append(errs, map[string]any{
						"status": "error", "category": "VALIDATION_ERROR", "message": "Property values were not valid",
						"context": map[string][]string{"propertyName": {h.RejectProperty}}, "errors": []any{}, "links": map[string]string{},
					})
					continue
				}
			}
			// Associations are checked before anything is written, as
			// HubSpot rejects the record whose association it cannot make.
			assoc := map[string][]string{}
			bad := ""
			for _, a := range input.Associations {
				for _, ty := range a.Types {
					to, ok := hsAssociationTypes[typ][ty.TypeID]
					switch {
					case ty.Category != "HUBSPOT_DEFINED" || !ok:
						h.violate("%s %s: association type %s/%d does not start from %s", r.Method, r.URL.Path, ty.Category, ty.TypeID, typ)
						bad = fmt.Sprintf("association type %d is not valid from %s", ty.TypeID, typ)
					case h.find(to, "hs_object_id", a.To.ID) == nil:
						bad = fmt.Sprintf("%s %s does not exist", to, a.To.ID)
					default:
						assoc[to] = append(assoc[to], a.To.ID)
					}
				}
			}
			if bad != "" {
				errs = append(errs, map[string]any{"status": "error", "category": "VALIDATION_ERROR", "message": "Could not create associations: " + bad, "context": map[string][]string{}, "errors": []any{}, "links": map[string]string{}})
				continue
			}
			var rec *hsRecord
			switch op {
			case "batch/update":
				rec = h.find(typ, "hs_object_id", input.ID)
				if rec == nil {
					errs = append(errs, map[string]any{"status": "error", "category": "OBJECT_NOT_FOUND", "message": "Object not found", "context": map[string][]string{"ids": {input.ID}}, "errors": []any{}, "links": map[string]string{}})
					continue
				}
			case "batch/upsert":
				rec = h.find(typ, input.IDProperty, input.ID)
			}
			isNew := rec == nil
			if isNew {
				h.seq++
				rec = &hsRecord{ID: fmt.Sprint(1000 + h.seq), Props: map[string]string{}, CreatedAt: now.Add(time.Duration(h.seq) * time.Millisecond)}
				rec.Props["hs_object_id"] = rec.ID
				if input.IDProperty != "" {
					rec.Props[input.IDProperty] = input.ID
				}
				h.records[typ] = append(h.records[typ], rec)
				h.stats.Creates++
			} else {
				h.stats.Updates++
			}
			for k, v := range input.Properties {
				rec.Props[k] = v
			}
			for to, ids := range assoc {
				if rec.Assoc == nil {
					rec.Assoc = map[string][]string{}
				}
				rec.Assoc[to] = append(rec.Assoc[to], ids...)
				for _, id := range ids { // associations go both ways
					if other := h.find(to, "hs_object_id", id); other != nil {
						if other.Assoc == nil {
							other.Assoc = map[string][]string{}
						}
						other.Assoc[typ] = append(other.Assoc[typ], rec.ID)
					}
				}
			}
			var newFlag *bool
			if op == "batch/upsert" {
				newFlag = &isNew
			}
			results = append(results, hsObject(rec, newFlag))
		}
		resp := map[string]any{"status": "COMPLETE", "results": nonNil(results), "startedAt": now.Format(time.RFC3339), "completedAt": now.Format(time.RFC3339)}
		status := http.StatusOK
		if op == "batch/create" {
			status = http.StatusCreated
		}
		if len(errs) > 0 {
			resp["errors"], resp["numErrors"] = errs, len(errs)
			status = http.StatusMultiStatus
		}
		writeJSONStatus(w, status, resp)
	default:
		hsError(w, http.StatusNotFound, "OBJECT_NOT_FOUND", "Unsupported operation in the fake")
	}
}

func nonNil(s []any) []any {
	if s == nil {
		return []any{}
	}
	return s
}

func (h *HubSpot) find(typ, prop, value string) *hsRecord {
	if prop == "" {
		prop = "hs_object_id"
	}
	for _, rec := range h.records[typ] {
		if rec.Props[prop] == value {
			return rec
		}
	}
	return nil
}

func hsObject(rec *hsRecord, isNew *bool) map[string]any {
	o := map[string]any{"id": rec.ID, "properties": rec.Props, "archived": false,
		"createdAt": rec.CreatedAt.Format(time.RFC3339Nano), "updatedAt": time.Now().UTC().Format(time.RFC3339Nano)}
	if isNew != nil {
		o["new"] = *isNew
	}
	return o
}

// hsError writes HubSpot's error object.
func hsError(w http.ResponseWriter, status int, category, message string) {
	writeJSONStatus(w, status, map[string]any{"status": "error", "category": category, "message": message, "correlationId": "aeb5f871-7f07-4993-9211-075dc63e7cbf"})
}

const hubSpotLimitBody = `{"status":"error","message":"You have reached your ten_secondly_rolling limit.","errorType":"RATE_LIMIT","correlationId":"c033cdaa-2c40-4a64-ae48-b4cec88dad24","policyName":"TEN_SECONDLY_ROLLING","category":"RATE_LIMITS"}`

// limitHeaders are the rate-limit headers of a 429 for the SetRateLimit
// limit; h.mu is held.
func (h *HubSpot) limitHeaders() http.Header {
	return http.Header{
		"X-Hubspot-Ratelimit-Max":                   {fmt.Sprint(h.limitMax)},
		"X-Hubspot-Ratelimit-Remaining":             {"0"},
		"X-Hubspot-Ratelimit-Interval-Milliseconds": {fmt.Sprint(h.limitWindow.Milliseconds())},
		"Content-Type":                              {"application/json;charset=utf-8"},
	}
}

// HubSpotRateLimit is the 429 HubSpot sends when the ten-secondly window is
// spent, as a Fault.
func HubSpotRateLimit(retryAfter string) Fault {
	h := http.Header{
		"X-Hubspot-Ratelimit-Max":                   {"100"},
		"X-Hubspot-Ratelimit-Remaining":             {"0"},
		"X-Hubspot-Ratelimit-Interval-Milliseconds": {"10000"},
		"X-Hubspot-Ratelimit-Secondly":              {"10"},
		"X-Hubspot-Ratelimit-Secondly-Remaining":    {"0"},
		"Content-Type":                              {"application/json;charset=utf-8"},
	}
	if retryAfter != "" {
		h.Set("Retry-After", retryAfter)
	}
	return Fault{Status: http.StatusTooManyRequests, Header: h, Body: hubSpotLimitBody}
}

func writeJSONStatus(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
