package server_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/conecrm/automation-runtime/internal/auth"
	"github.com/conecrm/automation-runtime/internal/catalog"
	"github.com/conecrm/automation-runtime/internal/console"
	"github.com/conecrm/automation-runtime/internal/devkit/devserver"
	"github.com/conecrm/automation-runtime/internal/devkit/stack"
	"github.com/conecrm/automation-runtime/internal/devkit/storetest"
	"github.com/conecrm/automation-runtime/internal/ingest"
	"github.com/conecrm/automation-runtime/internal/routes"
	"github.com/conecrm/automation-runtime/internal/searchattr"
	"github.com/conecrm/automation-runtime/internal/store"
	"github.com/conecrm/automation-runtime/starter/server"
)

const (
	franchiseA = "0192f0a0-0007-7000-8000-00000000000a"
	franchiseB = "0192f0a0-0007-7000-8000-00000000000b"
	userA      = "0192f0a0-0007-7000-8000-0000000000aa"
)

type tenancyEnv struct {
	t        *testing.T
	srv      *httptest.Server
	st       *store.Store
	tokA     string
	tokB     string
	autoDoc  map[string]any
	autoA    string
	autoB    string
	integA   string
	integB   string
	crmInput map[string]any
	// walked records the route of each request made with franchise A's
	// token, when match is set.
	match  func(*http.Request) string
	walked map[string]bool
}

// call sends a request with a token and returns the status and body.
func (e *tenancyEnv) call(token, method, path string, body any, headers ...string) (int, map[string]any) {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, e.srv.URL+path, rd)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	if e.match != nil && token == e.tokA {
		e.walked[e.match(req)] = true
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if json.Unmarshal(raw, &out) != nil {
		var list []any
		if json.Unmarshal(raw, &list) == nil {
			out = map[string]any{"list": list}
		}
	}
	return resp.StatusCode, out
}

func (e *tenancyEnv) doc(franchise string) map[string]any {
	d := map[string]any{}
	for k, v := range e.autoDoc {
		d[k] = v
	}
	delete(d, "id")
	if franchise != "" {
		d["franchise"] = map[string]any{"id": franchise}
	} else {
		delete(d, "franchise")
	}
	return d
}

