// Package stack runs the runtime for a test: a Temporal dev server (the
// package's shared one, or its own with the Web UI or extra flags), the
// ConeCRM sandbox, an in-process worker built by workerapp.NewWorker and a
// starter in front (the POST /events handler, or the whole starter service
// over a store), instrumented as the commands are. Stacks on the shared
// server each get a namespace of their own, so their runs stay apart.
package stack

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
	"strconv"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/worker"

	"github.com/conecrm/automation-runtime/activities"
	"github.com/conecrm/automation-runtime/internal/catalog"
	"github.com/conecrm/automation-runtime/internal/conecrm"
	"github.com/conecrm/automation-runtime/internal/devkit/devserver"
	"github.com/conecrm/automation-runtime/internal/devkit/docbuild"
	"github.com/conecrm/automation-runtime/internal/devkit/sandbox"
	"github.com/conecrm/automation-runtime/internal/devkit/storetest"
	"github.com/conecrm/automation-runtime/internal/ingest"
	"github.com/conecrm/automation-runtime/internal/logging"
	"github.com/conecrm/automation-runtime/internal/metrics"
	"github.com/conecrm/automation-runtime/internal/store"
	"github.com/conecrm/automation-runtime/internal/workerapp"
	"github.com/conecrm/automation-runtime/starter/server"
	"github.com/conecrm/automation-runtime/workflows"
)

// Credentials of the stack's fakes and of the starter service.
const (
	SandboxToken = "sandbox-secret-token-5e1f"
	APIToken     = "stack-api-token"
	EventsSecret = "stack-events-secret"
)

// Starter is the HTTP front of a stack.
type Starter int

const (
	// EventsHandler serves POST /events (unsigned, event ids in memory) and
	// GET /metrics over the documents.
	EventsHandler Starter = iota
	// StarterService is the whole starter (starter/server.App): signed
	// events, the automation API, the documents imported into a store.
	StarterService
	// NoStarter serves nothing.
	NoStarter
)

// Options configures a stack. The zero value is a worker and the events
// handler on the shared dev server, with the strict sandbox.
type Options struct {
	// AutomationsDir holds automation documents to load.
	AutomationsDir string
	// Documents are more documents (JSON) to load, written to a temporary
	// directory with AutomationsDir's.
	Documents [][]byte
	// Starter picks the HTTP front.
	Starter Starter
	// Store is StarterService's store; nil opens a SQLite one.
	Store *store.Store

	// NoWorker starts no worker.
	NoWorker bool
	// NoSandbox leaves the ConeCRM sandbox out (the activities have no
	// ConeCRM client).
	NoSandbox bool
	// LenientSandbox accepts references to records it does not hold.
	LenientSandbox bool
	// Activities completes the activities' dependencies (a CRM push
	// service...) before the worker starts.
	Activities func(*activities.Activities)
	// Register registers more workflows and activities on the worker (the
	// hand-written baselines).
	Register func(worker.Registry)
	// Deployment, when set, is the worker's deployment version and
	// versioning mode (default: workerapp.NewWorker's).
	Deployment *workerapp.Deployment

	// UI starts the dev server's Web UI; UI, DevServerArgs, DataDir and
	// OwnServer give the stack a dev server of its own.
	UI bool
	// DevServerArgs are extra dev server flags (--ui-codec-endpoint...).
	DevServerArgs []string
	// DataDir makes the dev server durable (its database file is there).
	DataDir string
	// OwnServer asks for a dev server of its own (to stop or kill it).
	OwnServer bool

	// Log receives every log line of the worker, the SDK and the starter as
	// JSON; nil sends warnings and errors to the test log.
	Log io.Writer
	// DataConverter and FailureConverter, when set, go into the client
	// options (payload encryption).
	DataConverter    converter.DataConverter
	FailureConverter converter.FailureConverter
}

func (o Options) ownServer() bool {
	return o.UI || len(o.DevServerArgs) > 0 || o.DataDir != "" || o.OwnServer
}

// Stack is a running runtime.
type Stack struct {
	T         testing.TB
	Server    *devserver.Server
	Namespace string
	TaskQueue string
	Client    client.Client
	Sandbox   *sandbox.Server
	// SandboxURL is the ConeCRM sandbox's root.
	SandboxURL string
	// StarterURL serves the starter: POST /events, GET /metrics and, with
	// StarterService, the automation API.
	StarterURL string
	// App is StarterService's application.
	App *server.App
	Log zerolog.Logger

	opts   Options
	worker worker.Worker
}

