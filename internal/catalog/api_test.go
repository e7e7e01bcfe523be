package catalog_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/rs/zerolog"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/conecrm/automation-runtime/internal/auth"
	"github.com/conecrm/automation-runtime/internal/catalog"
	"github.com/conecrm/automation-runtime/internal/devkit/devserver"
	"github.com/conecrm/automation-runtime/internal/devkit/storetest"
	"github.com/conecrm/automation-runtime/internal/store"
)

// fakeRuns answers visibility with fixed data and records cancellations.
type fakeRuns struct {
	mu        sync.Mutex
	count     int64
	queries   []string
	running   []string
	cancelled []string
}

func (f *fakeRuns) CountWorkflow(_ context.Context, req *workflowservice.CountWorkflowExecutionsRequest) (*workflowservice.CountWorkflowExecutionsResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queries = append(f.queries, req.GetQuery())
	return &workflowservice.CountWorkflowExecutionsResponse{Count: f.count}, nil
}

func (f *fakeRuns) ListWorkflow(_ context.Context, req *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queries = append(f.queries, req.GetQuery())
	resp := &workflowservice.ListWorkflowExecutionsResponse{}
	for _, id := range f.running {
		resp.Executions = append(resp.Executions, &workflowpb.WorkflowExecutionInfo{Execution: &commonpb.WorkflowExecution{WorkflowId: id, RunId: "r"}})
	}
	return resp, nil
}

// DescribeWorkflowExecution answers that every listed run is running.
func (f *fakeRuns) DescribeWorkflowExecution(_ context.Context, id, _ string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	return &workflowservice.DescribeWorkflowExecutionResponse{WorkflowExecutionInfo: &workflowpb.WorkflowExecutionInfo{
		Execution: &commonpb.WorkflowExecution{WorkflowId: id, RunId: "r"}, Status: enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING}}, nil
}

func (f *fakeRuns) CancelWorkflow(_ context.Context, id, _ string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cancelled = append(f.cancelled, id)
	return nil
}

type apiEnv struct {
	t     *testing.T
	st    *store.Store
	cat   *catalog.Catalog
	runs  *fakeRuns
	srv   *httptest.Server
	valid map[string]any
}

