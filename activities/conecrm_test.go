package activities

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/conecrm/automation-runtime/internal/conecrm"
	"github.com/conecrm/automation-runtime/internal/devkit/sandbox"
)

// quietLogger keeps the SDK from logging every expected activity failure.
var quietLogger = tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))

// coneEnv is an activity test environment whose Activities call a sandbox.
type coneEnv struct {
	sb  *sandbox.Server
	env *testsuite.TestActivityEnvironment
	a   *Activities
}

func newConeEnv(t *testing.T, opts ...sandbox.Option) *coneEnv {
	t.Helper()
	sb := sandbox.New("jwt", opts...)
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	// No keep-alive: net/http would otherwise retry a dropped request on a
	// reused connection itself, hiding the activity retry the tests show.
	httpClient := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	a := &Activities{ConeCRM: conecrm.New(conecrm.Config{BaseURL: srv.URL, Token: "jwt"}, httpClient), Log: zerolog.Nop()}
	var ts testsuite.WorkflowTestSuite
	ts.SetLogger(quietLogger)
	env := ts.NewTestActivityEnvironment()
	env.RegisterActivity(a)
	return &coneEnv{sb: sb, env: env, a: a}
}

func run[In, Out any](t *testing.T, e *coneEnv, fn func(*Activities) any, in In) (Out, error) {
	t.Helper()
	var out Out
	val, err := e.env.ExecuteActivity(fn(e.a), in)
	if err != nil {
		return out, err
	}
	if err := val.Get(&out); err != nil {
		t.Fatal(err)
	}
	return out, nil
}

func createTask(a *Activities) any { return a.CreateTask }
func copyLead(a *Activities) any   { return a.CopyLead }
func moveStage(a *Activities) any  { return a.MoveStage }
func writeIDs(a *Activities) any   { return a.WriteThirdPartyIds }

// appError asserts err is an application error of type typ with the given
// retryability and a message containing every part.
func appError(t *testing.T, err error, typ string, nonRetryable bool, parts ...string) *temporal.ApplicationError {
	t.Helper()
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v is not an application error", err)
	}
	if ae.Type() != typ || ae.NonRetryable() != nonRetryable {
		t.Errorf("type %q non-retryable %v, want %q %v (%v)", ae.Type(), ae.NonRetryable(), typ, nonRetryable, err)
	}
	for _, p := range parts {
		if !strings.Contains(ae.Error(), p) {
			t.Errorf("error %q does not contain %q", ae.Error(), p)
		}
	}
	return ae
}

func TestCreateTaskActivity(t *testing.T) {
	e := newConeEnv(t)
	out, err := run[CreateTaskInput, CreateTaskOutput](t, e, createTask, CreateTaskInput{NodeID: "n1", IdempotencyKey: "k1",
		Task: conecrm.TaskRequest{Type: "CALL", Assignee: sandbox.UserSam, Title: "Call Alice back", Contact: sandbox.ContactAlice, Connection: sandbox.LeadAlice}})
	if err != nil || out.TaskID == "" || out.Type != "CALL" {
		t.Fatalf("%+v %v", out, err)
	}
	tasks := e.sb.Tasks()
	if len(tasks) != 1 || tasks[0].ID != out.TaskID {
		t.Fatalf("%+v", tasks)
	}
	if r := e.sb.Requests(); r[0].IdempotencyKey != "k1" {
		t.Errorf("no Idempotency-Key: %+v", r[0])
	}
}

