package sandbox

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/conecrm/automation-runtime/internal/conecrm"
)

func start(t *testing.T, opts ...Option) (*Server, *conecrm.Client) {
	t.Helper()
	s := New("secret", opts...)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, conecrm.New(conecrm.Config{BaseURL: srv.URL, Token: "secret"}, nil)
}

func status(err error) int {
	var e *conecrm.Error
	if errors.As(err, &e) {
		return e.Status
	}
	return -1
}

func TestAuth(t *testing.T) {
	s := New("secret")
	srv := httptest.NewServer(s)
	defer srv.Close()
	_, err := conecrm.New(conecrm.Config{BaseURL: srv.URL, Token: "wrong"}, nil).ListStages(context.Background())
	if status(err) != 401 {
		t.Fatalf("got %v", err)
	}
}

func TestTasks(t *testing.T) {
	ctx := context.Background()
	s, c := start(t)
	task, err := c.CreateTask(ctx, conecrm.TaskRequest{Type: "CALL", Assignee: UserSam, Title: "Call Alice", Contact: ContactAlice, Connection: LeadAlice}, "k1")
	if err != nil || task.ID == "" || conecrm.RefID(task.Assignee) != UserSam {
		t.Fatalf("%+v %v", task, err)
	}
	for name, req := range map[string]conecrm.TaskRequest{
		"empty title":      {Assignee: UserSam},
		"non-uuid":         {Assignee: "sam", Title: "x"},
		"unknown assignee": {Assignee: ContactAlice, Title: "x"},
		"unknown contact":  {Assignee: UserSam, Title: "x", Contact: UserSam},
		"bad type":         {Assignee: UserSam, Title: "x", Type: "FAX"},
		"long title":       {Assignee: UserSam, Title: strings.Repeat("x", 256)},
	} {
		if _, err := c.CreateTask(ctx, req, ""); status(err) != 400 {
			t.Errorf("%s: got %v, want 400", name, err)
		}
	}
	if n := len(s.Tasks()); n != 1 {
		t.Errorf("%d tasks", n)
	}
	_, lenient := start(t, WithLenientReferences())
	if _, err := lenient.CreateTask(ctx, conecrm.TaskRequest{Assignee: ContactAlice, Title: "x"}, ""); err != nil {
		t.Errorf("lenient: %v", err)
	}
}

