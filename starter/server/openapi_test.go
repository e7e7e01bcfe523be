package server_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/conecrm/automation-runtime/internal/codec"
	"github.com/conecrm/automation-runtime/internal/devkit/docbuild"
	"github.com/conecrm/automation-runtime/internal/devkit/stack"
	"github.com/conecrm/automation-runtime/internal/devkit/storetest"
	"github.com/conecrm/automation-runtime/internal/ingest"
	"github.com/conecrm/automation-runtime/internal/routes"
	"github.com/conecrm/automation-runtime/internal/store"
)

func TestMain(m *testing.M) { stack.Main(m) }

// call is one request of TestOpenAPI. Its path and body may use what
// earlier answers saved ({name} in the path, a func body).
type call struct {
	name   string
	method string
	path   string
	// auth is the Authorization header; "" sends the API token to /api/*
	// and nothing elsewhere, "-" sends none.
	auth   string
	header map[string]string
	// body is JSON-encoded; []byte is sent as is; a func(vars) builds it.
	body   any
	status int
	// badRequest marks a request that breaks the document on purpose
	// (to get a 400, 401, 413 or 415): only the answer is checked.
	badRequest bool
	// save keeps values of the answer for later calls: name → dotted path.
	save map[string]string
	// before runs first (to wait for what the call reads, say); check
	// looks at the decoded answer beyond the document's schema.
	before func(t *testing.T)
	check  func(t *testing.T, answer map[string]any)
}

type vars map[string]any

const codecToken = "codec-test-token"

// Two franchises for the calls made with a franchise token.
const (
	franchiseX = "0192f0a0-0009-7000-8000-00000000000a"
	franchiseY = "0192f0a0-0009-7000-8000-00000000000b"
)

// undocumented are the routes the OpenAPI document leaves out on purpose:
// the console's HTML pages and the data their script fetches (checked in
// a browser by internal/console's tests), not part of the API.
var undocumented = map[string]bool{"/console": true, "/console/": true}