func TestBadInputFailsBeforeAnyCall(t *testing.T) {
	e := newConeEnv(t)
	start := time.Date(2025, 5, 1, 9, 0, 0, 0, time.UTC)
	before := start.Add(-time.Hour)
	cases := []struct {
		name string
		fn   func(*Activities) any
		in   any
		want string
	}{
		{"empty title", createTask, CreateTaskInput{NodeID: "n1", Task: conecrm.TaskRequest{Assignee: sandbox.UserSam}}, "node n1: task title: is required"},
		{"blank title", createTask, CreateTaskInput{NodeID: "n1", Task: conecrm.TaskRequest{Assignee: sandbox.UserSam, Title: "  "}}, "title: is empty"},
		{"non-uuid assignee", createTask, CreateTaskInput{NodeID: "n1", Task: conecrm.TaskRequest{Assignee: "sam@dealer", Title: "x"}}, "assignee"},
		{"oversized title", createTask, CreateTaskInput{NodeID: "n1", Task: conecrm.TaskRequest{Assignee: sandbox.UserSam, Title: strings.Repeat("x", 256)}}, "title"},
		{"oversized note", createTask, CreateTaskInput{NodeID: "n1", Task: conecrm.TaskRequest{Assignee: sandbox.UserSam, Title: "x", Note: strings.Repeat("x", 10001)}}, "note"},
		{"end before start", createTask, CreateTaskInput{NodeID: "n1", Task: conecrm.TaskRequest{Assignee: sandbox.UserSam, Title: "x", Start: &start, End: &before}}, "end: is before start"},
		{"bad type", createTask, CreateTaskInput{NodeID: "n1", Task: conecrm.TaskRequest{Assignee: sandbox.UserSam, Title: "x", Type: "FAX"}}, "type"},
		{"copy without contact", copyLead, CopyLeadInput{NodeID: "n2", LeadID: sandbox.LeadAlice}, "node n2: copy lead contactId: is required"},
		{"copy oversized subject", copyLead, CopyLeadInput{NodeID: "n2", LeadID: sandbox.LeadAlice, ContactID: sandbox.ContactAlice, Subject: strings.Repeat("s", 1001)}, "subject"},
		{"copy non-uuid department", copyLead, CopyLeadInput{NodeID: "n2", LeadID: sandbox.LeadAlice, ContactID: sandbox.ContactAlice, DepartmentID: "service"}, "departmentId"},
		{"move non-uuid stage", moveStage, MoveStageInput{NodeID: "n3", LeadID: sandbox.LeadAlice, StageID: "Sold"}, "stageId"},
		{"ids without systemName", writeIDs, WriteThirdPartyIdsInput{NodeID: "n4", AccountID: sandbox.AccountAlice, IDs: []conecrm.ThirdPartyID{{ThirdPartyID: "x"}}}, "systemName"},
		{"ids oversized", writeIDs, WriteThirdPartyIdsInput{NodeID: "n4", AccountID: sandbox.AccountAlice, IDs: []conecrm.ThirdPartyID{{SystemName: "a", ThirdPartyID: strings.Repeat("9", 256)}}}, "thirdPartyId"},
		{"ids duplicate systemName", writeIDs, WriteThirdPartyIdsInput{NodeID: "n4", AccountID: sandbox.AccountAlice, IDs: []conecrm.ThirdPartyID{{SystemName: "a", ThirdPartyID: "1"}, {SystemName: "a", ThirdPartyID: "2"}}}, "appears twice"},
		{"ids empty", writeIDs, WriteThirdPartyIdsInput{NodeID: "n4", AccountID: sandbox.AccountAlice}, "ids"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := e.env.ExecuteActivity(c.fn(e.a), c.in)
			appError(t, err, ErrInvalidInput, true, c.want)
		})
	}
	if n := len(e.sb.Requests()); n != 0 {
		t.Errorf("%d HTTP calls for bad input", n)
	}
}

func TestCopyLeadActivity(t *testing.T) {
	e := newConeEnv(t)
	out, err := run[CopyLeadInput, CopyLeadOutput](t, e, copyLead, CopyLeadInput{NodeID: "n2", IdempotencyKey: "k2", LeadID: sandbox.LeadAlice, ContactID: sandbox.ContactAlice, AccountID: sandbox.AccountAlice, DepartmentID: sandbox.DepartmentService})
	if err != nil || out.LeadID == "" || out.LeadID == sandbox.LeadAlice || out.StageID != sandbox.StageNew {
		t.Fatalf("%+v %v", out, err)
	}
	copies := e.sb.LeadCopies()
	if len(copies) != 1 || conecrm.RefID(copies[0].Lead.Department) != sandbox.DepartmentService {
		t.Fatalf("%+v", copies)
	}
	_, err = run[CopyLeadInput, CopyLeadOutput](t, e, copyLead, CopyLeadInput{NodeID: "n2", IdempotencyKey: "k3", LeadID: "0192f0a0-0005-7000-8000-0000000000ff", ContactID: sandbox.ContactAlice})
	appError(t, err, ErrNotFound, true, "node n2", "lead 0192f0a0-0005-7000-8000-0000000000ff not found")
	_, err = run[CopyLeadInput, CopyLeadOutput](t, e, copyLead, CopyLeadInput{NodeID: "n2", IdempotencyKey: "k4", LeadID: sandbox.LeadAlice, ContactID: sandbox.UserSam})
	appError(t, err, ErrRejected, true, "node n2", "contact: This value is not valid.")
}

