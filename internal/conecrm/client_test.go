package conecrm

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/conecrm/automation-runtime/internal/retryafter"
)

const testLead = "0192f0a0-0005-7000-8000-000000000001"

func TestStatusClasses(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		header     map[string]string
		body       string
		retryable  bool
		retryAfter time.Duration
		wantMsg    string // substring of Error()
		notInMsg   string
	}{
		{name: "400 string", status: 400, body: `"Validation failed: title: is required"`, wantMsg: "HTTP 400: Validation failed: title: is required"},
		{name: "400 error object", status: 400, body: `{"error":"Invalid assignee"}`, wantMsg: "HTTP 400: Invalid assignee"},
		{name: "400 form errors", status: 400, body: `{"message":"Form validation failed","errors":{"contact":["This value should not be blank."]}}`, wantMsg: "Form validation failed; contact: This value should not be blank."},
		{name: "400 validation list", status: 400, body: `{"message":"Validation failed","errors":["a","b"]}`, wantMsg: "Validation failed; a; b"},
		{name: "400 html body is not copied", status: 400, body: `<html>alice@example.com</html>`, wantMsg: "copy lead: HTTP 400", notInMsg: "alice"},
		{name: "401", status: 401, body: `{"error":"Invalid token"}`, wantMsg: "ConeCRM rejected the token/permission for copy lead (HTTP 401)"},
		{name: "403", status: 403, wantMsg: "ConeCRM rejected the token/permission for copy lead (HTTP 403)"},
		{name: "404 names the object", status: 404, body: `{"error":"Lead not found"}`, wantMsg: "lead " + testLead + " not found"},
		{name: "408", status: 408, retryable: true, wantMsg: "HTTP 408"},
		{name: "409", status: 409, wantMsg: "HTTP 409"},
		{name: "422 idempotency mismatch", status: 422, body: `{"error":"Idempotency-Key reused with a different request body"}`, wantMsg: "Idempotency-Key reused"},
		{name: "429 with Retry-After", status: 429, header: map[string]string{"Retry-After": "7"}, retryable: true, retryAfter: 7 * time.Second, wantMsg: "HTTP 429"},
		{name: "429 Retry-After capped", status: 429, header: map[string]string{"Retry-After": "86400"}, retryable: true, retryAfter: retryafter.Max},
		{name: "500", status: 500, body: `{"error":"boom"}`, retryable: true, wantMsg: "HTTP 500: boom"},
		{name: "502 no body", status: 502, retryable: true, wantMsg: "HTTP 502"},
		{name: "503 Retry-After date", status: 503, header: map[string]string{"Retry-After": time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)}, retryable: true, retryAfter: retryafter.Max},
		{name: "long message truncated", status: 400, body: `"` + strings.Repeat("x", 1000) + `"`, wantMsg: strings.Repeat("x", maxErrorMessage) + "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tt.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tt.status)
				_, _ = io.WriteString(w, tt.body)
			}))
			defer srv.Close()
			c := New(Config{BaseURL: srv.URL, Token: "t"}, nil)
			_, err := c.CopyLead(context.Background(), testLead, CopyLeadData{Contact: Ref(testLead)}, "k")
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v is not *Error", err)
			}
			if e.Status != tt.status || e.Retryable() != tt.retryable {
				t.Errorf("status %d retryable %v, want %d %v", e.Status, e.Retryable(), tt.status, tt.retryable)
			}
			if tt.retryAfter != 0 && (e.RetryAfter < tt.retryAfter-2*time.Second || e.RetryAfter > tt.retryAfter) {
				t.Errorf("RetryAfter %v, want about %v", e.RetryAfter, tt.retryAfter)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not contain %q", err, tt.wantMsg)
			}
			if tt.notInMsg != "" && strings.Contains(err.Error(), tt.notInMsg) {
				t.Errorf("error %q copies the body", err)
			}
			if got := IsNotFound(err); got != (tt.status == 404) {
				t.Errorf("IsNotFound = %v", got)
			}
		})
	}
}

func TestNetworkErrorsAreRetryable(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	url := srv.URL
	srv.Close()
	c := New(Config{BaseURL: url}, nil)
	_, err := c.CreateTask(context.Background(), TaskRequest{Assignee: testLead, Title: "x"}, "k")
	var e *Error
	if !errors.As(err, &e) || !e.Retryable() || e.Status != 0 {
		t.Fatalf("got %v, want a retryable network error", err)
	}

	hijack := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		conn, _, _ := http.NewResponseController(w).Hijack()
		conn.Close()
	}))
	defer hijack.Close()
	_, err = New(Config{BaseURL: hijack.URL}, nil).CreateTask(context.Background(), TaskRequest{Assignee: testLead, Title: "x"}, "k")
	if !errors.As(err, &e) || !e.Retryable() {
		t.Fatalf("dropped connection: got %v, want retryable", err)
	}
}

