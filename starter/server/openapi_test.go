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
}

type vars map[string]any

const codecToken = "codec-test-token"

// TestOpenAPI drives every operation openapi.json documents against the
// real starter (its handler over a store and the Temporal dev server, with
// a worker), and checks each request and each answer (status, headers,
// body) with kin-openapi's validator. An operation no call reaches fails
// the test, so a new endpoint comes with its calls here.
func TestOpenAPI(t *testing.T) {
	t.Setenv("CRM_SECRETS_KEY", base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32)))
	t.Setenv(codec.EnvKeys, "k1:"+base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{9}, 32)))
	t.Setenv(codec.EnvToken, codecToken)
	st := storetest.SQLite(t)
	s := stack.Start(t, stack.Options{Starter: stack.StarterService, Store: st, NoSandbox: true})

	doc, router := loadOpenAPI(t, s.StarterURL)

	automationID := "0193a4c2-7a10-7c5e-9d1a-2f6b8c1e0b01"
	automation := docbuild.New(automationID).Name("OpenAPI test").Trigger("LEAD_CREATED").
		Node("start", "trigger", docbuild.Data{"label": "Lead created"}).
		Node("done", "end", docbuild.Data{"label": "Done", "reason": "nothing to do"}).
		Edge("start", "done").JSON()
	badAutomation := docbuild.New("bad-automation").Trigger("LEAD_CREATED").
		Node("start", "trigger", nil).
		Node("call", "create_task", docbuild.Data{"type": "FAX", "title": "Call", "assignee": "0192f0a0-0001-7000-8000-000000000001"}).
		Edge("start", "call").JSON()
	leadEvent := func(id string) []byte {
		b, _ := json.Marshal(map[string]any{"id": id, "type": "LEAD_CREATED", "occurredAt": time.Now().UTC().Format(time.RFC3339), "lead": map[string]any{"id": "0192f0a0-0005-7000-8000-0000000000aa", "subject": "Test drive"}})
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
		{name: "codec encode", method: "POST", path: "/codec/encode", auth: "Bearer " + codecToken,
			body:   map[string]any{"payloads": []any{map[string]any{"metadata": map[string]any{"encoding": base64.StdEncoding.EncodeToString([]byte("json/plain"))}, "data": base64.StdEncoding.EncodeToString([]byte(`{"lead":"x"}`))}}},
			status: 200, save: map[string]string{"encoded": "payloads"}},
		{name: "codec decode", method: "POST", path: "/codec/decode", auth: "Bearer " + codecToken,
			body: func(v vars) any { return map[string]any{"payloads": v["encoded"]} }, status: 200},
		{name: "codec wrong token", method: "POST", path: "/codec/decode", auth: "Bearer nope", body: map[string]any{"payloads": []any{}}, status: 401},
	}

	reached := map[string]bool{}
	v := vars{}
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
	path := c.path
	for name, val := range v {
		if s, ok := val.(string); ok {
			path = strings.ReplaceAll(path, "{"+name+"}", s)
		}
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
	case c.auth == "-":
	case c.auth != "":
		req.Header.Set("Authorization", c.auth)
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