func TestCopyLead(t *testing.T) {
	ctx := context.Background()
	s, c := start(t)
	lead, err := c.CopyLead(ctx, LeadAlice, conecrm.CopyLeadData{Contact: conecrm.Ref(ContactBob), Department: conecrm.Ref(DepartmentService), Subject: "Service visit"}, "k")
	if err != nil || lead.ID == LeadAlice || conecrm.RefID(lead.Contact) != ContactBob || conecrm.RefID(lead.Department) != DepartmentService || conecrm.RefID(lead.Account) != AccountAlice || lead.Subject != "Service visit" {
		t.Fatalf("%+v %v", lead, err)
	}
	if cp := s.LeadCopies(); len(cp) != 1 || cp[0].SourceLeadID != LeadAlice || cp[0].Lead.ID != lead.ID {
		t.Errorf("%+v", cp)
	}
	if _, err := c.CopyLead(ctx, "0192f0a0-0005-7000-8000-0000000000ff", conecrm.CopyLeadData{Contact: conecrm.Ref(ContactBob)}, ""); status(err) != 404 || !strings.Contains(err.Error(), "not found") {
		t.Errorf("unknown lead: %v", err)
	}
	for name, d := range map[string]conecrm.CopyLeadData{
		"no contact":         {},
		"unknown contact":    {Contact: conecrm.Ref(UserSam)},
		"unknown department": {Contact: conecrm.Ref(ContactBob), Department: conecrm.Ref(UserSam)},
		"long subject":       {Contact: conecrm.Ref(ContactBob), Subject: strings.Repeat("é", 1001)},
	} {
		_, err := c.CopyLead(ctx, LeadAlice, d, "")
		if status(err) != 400 || !strings.Contains(err.Error(), "Form validation failed") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestStagesAndMoves(t *testing.T) {
	ctx := context.Background()
	s, c := start(t)
	stages, err := c.ListStages(ctx)
	if err != nil || len(stages) != 6 || stages[2].Name != "Test drive" {
		t.Fatalf("%v %v", stages, err)
	}
	if st, err := c.GetStage(ctx, StageSold); err != nil || st.Name != "Sold" {
		t.Fatalf("%v %v", st, err)
	}
	if _, err := c.GetStage(ctx, LeadAlice); !conecrm.IsNotFound(err) {
		t.Fatalf("got %v", err)
	}
	lead, err := c.MoveLeadToStage(ctx, LeadAlice, StageContacted, "m1")
	if err != nil || conecrm.RefID(lead.Stage) != StageContacted {
		t.Fatalf("%+v %v", lead, err)
	}
	if _, err := c.MoveLeadToStage(ctx, LeadAlice, LeadBob, "m2"); status(err) != 400 {
		t.Errorf("unknown stage: %v", err)
	}
	if _, err := c.MoveLeadToStage(ctx, LeadBob+"0", StageSold, "m3"); status(err) != 404 {
		t.Errorf("unknown lead: %v", err)
	}
	if m := s.StageMoves(); len(m) != 1 || m[0].FromStageID != StageNew || !m[0].Changed {
		t.Errorf("%+v", m)
	}
	open, err := c.OpenLeadsOfContact(ctx, ContactAlice)
	if err != nil || len(open) != 2 || conecrm.RefID(open[0].Stage) != StageContacted {
		t.Fatalf("%+v %v", open, err)
	}
	if open, _ := c.OpenLeadsOfContact(ctx, ContactDavid); len(open) != 0 {
		t.Errorf("closed lead listed: %+v", open)
	}
}

func TestAccountThirdPartyIDs(t *testing.T) {
	ctx := context.Background()
	s, c := start(t)
	before, _ := s.Account(AccountAlice)
	acc, written, err := c.WriteThirdPartyIDs(ctx, AccountAlice, nil, []conecrm.ThirdPartyID{{SystemName: "salesforce:account", ThirdPartyID: "001A"}}, "w1")
	if err != nil || !written || len(acc.ThirdPartyIDs) != 2 {
		t.Fatalf("%+v %v %v", acc, written, err)
	}
	after, _ := s.Account(AccountAlice)
	if after.ThirdPartyIDs[0].ID != before.ThirdPartyIDs[0].ID || after.ThirdPartyIDs[0].ThirdPartyID != "CUST-100231" || after.ThirdPartyIDs[1].ID == "" {
		t.Errorf("existing id not kept: %+v", after.ThirdPartyIDs)
	}
	if _, err := c.UpdateAccountThirdPartyIDs(ctx, AccountAlice, []conecrm.ThirdPartyID{{SystemName: "", ThirdPartyID: "x"}}, ""); status(err) != 400 {
		t.Errorf("empty systemName: %v", err)
	}
	if _, _, err := c.WriteThirdPartyIDs(ctx, LeadAlice, nil, []conecrm.ThirdPartyID{{SystemName: "a", ThirdPartyID: "b"}}, ""); status(err) != 404 {
		t.Errorf("unknown account: %v", err)
	}
}

func TestIdempotencyOnEveryMutatingRoute(t *testing.T) {
	ctx := context.Background()
	s, c := start(t)
	calls := map[string]func(key, variant string) error{
		"task": func(k, v string) error {
			_, err := c.CreateTask(ctx, conecrm.TaskRequest{Assignee: UserSam, Title: "Call " + v}, k)
			return err
		},
		"copy": func(k, v string) error {
			_, err := c.CopyLead(ctx, LeadBob, conecrm.CopyLeadData{Contact: conecrm.Ref(ContactBob), Subject: v}, k)
			return err
		},
		"move": func(k, v string) error {
			stage := StageNegotiation
			if v != "a" {
				stage = StageLost
			}
			_, err := c.MoveLeadToStage(ctx, LeadChloe, stage, k)
			return err
		},
		"account": func(k, v string) error {
			_, err := c.UpdateAccountThirdPartyIDs(ctx, AccountBob, []conecrm.ThirdPartyID{{SystemName: "X", ThirdPartyID: v}}, k)
			return err
		},
	}
	for name, call := range calls {
		if err := call(name, "a"); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := call(name, "a"); err != nil {
			t.Fatalf("%s replay: %v", name, err)
		}
		if err := call(name, "b"); status(err) != 422 {
			t.Errorf("%s with another body: %v, want 422", name, err)
		}
	}
	if len(s.Tasks()) != 1 || len(s.LeadCopies()) != 1 || len(s.StageMoves()) != 1 {
		t.Errorf("tasks %d copies %d moves %d", len(s.Tasks()), len(s.LeadCopies()), len(s.StageMoves()))
	}
	if st := s.Stats(); st.Replayed != 4 {
		t.Errorf("%+v", st)
	}
}

func TestFaults(t *testing.T) {
	ctx := context.Background()
	s, _ := start(t)
	srv := httptest.NewServer(s)
	defer srv.Close()
	// Without keep-alive, so net/http does not transparently retry a reset
	// or dropped request on a reused connection.
	c := conecrm.New(conecrm.Config{BaseURL: srv.URL, Token: "secret"}, &http.Client{Transport: &http.Transport{DisableKeepAlives: true}})
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.AddFault(Fault{Route: "POST /api/task", Kind: FaultTooManyRequests, Times: 1, RetryAfter: Duration(3 * time.Second)}))
	// Reads are resent inline by the client (three tries), so these faults
	// last three requests to reach the caller.
	must(s.AddFault(Fault{Route: "/api/stage", Kind: FaultServerError, Times: 3}))
	must(s.AddFault(Fault{Route: "GET /api/stage/{id}", Kind: FaultReset, Times: 3}))
	must(s.AddFault(Fault{Route: "POST /api/lead/{lead}/copy", Kind: FaultDrop, Times: 1}))
	must(s.AddFault(Fault{Route: "*", Kind: FaultLatency, Latency: Duration(20 * time.Millisecond), Times: 1}))

	began := time.Now()
	_, err := c.CreateTask(ctx, conecrm.TaskRequest{Assignee: UserSam, Title: "x"}, "k")
	var e *conecrm.Error
	if !errors.As(err, &e) || e.Status != 429 || e.RetryAfter != 3*time.Second {
		t.Fatalf("429: %v", err)
	}
	if time.Since(began) < 20*time.Millisecond {
		t.Errorf("no latency")
	}
	if _, err := c.CreateTask(ctx, conecrm.TaskRequest{Assignee: UserSam, Title: "x"}, "k"); err != nil {
		t.Fatalf("after the 429: %v", err)
	}
	if _, err := c.ListStages(ctx); status(err) != 500 {
		t.Errorf("500: %v", err)
	}
	if _, err := c.GetStage(ctx, StageNew); status(err) != 0 {
		t.Errorf("reset: %v", err)
	}
	if _, err := c.CopyLead(ctx, LeadAlice, conecrm.CopyLeadData{Contact: conecrm.Ref(ContactAlice)}, "copy"); status(err) != 0 {
		t.Errorf("drop: %v", err)
	}
	if len(s.LeadCopies()) != 1 {
		t.Errorf("the dropped copy did not run")
	}
	lead, err := c.CopyLead(ctx, LeadAlice, conecrm.CopyLeadData{Contact: conecrm.Ref(ContactAlice)}, "copy")
	if err != nil || lead.ID != s.LeadCopies()[0].Lead.ID || len(s.LeadCopies()) != 1 {
		t.Errorf("retry after drop: %v %v copies %d", lead, err, len(s.LeadCopies()))
	}
	st := s.Stats()
	want := map[FaultKind]int{FaultTooManyRequests: 1, FaultServerError: 3, FaultReset: 3, FaultDrop: 1, FaultLatency: 1}
	for k, n := range want {
		if st.Injected[k] != n {
			t.Errorf("%s injected %d times, want %d", k, st.Injected[k], n)
		}
	}
	var faulted int
	for _, r := range s.Requests() {
		if r.Fault != "" {
			faulted++
		}
	}
	if faulted != 8 { // 429, 3×500, 3 resets, drop (latency is not recorded as a fault)
		t.Errorf("%d requests recorded with a fault, want 8", faulted)
	}

	s.Reset()
	if len(s.Tasks()) != 0 || len(s.Requests()) != 0 || len(s.LeadCopies()) != 0 {
		t.Errorf("Reset kept state")
	}
	if lead, _ := s.Lead(LeadAlice); conecrm.RefID(lead.Stage) != StageNew {
		t.Errorf("Reset kept the stage")
	}
}

func TestFaultRate(t *testing.T) {
	s := New("", WithFaults(FaultConfig{Seed: 7, Faults: []Fault{
		{Route: "GET /api/stage", Kind: FaultTooManyRequests, Rate: 0.1},
		{Route: "GET /api/stage", Kind: FaultServerError, Rate: 0.2},
	}}))
	failed := 0
	for range 2000 {
		w := httptest.NewRecorder()
		s.ServeHTTP(w, httptest.NewRequest("GET", "/api/stage", nil))
		if w.Code != 200 {
			failed++
		}
	}
	if failed < 500 || failed > 700 {
		t.Errorf("%d of 2000 failed, want about 600", failed)
	}
}

func TestParseFaults(t *testing.T) {
	cfg, err := ParseFaults([]byte(`{"seed": 3, "faults": [
		{"route": "POST /api/task", "kind": "429", "rate": 0.1, "retryAfter": "2s"},
		{"route": "*", "kind": "latency", "rate": 0.5, "latency": 150}]}`))
	if err != nil || cfg.Seed != 3 || cfg.Faults[0].RetryAfter.D() != 2*time.Second || cfg.Faults[1].Latency.D() != 150*time.Millisecond {
		t.Fatalf("%+v %v", cfg, err)
	}
	for _, bad := range []string{
		`{"faults": [{"route": "*", "kind": "explode"}]}`,
		`{"faults": [{"kind": "500"}]}`,
		`{"faults": [{"route": "*", "kind": "500", "rate": 2}]}`,
		`{"faults": [{"route": "*", "kind": "latency"}]}`,
		`{"fault": []}`,
	} {
		if _, err := ParseFaults([]byte(bad)); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
	t.Setenv(EnvFaults, `{"faults":[{"route":"*","kind":"reset","rate":0.3}]}`)
	if cfg, ok, err := FaultsFromEnv(); err != nil || !ok || cfg.Faults[0].Kind != FaultReset {
		t.Errorf("%+v %v %v", cfg, ok, err)
	}
}

func TestSandboxEndpointsNeedNoToken(t *testing.T) {
	s := New("secret")
	w := httptest.NewRecorder()
	s.ServeHTTP(w, httptest.NewRequest("PUT", "/sandbox/faults", strings.NewReader(`{"faults":[{"route":"*","kind":"500"}]}`)))
	if w.Code != http.StatusOK || len(s.Faults().Faults) != 1 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	w = httptest.NewRecorder()
	s.ServeHTTP(w, httptest.NewRequest("GET", "/sandbox/tasks", nil))
	if w.Code != http.StatusOK {
		t.Errorf("faults reached /sandbox/: %d", w.Code)
	}
}

func TestNewFromEnv(t *testing.T) {
	t.Setenv(EnvFaults, `{"seed":1,"faults":[{"route":"POST /api/task","kind":"500","rate":0.3}]}`)
	s, err := NewFromEnv("")
	if err != nil || len(s.Faults().Faults) != 1 {
		t.Fatalf("%v %v", s, err)
	}
	t.Setenv(EnvFaults, `{"faults":[{"route":"*","kind":"nope"}]}`)
	if _, err := NewFromEnv(""); err == nil {
		t.Error("bad configuration accepted")
	}
}

// TestUpdateTask is the seed's PATCH /api/task/{task}: a whole TaskRequest,
// 400 with a JSON string naming the field, 403 and 404 without a body, and
// fields left out kept.
func TestUpdateTask(t *testing.T) {
	ctx := context.Background()
	s, c := start(t)
	task, err := c.CreateTask(ctx, conecrm.TaskRequest{Type: "CALL", Assignee: UserSam, Title: "Call Alice", Note: "Asked for a call", Contact: ContactAlice, Connection: LeadAlice}, "")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 4, 9, 0, 0, 0, time.UTC)
	got, err := c.UpdateTask(ctx, task.ID, conecrm.TaskRequest{Type: "MEETING", Assignee: UserMarc, Title: "Meet Alice", Start: &at}, "u1")
	if err != nil || got.ID != task.ID || got.Type != "MEETING" || got.Title != "Meet Alice" || got.Start == nil || !got.Start.Equal(at) ||
		conecrm.RefID(got.Assignee) != UserMarc || got.Note != "Asked for a call" || conecrm.RefID(got.Contact) != ContactAlice || conecrm.RefID(got.Connection) != LeadAlice {
		t.Fatalf("%+v %v", got, err)
	}
	if tasks := s.Tasks(); len(tasks) != 1 || tasks[0].Title != "Meet Alice" {
		t.Fatalf("stored %+v", tasks)
	}

	raw := func(id, body string) (int, string) {
		t.Helper()
		req := httptest.NewRequest(http.MethodPatch, "/api/task/"+id, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer secret")
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		return w.Code, strings.TrimSpace(w.Body.String())
	}
	for _, tc := range []struct {
		name, id, body string
		status         int
		want           string
	}{
		{"title blank", task.ID, `{"assignee":"` + UserSam + `","title":" "}`, 400, `"title This value should not be blank."`},
		{"assignee missing", task.ID, `{"title":"x"}`, 400, `"assignee This value should not be blank."`},
		{"assignee unknown", task.ID, `{"assignee":"` + ContactAlice + `","title":"x"}`, 400, `"assignee This value is not valid."`},
		{"type not a choice", task.ID, `{"assignee":"` + UserSam + `","title":"x","type":"FAX"}`, 400, `"type The value you selected is not a valid choice."`},
		{"title too long", task.ID, `{"assignee":"` + UserSam + `","title":"` + strings.Repeat("x", 256) + `"}`, 400, `"title This value is too long. It should have 255 characters or less."`},
		{"ends before the kept start", task.ID, `{"assignee":"` + UserSam + `","title":"x","end":"2026-03-04T08:00:00Z"}`, 400, `"end This value should be greater than or equal to start."`},
		{"unknown contact", task.ID, `{"assignee":"` + UserSam + `","title":"x","contact":"` + UserSam + `"}`, 400, `"contact This value is not valid."`},
		{"unknown field", task.ID, `{"assignee":"` + UserSam + `","title":"x","taskDone":true}`, 400, `"Invalid JSON"`},
		{"unknown task", "0192f0a0-0009-7000-8000-000000000009", `{"assignee":"` + UserSam + `","title":"x"}`, 404, ""},
		{"another tenant's task", ForeignTaskID, `{"assignee":"` + UserSam + `","title":"x"}`, 403, ""},
		{"null clears the start", task.ID, `{"assignee":"` + UserMarc + `","title":"Meet Alice","start":null}`, 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := raw(tc.id, tc.body)
			if status != tc.status || (tc.want != "" && body != tc.want) || (tc.status != 200 && tc.want == "" && body != "") {
				t.Errorf("%d %s, want %d %s", status, body, tc.status, tc.want)
			}
		})
	}
	if tasks := s.Tasks(); tasks[0].Start != nil || tasks[0].Title != "Meet Alice" {
		t.Errorf("after the rejected updates and the start cleared: %+v", tasks[0])
	}

	// Idempotency-Key: a replay answers the first response, another body 422.
	if _, err := c.UpdateTask(ctx, task.ID, conecrm.TaskRequest{Type: "MEETING", Assignee: UserMarc, Title: "Meet Alice", Start: &at}, "u1"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UpdateTask(ctx, task.ID, conecrm.TaskRequest{Assignee: UserMarc, Title: "Other"}, "u1"); status(err) != 422 {
		t.Errorf("reused key with another body: %v, want 422", err)
	}
	if st := s.Stats(); st.Replayed != 1 {
		t.Errorf("%+v", st)
	}
}
