package metrics_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/conecrm/automation-runtime/internal/metrics"
)

func scrape(t *testing.T, r *metrics.Registry) string {
	t.Helper()
	rec := httptest.NewRecorder()
	r.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	return rec.Body.String()
}

func mustContain(t *testing.T, page string, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if !strings.Contains(page, l) {
			t.Errorf("/metrics lacks %s", l)
		}
	}
}

func TestProductCounters(t *testing.T) {
	r, err := metrics.New()
	if err != nil {
		t.Fatal(err)
	}
	r.EventReceived("LEAD_CREATED", "accepted")
	r.EventReceived("LEAD_CREATED", "accepted")
	r.Enrolled("a1")
	r.NodeExecuted("create_task", metrics.OutcomeCompleted)
	r.ExternalCall("conecrm", 201, nil)
	r.ExternalCall("conecrm", 0, io.ErrUnexpectedEOF)
	mustContain(t, scrape(t, r),
		`conecrm_events_received_total{outcome="accepted",type="LEAD_CREATED"} 2`,
		`conecrm_enrolments_total{automation_id="a1"} 1`,
		`conecrm_node_executions_total{node_type="create_task",outcome="completed"} 1`,
		`conecrm_external_calls_total{status_class="2xx",system="conecrm"} 1`,
		`conecrm_external_calls_total{status_class="error",system="conecrm"} 1`,
		`go_goroutines`,
	)
}

func TestStatusClass(t *testing.T) {
	for _, c := range []struct {
		status int
		err    error
		want   string
	}{{200, nil, "2xx"}, {302, nil, "3xx"}, {429, nil, "4xx"}, {503, nil, "5xx"}, {0, io.EOF, "error"}, {200, io.EOF, "error"}, {42, nil, "error"}} {
		if got := metrics.StatusClass(c.status, c.err); got != c.want {
			t.Errorf("StatusClass(%d, %v) = %s, want %s", c.status, c.err, got, c.want)
		}
	}
}

func TestEventsMiddleware(t *testing.T) {
	r, _ := metrics.New()
	h := r.Events(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body) // the handler still reads the whole body
		switch {
		case strings.Contains(string(body), "bad"):
			http.Error(w, `{"error":"invalid event"}`, http.StatusBadRequest)
		case strings.Contains(string(body), "down"):
			http.Error(w, `{"error":"delivery failed"}`, http.StatusServiceUnavailable)
		default:
			_, _ = io.WriteString(w, `{"automations":[{"automationId":"a1","result":"enrolled"},{"automationId":"a2","result":"skipped"}]}`)
		}
	}))
	for _, body := range []string{`{"type":"LEAD_CREATED"}`, `{"type":"LEAD_CREATED","x":"bad"}`, `{"type":"LEAD_UPDATED","x":"down"}`, `{"type":"<script>"}`} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/events", strings.NewReader(body)))
	}
	mustContain(t, scrape(t, r),
		`conecrm_events_received_total{outcome="accepted",type="LEAD_CREATED"} 1`,
		`conecrm_events_received_total{outcome="rejected",type="LEAD_CREATED"} 1`,
		`conecrm_events_received_total{outcome="failed",type="LEAD_UPDATED"} 1`,
		`conecrm_events_received_total{outcome="accepted",type="unknown"} 1`,
		`conecrm_enrolments_total{automation_id="a1"} 2`,
	)
	if strings.Contains(scrape(t, r), `automation_id="a2"`) {
		t.Error("a skipped automation counted as an enrolment")
	}
}

func TestTransport(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/missing" {
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	c := metrics.Client("transport-test", &http.Client{Timeout: 5 * time.Second})
	for _, p := range []string{"/", "/missing"} {
		resp, err := c.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	rec := httptest.NewRecorder()
	metrics.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	mustContain(t, rec.Body.String(),
		`conecrm_external_calls_total{status_class="2xx",system="transport-test"} 1`,
		`conecrm_external_calls_total{status_class="4xx",system="transport-test"} 1`,
	)
}

func waitingWorkflow(ctx workflow.Context) error {
	start := workflow.Now(ctx)
	if err := workflow.Sleep(ctx, 2*time.Hour); err != nil {
		return err
	}
	metrics.WorkflowNodeWaited(ctx, "a1", "wait-2h", "delay", workflow.Now(ctx).Sub(start))
	metrics.WorkflowNodeExecuted(ctx, "delay", metrics.OutcomeCompleted)
	return nil
}

func TestWorkflowSideMetrics(t *testing.T) {
	r, _ := metrics.New()
	var s testsuite.WorkflowTestSuite
	s.SetMetricsHandler(r.SDKHandler())
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(waitingWorkflow)
	env.ExecuteWorkflow(waitingWorkflow)
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	page := scrape(t, r)
	mustContain(t, page,
		`conecrm_node_wait_seconds_bucket{automation_id="a1",node_id="wait-2h",node_type="delay"`,
		`le="14400"} 1`,
		`conecrm_node_wait_seconds_sum{automation_id="a1",node_id="wait-2h",node_type="delay"`,
		`node_type="delay",outcome="completed"`,
	)
}

func TestAddrFromEnvAndServe(t *testing.T) {
	t.Setenv("X_METRICS_ADDR", "")
	if got := metrics.AddrFromEnv("X_METRICS_ADDR", "127.0.0.1:9464"); got != "127.0.0.1:9464" {
		t.Errorf("unset: %q", got)
	}
	t.Setenv("X_METRICS_ADDR", "off")
	if got := metrics.AddrFromEnv("X_METRICS_ADDR", "127.0.0.1:9464"); got != "" {
		t.Errorf("off: %q", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr, err := metrics.Serve(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET /metrics: HTTP %d", resp.StatusCode)
	}
}
