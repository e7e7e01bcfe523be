package codec_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/conecrm/automation-runtime/internal/codec"
	"github.com/conecrm/automation-runtime/internal/devkit/sandbox"
	"github.com/conecrm/automation-runtime/internal/devkit/stack"
	"github.com/conecrm/automation-runtime/internal/ingest"
	"github.com/conecrm/automation-runtime/workflows"
)

const subject = "2025 RAV4 Hybrid XLE in Lunar Rock"

func event(id string) map[string]any {
	c := sandbox.SeedContacts[0]
	return map[string]any{
		"id": id, "type": "LEAD_CREATED", "occurredAt": time.Now().UTC().Format(time.RFC3339),
		"lead": map[string]any{
			"id": sandbox.LeadAlice, "subject": subject, "category": "CAR",
			"contact": map[string]any{"id": c.ID, "firstName": c.FirstName, "lastName": c.LastName, "primaryEmail": c.PrimaryEmail, "mobilePhone": c.MobilePhone},
		},
	}
}

// leadValues are the lead's field values that must never be stored in clear.
func leadValues() []string {
	c := sandbox.SeedContacts[0]
	return []string{subject, c.FirstName, c.LastName, c.PrimaryEmail, c.MobilePhone, "Lunar Rock"}
}

// rawHistory fetches a run's history as the server stores it, with no
// data converter in the way.
func rawHistory(t *testing.T, s *stack.Stack, o ingest.Outcome) *historypb.History {
	t.Helper()
	resp, err := s.Client.WorkflowService().GetWorkflowExecutionHistory(t.Context(), &workflowservice.GetWorkflowExecutionHistoryRequest{
		Namespace: s.Namespace,
		Execution: &commonpb.WorkflowExecution{WorkflowId: o.WorkflowID, RunId: o.RunID},
	})
	if err != nil {
		t.Fatal(err)
	}
	return resp.GetHistory()
}

func TestEncryptedHistoryAndCodecEndpoint(t *testing.T) {
	k1 := key(t, "k1")
	c, err := codec.New(k1)
	if err != nil {
		t.Fatal(err)
	}
	s := stack.Start(t, stack.Options{AutomationsDir: "testdata/automations", DataConverter: c.DataConverter(), FailureConverter: c.FailureConverter()})
	run := s.Enrol(event("evt-codec-1"))
	if res := s.Result(run, 60*time.Second); res.Status != workflows.StatusCompleted {
		t.Fatalf("run: %+v", res)
	}
	if tasks := s.Sandbox.Tasks(); len(tasks) != 2 || !strings.Contains(tasks[0].Title, "Alice") {
		t.Fatalf("tasks %+v: the worker did not see the decrypted lead", tasks)
	}

	h := rawHistory(t, s, run)
	raw, err := protojson.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range leadValues() {
		if bytes.Contains(raw, []byte(v)) {
			t.Errorf("the stored history carries %q in clear", v)
		}
	}
	started := h.GetEvents()[0].GetWorkflowExecutionStartedEventAttributes()
	input := started.GetInput().GetPayloads()
	if len(input) == 0 || string(input[0].GetMetadata()["encryption-key-id"]) != "k1" {
		t.Fatalf("workflow input is not encrypted: %v", input)
	}
	// Summaries (the run's, each activity's and timer's) are encrypted too.
	summaries := 0
	for _, e := range h.GetEvents() {
		if md := e.GetUserMetadata().GetSummary(); md != nil {
			summaries++
			if string(md.GetMetadata()["encoding"]) != codec.EncodingEncrypted {
				t.Errorf("event %d %s: summary stored in clear: %s", e.GetEventId(), e.GetEventType(), md.GetData())
			}
		}
	}
	if summaries < 4 { // the run, two activities, the timer
		t.Errorf("%d summaries in the history, want at least 4", summaries)
	}

	// The codec endpoint (as the Web UI calls it) decodes the input.
	srv := httptest.NewServer(c.Handler(codec.HandlerOptions{Token: "op-token"}))
	defer srv.Close()
	body, _ := protojson.Marshal(&commonpb.Payloads{Payloads: input})
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/decode", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer op-token")
	req.Header.Set("X-Namespace", s.Namespace)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	var decoded commonpb.Payloads
	if err := protojson.Unmarshal(out, &decoded); err != nil || resp.StatusCode != 200 {
		t.Fatalf("codec endpoint: HTTP %d %s (%v)", resp.StatusCode, out, err)
	}
	if len(decoded.Payloads) != 1 || !bytes.Contains(decoded.Payloads[0].GetData(), []byte(subject)) {
		t.Fatalf("codec endpoint did not decode the lead: %s", out)
	}
}

func TestRunStartedBeforeRotationCompletesAfterIt(t *testing.T) {
	k1, k2 := key(t, "k1"), key(t, "k2")
	before, _ := codec.New(k1)
	s := stack.Start(t, stack.Options{AutomationsDir: "testdata/automations", DataConverter: before.DataConverter(), FailureConverter: before.FailureConverter()})
	run := s.Enrol(event("evt-rotate-1"))
	s.WaitParked(run, 30*time.Second)

	// Rotate: k2 encodes from now on, k1 still decodes. The worker restarts
	// with the new keys and replays the run's k1 history.
	after, _ := codec.New(k2, k1)
	s.StopWorker()
	c2 := s.DialWith(after.DataConverter(), after.FailureConverter())
	s.StartWorker(c2)

	var res workflows.Result
	if err := c2.GetWorkflow(t.Context(), run.WorkflowID, run.RunID).Get(t.Context(), &res); err != nil {
		t.Fatalf("run after rotation: %v", err)
	}
	if res.Status != workflows.StatusCompleted || len(s.Sandbox.Tasks()) != 2 {
		t.Fatalf("run after rotation: %+v, tasks %d", res, len(s.Sandbox.Tasks()))
	}
	seen := map[string]bool{}
	for _, e := range rawHistory(t, s, run).GetEvents() {
		raw, _ := protojson.Marshal(e)
		for _, id := range []string{"k1", "k2"} {
			if bytes.Contains(raw, []byte(`"`+b64(id)+`"`)) {
				seen[id] = true
			}
		}
	}
	if !seen["k1"] || !seen["k2"] {
		t.Errorf("history payload keys %v, want both k1 (before) and k2 (after the rotation)", seen)
	}
}

func b64(s string) string {
	return strings.TrimSpace(protojsonBytes(s))
}

// protojsonBytes is how protojson writes a bytes field: standard base64.
func protojsonBytes(s string) string {
	p, _ := protojson.Marshal(&commonpb.Payload{Data: []byte(s)})
	v := string(p)
	v = v[strings.Index(v, `"data":"`)+8:]
	return v[:strings.Index(v, `"`)]
}