func newAPI(t *testing.T, st *store.Store) *apiEnv {
	cat := catalog.New()
	runs := &fakeRuns{count: 3}
	api := &catalog.API{Store: st, Catalog: cat, Runs: runs, Namespace: "default", Log: zerolog.Nop()}
	mux := http.NewServeMux()
	api.Register(mux)
	srv := httptest.NewServer(auth.Fixed(auth.Identity{TokenID: auth.AdminTokenID}, mux))
	t.Cleanup(srv.Close)
	root, _ := devserver.RepoRoot()
	raw, err := os.ReadFile(filepath.Join(root, "automations", "new-lead-call-task.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	_ = json.Unmarshal(raw, &doc)
	delete(doc, "id")
	return &apiEnv{t: t, st: st, cat: cat, runs: runs, srv: srv, valid: doc}
}

func (e *apiEnv) do(method, path string, body any) (int, map[string]any, []byte) {
	e.t.Helper()
	var r *bytes.Reader
	switch b := body.(type) {
	case nil:
		r = bytes.NewReader(nil)
	case string:
		r = bytes.NewReader([]byte(b))
	default:
		data, _ := json.Marshal(b)
		r = bytes.NewReader(data)
	}
	req, _ := http.NewRequest(method, e.srv.URL+path, r)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(buf.Bytes(), &m)
	return resp.StatusCode, m, buf.Bytes()
}

func clone(m map[string]any) map[string]any {
	b, _ := json.Marshal(m)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return out
}

func TestAutomationAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, open func(testing.TB) *store.Store) {
		e := newAPI(t, open(t))
		status, created, body := e.do("POST", "/api/automation", e.valid)
		if status != 200 {
			t.Fatalf("POST: HTTP %d %s", status, body)
		}
		id, _ := created["id"].(string)
		if id == "" || created["versionNumber"] != 1.0 || created["isActive"] != true || created["delayedAutomationsCount"] != 3.0 || created["name"] != e.valid["name"] {
			t.Fatalf("created %s", body)
		}
		if _, ok := created["viewport"]; !ok {
			t.Error("UI fields (viewport) are not kept")
		}
		if p, ok := e.cat.Get(id); !ok || !p.Doc.Active() {
			t.Fatal("created automation not in the catalog")
		}
		if got := e.runs.queries[len(e.runs.queries)-1]; got != "AutomationId = '"+id+"' AND ExecutionStatus = 'Running' AND CurrentNodeType IN ('delay','wait_for_event')" {
			t.Errorf("delayed query %q", got)
		}

		// Invalid: 400 with every problem; the stored version is untouched.
		bad := clone(e.valid)
		bad["name"] = ""
		nodes := bad["nodes"].([]any)
		nodes[1].(map[string]any)["data"].(map[string]any)["expression"] = "lead.category =="
		status, errBody, body := e.do("PATCH", "/api/automation/"+id, bad)
		if status != 400 {
			t.Fatalf("invalid PATCH: HTTP %d %s", status, body)
		}
		problems, _ := errBody["problems"].([]any)
		if len(problems) < 2 || !strings.Contains(string(body), "name") || !strings.Contains(string(body), "is-car") {
			t.Fatalf("want every problem (name and node is-car): %s", body)
		}
		if status, _, body := e.do("POST", "/api/automation", bad); status != 400 || !strings.Contains(string(body), "problems") {
			t.Fatalf("invalid POST: HTTP %d %s", status, body)
		}
		for _, raw := range []string{`{"name": `, `[1,2]`, `"x"`} {
			if status, _, body := e.do("PATCH", "/api/automation/"+id, raw); status != 400 {
				t.Fatalf("PATCH %s: HTTP %d %s", raw, status, body)
			}
		}
		if _, got, _ := e.do("GET", "/api/automation/"+id, nil); got["versionNumber"] != 1.0 || got["name"] != e.valid["name"] {
			t.Fatalf("invalid PATCHes changed the automation: %v", got)
		}

		// A valid PATCH is a new version; the old one stays.
		status, patched, body := e.do("PATCH", "/api/automation/"+id, map[string]any{"name": "Renamed", "dateCreated": "1999-01-01T00:00:00Z"})
		if status != 200 || patched["name"] != "Renamed" || patched["versionNumber"] != 2.0 || patched["dateCreated"] != created["dateCreated"] {
			t.Fatalf("PATCH: HTTP %d %s", status, body)
		}
		if patched["version"] == created["version"] {
			t.Error("a changed name should change the version hash")
		}
		if v1, err := e.st.GetVersion(context.Background(), id, 1); err != nil || !strings.Contains(string(v1.Document), e.valid["name"].(string)) {
			t.Fatalf("version 1 changed: %s %v", v1.Document, err)
		}
		if p, _ := e.cat.Get(id); p.Doc.Name != "Renamed" {
			t.Fatal("catalog not updated")
		}

		// Deactivate, activate (explicit endpoints and PATCH isActive).
		if status, got, _ := e.do("POST", "/api/automation/"+id+"/deactivate", nil); status != 200 || got["isActive"] != false {
			t.Fatalf("deactivate: %d %v", status, got)
		}
		if p, _ := e.cat.Get(id); p.Doc.Active() {
			t.Fatal("catalog still active")
		}
		if status, got, _ := e.do("PATCH", "/api/automation/"+id, map[string]any{"isActive": true}); status != 200 || got["isActive"] != true || got["versionNumber"] != 4.0 {
			t.Fatalf("PATCH isActive: %d %v", status, got)
		}

		// Duplicate: a new, inactive automation.
		status, dup, body := e.do("POST", "/api/automation/"+id+"/duplicate", nil)
		if status != 200 || dup["id"] == id || dup["isActive"] != false || dup["name"] != "Renamed (copy)" {
			t.Fatalf("duplicate: %d %s", status, body)
		}
		if status, list, body := e.listLen(); status != 200 || list != 2 {
			t.Fatalf("list: %d %d %s", status, list, body)
		}

		// Unknown ids.
		for _, r := range [][2]string{{"GET", "/api/automation/nope"}, {"PATCH", "/api/automation/nope"}, {"DELETE", "/api/automation/nope"}, {"POST", "/api/automation/nope/duplicate"}, {"POST", "/api/automation/nope/activate"}} {
			if status, _, body := e.do(r[0], r[1], map[string]any{"name": "x"}); status != 404 {
				t.Errorf("%s %s: HTTP %d %s", r[0], r[1], status, body)
			}
		}
		// An id given on POST is kept; taken is 409.
		withID := clone(e.valid)
		withID["id"] = "my-automation"
		if status, got, body := e.do("POST", "/api/automation", withID); status != 200 || got["id"] != "my-automation" {
			t.Fatalf("POST with id: %d %s", status, body)
		}
		if status, _, _ := e.do("POST", "/api/automation", withID); status != 409 {
			t.Fatalf("POST with a taken id: %d", status)
		}

		// DELETE stops enrolments; cancelRunning cancels what visibility lists.
		e.runs.running = []string{"automation/" + id + "/lead/l1", "automation/" + id + "/lead/l2"}
		status, del, body := e.do("DELETE", "/api/automation/"+id+"?cancelRunning=true", nil)
		if status != 200 || del["cancelledRuns"] != 2.0 || len(e.runs.cancelled) != 2 {
			t.Fatalf("DELETE: %d %s cancelled %v", status, body, e.runs.cancelled)
		}
		if q := e.runs.queries[len(e.runs.queries)-1]; q != "AutomationId = '"+id+"' AND ExecutionStatus = 'Running'" {
			t.Errorf("cancel query %q", q)
		}
		if _, ok := e.cat.Get(id); ok {
			t.Fatal("deleted automation still enrols")
		}
		if status, _, _ := e.do("GET", "/api/automation/"+id, nil); status != 404 {
			t.Fatalf("GET deleted: %d", status)
		}
		if status, _, _ := e.do("DELETE", "/api/automation/"+dup["id"].(string), nil); status != 200 || len(e.runs.cancelled) != 2 {
			t.Fatalf("DELETE without cancelRunning cancelled runs")
		}

		// Builder data comes from the node registry.
		status, bd, body := e.do("GET", "/api/automation/builder/data", nil)
		if status != 200 || !strings.Contains(string(body), "LEAD_CREATED") || !strings.Contains(string(body), "create_task") || bd["conditions"] == nil {
			t.Fatalf("builder data: %d %s", status, body)
		}
	})
}