func TestUndecodableSuccessIsRetryableWithoutBody(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, `{"id": "alice@example.com`)
	}))
	defer srv.Close()
	_, err := New(Config{BaseURL: srv.URL}, nil).CreateTask(context.Background(), TaskRequest{}, "k")
	var e *Error
	if !errors.As(err, &e) || !e.Retryable() || strings.Contains(err.Error(), "alice") {
		t.Fatalf("got %v", err)
	}
}

// captured is one request a fake ConeCRM saw.
type captured struct {
	method, path, rawPath, key, auth, ua string
	body                                 map[string]any
}

func fake(t *testing.T, status int, resp string) (*httptest.Server, *[]captured) {
	t.Helper()
	var got []captured
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := captured{method: r.Method, path: r.URL.Path, rawPath: r.URL.EscapedPath(), key: r.Header.Get("Idempotency-Key"), auth: r.Header.Get("Authorization"), ua: r.Header.Get("User-Agent")}
		_ = json.NewDecoder(r.Body).Decode(&c.body)
		got = append(got, c)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, resp)
	}))
	t.Cleanup(srv.Close)
	return srv, &got
}

func TestRequests(t *testing.T) {
	ctx := context.Background()
	t.Run("create task", func(t *testing.T) {
		srv, got := fake(t, 200, `{"id":"t1","type":"CALL"}`)
		task, err := New(Config{BaseURL: srv.URL + "/", Token: "jwt"}, nil).CreateTask(ctx, TaskRequest{Type: "CALL", Assignee: testLead, Title: "Call back"}, "key-1")
		if err != nil || task.ID != "t1" {
			t.Fatalf("%v %v", task, err)
		}
		c := (*got)[0]
		if c.method != "POST" || c.path != "/api/task" || c.key != "key-1" || c.auth != "Bearer jwt" || c.ua == "" || c.body["title"] != "Call back" {
			t.Errorf("%+v", c)
		}
	})
	t.Run("copy lead sends id refs and escapes the path", func(t *testing.T) {
		srv, got := fake(t, 200, `{"id":"new","stage":{"id":"s"}}`)
		lead, err := New(Config{BaseURL: srv.URL}, nil).CopyLead(ctx, "a/b c", CopyLeadData{Contact: Ref("c1"), Department: Ref("d1")}, "key-2")
		if err != nil || lead.ID != "new" || RefID(lead.Stage) != "s" {
			t.Fatalf("%v %v", lead, err)
		}
		c := (*got)[0]
		if c.rawPath != "/api/lead/a%2Fb%20c/copy" || c.key != "key-2" {
			t.Errorf("path %q key %q", c.rawPath, c.key)
		}
		if c.body["contact"].(map[string]any)["id"] != "c1" || c.body["department"].(map[string]any)["id"] != "d1" {
			t.Errorf("body %v", c.body)
		}
		if _, ok := c.body["account"]; ok {
			t.Errorf("empty account sent: %v", c.body)
		}
	})
	t.Run("stages", func(t *testing.T) {
		srv, got := fake(t, 200, `[{"id":"s1","name":"New"}]`)
		stages, err := New(Config{BaseURL: srv.URL}, nil).ListStages(ctx)
		if err != nil || len(stages) != 1 || stages[0].Name != "New" || (*got)[0].key != "" {
			t.Fatalf("%v %v", stages, err)
		}
	})
	t.Run("get stage", func(t *testing.T) {
		srv, got := fake(t, 200, `{"id":"s1","name":"Sold"}`)
		st, err := New(Config{BaseURL: srv.URL}, nil).GetStage(ctx, "s1")
		if err != nil || st.Name != "Sold" || (*got)[0].path != "/api/stage/s1" {
			t.Fatalf("%v %v", st, err)
		}
	})
	t.Run("open leads", func(t *testing.T) {
		srv, got := fake(t, 200, `[{"id":"l1","stage":{"id":"s1"}}]`)
		leads, err := New(Config{BaseURL: srv.URL}, nil).OpenLeadsOfContact(ctx, "c1")
		if err != nil || len(leads) != 1 || (*got)[0].path != "/api/contact/c1/lead/open" {
			t.Fatalf("%v %v", leads, err)
		}
	})
	t.Run("default stage move", func(t *testing.T) {
		srv, got := fake(t, 200, `{"id":"l1","stage":{"id":"s2"}}`)
		lead, err := New(Config{BaseURL: srv.URL}, nil).MoveLeadToStage(ctx, "l1", "s2", "key-3")
		if err != nil || RefID(lead.Stage) != "s2" {
			t.Fatalf("%v %v", lead, err)
		}
		c := (*got)[0]
		if c.method != "PATCH" || c.path != "/api/lead/l1" || c.key != "key-3" || c.body["stage"].(map[string]any)["id"] != "s2" {
			t.Errorf("%+v", c)
		}
	})
	t.Run("configured stage move", func(t *testing.T) {
		srv, got := fake(t, 204, ``)
		cfg := Config{BaseURL: srv.URL, StageMoveMethod: "POST", StageMovePath: "/api/lead/{lead}/stage/{stage}", StageMoveField: "-"}
		lead, err := New(cfg, nil).MoveLeadToStage(ctx, "l 1", "s/2", "key-4")
		if err != nil || lead != nil {
			t.Fatalf("%v %v", lead, err)
		}
		c := (*got)[0]
		if c.method != "POST" || c.rawPath != "/api/lead/l%201/stage/s%2F2" || c.body != nil {
			t.Errorf("%+v", c)
		}
	})
	t.Run("configured stage field", func(t *testing.T) {
		srv, got := fake(t, 200, `{"id":"l1"}`)
		_, err := New(Config{BaseURL: srv.URL, StageMoveField: "connectionStage"}, nil).MoveLeadToStage(ctx, "l1", "s2", "k")
		if err != nil || (*got)[0].body["connectionStage"].(map[string]any)["id"] != "s2" {
			t.Fatalf("%v %v", (*got)[0].body, err)
		}
	})
}

