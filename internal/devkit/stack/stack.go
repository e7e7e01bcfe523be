// Package stack runs the whole runtime for a test: a Temporal dev
// server (optionally with its Web UI), the ConeCRM sandbox, an in-process
// worker built by workerapp.NewWorker and the starter's POST /events handler,
// instrumented as the commands are.
package stack

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/worker"

	"github.com/conecrm/automation-runtime/activities"
	"github.com/conecrm/automation-runtime/internal/catalog"
	"github.com/conecrm/automation-runtime/internal/conecrm"
	"github.com/conecrm/automation-runtime/internal/devkit/devserver"
	"github.com/conecrm/automation-runtime/internal/devkit/sandbox"
	"github.com/conecrm/automation-runtime/internal/ingest"
	"github.com/conecrm/automation-runtime/internal/logging"
	"github.com/conecrm/automation-runtime/internal/metrics"
	"github.com/conecrm/automation-runtime/internal/workerapp"
	"github.com/conecrm/automation-runtime/workflows"
)

// SandboxToken is the sandbox's bearer token in tests.
const SandboxToken = "sandbox-secret-token-5e1f"

// Options configures a stack.
type Options struct {
	// AutomationsDir holds the automation documents to load.
	AutomationsDir string
	// UI starts the dev server's Web UI.
	UI bool
	// DevServerArgs are extra dev server flags (--ui-codec-endpoint...).
	DevServerArgs []string
	// Log receives every log line of the worker, the SDK and the starter as
	// JSON; nil sends warnings and errors to the test log.
	Log io.Writer
	// DataConverter and FailureConverter, when set, go into the client
	// options (payload encryption).
	DataConverter    converter.DataConverter
	FailureConverter converter.FailureConverter
}

// Stack is a running workerapp.
type Stack struct {
	T       testing.TB
	Server  *devserver.Server
	Client  client.Client
	Sandbox *sandbox.Server
	// SandboxURL is the ConeCRM sandbox's root.
	SandboxURL string
	// StarterURL serves POST /events and GET /metrics.
	StarterURL string
	Log        zerolog.Logger
	opts       Options
	worker     worker.Worker
}

// Start starts a stack that stops when the test ends.
func Start(t testing.TB, opts Options) *Stack {
	t.Helper()
	dopts := devserver.Options{UIPort: -1, ExtraArgs: opts.DevServerArgs}
	if opts.UI {
		// StartForTest reads 0 as "no UI": pick the port here.
		port, err := devserver.FreePort()
		if err != nil {
			t.Fatal(err)
		}
		dopts.UIPort = port
	}
	srv := devserver.StartForTest(t, dopts)
	var log zerolog.Logger
	if opts.Log != nil {
		log = zerolog.New(opts.Log).Level(zerolog.DebugLevel).With().Timestamp().Logger()
	} else {
		log = zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)
	}
	s := &Stack{T: t, Server: srv, Log: log, opts: opts}
	s.Client = s.Dial()

	s.Sandbox = sandbox.New(SandboxToken)
	sb := httptest.NewServer(s.Sandbox)
	t.Cleanup(sb.Close)
	s.SandboxURL = sb.URL

	s.StartWorker(s.Client)

	cat := catalog.New()
	if _, err := cat.LoadDir(opts.AutomationsDir); err != nil {
		t.Fatal(err)
	}
	in := &ingest.Ingester{Temporal: s.Client, Source: cat, TaskQueue: workflows.TaskQueue, Log: log.With().Str("component", "starter").Logger()}
	mux := http.NewServeMux()
	mux.Handle("POST /events", metrics.Events(http.HandlerFunc(in.HandleEvents)))
	mux.Handle("GET /metrics", metrics.Handler())
	st := httptest.NewServer(mux)
	t.Cleanup(st.Close)
	s.StarterURL = st.URL
	return s
}

// Dial connects a client configured like the commands' (SDK metrics, the
// stack's converters, SDK logs through zerolog).
func (s *Stack) Dial() client.Client {
	return s.DialWith(s.opts.DataConverter, s.opts.FailureConverter)
}