func TestMoveStageActivity(t *testing.T) {
	e := newConeEnv(t)
	out, err := run[MoveStageInput, MoveStageOutput](t, e, moveStage, MoveStageInput{NodeID: "n3", IdempotencyKey: "k", LeadID: sandbox.LeadAlice, StageID: sandbox.StageContacted, CurrentStageID: sandbox.StageNew})
	if err != nil || !out.Moved || out.StageName != "Contacted" {
		t.Fatalf("%+v %v", out, err)
	}
	if lead, _ := e.sb.Lead(sandbox.LeadAlice); conecrm.RefID(lead.Stage) != sandbox.StageContacted {
		t.Errorf("not moved: %+v", lead.Stage)
	}

	// Already there per the snapshot: no move call.
	out, err = run[MoveStageInput, MoveStageOutput](t, e, moveStage, MoveStageInput{NodeID: "n3", IdempotencyKey: "k2", LeadID: sandbox.LeadBob, StageID: sandbox.StageContacted, CurrentStageID: sandbox.StageContacted})
	if err != nil || out.Moved || out.StageName != "Contacted" {
		t.Fatalf("%+v %v", out, err)
	}
	// Already there per the server (the contact's open leads).
	out, err = run[MoveStageInput, MoveStageOutput](t, e, moveStage, MoveStageInput{NodeID: "n3", IdempotencyKey: "k3", LeadID: sandbox.LeadChloe, StageID: sandbox.StageTestDrive, ContactID: sandbox.ContactChloe})
	if err != nil || out.Moved {
		t.Fatalf("%+v %v", out, err)
	}
	if n := len(e.sb.StageMoves()); n != 1 {
		t.Errorf("%d stage-move calls, want 1", n)
	}

	_, err = run[MoveStageInput, MoveStageOutput](t, e, moveStage, MoveStageInput{NodeID: "n3", IdempotencyKey: "k4", LeadID: sandbox.LeadAlice, StageID: sandbox.LeadBob})
	appError(t, err, ErrNotFound, true, "node n3: stage "+sandbox.LeadBob+" does not exist")
	_, err = run[MoveStageInput, MoveStageOutput](t, e, moveStage, MoveStageInput{NodeID: "n3", IdempotencyKey: "k5", LeadID: sandbox.ContactBob, StageID: sandbox.StageSold})
	appError(t, err, ErrNotFound, true, "lead "+sandbox.ContactBob+" not found")
}

func TestWriteThirdPartyIdsActivity(t *testing.T) {
	e := newConeEnv(t)
	out, err := run[WriteThirdPartyIdsInput, WriteThirdPartyIdsOutput](t, e, writeIDs, WriteThirdPartyIdsInput{NodeID: "n4", IdempotencyKey: "k", AccountID: sandbox.AccountAlice,
		IDs: []conecrm.ThirdPartyID{{SystemName: "salesforce:account", ThirdPartyID: "001A000001"}}})
	if err != nil || !out.Written || len(out.ThirdPartyIDs) != 2 {
		t.Fatalf("%+v %v", out, err)
	}
	acc, _ := e.sb.Account(sandbox.AccountAlice)
	if acc.ThirdPartyIDs[0].SystemName != "DMS" || acc.ThirdPartyIDs[1].ThirdPartyID != "001A000001" {
		t.Errorf("existing id dropped: %+v", acc.ThirdPartyIDs)
	}
	// The same ids again: nothing to write.
	out, err = run[WriteThirdPartyIdsInput, WriteThirdPartyIdsOutput](t, e, writeIDs, WriteThirdPartyIdsInput{NodeID: "n4", IdempotencyKey: "k2", AccountID: sandbox.AccountAlice,
		IDs: []conecrm.ThirdPartyID{{SystemName: "salesforce:account", ThirdPartyID: "001A000001"}}})
	if err != nil || out.Written {
		t.Fatalf("%+v %v", out, err)
	}
}