func TestWriteThirdPartyIDsMerges(t *testing.T) {
	ctx := context.Background()
	var bodies []map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b map[string]any
		_ = json.NewDecoder(r.Body).Decode(&b)
		bodies = append(bodies, b)
		if r.Method != "PATCH" || r.URL.Path != "/api/account/a1" {
			t.Errorf("%s %s", r.Method, r.URL.Path)
		}
		if len(b) == 0 { // the read
			_, _ = io.WriteString(w, `{"id":"a1","thirdPartyIds":[{"id":"x","systemName":"DMS","thirdPartyId":"D1"},{"id":"y","systemName":"salesforce:account","thirdPartyId":"OLD"}]}`)
			return
		}
		out, _ := json.Marshal(map[string]any{"id": "a1", "thirdPartyIds": b["thirdPartyIds"]})
		_, _ = w.Write(out)
	}))
	defer srv.Close()
	c := New(Config{BaseURL: srv.URL}, nil)
	acc, written, err := c.WriteThirdPartyIDs(ctx, "a1", nil, []ThirdPartyID{{SystemName: "salesforce:account", ThirdPartyID: "001A"}, {SystemName: "hubspot:contact", ThirdPartyID: "77"}}, "k")
	if err != nil || !written {
		t.Fatalf("%v %v", written, err)
	}
	if len(bodies) != 2 {
		t.Fatalf("%d calls", len(bodies))
	}
	got, _ := json.Marshal(bodies[1])
	want := `{"thirdPartyIds":[{"systemName":"DMS","thirdPartyId":"D1"},{"systemName":"salesforce:account","thirdPartyId":"001A"},{"systemName":"hubspot:contact","thirdPartyId":"77"}]}`
	if string(got) != want {
		t.Errorf("patch body\n%s\nwant\n%s", got, want)
	}
	if len(acc.ThirdPartyIDs) != 3 {
		t.Errorf("%+v", acc)
	}

	// Known existing ids: no read; nothing new: no write.
	bodies = nil
	_, written, err = c.WriteThirdPartyIDs(ctx, "a1", []ThirdPartyID{{SystemName: "DMS", ThirdPartyID: "D1"}}, []ThirdPartyID{{SystemName: "DMS", ThirdPartyID: "D1"}}, "k2")
	if err != nil || written || len(bodies) != 0 {
		t.Fatalf("written %v, %d calls, %v", written, len(bodies), err)
	}
}