// newTenancyEnv serves the starter's API over a store; with a Temporal
// client (and its namespace) the console's endpoints too, as server.New
// mounts them.
func newTenancyEnv(t *testing.T, temporal client.Client, namespace string) *tenancyEnv {
	t.Setenv("CRM_SECRETS_KEY", base64.StdEncoding.EncodeToString(make([]byte, 32)))
	st := storetest.SQLite(t)
	// POST /events enrols through the API's catalog; runs start on a task
	// queue no worker polls.
	cat := catalog.New()
	in := &ingest.Ingester{Source: cat, Temporal: temporal, TaskQueue: "tenancy-no-worker", Log: zerolog.Nop(), Secret: []byte("s"), Enrolments: st, Events: st}
	api := &catalog.API{Store: st, Catalog: cat, Log: zerolog.Nop()}
	h := server.Handler(in, api, server.CRMHandler(st, zerolog.Nop()), "admin-tok", st)
	if temporal != nil {
		h = server.WithConsole(h, &console.Console{Store: st, Temporal: temporal, Namespace: namespace, UIURL: "http://ui.test",
			Auth: server.Authenticator("admin-tok", st).Require, Scope: server.ConsoleScope, Log: zerolog.Nop()})
	}
	e := &tenancyEnv{t: t, st: st, srv: httptest.NewServer(h)}
	t.Cleanup(e.srv.Close)
	if served, ok := routes.Of(h); ok {
		e.match, e.walked = routes.Matcher(served), map[string]bool{}
	}
	root, _ := devserver.RepoRoot()
	raw, err := os.ReadFile(filepath.Join(root, "automations", "new-lead-call-task.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &e.autoDoc); err != nil {
		t.Fatal(err)
	}
	raw, err = os.ReadFile(filepath.Join(root, "internal", "crm", "testdata", "salesforce.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &e.crmInput); err != nil {
		t.Fatal(err)
	}
	for f, tok := range map[string]*string{franchiseA: &e.tokA, franchiseB: &e.tokB} {
		c, err := auth.Issue(t.Context(), st, auth.NewToken{Name: "dealer", Franchise: f}, "admin", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		*tok = c.Secret
	}
	// Each franchise's token creates one automation and one integration.
	for _, x := range []struct {
		tok         string
		auto, integ *string
	}{{e.tokA, &e.autoA, &e.integA}, {e.tokB, &e.autoB, &e.integB}} {
		status, out := e.call(x.tok, "POST", "/api/automation", e.doc(""))
		if status != 200 {
			t.Fatalf("create automation: %d %v", status, out)
		}
		*x.auto = out["id"].(string)
		status, out = e.call(x.tok, "POST", "/api/crm_integrations", e.crmInput)
		if status != 201 {
			t.Fatalf("create integration: %d %v", status, out)
		}
		*x.integ = out["crm_integration"].(map[string]any)["heron_id"].(string)
	}
	return e
}

// notWalked are the /api routes that hold no franchise's data.
var notWalked = map[string]bool{"GET /api/openapi.json": true, "GET /api/automation/schema": true, "GET /api/automation/builder/data": true}

// TestNoEndpointCrossesFranchises walks every /api route with franchise A's
// token against franchise B's objects: reads and writes of B's objects are
// 404 (as if they did not exist), requests naming B are 403, listings leave
// B's objects and runs out, and B's objects are unchanged afterwards. A
// route of the starter's API the walk does not reach fails the test.
func TestNoEndpointCrossesFranchises(t *testing.T) {
	ns := stack.Namespace(t)
	tc, err := client.Dial(client.Options{HostPort: stack.Shared(t).Address, Namespace: ns, Logger: devserver.QuietLogger{}})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	e := newTenancyEnv(t, tc, ns)
	_, before := e.call("admin-tok", "GET", "/api/automation/"+e.autoB, nil)
	// B has a run in Temporal (started, never picked up: no worker polls
	// its task queue) and a failed run in the run log, both of lead leadB.
	const leadB = "0192f0a0-0007-7000-8000-0000000000b1"
	if _, err := tc.ExecuteWorkflow(t.Context(), client.StartWorkflowOptions{ID: "tenancy-b-run", TaskQueue: "tenancy-no-worker",
		TypedSearchAttributes: temporal.NewSearchAttributes(searchattr.AutomationID.ValueSet(e.autoB), searchattr.LeadID.ValueSet(leadB),
			searchattr.FranchiseID.ValueSet(franchiseB), searchattr.CurrentNode.ValueSet("call"))}, "AutomationRun"); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	if _, err := e.st.RecordRun(t.Context(), store.RunOutcome{WorkflowID: "tenancy-b-failed", RunID: "tenancy-b-failed-run", AutomationID: e.autoB, LeadID: leadB,
		FranchiseID: franchiseB, Status: "failed", FailedNode: "call", Error: "node call failed", Path: []string{"trigger", "call"},
		Nodes: map[string]string{"trigger": store.NodePassed, "call": store.NodeFailed}, Steps: []byte(`[]`), StartedAt: now.Add(-time.Minute), ClosedAt: now}, nil); err != nil {
		t.Fatal(err)
	}
	link := func(franchise, item string) map[string]any {
		l := map[string]any{"access_token": "tok-" + item, "end_user_name": "dealer", "item_id": item}
		if franchise != "" {
			l["end_user_id"] = franchise
		}
		return l
	}
	// B has a link on its own integration; a shared integration (the
	// admin's, no franchise) has a link per franchise.
	if status, out := e.call(e.tokB, "POST", "/api/integrations/"+e.integB+"/links", link("", "b-own")); status != 201 {
		t.Fatalf("B's link: %d %v", status, out)
	}
	status, out := e.call("admin-tok", "POST", "/api/crm_integrations", e.crmInput)
	if status != 201 {
		t.Fatalf("shared integration: %d %v", status, out)
	}
	shared := out["crm_integration"].(map[string]any)["heron_id"].(string)
	for _, x := range []struct{ tok, item string }{{e.tokA, "a-shared"}, {e.tokB, "b-shared"}} {
		if status, out := e.call(x.tok, "POST", "/api/integrations/"+shared+"/links", link("", x.item)); status != 201 {
			t.Fatalf("link on the shared integration: %d %v", status, out)
		}
	}
	cases := []struct {
		method, path string
		body         any
		want         int
	}{
		{"GET", "/api/automation/" + e.autoB, nil, 404},
		{"PATCH", "/api/automation/" + e.autoB, map[string]any{"name": "taken over"}, 404},
		{"POST", "/api/automation/" + e.autoB + "/duplicate", nil, 404},
		{"POST", "/api/automation/" + e.autoB + "/activate", nil, 404},
		{"POST", "/api/automation/" + e.autoB + "/deactivate", nil, 404},
		{"DELETE", "/api/automation/" + e.autoB + "?cancelRunning=true", nil, 404},
		{"GET", "/api/automation?franchise=" + franchiseB, nil, 403},
		{"POST", "/api/automation", e.doc(franchiseB), 403},
		{"PATCH", "/api/automation/" + e.autoA, map[string]any{"franchise": map[string]any{"id": franchiseB}}, 403},
		{"GET", "/api/crm_integrations/" + e.integB, nil, 404},
		{"PATCH", "/api/crm_integrations/" + e.integB, map[string]any{"is_enabled": false}, 404},
		{"POST", "/api/crm_integrations", withField(e.crmInput, "franchise_id", franchiseB), 403},
		{"PATCH", "/api/crm_integrations/" + e.integA, map[string]any{"franchise_id": franchiseB}, 403},
		{"GET", "/api/crm_integrations/" + shared, nil, 404},
		{"PATCH", "/api/crm_integrations/" + shared, map[string]any{"is_enabled": false}, 404},
		{"GET", "/api/integrations/" + e.integB + "/links", nil, 404},
		{"GET", "/api/integrations/" + e.integB + "/links/b-own", nil, 404},
		{"POST", "/api/integrations/" + e.integB + "/links", link("", "a-there"), 404},
		{"GET", "/api/integrations/" + shared + "/links/b-shared", nil, 404},
		{"POST", "/api/integrations/" + shared + "/links", link(franchiseB, "b-shared"), 403},
		{"POST", "/api/integrations/" + e.integA + "/links", link(franchiseB, "b-in-a"), 403},
		{"GET", "/api/tokens", nil, 403},
		{"POST", "/api/tokens", map[string]any{"name": "x", "franchise": franchiseB}, 403},
		{"DELETE", "/api/tokens/anything", nil, 403},
		{"GET", "/api/franchises/" + franchiseB + "/holidays", nil, 403},
		{"PUT", "/api/franchises/" + franchiseB + "/holidays", map[string]any{"holidays": []any{}}, 403},
		{"DELETE", "/api/franchises/" + franchiseB + "/holidays", nil, 403},
		{"GET", "/api/automation/" + e.autoB + "/stats", nil, 404},
		{"GET", "/api/automation/" + e.autoB + "/nodes/call/runs", nil, 404},
	}
	for _, tc := range cases {
		if got, out := e.call(e.tokA, tc.method, tc.path, tc.body); got != tc.want {
			t.Errorf("%s %s with franchise A's token: HTTP %d %v, want %d", tc.method, tc.path, got, out, tc.want)
		}
	}
	// Events: a lead enrols only in its franchise's automations, and a
	// franchise token posts only its own franchise's events (403 naming
	// the field); the admin token posts any franchise's.
	leadEvent := func(id, lead, franchise string) map[string]any {
		return map[string]any{"id": id, "type": "LEAD_CREATED", "occurredAt": time.Now().UTC().Format(time.RFC3339),
			"lead": map[string]any{"id": lead, "subject": "Civic", "franchise": map[string]any{"id": franchise}}}
	}
	enrolledIn := func(out map[string]any) []string {
		var ids []string
		autos, _ := out["automations"].([]any)
		for _, a := range autos {
			if a := a.(map[string]any); a["result"] == "enrolled" {
				ids = append(ids, a["automationId"].(string))
			}
		}
		return ids
	}
	if status, out := e.call(e.tokA, "POST", "/events", leadEvent("tenancy-ev-1", "lead-of-a", franchiseA)); status != 200 || fmt.Sprint(enrolledIn(out)) != "["+e.autoA+"]" {
		t.Errorf("A's lead event with A's token: %d %v, want enrolled in %s only", status, out, e.autoA)
	}
	if status, out := e.call(e.tokA, "POST", "/events", leadEvent("tenancy-ev-2", "lead-of-b", franchiseB)); status != 403 || !strings.Contains(fmt.Sprint(out["error"]), "lead.franchise.id") {
		t.Errorf("B's lead event with A's token: %d %v, want 403 naming lead.franchise.id", status, out)
	}
	if _, err := tc.DescribeWorkflowExecution(t.Context(), "automation/"+e.autoB+"/lead/lead-of-b", ""); err == nil {
		t.Errorf("A's token enrolled B's lead")
	}
	if status, out := e.call("admin-tok", "POST", "/events", leadEvent("tenancy-ev-3", "lead-of-b", franchiseB)); status != 200 || fmt.Sprint(enrolledIn(out)) != "["+e.autoB+"]" {
		t.Errorf("B's lead event with the admin token: %d %v, want enrolled in %s only", status, out, e.autoB)
	}
	// Listings hold only A's objects.
	_, out = e.call(e.tokA, "GET", "/api/integrations/"+shared+"/links", nil)
	if l := out["links"].([]any); len(l) != 1 || l[0].(map[string]any)["item_id"] != "a-shared" {
		t.Errorf("A lists the shared integration's links: %v", l)
	}
	_, out = e.call("admin-tok", "GET", "/api/integrations/"+shared+"/links", nil)
	if l := out["links"].([]any); len(l) != 2 {
		t.Errorf("admin lists the shared integration's links: %v", l)
	}
	// The admin sees B's runs (once visibility has the running one); A
	// sees none of them.
	deadline := time.Now().Add(time.Minute)
	for {
		_, out = e.call("admin-tok", "GET", "/api/leads/"+leadB+"/runs", nil)
		if runs, _ := out["runs"].([]any); len(runs) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the admin does not see B's two runs of lead %s: %v", leadB, out)
		}
		time.Sleep(200 * time.Millisecond)
	}
	_, out = e.call("admin-tok", "GET", "/api/runs/failed", nil)
	if runs, _ := out["runs"].([]any); len(runs) != 1 {
		t.Errorf("the admin's failed runs: %v", out)
	}
	for _, path := range []string{"/api/leads/" + leadB + "/runs", "/api/runs/failed", "/api/runs/failed?automation=" + e.autoB} {
		if status, out := e.call(e.tokA, "GET", path, nil); status != 200 || len(out["runs"].([]any)) != 0 {
			t.Errorf("GET %s with franchise A's token: HTTP %d %v, want 200 without B's runs", path, status, out)
		}
	}
	_, out = e.call(e.tokA, "GET", "/api/automation", nil)
	if l := out["list"]; len(l.([]any)) != 1 || l.([]any)[0].(map[string]any)["id"] != e.autoA {
		t.Errorf("A lists automations %v", l)
	}
	_, out = e.call(e.tokA, "GET", "/api/automation?franchise="+franchiseA, nil)
	if l := out["list"]; len(l.([]any)) != 1 {
		t.Errorf("A lists its own franchise: %v", l)
	}
	_, out = e.call(e.tokA, "GET", "/api/crm_integrations", nil)
	if l := out["crm_integrations"].([]any); len(l) != 1 || l[0].(map[string]any)["heron_id"] != e.integA || l[0].(map[string]any)["franchise_id"] != franchiseA {
		t.Errorf("A lists integrations %v", l)
	}
	// B's objects are as they were; the admin sees both franchises and
	// filters by franchise.
	_, after := e.call("admin-tok", "GET", "/api/automation/"+e.autoB, nil)
	if before["versionNumber"] != after["versionNumber"] || after["isActive"] != true || after["name"] != before["name"] {
		t.Errorf("B's automation changed: %v -> %v", before, after)
	}
	_, out = e.call("admin-tok", "GET", "/api/automation", nil)
	if l := out["list"].([]any); len(l) != 2 {
		t.Errorf("admin lists %d automations, want 2", len(l))
	}
	_, out = e.call("admin-tok", "GET", "/api/automation?franchise="+franchiseB, nil)
	if l := out["list"].([]any); len(l) != 1 || l[0].(map[string]any)["id"] != e.autoB {
		t.Errorf("admin ?franchise=B lists %v", l)
	}
	// x-api-key is accepted like the bearer token.
	req, _ := http.NewRequest("GET", e.srv.URL+"/api/automation/"+e.autoA, nil)
	req.Header.Set("x-api-key", e.tokA)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Errorf("x-api-key: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	// Every /api route was walked with A's token.
	served, _ := routes.Of(e.srv.Config.Handler)
	for _, pattern := range served {
		if _, path := routes.Split(pattern); strings.HasPrefix(path, "/api/") && !notWalked[pattern] && !e.walked[pattern] {
			t.Errorf("the franchise walk never calls %s with franchise A's token: add a case", pattern)
		}
	}
}

// TestRecordFieldsFromCaller: createdBy, modifiedBy and deletedBy come from
// the token's user or the X-User-Id header.
func TestRecordFieldsFromCaller(t *testing.T) {
	e := newTenancyEnv(t, nil, "")
	status, out := e.call(e.tokA, "POST", "/api/automation", e.doc(""), auth.UserHeader, userA)
	if status != 200 {
		t.Fatalf("create: %d %v", status, out)
	}
	id := out["id"].(string)
	if out["createdBy"].(map[string]any)["id"] != userA || out["modifiedBy"].(map[string]any)["id"] != userA || out["dtype"] != "Automation" ||
		out["dateDeleted"] != nil || out["deletedBy"] != nil || out["franchise"].(map[string]any)["id"] != franchiseA {
		t.Fatalf("created record fields: %v", out)
	}
	c, err := auth.Issue(t.Context(), e.st, auth.NewToken{Name: "editor", Franchise: franchiseA, UserID: "0192f0a0-0007-7000-8000-0000000000bb"}, "admin", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	_, out = e.call(c.Secret, "PATCH", "/api/automation/"+id, map[string]any{"name": "renamed"})
	if out["createdBy"].(map[string]any)["id"] != userA || out["modifiedBy"].(map[string]any)["id"] != "0192f0a0-0007-7000-8000-0000000000bb" {
		t.Fatalf("patched record fields: %v", out)
	}
	_, out = e.call("admin-tok", "DELETE", "/api/automation/"+id, nil, auth.UserHeader, userA)
	if out["deletedBy"].(map[string]any)["id"] != userA {
		t.Fatalf("delete answer: %v", out)
	}
	old, err := e.st.GetVersion(t.Context(), id, 2)
	if err != nil || old.DeletedBy != userA || old.DeletedAt.IsZero() {
		t.Fatalf("stored deletion: %+v %v", old, err)
	}
	// Tokens: the admin creates and revokes; the secret is shown once.
	status, out = e.call("admin-tok", "POST", "/api/tokens", map[string]any{"name": "new", "franchise": franchiseB})
	if status != 201 || !strings.HasPrefix(out["secret"].(string), auth.TokenPrefix) {
		t.Fatalf("token create: %d %v", status, out)
	}
	secret, tokID := out["secret"].(string), out["token"].(map[string]any)["id"].(string)
	if status, _ := e.call(secret, "GET", "/api/automation", nil); status != 200 {
		t.Fatalf("new token: %d", status)
	}
	if status, _ := e.call("admin-tok", "DELETE", "/api/tokens/"+tokID, nil); status != 204 {
		t.Fatalf("revoke: %d", status)
	}
	if status, _ := e.call(secret, "GET", "/api/automation", nil); status != 401 {
		t.Fatalf("revoked token: %d", status)
	}
	if status, out := e.call("admin-tok", "POST", "/api/tokens", map[string]any{"name": "", "franchise": "nope"}); status != 400 || len(out["problems"].([]any)) != 2 {
		t.Fatalf("bad token body: %d %v", status, out)
	}
}

func withField(m map[string]any, k string, v any) map[string]any {
	out := map[string]any{}
	for kk, vv := range m {
		out[kk] = vv
	}
	out[k] = v
	return out
}