func TestErrorMapping(t *testing.T) {
	cases := []struct {
		status    int
		header    string
		body      string
		typ       string
		nonRetry  bool
		parts     []string
		nextDelay time.Duration
	}{
		{400, "", `"Validation failed: assignee: user not found"`, ErrRejected, true, []string{"node n1", "Validation failed: assignee: user not found"}, 0},
		{400, "", `{"error":"Invalid assignee"}`, ErrRejected, true, []string{"node n1", "Invalid assignee"}, 0},
		{401, "", `{"error":"Expired JWT Token"}`, ErrUnauthorized, true, []string{"ConeCRM rejected the token/permission for create task"}, 0},
		{403, "", ``, ErrUnauthorized, true, []string{"ConeCRM rejected the token/permission for create task"}, 0},
		{404, "", `{"error":"Not found"}`, ErrNotFound, true, []string{"node n1", "HTTP 404"}, 0},
		{408, "", ``, ErrRetryableHTTP, false, []string{"HTTP 408"}, 0},
		{429, "12", `{"error":"slow down"}`, ErrRetryableHTTP, false, []string{"HTTP 429"}, 12 * time.Second},
		{500, "", `{"error":"alice@example.com broke it"}`, ErrRetryableHTTP, false, []string{"HTTP 500"}, 0},
		{503, "2", ``, ErrRetryableHTTP, false, []string{"HTTP 503"}, 2 * time.Second},
	}
	for _, c := range cases {
		t.Run(http.StatusText(c.status), func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				if c.header != "" {
					w.Header().Set("Retry-After", c.header)
				}
				w.WriteHeader(c.status)
				_, _ = w.Write([]byte(c.body))
			}))
			defer srv.Close()
			a := &Activities{ConeCRM: conecrm.New(conecrm.Config{BaseURL: srv.URL}, nil), Log: zerolog.Nop()}
			var ts testsuite.WorkflowTestSuite
			ts.SetLogger(quietLogger)
			env := ts.NewTestActivityEnvironment()
			env.RegisterActivity(a)
			_, err := env.ExecuteActivity(a.CreateTask, CreateTaskInput{NodeID: "n1", IdempotencyKey: "k", Task: conecrm.TaskRequest{Assignee: sandbox.UserSam, Title: "x"}})
			ae := appError(t, err, c.typ, c.nonRetry, c.parts...)
			if ae.NextRetryDelay() != c.nextDelay {
				t.Errorf("NextRetryDelay %v, want %v", ae.NextRetryDelay(), c.nextDelay)
			}
			if c.status == 500 && strings.Contains(ae.Error(), "alice") && !strings.Contains(c.body, "alice") {
				t.Errorf("body copied")
			}
		})
	}
	t.Run("network", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		srv.Close()
		a := &Activities{ConeCRM: conecrm.New(conecrm.Config{BaseURL: srv.URL}, nil), Log: zerolog.Nop()}
		var ts testsuite.WorkflowTestSuite
		ts.SetLogger(quietLogger)
		env := ts.NewTestActivityEnvironment()
		env.RegisterActivity(a)
		_, err := env.ExecuteActivity(a.CreateTask, CreateTaskInput{NodeID: "n1", Task: conecrm.TaskRequest{Assignee: sandbox.UserSam, Title: "x"}})
		appError(t, err, ErrRetryableHTTP, false, "node n1")
	})
}

