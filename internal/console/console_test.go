package console_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/conecrm/automation-runtime/internal/console"
	"github.com/conecrm/automation-runtime/internal/devkit/sandbox"
	"github.com/conecrm/automation-runtime/internal/devkit/stack"
	"github.com/conecrm/automation-runtime/internal/devkit/storetest"
	"github.com/conecrm/automation-runtime/internal/ingest"
	"github.com/conecrm/automation-runtime/internal/runlog"
	"github.com/conecrm/automation-runtime/internal/store"
	"github.com/conecrm/automation-runtime/starter/server"
	"github.com/conecrm/automation-runtime/workflows"
)

const (
	token      = "console-test-token"
	hookSecret = "console-hook-secret"
	franchise  = "0192f0a0-0007-7000-8000-000000000001"
)

// Sandbox leads: three park in the delay, the hot one fails at the push.
var (
	lead1  = sandbox.LeadAlice
	lead9  = sandbox.LeadChloe
	parked = []string{sandbox.LeadAlice, sandbox.LeadAliceTradeIn, sandbox.LeadBob}
)

// env is the whole runtime (dev server, worker, sandbox) with the
// starter's HTTP service over a store, a dealer DMS that rejects every
// push, and a receiver of failure notifications.
type env struct {
	t       *testing.T
	stack   *stack.Stack
	st      *store.Store
	app     *server.App
	url     string
	mu      sync.Mutex
	notices []notice
}

type notice struct {
	body   []byte
	header http.Header
}