// Start starts a stack that stops when the test ends. It skips the test in
// -short mode.
func Start(t testing.TB, opts Options) *Stack {
	t.Helper()
	SkipShort(t)
	var log zerolog.Logger
	if opts.Log != nil {
		log = zerolog.New(opts.Log).Level(zerolog.DebugLevel).With().Timestamp().Logger()
	} else {
		log = zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)
	}
	s := &Stack{T: t, Log: log, opts: opts, TaskQueue: workflows.TaskQueue}
	if opts.ownServer() {
		dopts := devserver.Options{UIPort: -1, ExtraArgs: opts.DevServerArgs}
		if opts.UI {
			// StartForTest reads 0 as "no UI": pick the port here.
			port, err := devserver.FreePort()
			if err != nil {
				t.Fatal(err)
			}
			dopts.UIPort = port
		}
		if opts.DataDir != "" {
			dopts.DBFile = filepath.Join(opts.DataDir, "temporal.db")
		}
		s.Server = devserver.StartForTest(t, dopts)
		s.Namespace = "default"
	} else {
		s.Server = Shared(t)
		s.Namespace = takeNamespace(t)
	}
	s.Client = s.Dial()

	if !opts.NoSandbox {
		var sbOpts []sandbox.Option
		if opts.LenientSandbox {
			sbOpts = append(sbOpts, sandbox.WithLenientReferences())
		}
		s.Sandbox = sandbox.New(SandboxToken, sbOpts...)
		sb := httptest.NewServer(s.Sandbox)
		t.Cleanup(sb.Close)
		s.SandboxURL = sb.URL
	}
	if !opts.NoWorker {
		s.StartWorker(s.Client)
	}
	switch opts.Starter {
	case EventsHandler:
		s.serveEvents()
	case StarterService:
		s.serveStarter()
	}
	return s
}

// documentsDir returns the directory holding every document to load.
func (s *Stack) documentsDir() string {
	s.T.Helper()
	if len(s.opts.Documents) == 0 {
		return s.opts.AutomationsDir
	}
	dir := s.T.TempDir()
	if s.opts.AutomationsDir != "" {
		files, err := filepath.Glob(filepath.Join(s.opts.AutomationsDir, "*.json"))
		if err != nil {
			s.T.Fatal(err)
		}
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				s.T.Fatal(err)
			}
			s.writeFile(filepath.Join(dir, filepath.Base(f)), data)
		}
	}
	for i, d := range s.opts.Documents {
		var head struct {
			ID string `json:"id"`
		}
		name := fmt.Sprintf("document-%02d.json", i)
		if json.Unmarshal(d, &head) == nil && head.ID != "" {
			name = head.ID + ".json"
		}
		s.writeFile(filepath.Join(dir, name), d)
	}
	return dir
}

func (s *Stack) writeFile(path string, data []byte) {
	s.T.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		s.T.Fatal(err)
	}
}

func (s *Stack) serveEvents() {
	s.T.Helper()
	cat := catalog.New()
	if dir := s.documentsDir(); dir != "" {
		if _, err := cat.LoadDir(dir); err != nil {
			s.T.Fatal(err)
		}
	}
	in := &ingest.Ingester{Temporal: s.Client, Source: cat, TaskQueue: s.TaskQueue, Log: s.Log.With().Str("component", "starter").Logger()}
	mux := http.NewServeMux()
	mux.Handle("POST /events", metrics.Events(http.HandlerFunc(in.HandleEvents)))
	mux.Handle("GET /metrics", metrics.Handler())
	st := httptest.NewServer(mux)
	s.T.Cleanup(st.Close)
	s.StarterURL = st.URL
}