func TestFromEnv(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	cfg, err := ConfigFromEnv(env(map[string]string{EnvBaseURL: "https://api.conecrm.com", EnvToken: "jwt", EnvTimeout: "5s", EnvStageMoveMethod: "post", EnvStageMovePath: "/api/lead/{lead}/stage"}))
	if err != nil || cfg.Timeout != 5*time.Second || cfg.Token != "jwt" || cfg.StageMoveMethod != "POST" || cfg.StageMovePath != "/api/lead/{lead}/stage" {
		t.Fatalf("%+v %v", cfg, err)
	}
	c := New(cfg, nil)
	if c.Config().Token != "" || c.Config().StageMoveField != "stage" {
		t.Errorf("%+v", c.Config())
	}
	for _, bad := range []map[string]string{
		{},
		{EnvBaseURL: "ftp://x"},
		{EnvBaseURL: "https://x", EnvTimeout: "soon"},
		{EnvBaseURL: "https://x", EnvStageMoveMethod: "DELETE"},
		{EnvBaseURL: "https://x", EnvStageMovePath: "/api/stage"},
		{EnvBaseURL: "https://x", EnvStageMovePath: "/api/lead/{lead}", EnvStageMoveField: "-"},
	} {
		if _, err := ConfigFromEnv(env(bad)); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
}

func TestMergeThirdPartyIDs(t *testing.T) {
	meta := "m"
	existing := []ThirdPartyID{{ID: "1", SystemName: "A", ThirdPartyID: "a", Metadata: &meta}, {ID: "2", SystemName: "B", ThirdPartyID: "b"}}
	merged, changed := MergeThirdPartyIDs(existing, []ThirdPartyID{{SystemName: "A", ThirdPartyID: "a"}})
	if changed || merged[0].ID != "" || merged[0].Metadata == nil {
		t.Errorf("same id: changed %v %+v", changed, merged)
	}
	merged, changed = MergeThirdPartyIDs(existing, []ThirdPartyID{{SystemName: "B", ThirdPartyID: "b2"}, {SystemName: "C", ThirdPartyID: "c"}})
	if !changed || len(merged) != 3 || merged[1].ThirdPartyID != "b2" || merged[2].SystemName != "C" {
		t.Errorf("%+v", merged)
	}
}

// TestRepeatableCallsRetryInline: reads and whole-list PATCHes absorb a lone
// transient failure; creates never resend (a ConeCRM that ignores
// Idempotency-Key would create twice), and a long Retry-After goes back to
// the activity.
func TestRepeatableCallsRetryInline(t *testing.T) {
	inlineBackoff = func(int) time.Duration { return time.Millisecond }
	t.Cleanup(func() { inlineBackoff = retryafter.InlineBackoff })
	tests := []struct {
		name       string
		failures   []int // statuses before success; 0 drops the connection
		retryAfter string
		call       func(*Client) error
		wantCalls  int
		wantErr    bool
	}{
		{name: "read account after a 500", failures: []int{500}, call: readAccount, wantCalls: 2},
		{name: "read account after a dropped connection", failures: []int{0}, call: readAccount, wantCalls: 2},
		{name: "stage after 429 Retry-After 0", failures: []int{429}, retryAfter: "0", call: getStage, wantCalls: 2},
		{name: "stage after 429 Retry-After 30", failures: []int{429}, retryAfter: "30", call: getStage, wantCalls: 1, wantErr: true},
		{name: "thirdPartyIds PATCH after 503 and drop", failures: []int{503, 0}, call: patchIDs, wantCalls: 3},
		{name: "three 500s surface", failures: []int{500, 500, 500}, call: readAccount, wantCalls: 3, wantErr: true},
		{name: "404 is final", failures: []int{404}, call: getStage, wantCalls: 1, wantErr: true},
		{name: "create task never resent", failures: []int{500}, call: createTask, wantCalls: 1, wantErr: true},
		{name: "create task after a drop never resent", failures: []int{0}, call: createTask, wantCalls: 1, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls++
				if calls <= len(tt.failures) {
					switch st := tt.failures[calls-1]; st {
					case 0:
						conn, _, _ := http.NewResponseController(w).Hijack()
						conn.Close()
					default:
						if tt.retryAfter != "" {
							w.Header().Set("Retry-After", tt.retryAfter)
						}
						w.WriteHeader(st)
						_, _ = w.Write([]byte(`{"message":"no"}`))
					}
					return
				}
				_, _ = w.Write([]byte(`{"id":"x"}`))
			}))
			defer srv.Close()
			err := tt.call(New(Config{BaseURL: srv.URL}, srv.Client()))
			if calls != tt.wantCalls {
				t.Errorf("%d requests, want %d", calls, tt.wantCalls)
			}
			if (err != nil) != tt.wantErr {
				t.Errorf("err = %v, want error %v", err, tt.wantErr)
			}
		})
	}
}

func readAccount(c *Client) error {
	_, err := c.ReadAccount(context.Background(), "acc")
	return err
}

func getStage(c *Client) error {
	_, err := c.GetStage(context.Background(), "st")
	return err
}

func patchIDs(c *Client) error {
	_, err := c.UpdateAccountThirdPartyIDs(context.Background(), "acc", []ThirdPartyID{{SystemName: "s", ThirdPartyID: "1"}}, "")
	return err
}

func createTask(c *Client) error {
	_, err := c.CreateTask(context.Background(), TaskRequest{Assignee: testLead, Title: "x"}, "k")
	return err
}