func start(t *testing.T) *env {
	t.Helper()
	e := &env{t: t}
	dms := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnprocessableEntity)
		_, _ = io.WriteString(w, `{"error":"the DMS rejected the lead: dealer code missing"}`)
	}))
	t.Cleanup(dms.Close)
	// The receiver refuses the first delivery, so the outbox must retry.
	refused := false
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		e.mu.Lock()
		defer e.mu.Unlock()
		if !refused {
			refused = true
			http.Error(w, "try later", http.StatusServiceUnavailable)
			return
		}
		e.notices = append(e.notices, notice{body: body, header: r.Header.Clone()})
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(hook.Close)

	dir := t.TempDir()
	for _, name := range []string{"follow-up", "welcome"} {
		b, err := os.ReadFile(filepath.Join("testdata", name+".json.tmpl"))
		if err != nil {
			t.Fatal(err)
		}
		s := strings.NewReplacer("{{DMS_URL}}", dms.URL+"/leads", "{{NOTIFY_URL}}", hook.URL+"/failures").Replace(string(b))
		if err := os.WriteFile(filepath.Join(dir, name+".json"), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	e.stack = stack.Start(t, stack.Options{AutomationsDir: dir, Starter: stack.NoStarter})
	e.st = storetest.SQLite(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	cfg := server.Config{AutomationsDir: dir, APIToken: token, TaskQueue: e.stack.TaskQueue, Namespace: e.stack.Namespace, Refresh: time.Second,
		UIURL: "http://temporal-ui.test:8233", RunLogInterval: 200 * time.Millisecond, WebhookSecret: hookSecret}
	app, err := server.New(ctx, e.stack.Client, e.st, cfg, e.stack.Log)
	if err != nil {
		t.Fatal(err)
	}
	app.Sender.MaxBackoff = 200 * time.Millisecond
	e.app = app
	srv := httptest.NewServer(app.Handler)
	t.Cleanup(srv.Close)
	e.url = srv.URL
	return e
}

// event posts a lead event (the starter runs unsigned: no events secret).
func (e *env) event(id, leadID string, lead map[string]any) {
	e.t.Helper()
	lead["id"] = leadID
	lead["franchise"] = map[string]any{"id": franchise}
	body, _ := json.Marshal(map[string]any{"id": id, "type": "LEAD_CREATED", "occurredAt": time.Now().UTC().Format(time.RFC3339), "lead": lead})
	resp, err := http.Post(e.url+"/events", "application/json", bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("event %s: %d %s", id, resp.StatusCode, out)
	}
}

func (e *env) get(path, auth string, v any) int {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.url+path, nil)
	if auth != "" {
		req.Header.Set("Authorization", "Bearer "+auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if v != nil && resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(b, v); err != nil {
			e.t.Fatalf("GET %s: %v in %s", path, err, b)
		}
	}
	return resp.StatusCode
}

// eventually polls cond until it holds, failing with what it last saw.
func eventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(4 * time.Minute)
	for {
		ok, last := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still not true after 4 minutes; last: %s", what, last)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// park enrols three ordinary leads (they park in the 2-day delay after
// the call task) and one hot lead, whose DMS push fails; every lead also
// runs the welcome automation to completion.
func (e *env) park() {
	for i, lead := range parked {
		e.event(fmt.Sprintf("ev-%d", i), lead, map[string]any{"makeStr": "Honda"})
	}
	e.event("ev-hot", lead9, map[string]any{"makeStr": "Toyota", "priority": "HOT"})
	since := url(time.Now().Add(-time.Hour))
	eventually(e.t, "3 runs waiting in the delay and 1 failed at the DMS push", func() (bool, string) {
		var st console.Stats
		if code := e.get("/api/automation/console-follow-up/stats?since="+since, token, &st); code != 200 {
			return false, fmt.Sprint("status ", code)
		}
		w, f := st.Nodes["wait"], st.Nodes["dms"]
		return w.Waiting == 3 && f.Failed == 1, fmt.Sprintf("%+v", st.Nodes)
	})
	eventually(e.t, "4 welcome runs recorded", func() (bool, string) {
		var st console.Stats
		e.get("/api/automation/console-welcome/stats?since="+since, token, &st)
		return st.Nodes["welcome"].Passed == 4, fmt.Sprintf("%+v", st.Nodes)
	})
}

func url(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func TestConsole(t *testing.T) {
	e := start(t)
	e.park()
	since := url(time.Now().Add(-time.Hour))

	t.Run("stats", func(t *testing.T) {
		var st console.Stats
		if code := e.get("/api/automation/console-follow-up/stats?since="+since, token, &st); code != 200 {
			t.Fatalf("status %d", code)
		}
		// Waiting comes from visibility (running runs only); passed and
		// failed from the run log (closed runs: the failed hot lead).
		want := map[string]console.NodeStats{
			// The three parked runs passed start, hot and call, which
			// dominate the delay they wait in.
			"start": {Passed: 4}, "hot": {Passed: 4}, "dms": {Failed: 1},
			"call": {Passed: 3}, "wait": {Waiting: 3}, "done": {},
		}
		for node, w := range want {
			if got := st.Nodes[node]; got != w {
				t.Errorf("node %s: %+v, want %+v", node, got, w)
			}
		}
		if st.Runs != (console.Counts{Running: 3, Waiting: 3, Failed: 1}) {
			t.Errorf("runs %+v", st.Runs)
		}
		if !st.Goal.Defined || st.Goal.Closed != 1 || st.Goal.Reached != 0 {
			t.Errorf("goal %+v", st.Goal)
		}
		var later console.Stats
		e.get("/api/automation/console-follow-up/stats?since="+url(time.Now().Add(time.Hour)), token, &later)
		if later.Nodes["dms"].Failed != 0 || later.Nodes["start"].Passed != 0 || later.Nodes["wait"].Waiting != 3 {
			t.Errorf("a period starting in an hour still counts closed runs, or lost the waiting ones: %+v", later.Nodes)
		}
	})

	t.Run("errors", func(t *testing.T) {
		for _, tc := range []struct {
			path, auth string
			want       int
		}{
			{"/api/automation/console-follow-up/stats", "", 401},
			{"/api/automation/console-follow-up/stats", "wrong", 401},
			{"/api/leads/" + lead1 + "/runs", "", 401},
			{"/api/automation/nope/stats", token, 404},
			{"/api/automation/console-follow-up/stats?since=yesterday", token, 400},
			{"/api/automation/console-follow-up/nodes/nope/runs", token, 400},
		} {
			if got := e.get(tc.path, tc.auth, nil); got != tc.want {
				t.Errorf("GET %s (token %q): %d, want %d", tc.path, tc.auth, got, tc.want)
			}
		}
	})

	t.Run("lead runs", func(t *testing.T) {
		var lr console.LeadRuns
		if code := e.get("/api/leads/"+lead1+"/runs", token, &lr); code != 200 {
			t.Fatalf("status %d", code)
		}
		byAutomation := map[string]console.Run{}
		for _, r := range lr.Runs {
			byAutomation[r.AutomationID] = r
		}
		if len(lr.Runs) != 2 {
			t.Fatalf("L1 has %d runs, want 2 (follow-up running, welcome completed): %+v", len(lr.Runs), lr.Runs)
		}
		fu, wel := byAutomation["console-follow-up"], byAutomation["console-welcome"]
		if fu.Status != "running" || fu.CurrentNode != "wait" || wel.Status != workflows.StatusCompleted {
			t.Fatalf("follow-up %s at %s, welcome %s", fu.Status, fu.CurrentNode, wel.Status)
		}
		steps := func(r console.Run) (out []string) {
			for _, s := range r.Steps {
				if s.At.IsZero() {
					t.Errorf("step %s of %s has no time", s.NodeID, r.AutomationID)
				}
				out = append(out, s.NodeID+"="+s.Label)
			}
			return out
		}
		if got := strings.Join(steps(fu), ","); got != "start=New lead,hot=Hot lead?,call=Call the lead" {
			t.Errorf("follow-up steps %s", got)
		}
		if got := strings.Join(steps(wel), ","); got != "start=New lead,welcome=Welcome call,end=Finished" {
			t.Errorf("welcome steps %s", got)
		}
		if !strings.HasPrefix(fu.Steps[2].Summary, "task ") || !strings.HasSuffix(fu.Steps[2].Summary, " created") || fu.Automation != "New lead: call, then follow up in 2 days" {
			t.Errorf("rendered summary %q, automation name %q", fu.Steps[2].Summary, fu.Automation)
		}
		if want := "http://temporal-ui.test:8233/namespaces/" + e.stack.Namespace + "/workflows/"; !strings.HasPrefix(fu.RunURL, want) {
			t.Errorf("run URL %s", fu.RunURL)
		}
		var none console.LeadRuns
		if e.get("/api/leads/nobody/runs", token, &none); len(none.Runs) != 0 {
			t.Errorf("a lead without runs lists %+v", none.Runs)
		}
	})

	t.Run("node runs and failed runs", func(t *testing.T) {
		var nr console.NodeRuns
		e.get("/api/automation/console-follow-up/nodes/wait/runs?since="+since, token, &nr)
		if len(nr.Waiting) != 3 || len(nr.Passed) != 0 || len(nr.Failed) != 0 {
			t.Fatalf("wait: %d waiting, %d passed, %d failed", len(nr.Waiting), len(nr.Passed), len(nr.Failed))
		}
		e.get("/api/automation/console-follow-up/nodes/call/runs?since="+since, token, &nr)
		if len(nr.Waiting) != 0 || len(nr.Passed) != 3 || len(nr.Failed) != 0 {
			t.Fatalf("call: %d waiting, %d passed (the parked runs), %d failed", len(nr.Waiting), len(nr.Passed), len(nr.Failed))
		}
		e.get("/api/automation/console-follow-up/nodes/dms/runs?since="+since, token, &nr)
		if len(nr.Failed) != 1 || nr.Failed[0].LeadID != lead9 || !strings.Contains(nr.Failed[0].Error, "HTTP 422") {
			t.Fatalf("dms failed runs %+v", nr.Failed)
		}
		var failed struct{ Runs []console.Run }
		e.get("/api/runs/failed?automation=console-follow-up&node=dms", token, &failed)
		if len(failed.Runs) != 1 || failed.Runs[0].FailedNode != "dms" {
			t.Fatalf("failed runs %+v", failed.Runs)
		}
		e.get("/api/runs/failed?node=call", token, &failed)
		if len(failed.Runs) != 0 {
			t.Fatalf("failed at call: %+v", failed.Runs)
		}
	})

	t.Run("failure notification", func(t *testing.T) {
		eventually(t, "the failure notification delivered after a refused attempt", func() (bool, string) {
			e.mu.Lock()
			defer e.mu.Unlock()
			return len(e.notices) > 0, fmt.Sprint(len(e.notices), " delivered")
		})
		// Let further polls and deliveries run: still one notification.
		time.Sleep(time.Second)
		e.mu.Lock()
		notices := append([]notice(nil), e.notices...)
		e.mu.Unlock()
		if len(notices) != 1 {
			t.Fatalf("%d notifications for one failed run", len(notices))
		}
		n := notices[0]
		if err := ingest.Verify([]byte(hookSecret), n.header.Get(ingest.HeaderTimestamp), n.header.Get(ingest.HeaderSignature), n.body, time.Now()); err != nil {
			t.Fatalf("signature: %v", err)
		}
		var f runlog.Failure
		if err := json.Unmarshal(n.body, &f); err != nil {
			t.Fatal(err)
		}
		if f.Type != runlog.FailureType || f.AutomationID != "console-follow-up" || f.LeadID != lead9 || f.NodeID != "dms" || f.FranchiseID != franchise ||
			f.Error != "node dms (Push to the dealer DMS) failed: node dms: webhook answered HTTP 422" || !strings.HasPrefix(f.RunURL, "http://temporal-ui.test:8233/namespaces/"+e.stack.Namespace+"/workflows/") {
			t.Fatalf("notification %s", n.body)
		}
		// Only ids: nothing from the lead beyond its id.
		if strings.Contains(string(n.body), "Toyota") || strings.Contains(string(n.body), "HOT") {
			t.Fatalf("notification carries lead data: %s", n.body)
		}
		st, err := e.st.NotificationState(context.Background(), f.RunID)
		if err != nil || !st.Delivered || st.Attempts != 2 {
			t.Fatalf("outbox state %+v, %v (want delivered at the second attempt)", st, err)
		}
	})

	t.Run("login", func(t *testing.T) {
		noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := noRedirect.Get(e.url + "/console/automations/console-follow-up")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/console/login?") {
			t.Fatalf("anonymous page: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		post := func(tok string) *http.Response {
			resp, err := noRedirect.PostForm(e.url+"/console/login", map[string][]string{"token": {tok}, "next": {"/console/failed"}})
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp
		}
		if r := post("wrong"); r.StatusCode != http.StatusUnauthorized || len(r.Cookies()) != 0 {
			t.Fatalf("wrong token: %d, cookies %v", r.StatusCode, r.Cookies())
		}
		r := post(token)
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/console/failed" || len(r.Cookies()) != 1 {
			t.Fatalf("login: %d to %q, cookies %v", r.StatusCode, r.Header.Get("Location"), r.Cookies())
		}
		ck := r.Cookies()[0]
		if ck.Name != console.CookieName || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode {
			t.Fatalf("cookie %+v", ck)
		}
		req, _ := http.NewRequest(http.MethodGet, e.url+"/console/failed", nil)
		req.AddCookie(ck)
		resp, err = noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), "HTTP 422") {
			t.Fatalf("failed page with the cookie: %d %s", resp.StatusCode, body)
		}
		// A bearer header works too, and a wrong cookie sends to the login.
		if code := e.get("/console", token, nil); code != 200 {
			t.Fatalf("/console with a bearer header: %d", code)
		}
		req, _ = http.NewRequest(http.MethodGet, e.url+"/console", nil)
		req.AddCookie(&http.Cookie{Name: console.CookieName, Value: "stale"})
		resp, err = noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "error=") {
			t.Fatalf("stale cookie: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
		}
	})

	t.Run("browser", func(t *testing.T) { browserCheck(t, e) })
}