// TestDroppedResponseCreatesNothingTwice: ConeCRM runs the call but the
// response is lost; the retried activity sends the same Idempotency-Key and
// gets the original response, so there is one task and one lead copy.
func TestDroppedResponseCreatesNothingTwice(t *testing.T) {
	e := newConeEnv(t)
	for _, route := range []string{"POST /api/task", "POST /api/lead/{lead}/copy", "PATCH /api/lead/{lead}", "PATCH /api/account/{account}"} {
		if err := e.sb.AddFault(sandbox.Fault{Route: route, Kind: sandbox.FaultDrop, Times: 1}); err != nil {
			t.Fatal(err)
		}
	}
	taskIn := CreateTaskInput{NodeID: "n1", IdempotencyKey: "wf-1|evt-1|n1|1", Task: conecrm.TaskRequest{Assignee: sandbox.UserSam, Title: "Call Alice"}}
	copyIn := CopyLeadInput{NodeID: "n2", IdempotencyKey: "wf-1|evt-1|n2|1", LeadID: sandbox.LeadAlice, ContactID: sandbox.ContactAlice, DepartmentID: sandbox.DepartmentUsedVehicles}
	moveIn := MoveStageInput{NodeID: "n3", IdempotencyKey: "wf-1|evt-1|n3|1", LeadID: sandbox.LeadBob, StageID: sandbox.StageTestDrive, CurrentStageID: sandbox.StageContacted}
	idsIn := WriteThirdPartyIdsInput{NodeID: "n4", IdempotencyKey: "wf-1|evt-1|n4|1", AccountID: sandbox.AccountBob, IDs: []conecrm.ThirdPartyID{{SystemName: "hubspot:contact", ThirdPartyID: "501"}}, Existing: []conecrm.ThirdPartyID{}}

	// First attempts: the handler ran, the response is lost.
	for _, c := range []struct {
		fn func(*Activities) any
		in any
	}{{createTask, taskIn}, {copyLead, copyIn}, {moveStage, moveIn}} {
		_, err := e.env.ExecuteActivity(c.fn(e.a), c.in)
		appError(t, err, ErrRetryableHTTP, false)
	}
	// Writing a whole thirdPartyIds list is repeatable, so the client
	// resends it inline and the first attempt already succeeds.
	if ids, err := run[WriteThirdPartyIdsInput, WriteThirdPartyIdsOutput](t, e, writeIDs, idsIn); err != nil || len(ids.ThirdPartyIDs) != 1 {
		t.Fatal("thirdPartyIds after a dropped PATCH answer:", ids, err)
	}
	if len(e.sb.Tasks()) != 1 || len(e.sb.LeadCopies()) != 1 || len(e.sb.StageMoves()) != 1 {
		t.Fatalf("the first attempts did not reach ConeCRM")
	}
	// Retries.
	task, err := run[CreateTaskInput, CreateTaskOutput](t, e, createTask, taskIn)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := run[CopyLeadInput, CopyLeadOutput](t, e, copyLead, copyIn)
	if err != nil {
		t.Fatal(err)
	}
	mv, err := run[MoveStageInput, MoveStageOutput](t, e, moveStage, moveIn)
	if err != nil || !mv.Moved {
		t.Fatal(mv, err)
	}
	ids, err := run[WriteThirdPartyIdsInput, WriteThirdPartyIdsOutput](t, e, writeIDs, idsIn)
	if err != nil || len(ids.ThirdPartyIDs) != 1 {
		t.Fatal(ids, err)
	}

	if tasks := e.sb.Tasks(); len(tasks) != 1 || tasks[0].ID != task.TaskID {
		t.Errorf("tasks %+v, activity returned %s", tasks, task.TaskID)
	}
	if copies := e.sb.LeadCopies(); len(copies) != 1 || copies[0].Lead.ID != cp.LeadID {
		t.Errorf("copies %+v, activity returned %s", copies, cp.LeadID)
	}
	if n := len(e.sb.StageMoves()); n != 1 {
		t.Errorf("%d stage moves", n)
	}
	if acc, _ := e.sb.Account(sandbox.AccountBob); len(acc.ThirdPartyIDs) != 1 {
		t.Errorf("%+v", acc.ThirdPartyIDs)
	}
	replayed := 0
	for _, r := range e.sb.Requests() {
		if r.Replayed {
			replayed++
		}
	}
	// Three activity retries, plus the thirdPartyIds PATCH twice (its
	// inline resend and the later activity retry, same key and body).
	if replayed != 5 {
		t.Errorf("%d replayed responses, want 5", replayed)
	}
}