// TestOpenAPI drives every operation openapi.json documents against the
// real starter (its handler over a store and the Temporal dev server, with
// a worker), and checks each request and each answer (status, headers,
// body) with kin-openapi's validator. An operation no call reaches fails
// the test, and so does a route the server serves that the document does
// not describe: a new endpoint comes with its description and its calls.
func TestOpenAPI(t *testing.T) {
	t.Setenv("CRM_SECRETS_KEY", base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32)))
	t.Setenv(codec.EnvKeys, "k1:"+base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{9}, 32)))
	t.Setenv(codec.EnvToken, codecToken)
	st := storetest.SQLite(t)
	s := stack.Start(t, stack.Options{Starter: stack.StarterService, Store: st, NoSandbox: true})

	doc, router := loadOpenAPI(t, s.StarterURL)

	automationID := "0193a4c2-7a10-7c5e-9d1a-2f6b8c1e0b01"
	// The DMS refuses every lead, so each run fails at node dms and the
	// console's endpoints have a failed run to show.
	dms := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnprocessableEntity)
		_, _ = io.WriteString(w, `{"error":"dealer code missing"}`)
	}))
	t.Cleanup(dms.Close)
	automationDoc := func(id string) *docbuild.Doc {
		return docbuild.New(id).Name("OpenAPI test").Trigger("LEAD_CREATED").
			Node("start", "trigger", docbuild.Data{"label": "Lead created"}).
			Node("dms", "webhook", docbuild.Data{"label": "Push to the DMS", "url": dms.URL + "/leads", "method": "POST", "body": `{"lead": "{{ lead.id }}"}`}).
			Node("done", "end", docbuild.Data{"label": "Done", "reason": "pushed"}).
			Edge("start", "dms").Edge("dms", "done")
	}
	automation := automationDoc(automationID).JSON()
	franchiseAutomation := automationDoc("0193a4c2-7a10-7c5e-9d1a-2f6b8c1e0b02").Unset("franchise").JSON() // the token's franchise
	otherFranchiseAutomation := automationDoc("0193a4c2-7a10-7c5e-9d1a-2f6b8c1e0b03").Set("franchise", map[string]any{"id": franchiseY}).JSON()
	const leadID = "0192f0a0-0005-7000-8000-0000000000aa"
	badAutomation := docbuild.New("bad-automation").Trigger("LEAD_CREATED").
		Node("start", "trigger", nil).
		Node("call", "create_task", docbuild.Data{"type": "FAX", "title": "Call", "assignee": "0192f0a0-0001-7000-8000-000000000001"}).
		Edge("start", "call").JSON()
	leadEvent := func(id string) []byte {
		b, _ := json.Marshal(map[string]any{"id": id, "type": "LEAD_CREATED", "occurredAt": time.Now().UTC().Format(time.RFC3339), "lead": map[string]any{"id": leadID, "subject": "Test drive", "franchise": map[string]any{"id": docbuild.Franchise}}})
		return b
	}
	integration := map[string]any{
		"provider": "webhook", "instance_url": "https://crm.example/hooks/leads", "is_enabled": true, "is_live": false,
		"secret": "whsec-test",
		"config": map[string]any{"object_configs": []any{map[string]any{
			"key": "lead", "external_name": "lead",
			"field_mappings": []any{map[string]any{"field_name": "email", "source_attribute": "contact.email"}},
		}}},
	}
	link := func(token, franchise, item string) map[string]any {
		return map[string]any{"access_token": token, "end_user_id": franchise, "end_user_name": "Dealer", "item_id": item}
	}
	// failedRecorded waits until the run log holds the automation's failed
	// run (the starter's recorder, polled here rather than on a timer).
	failedRecorded := func(t *testing.T) {
		deadline := time.Now().Add(2 * time.Minute)
		for {
			if _, err := s.App.Recorder.Poll(t.Context()); err != nil {
				t.Logf("run log poll: %v", err)
			}
			runs, err := st.Runs(t.Context(), store.RunFilter{AutomationID: automationID, Status: "failed", Limit: 10})
			if err == nil && len(runs) > 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("the automation's failed run was not recorded: %v %v", runs, err)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	v := vars{} // what calls saved
	asFranchise := "Bearer {ftoken}"
	since := url.QueryEscape(time.Now().Add(-time.Hour).UTC().Format(time.RFC3339))

	calls := []call{
		{name: "health", method: "GET", path: "/healthz", status: 200},
		{name: "metrics", method: "GET", path: "/metrics", status: 200},
		{name: "openapi", method: "GET", path: "/api/openapi.json", auth: "-", status: 200},
		{name: "schema", method: "GET", path: "/api/automation/schema", auth: "-", status: 200},
		{name: "builder data", method: "GET", path: "/api/automation/builder/data", status: 200},
		{name: "no token", method: "GET", path: "/api/automation", auth: "-", status: 401, badRequest: true},
		{name: "wrong token", method: "GET", path: "/api/automation", auth: "Bearer nope", status: 401},
		{name: "create", method: "POST", path: "/api/automation", body: automation, status: 200, save: map[string]string{"id": "id"}},
		{name: "create taken id", method: "POST", path: "/api/automation", body: automation, status: 409},
		{name: "create invalid", method: "POST", path: "/api/automation", body: badAutomation, status: 400, badRequest: true},
		{name: "list", method: "GET", path: "/api/automation", status: 200},
		{name: "list of a franchise", method: "GET", path: "/api/automation?franchise=" + franchiseX, status: 200},
		{name: "token create", method: "POST", path: "/api/tokens", body: map[string]any{"name": "Dealer X", "franchise": franchiseX}, status: 201, save: map[string]string{"ftoken": "secret", "tokenID": "token.id"}},
		{name: "token create invalid", method: "POST", path: "/api/tokens", body: map[string]any{"name": "", "franchise": "nope"}, status: 400, badRequest: true,
			check: func(t *testing.T, a map[string]any) {
				if ps, _ := a["problems"].([]any); len(ps) != 2 {
					t.Errorf("want a problem for name and one for franchise: %v", a)
				}
			}},
		{name: "tokens list", method: "GET", path: "/api/tokens", status: 200},
		{name: "tokens of a franchise", method: "GET", path: "/api/tokens?franchise=" + franchiseX, status: 200},
		{name: "tokens as a franchise", method: "GET", path: "/api/tokens", auth: asFranchise, status: 403},
		{name: "token create as a franchise", method: "POST", path: "/api/tokens", auth: asFranchise, body: map[string]any{"name": "mine", "franchise": franchiseX}, status: 403},
		{name: "franchise lists another franchise", method: "GET", path: "/api/automation?franchise=" + franchiseY, auth: asFranchise, status: 403,
			check: func(t *testing.T, a map[string]any) {
				if ps, _ := a["problems"].([]any); len(ps) != 1 || ps[0].(map[string]any)["path"] != "franchise" {
					t.Errorf("want one problem at franchise: %v", a)
				}
			}},
		{name: "franchise creates in another franchise", method: "POST", path: "/api/automation", auth: asFranchise, body: otherFranchiseAutomation, status: 403},
		{name: "franchise creates", method: "POST", path: "/api/automation", auth: asFranchise, body: franchiseAutomation, status: 200, save: map[string]string{"fauto": "id"}},
		{name: "franchise moves its automation away", method: "PATCH", path: "/api/automation/{fauto}", auth: asFranchise, body: map[string]any{"franchise": map[string]any{"id": franchiseY}}, status: 403},
		{name: "get", method: "GET", path: "/api/automation/{id}", status: 200},
		{name: "get unknown", method: "GET", path: "/api/automation/nope", status: 404},
		{name: "patch", method: "PATCH", path: "/api/automation/{id}", body: map[string]any{"name": "OpenAPI test, renamed"}, status: 200},
		{name: "patch invalid", method: "PATCH", path: "/api/automation/{id}", body: map[string]any{"automationTrigger": "LEAD_DELETED"}, status: 400},
		{name: "patch unknown", method: "PATCH", path: "/api/automation/nope", body: map[string]any{"name": "x"}, status: 404},
		{name: "duplicate", method: "POST", path: "/api/automation/{id}/duplicate", status: 200, save: map[string]string{"copy": "id"}},
		{name: "duplicate unknown", method: "POST", path: "/api/automation/nope/duplicate", status: 404},
		{name: "deactivate", method: "POST", path: "/api/automation/{copy}/deactivate", status: 200},
		{name: "activate", method: "POST", path: "/api/automation/{copy}/activate", status: 200},
		{name: "activate unknown", method: "POST", path: "/api/automation/nope/activate", status: 404},
		{name: "deactivate unknown", method: "POST", path: "/api/automation/nope/deactivate", status: 404},
		{name: "event", method: "POST", path: "/events", body: leadEvent("openapi-ev-1"), status: 200},
		{name: "event again", method: "POST", path: "/events", body: leadEvent("openapi-ev-1"), status: 200},
		{name: "event invalid", method: "POST", path: "/events", body: []byte(`{"lead":{"subject":"x"}}`), status: 400, badRequest: true},
		{name: "event of another franchise with a franchise token", method: "POST", path: "/events", auth: asFranchise, body: leadEvent("openapi-ev-3"), status: 403},
		{name: "event unsigned", method: "POST", path: "/events", body: leadEvent("openapi-ev-2"), header: map[string]string{ingest.HeaderSignature: "sha256=" + strings.Repeat("0", 64)}, status: 401},
		{name: "event not JSON", method: "POST", path: "/events", body: []byte(`id=1`), header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, status: 415, badRequest: true},
		{name: "event too large", method: "POST", path: "/events", body: bytes.Repeat([]byte(" "), ingest.MaxEventBytes+1), status: 413, badRequest: true},
		{name: "delete", method: "DELETE", path: "/api/automation/{copy}?cancelRunning=true", status: 200},
		{name: "delete again", method: "DELETE", path: "/api/automation/{copy}", status: 404},
		{name: "crm create", method: "POST", path: "/api/crm_integrations", body: integration, status: 201, save: map[string]string{"heron": "crm_integration.heron_id"}},
		{name: "crm create invalid", method: "POST", path: "/api/crm_integrations", body: map[string]any{"provider": "fax"}, status: 400, badRequest: true},
		{name: "crm list", method: "GET", path: "/api/crm_integrations", status: 200},
		{name: "crm get", method: "GET", path: "/api/crm_integrations/{heron}", status: 200},
		{name: "crm get unknown", method: "GET", path: "/api/crm_integrations/crm_nope", status: 404},
		{name: "crm patch", method: "PATCH", path: "/api/crm_integrations/{heron}", body: map[string]any{"is_live": true}, status: 200},
		{name: "crm patch invalid", method: "PATCH", path: "/api/crm_integrations/{heron}", body: map[string]any{"instance_url": "ftp://x"}, status: 400},
		{name: "crm create in another franchise", method: "POST", path: "/api/crm_integrations", auth: asFranchise, body: withField(integration, "franchise_id", franchiseY), status: 403},
		{name: "crm create as a franchise", method: "POST", path: "/api/crm_integrations", auth: asFranchise, body: integration, status: 201, save: map[string]string{"fheron": "crm_integration.heron_id"}},
		{name: "crm patch into another franchise", method: "PATCH", path: "/api/crm_integrations/{fheron}", auth: asFranchise, body: map[string]any{"franchise_id": franchiseY}, status: 403},
		{name: "links none yet", method: "GET", path: "/api/integrations/{heron}/links", status: 200},
		{name: "link create", method: "POST", path: "/api/integrations/{heron}/links", body: link("tok-1", franchiseX, "item-x"), status: 201},
		{name: "link update", method: "POST", path: "/api/integrations/{heron}/links", body: link("tok-2", franchiseX, "item-x"), status: 200},
		{name: "link item taken", method: "POST", path: "/api/integrations/{heron}/links", body: link("tok-3", franchiseY, "item-x"), status: 409},
		{name: "link invalid", method: "POST", path: "/api/integrations/{heron}/links", body: map[string]any{"end_user_id": franchiseY}, status: 400, badRequest: true},
		{name: "link in another franchise", method: "POST", path: "/api/integrations/{heron}/links", auth: asFranchise, body: link("tok-4", franchiseY, "item-y"), status: 403},
		{name: "link of an unknown integration", method: "POST", path: "/api/integrations/crm_nope/links", body: link("tok-5", franchiseX, "item-z"), status: 404},
		{name: "links list", method: "GET", path: "/api/integrations/{heron}/links", status: 200},
		{name: "links list as the franchise", method: "GET", path: "/api/integrations/{heron}/links", auth: asFranchise, status: 200},
		{name: "links of an unknown integration", method: "GET", path: "/api/integrations/crm_nope/links", status: 404},
		{name: "link get", method: "GET", path: "/api/integrations/{heron}/links/item-x", status: 200},
		{name: "link get unknown", method: "GET", path: "/api/integrations/{heron}/links/nope", status: 404},
		{name: "stats", method: "GET", path: "/api/automation/{id}/stats", status: 200, before: failedRecorded,
			check: func(t *testing.T, a map[string]any) {
				if n, _ := a["nodes"].(map[string]any)["dms"].(map[string]any); n["failed"] != 1.0 || n["waiting"] != 0.0 {
					t.Errorf("node dms: want 1 failed run, 0 waiting: %v", a)
				}
			}},
		{name: "stats since", method: "GET", path: "/api/automation/{id}/stats?since=" + since, status: 200},
		{name: "stats bad since", method: "GET", path: "/api/automation/{id}/stats?since=yesterday", status: 400, badRequest: true},
		{name: "stats unknown", method: "GET", path: "/api/automation/nope/stats", status: 404},
		{name: "node runs", method: "GET", path: "/api/automation/{id}/nodes/dms/runs?since=" + since, status: 200,
			check: func(t *testing.T, a map[string]any) {
				if f, _ := a["failed"].([]any); len(f) != 1 {
					t.Errorf("want the failed run at dms: %v", a)
				}
			}},
		{name: "node runs unknown node", method: "GET", path: "/api/automation/{id}/nodes/nope/runs", status: 400},
		{name: "node runs unknown automation", method: "GET", path: "/api/automation/nope/nodes/dms/runs", status: 404},
		{name: "lead runs", method: "GET", path: "/api/leads/" + leadID + "/runs", status: 200,
			check: func(t *testing.T, a map[string]any) {
				// The automation's run is recorded (the stats call waited):
				// its steps come from the run log.
				runs, _ := a["runs"].([]any)
				for _, r := range runs {
					if r := r.(map[string]any); r["automationId"] == automationID {
						if steps, _ := r["steps"].([]any); len(steps) == 0 || r["status"] != "failed" {
							t.Errorf("the automation's run, failed with its steps: %v", r)
						}
						return
					}
				}
				t.Errorf("the lead's runs lack the automation's: %v", a)
			}},
		{name: "lead runs as another franchise", method: "GET", path: "/api/leads/" + leadID + "/runs", auth: asFranchise, status: 200,
			check: func(t *testing.T, a map[string]any) {
				for _, r := range a["runs"].([]any) {
					if r.(map[string]any)["automationId"] != v["fauto"] {
						t.Errorf("franchise X sees a run of an automation outside it: %v", r)
					}
				}
			}},
		{name: "failed runs", method: "GET", path: "/api/runs/failed", status: 200},
		{name: "failed runs filtered", method: "GET", path: "/api/runs/failed?automation={id}&node=dms&since=" + since, status: 200,
			check: func(t *testing.T, a map[string]any) {
				if runs, _ := a["runs"].([]any); len(runs) != 1 || runs[0].(map[string]any)["failedNode"] != "dms" {
					t.Errorf("want the run that failed at dms: %v", a)
				}
			}},
		{name: "failed runs bad since", method: "GET", path: "/api/runs/failed?since=nope", status: 400, badRequest: true},
		{name: "holidays none set", method: "GET", path: "/api/franchises/" + franchiseX + "/holidays", status: 200,
			check: func(t *testing.T, a map[string]any) {
				if h, _ := a["holidays"].([]any); h == nil || len(h) != 0 || a["franchise"] != franchiseX {
					t.Errorf("want an empty calendar of franchise X: %v", a)
				}
			}},
		{name: "holidays put", method: "PUT", path: "/api/franchises/" + franchiseX + "/holidays", status: 200,
			body: map[string]any{"timezone": "America/Toronto", "holidays": []any{map[string]any{"date": "2026-12-28", "name": "Boxing Day (observed)"}, map[string]any{"date": "2026-12-25", "name": "Christmas"}}},
			check: func(t *testing.T, a map[string]any) {
				h, _ := a["holidays"].([]any)
				if len(h) != 2 || h[0].(map[string]any)["date"] != "2026-12-25" || a["updatedBy"] != "admin" || a["timezone"] != "America/Toronto" {
					t.Errorf("want the two dates sorted, set by admin: %v", a)
				}
			}},
		{name: "holidays put invalid", method: "PUT", path: "/api/franchises/" + franchiseX + "/holidays", status: 400, badRequest: true,
			body: map[string]any{"timezone": "Mars/Olympus", "holidays": []any{map[string]any{"date": "25/12/2026"}, map[string]any{"date": "2026-12-28"}, map[string]any{"date": "2026-12-28"}}},
			check: func(t *testing.T, a map[string]any) {
				want := map[string]bool{"timezone": true, "holidays[0].date": true, "holidays[2].date": true}
				ps, _ := a["problems"].([]any)
				for _, p := range ps {
					delete(want, p.(map[string]any)["path"].(string))
				}
				if len(ps) != 3 || len(want) != 0 {
					t.Errorf("want problems at timezone, holidays[0].date and holidays[2].date: %v", a)
				}
			}},
		{name: "holidays of a bad franchise id", method: "GET", path: "/api/franchises/nope/holidays", status: 400},
		{name: "holidays as the franchise", method: "GET", path: "/api/franchises/" + franchiseX + "/holidays", auth: asFranchise, status: 200,
			check: func(t *testing.T, a map[string]any) {
				if h, _ := a["holidays"].([]any); len(h) != 2 {
					t.Errorf("franchise X reads its calendar: %v", a)
				}
			}},
		{name: "holidays put as the franchise", method: "PUT", path: "/api/franchises/" + franchiseX + "/holidays", auth: asFranchise, status: 200,
			body: map[string]any{"holidays": []any{map[string]any{"date": "2027-01-01", "name": "New Year"}}},
			check: func(t *testing.T, a map[string]any) {
				if a["updatedBy"] == "admin" || a["updatedBy"] == "" {
					t.Errorf("updatedBy should name the franchise token: %v", a)
				}
			}},
		{name: "holidays of another franchise", method: "PUT", path: "/api/franchises/" + franchiseY + "/holidays", auth: asFranchise, status: 403,
			body: map[string]any{"holidays": []any{}}},
		{name: "holidays delete as another franchise", method: "DELETE", path: "/api/franchises/" + franchiseY + "/holidays", auth: asFranchise, status: 403},
		{name: "holidays delete", method: "DELETE", path: "/api/franchises/" + franchiseX + "/holidays", status: 204},
		{name: "holidays delete again", method: "DELETE", path: "/api/franchises/" + franchiseX + "/holidays", status: 404},
		{name: "token revoke as a franchise", method: "DELETE", path: "/api/tokens/{tokenID}", auth: asFranchise, status: 403},
		{name: "token revoke", method: "DELETE", path: "/api/tokens/{tokenID}", status: 204},
		{name: "token revoke again", method: "DELETE", path: "/api/tokens/{tokenID}", status: 404},
		{name: "codec encode", method: "POST", path: "/codec/encode", auth: "Bearer " + codecToken,
			body:   map[string]any{"payloads": []any{map[string]any{"metadata": map[string]any{"encoding": base64.StdEncoding.EncodeToString([]byte("json/plain"))}, "data": base64.StdEncoding.EncodeToString([]byte(`{"lead":"x"}`))}}},
			status: 200, save: map[string]string{"encoded": "payloads"}},
		{name: "codec decode", method: "POST", path: "/codec/decode", auth: "Bearer " + codecToken,
			body: func(v vars) any { return map[string]any{"payloads": v["encoded"]} }, status: 200},
		{name: "codec wrong token", method: "POST", path: "/codec/decode", auth: "Bearer nope", body: map[string]any{"payloads": []any{}}, status: 401},
	}

	reached := map[string]bool{}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			route := do(t, doc, router, s.StarterURL, c, v)
			reached[route] = true
		})
	}
	// After the database goes away, /healthz says so.
	st.Close()
	t.Run("health without database", func(t *testing.T) {
		do(t, doc, router, s.StarterURL, call{method: "GET", path: "/healthz", status: 503}, v)
	})

	var missing []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			if !reached[method+" "+path] {
				missing = append(missing, method+" "+path)
			}
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("operations of openapi.json no call reaches (add calls to TestOpenAPI): %v", missing)
	}

	// Every route the server serves is in the document.
	served, ok := routes.Of(s.App.Handler)
	if !ok {
		t.Fatal("the starter's handler does not list its routes (routes.Lister)")
	}
	documented := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		_, p := routes.Split(path)
		for method := range item.Operations() {
			documented[method+" "+p] = true
		}
	}
	var undescribed []string
	for _, pattern := range served {
		method, path := routes.Split(pattern)
		switch {
		case undocumented[pattern]:
		case method == "":
			undescribed = append(undescribed, pattern+" (any method: register it with one)")
		case !documented[method+" "+path]:
			undescribed = append(undescribed, pattern)
		}
	}
	if len(undescribed) > 0 {
		t.Errorf("routes the starter serves that openapi.json does not describe (add them, and calls here): %v", undescribed)
	}
}