// DialWith connects a client with other converters (key rotation tests).
func (s *Stack) DialWith(dc converter.DataConverter, fc converter.FailureConverter) client.Client {
	s.T.Helper()
	c, err := client.Dial(client.Options{
		HostPort:         s.Server.Address,
		Logger:           logging.SDK(s.Log.With().Str("component", "sdk").Logger()),
		MetricsHandler:   metrics.SDKHandler(),
		DataConverter:    dc,
		FailureConverter: fc,
	})
	if err != nil {
		s.T.Fatal(err)
	}
	s.T.Cleanup(c.Close)
	return c
}

// StartWorker starts a worker on c in place of the running one.
func (s *Stack) StartWorker(c client.Client) {
	s.T.Helper()
	s.StopWorker()
	acts := &activities.Activities{
		ConeCRM: conecrm.New(conecrm.Config{BaseURL: s.SandboxURL, Token: SandboxToken}, metrics.Client("conecrm", nil)),
		HTTP:    metrics.Client("webhook", nil),
		Log:     s.Log.With().Str("component", "worker").Logger(),
	}
	w := workerapp.NewWorker(c, workflows.TaskQueue, acts, worker.Options{})
	if err := w.Start(); err != nil {
		s.T.Fatal(err)
	}
	s.worker = w
	s.T.Cleanup(s.StopWorker)
}

// StopWorker stops the running worker, if any.
func (s *Stack) StopWorker() {
	if s.worker != nil {
		s.worker.Stop()
		s.worker = nil
	}
}

// Post sends a lead event to POST /events and returns the answer.
func (s *Stack) Post(ev any) (int, ingest.EventsResponse) {
	s.T.Helper()
	b, err := json.Marshal(ev)
	if err != nil {
		s.T.Fatal(err)
	}
	resp, err := http.Post(s.StarterURL+"/events", "application/json", bytes.NewReader(b))
	if err != nil {
		s.T.Fatal(err)
	}
	defer resp.Body.Close()
	var out ingest.EventsResponse
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// Enrol posts ev and returns the one enrolment it must produce.
func (s *Stack) Enrol(ev any) ingest.Outcome {
	s.T.Helper()
	status, resp := s.Post(ev)
	if status != http.StatusOK {
		s.T.Fatalf("POST /events: HTTP %d", status)
	}
	for _, o := range resp.Automations {
		if o.Result == ingest.Enrolled {
			return o
		}
	}
	s.T.Fatalf("no enrolment in %+v", resp.Automations)
	return ingest.Outcome{}
}

// Result waits for the run's result.
func (s *Stack) Result(o ingest.Outcome, timeout time.Duration) workflows.Result {
	s.T.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var res workflows.Result
	if err := s.Client.GetWorkflow(ctx, o.WorkflowID, o.RunID).Get(ctx, &res); err != nil {
		s.T.Fatalf("workflow %s: %v", o.WorkflowID, err)
	}
	return res
}

// WaitParked waits until the run has a pending timer (a delay or a wait),
// as its "state" query reports.
func (s *Stack) WaitParked(o ingest.Outcome, timeout time.Duration) workflows.State {
	s.T.Helper()
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		v, err := s.Client.QueryWorkflow(ctx, o.WorkflowID, o.RunID, workflows.QueryState)
		cancel()
		if err == nil {
			var st workflows.State
			if err = v.Get(&st); err == nil && len(st.Timers) > 0 {
				return st
			}
		}
		last = err
		time.Sleep(200 * time.Millisecond)
	}
	s.T.Fatalf("run %s not parked in a delay after %s (last error %v)", o.WorkflowID, timeout, last)
	return workflows.State{}
}

// Scrape returns the starter's /metrics page (the process registry, which
// the in-process worker shares).
func (s *Stack) Scrape() string {
	s.T.Helper()
	resp, err := http.Get(s.StarterURL + "/metrics")
	if err != nil {
		s.T.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
