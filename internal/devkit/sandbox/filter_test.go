package sandbox

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/conecrm/automation-runtime/internal/conecrm"
	"github.com/conecrm/automation-runtime/internal/querybuilder"
)

func TestFilter(t *testing.T) {
	_, c := start(t)
	ctx := context.Background()
	for _, title := range []string{"Call Alice", "Call Bob"} {
		conn := LeadAlice
		if title == "Call Bob" {
			conn = LeadBob
		}
		if _, err := c.CreateTask(ctx, conecrm.TaskRequest{Assignee: UserSam, Title: title, Note: "ref " + title, Connection: conn}, ""); err != nil {
			t.Fatal(err)
		}
	}
	tasks := func(rules ...conecrm.Rule) []string {
		t.Helper()
		found, err := c.FindTasks(ctx, rules...)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, x := range found {
			out = append(out, x.Title)
		}
		return out
	}
	leads := func(rules ...conecrm.Rule) []string {
		t.Helper()
		found, err := c.FindLeads(ctx, rules...)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, x := range found {
			out = append(out, x.ID)
		}
		return out
	}
	cases := []struct {
		name string
		got  []string
		want []string
	}{
		{"task by note", tasks(conecrm.Rule{Field: "note", Operator: "contains", Value: "Bob"}), []string{"Call Bob"}},
		{"task by connection", tasks(conecrm.Rule{Field: "connection.id", Operator: "=", Value: LeadAlice}), []string{"Call Alice"}},
		{"task by both, no match", tasks(conecrm.Rule{Field: "note", Operator: "contains", Value: "Bob"}, conecrm.Rule{Field: "connection.id", Operator: "=", Value: LeadAlice}), nil},
		{"task missing field is null", tasks(conecrm.Rule{Field: "start", Operator: "null"}), []string{"Call Alice", "Call Bob"}},
		{"lead by contact", leads(conecrm.Rule{Field: "contact.id", Operator: "=", Value: ContactAlice}), []string{LeadAlice, LeadAliceTradeIn}},
		{"lead by id and stage", leads(conecrm.Rule{Field: "id", Operator: "=", Value: LeadChloe}, conecrm.Rule{Field: "stage.id", Operator: "=", Value: StageTestDrive}), []string{LeadChloe}},
		{"lead by subject", leads(conecrm.Rule{Field: "subject", Operator: "beginsWith", Value: "Used"}), []string{LeadBob}},
	}
	for _, tc := range cases {
		if strings.Join(tc.got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("%s: got %v, want %v", tc.name, tc.got, tc.want)
		}
	}

	var out []any
	if err := c.Filter(ctx, "invoice", conecrm.FilterQuery(), &out); status(err) != http.StatusNotFound {
		t.Errorf("unknown entity: %v", err)
	}
	bad := querybuilder.RuleGroup{Combinator: "and", Rules: []querybuilder.Item{{Rule: &querybuilder.Rule{Field: "note", Operator: "resembles"}}}}
	if err := c.Filter(ctx, "task", bad, &out); status(err) != http.StatusBadRequest || !strings.Contains(err.Error(), "rules[0]") {
		t.Errorf("bad operator: %v", err)
	}
}

func TestIgnoreIdempotency(t *testing.T) {
	s, c := start(t)
	ctx := context.Background()
	req := conecrm.TaskRequest{Assignee: UserSam, Title: "Call Alice"}
	create := func() {
		t.Helper()
		if _, err := c.CreateTask(ctx, req, "same-key"); err != nil {
			t.Fatal(err)
		}
	}
	create()
	create()
	if n := len(s.Tasks()); n != 1 {
		t.Fatalf("honouring the key: %d tasks", n)
	}
	w := httptest.NewRecorder()
	s.ServeHTTP(w, httptest.NewRequest("PUT", "/sandbox/idempotency", strings.NewReader(`{"ignore": true}`)))
	if w.Code != http.StatusOK || !s.IgnoresIdempotency() {
		t.Fatalf("PUT /sandbox/idempotency: %d %s", w.Code, w.Body)
	}
	create()
	if n := len(s.Tasks()); n != 2 {
		t.Fatalf("ignoring the key: %d tasks, want 2", n)
	}
	w = httptest.NewRecorder()
	s.ServeHTTP(w, httptest.NewRequest("PUT", "/sandbox/idempotency", strings.NewReader(`{"ignore": "yes"}`)))
	if w.Code != http.StatusBadRequest {
		t.Errorf("bad body: %d", w.Code)
	}

	t.Setenv(EnvIgnoreIdempotency, "1")
	if s, err := NewFromEnv(""); err != nil || !s.IgnoresIdempotency() {
		t.Errorf("%s=1: ignore %v, %v", EnvIgnoreIdempotency, s.IgnoresIdempotency(), err)
	}
}

// TestDroppedAnswerIsNotResentByTheTransport: net/http would resend a
// request carrying Idempotency-Key on its own when a reused keep-alive
// connection dies before the answer; with the key ignored that made a
// second task inside one activity attempt. The client turns that off, so
// the dropped answer is an error (the activity's retry then searches).
func TestDroppedAnswerIsNotResentByTheTransport(t *testing.T) {
	s, c := start(t, WithIgnoreIdempotency())
	ctx := context.Background()
	if _, err := c.ListStages(ctx); err != nil { // a keep-alive connection to reuse
		t.Fatal(err)
	}
	if err := s.AddFault(Fault{Route: "POST /api/task", Kind: FaultDrop, Times: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateTask(ctx, conecrm.TaskRequest{Assignee: UserSam, Title: "Call Alice"}, "key-1"); err == nil {
		t.Error("the dropped answer was not reported")
	}
	if n := len(s.Tasks()); n != 1 {
		t.Fatalf("%d tasks after one call whose answer was dropped, want 1", n)
	}
}