func (e *apiEnv) listLen() (int, int, []byte) {
	req, _ := http.NewRequest("GET", e.srv.URL+"/api/automation", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	var list []map[string]any
	_ = json.Unmarshal(buf.Bytes(), &list)
	return resp.StatusCode, len(list), buf.Bytes()
}

// With the database gone mid-flight, requests answer 503 and write nothing.
func TestAPIDatabaseUnavailable(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(context.Background(), store.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	e := newAPI(t, st)
	status, created, _ := e.do("POST", "/api/automation", e.valid)
	if status != 200 {
		t.Fatal(status)
	}
	id := created["id"].(string)
	st.Close()
	for _, r := range []struct {
		method, path string
		body         any
	}{
		{"GET", "/api/automation", nil},
		{"GET", "/api/automation/" + id, nil},
		{"POST", "/api/automation", e.valid},
		{"PATCH", "/api/automation/" + id, map[string]any{"name": "x"}},
		{"DELETE", "/api/automation/" + id, nil},
	} {
		if status, _, body := e.do(r.method, r.path, r.body); status != 503 {
			t.Errorf("%s %s: HTTP %d, want 503: %s", r.method, r.path, status, body)
		}
	}
	st2, err := store.Open(context.Background(), store.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	list, _ := st2.List(context.Background())
	if len(list) != 1 || list[0].Seq != 1 {
		t.Fatalf("something was written: %+v", list)
	}
}

func TestImportExport(t *testing.T) {
	storetest.Each(t, func(t *testing.T, open func(testing.TB) *store.Store) {
		st := open(t)
		ctx := context.Background()
		root, _ := devserver.RepoRoot()
		dir := filepath.Join(root, "automations")
		res, err := catalog.ImportDir(ctx, st, dir)
		files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
		if err != nil || res[store.ImportCreated] != len(files) {
			t.Fatalf("first import %v %v (%d files)", res, err, len(files))
		}
		res, err = catalog.ImportDir(ctx, st, dir)
		if err != nil || res[store.ImportUnchanged] != len(files) {
			t.Fatalf("second import %v %v", res, err)
		}
		out := t.TempDir()
		n, err := catalog.ExportDir(ctx, st, out)
		if err != nil || n != len(files) {
			t.Fatalf("export %d %v", n, err)
		}
		// Exported files import into a fresh store as the same versions.
		st2 := open(t)
		if _, err := catalog.ImportDir(ctx, st2, out); err != nil {
			t.Fatal(err)
		}
		a, _ := st.List(ctx)
		b, _ := st2.List(ctx)
		versions := map[string]string{}
		for _, x := range b {
			versions[x.ID] = x.Version
		}
		for _, x := range a {
			if versions[x.ID] != x.Version {
				t.Fatalf("round trip changed %s: %s != %s", x.ID, x.Version, versions[x.ID])
			}
		}
		cat := catalog.New()
		if err := cat.Sync(ctx, st); err != nil || len(cat.All()) != len(files) {
			t.Fatalf("sync %d %v", len(cat.All()), err)
		}
		_ = st.Delete(ctx, a[0].ID, "")
		if err := cat.Sync(ctx, st); err != nil || len(cat.All()) != len(files)-1 {
			t.Fatalf("sync after delete %d %v", len(cat.All()), err)
		}
		// An invalid file is reported; the others are imported.
		bad := t.TempDir()
		_ = os.WriteFile(filepath.Join(bad, "a.json"), []byte(`{"id":"x1","name":"","nodes":[]}`), 0o644)
		_ = os.WriteFile(filepath.Join(bad, "b.json"), []byte(`{`), 0o644)
		if _, err := catalog.ImportDir(ctx, st, bad); err == nil || !strings.Contains(err.Error(), "2 of 2") {
			t.Fatalf("invalid files: %v", err)
		}
	})
}

// A Sync working from a listing older than an API change does not undo it.
func TestSyncKeepsNewerChanges(t *testing.T) {
	ctx := context.Background()
	st := storetest.SQLite(t)
	e := newAPI(t, st)
	_, a, _ := e.do("POST", "/api/automation", e.valid)
	var b map[string]any
	// The listing is read, then both changes land before Sync applies it.
	lister := listerFunc(func(ctx context.Context) ([]store.Automation, error) {
		list, err := st.List(ctx)
		_, b, _ = e.do("POST", "/api/automation", e.valid)
		e.do("DELETE", "/api/automation/"+a["id"].(string), nil)
		return list, err
	})
	if err := e.cat.Sync(ctx, lister); err != nil {
		t.Fatal(err)
	}
	if _, ok := e.cat.Get(a["id"].(string)); ok {
		t.Error("a stale sync brought a deleted automation back")
	}
	if _, ok := e.cat.Get(b["id"].(string)); !ok {
		t.Error("a stale sync removed an automation created after its listing")
	}
	// A fresh sync agrees.
	if err := e.cat.Sync(ctx, st); err != nil || len(e.cat.All()) != 1 {
		t.Fatalf("fresh sync: %d %v", len(e.cat.All()), err)
	}
}

type listerFunc func(context.Context) ([]store.Automation, error)

func (f listerFunc) List(ctx context.Context) ([]store.Automation, error) { return f(ctx) }