func (s *Stack) serveStarter() {
	s.T.Helper()
	st := s.opts.Store
	if st == nil {
		st = storetest.SQLite(s.T)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.T.Cleanup(cancel)
	cfg := server.Config{
		AutomationsDir: s.documentsDir(), APIToken: APIToken, EventsSecret: EventsSecret,
		TaskQueue: s.TaskQueue, Namespace: s.Namespace, Refresh: time.Second,
	}
	app, err := server.New(ctx, s.Client, st, cfg, s.Log.With().Str("component", "starter").Logger())
	if err != nil {
		s.T.Fatal(err)
	}
	srv := httptest.NewServer(app.Handler)
	s.T.Cleanup(srv.Close)
	s.App, s.StarterURL = app, srv.URL
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
		Namespace:        s.Namespace,
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
		HTTP: metrics.Client("webhook", nil),
		Log:  s.Log.With().Str("component", "worker").Logger(),
	}
	if s.Sandbox != nil {
		// A short write-back window keeps pushes quick; the sandbox
		// answers in microseconds.
		acts.ConeCRM = conecrm.New(conecrm.Config{BaseURL: s.SandboxURL, Token: SandboxToken, WriteBackWindow: time.Second}, metrics.Client("conecrm", nil))
	}
	if s.opts.Activities != nil {
		s.opts.Activities(acts)
	}
	var wopts worker.Options
	if s.opts.Deployment != nil {
		wopts.DeploymentOptions = s.opts.Deployment.Options()
	}
	w := workerapp.NewWorker(c, s.TaskQueue, acts, wopts)
	if s.opts.Register != nil {
		s.opts.Register(w)
	}
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

// PostRaw sends body to POST /events, signed when the starter checks
// signatures, and returns the status and the answer. It does not stop the
// test, so goroutines may call it; a transport error is status 0.
func (s *Stack) PostRaw(body []byte) (int, []byte) {
	req, err := http.NewRequest(http.MethodPost, s.StarterURL+"/events", bytes.NewReader(body))
	if err != nil {
		return 0, []byte(err.Error())
	}
	req.Header.Set("Content-Type", "application/json")
	if s.opts.Starter == StarterService {
		ts := time.Now().Unix()
		req.Header.Set(ingest.HeaderTimestamp, strconv.FormatInt(ts, 10))
		req.Header.Set(ingest.HeaderSignature, ingest.Sign([]byte(EventsSecret), ts, body))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

// Post sends a lead event to POST /events and returns the answer. A lead
// (in a map event) that names no franchise is docbuild.Franchise's.
func (s *Stack) Post(ev any) (int, ingest.EventsResponse) {
	s.T.Helper()
	if m, ok := ev.(map[string]any); ok {
		if lead, ok := m["lead"].(map[string]any); ok {
			if _, ok := lead["franchise"]; !ok {
				l := map[string]any{"franchise": map[string]any{"id": docbuild.Franchise}}
				for k, v := range lead {
					l[k] = v
				}
				c := map[string]any{}
				for k, v := range m {
					c[k] = v
				}
				c["lead"] = l
				ev = c
			}
		}
	}
	b, err := json.Marshal(ev)
	if err != nil {
		s.T.Fatal(err)
	}
	status, body := s.PostRaw(b)
	if status == 0 {
		s.T.Fatalf("POST /events: %s", body)
	}
	var out ingest.EventsResponse
	_ = json.Unmarshal(body, &out)
	return status, out
}

// Event posts an event of type typ for lead leadID (lead holds its other
// fields) occurring now.
func (s *Stack) Event(id, typ, leadID string, lead map[string]any) (int, ingest.EventsResponse) {
	s.T.Helper()
	l := map[string]any{}
	for k, v := range lead {
		l[k] = v
	}
	l["id"] = leadID
	return s.Post(map[string]any{"id": id, "type": typ, "occurredAt": time.Now().UTC().Format(time.RFC3339), "lead": l})
}

// API calls the starter service's automation API with its token and returns
// the status and the decoded JSON answer.
func (s *Stack) API(method, path string, body any) (int, map[string]any) {
	s.T.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			s.T.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.StarterURL+path, r)
	if err != nil {
		s.T.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+APIToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.T.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
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
	return s.ResultOf(o.WorkflowID, o.RunID, timeout)
}

// ResultOf waits for a run's result.
func (s *Stack) ResultOf(workflowID, runID string, timeout time.Duration) workflows.Result {
	s.T.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var res workflows.Result
	if err := s.Client.GetWorkflow(ctx, workflowID, runID).Get(ctx, &res); err != nil {
		s.T.Fatalf("workflow %s: %v", workflowID, err)
	}
	return res
}

// Count counts the runs a visibility query matches in the stack's
// namespace.
func (s *Stack) Count(query string) int64 {
	s.T.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := s.Client.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Namespace: s.Namespace, Query: query})
	if err != nil {
		s.T.Fatalf("%s: %v", query, err)
	}
	return resp.GetCount()
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