// loadOpenAPI loads the served document as a client would, checks it is a
// valid OpenAPI document and routes requests to baseURL with it.
func loadOpenAPI(t *testing.T, baseURL string) (*openapi3.T, routers.Router) {
	t.Helper()
	resp, err := http.Get(baseURL + "/api/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET /api/openapi.json: HTTP %d %s", resp.StatusCode, data)
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(data)
	if err != nil {
		t.Fatalf("loading the OpenAPI document: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("the OpenAPI document is invalid: %v", err)
	}
	doc.Servers = openapi3.Servers{{URL: baseURL}}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return doc, router
}

// bearer checks that a request names the credentials the document asks
// for; the handler checks their value.
func bearer(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	if !strings.HasPrefix(in.RequestValidationInput.Request.Header.Get("Authorization"), "Bearer ") {
		return errors.New("no bearer token")
	}
	return nil
}

// do sends c, validates the request and the answer against the document
// and returns the operation reached ("GET /api/automation/{automation}").
func do(t *testing.T, doc *openapi3.T, router routers.Router, baseURL string, c call, v vars) string {
	t.Helper()
	path, authz := c.path, c.auth
	for name, val := range v {
		if s, ok := val.(string); ok {
			path = strings.ReplaceAll(path, "{"+name+"}", s)
			authz = strings.ReplaceAll(authz, "{"+name+"}", s)
		}
	}
	if c.before != nil {
		c.before(t)
	}
	var body []byte
	switch b := c.body.(type) {
	case nil:
	case []byte:
		body = b
	case func(vars) any:
		body, _ = json.Marshal(b(v))
	default:
		body, _ = json.Marshal(b)
	}
	req, err := http.NewRequest(c.method, baseURL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	switch {
	case authz == "-":
	case authz != "":
		req.Header.Set("Authorization", authz)
	case strings.HasPrefix(path, "/api/"):
		req.Header.Set("Authorization", "Bearer "+stack.APIToken)
	}
	if path == "/events" {
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		req.Header.Set(ingest.HeaderTimestamp, ts)
		n, _ := strconv.ParseInt(ts, 10, 64)
		req.Header.Set(ingest.HeaderSignature, ingest.Sign([]byte(stack.EventsSecret), n, body))
	}
	for k, val := range c.header {
		req.Header.Set(k, val)
	}

	route, params, err := router.FindRoute(req)
	if err != nil {
		t.Fatalf("%s %s is not in the OpenAPI document: %v", c.method, path, err)
	}
	opts := &openapi3filter.Options{AuthenticationFunc: bearer, IncludeResponseStatus: true, MultiError: true}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: opts}
	// The validator reads the body: give the request a fresh one after.
	verr := openapi3filter.ValidateRequest(context.Background(), in)
	switch {
	case c.badRequest && verr == nil:
		t.Errorf("the request meets the document, but the call says it breaks it")
	case !c.badRequest && verr != nil:
		t.Errorf("the request breaks the document: %v", verr)
	}
	req.Body = io.NopCloser(bytes.NewReader(body))

	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != c.status {
		t.Fatalf("%s %s: HTTP %d, want %d: %.500s", c.method, path, resp.StatusCode, c.status, answer)
	}
	rin := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header, Options: opts}
	rin.SetBodyBytes(answer)
	if err := openapi3filter.ValidateResponse(context.Background(), rin); err != nil {
		t.Errorf("%s %s: the answer breaks the document: %v\n%.1000s", c.method, path, err, answer)
	}

	if c.check != nil {
		var a map[string]any
		if err := json.Unmarshal(answer, &a); err != nil {
			t.Fatalf("the answer is not a JSON object: %v: %s", err, answer)
		}
		c.check(t, a)
	}
	for name, at := range c.save {
		var x any
		if err := json.Unmarshal(answer, &x); err != nil {
			t.Fatal(err)
		}
		for key := range strings.SplitSeq(at, ".") {
			m, _ := x.(map[string]any)
			x = m[key]
		}
		if x == nil {
			t.Fatalf("no %s in %s", at, answer)
		}
		v[name] = x
	}
	return fmt.Sprintf("%s %s", c.method, route.Path)
}
