package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"go.temporal.io/sdk/client"

	"github.com/conecrm/automation-runtime/internal/conecrm"
	"github.com/conecrm/automation-runtime/internal/devkit/crmfake"
	"github.com/conecrm/automation-runtime/internal/devkit/devserver"
	"github.com/conecrm/automation-runtime/internal/devkit/sandbox"
	"github.com/conecrm/automation-runtime/internal/ingest"
	"github.com/conecrm/automation-runtime/internal/logging"
	"github.com/conecrm/automation-runtime/internal/store"
	"github.com/conecrm/automation-runtime/starter/server"
)

// SandboxToken is the ConeCRM sandbox's bearer token in benches.
const SandboxToken = "bench-sandbox-token"

// Fakes are the in-process ConeCRM sandbox and fake HubSpot.
type Fakes struct {
	Sandbox    *sandbox.Server
	SandboxURL string
	HubSpot    *crmfake.HubSpot
	HubSpotURL string
	CRMKey     string
	closers    []func()
	cone       *conecrm.Client
}

// NewFakes starts the sandbox and the fake HubSpot; wrap, when set, wraps
// each handler (fault injection).
func NewFakes(wrapCRM func(http.Handler) http.Handler) (*Fakes, error) {
	f := &Fakes{Sandbox: sandbox.New(SandboxToken)}
	sb := httptest.NewServer(f.Sandbox)
	f.SandboxURL = sb.URL
	hs, err := crmfake.NewHubSpot("")
	if err != nil {
		sb.Close()
		return nil, err
	}
	f.HubSpot = hs
	var h http.Handler = hs
	if wrapCRM != nil {
		h = wrapCRM(hs)
	}
	hsSrv := httptest.NewServer(h)
	f.HubSpotURL = hsSrv.URL
	f.closers = []func(){sb.Close, hsSrv.Close}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	f.CRMKey = base64.StdEncoding.EncodeToString(key)
	f.cone = conecrm.New(conecrm.Config{BaseURL: f.SandboxURL, Token: SandboxToken, Timeout: 10 * time.Second}, nil)
	return f, nil
}

// Close stops the fakes.
func (f *Fakes) Close() {
	for _, c := range f.closers {
		c()
	}
}

// WorkerConfig is the worker configuration for these fakes.
func (f *Fakes) WorkerConfig(address, taskQueue string) WorkerConfig {
	return WorkerConfig{TemporalAddress: address, TaskQueue: taskQueue, SandboxURL: f.SandboxURL, SandboxToken: SandboxToken,
		CRMURLs: map[string]string{HubSpotID: f.HubSpotURL}, CRMKey: f.CRMKey}
}

// NewLeads creates n leads in the sandbox (copies of Alice's lead), so that
// stage moves and tasks reference existing leads. Call before injecting
// faults.
func (f *Fakes) NewLeads(ctx context.Context, n int) ([]string, error) {
	ids := make([]string, n)
	errs := make(chan error, n)
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			l, err := f.cone.CopyLead(ctx, sandbox.LeadAlice, conecrm.CopyLeadData{Contact: conecrm.Ref(sandbox.ContactAlice), Account: conecrm.Ref(sandbox.AccountAlice)}, "")
			if err != nil {
				errs <- err
				return
			}
			ids[i] = l.ID
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, fmt.Errorf("creating sandbox leads: %w", err)
	}
	return ids, nil
}

// Starter is the starter's HTTP service (signed POST /events over a SQLite
// store) in this process.
type Starter struct {
	URL    string
	Secret []byte
	App    *server.App
	http   *http.Client
	close  func()
}

// StartStarter writes the automation documents to dir/automations and
// serves the starter over dir/starter.db, enrolling on taskQueue.
func StartStarter(ctx context.Context, c client.Client, dir, taskQueue string, docs ...string) (*Starter, error) {
	adir := filepath.Join(dir, "automations")
	if err := os.MkdirAll(adir, 0o755); err != nil {
		return nil, err
	}
	for i, d := range docs {
		if err := os.WriteFile(filepath.Join(adir, "a"+strconv.Itoa(i)+".json"), []byte(d), 0o644); err != nil {
			return nil, err
		}
	}
	st, err := store.Open(ctx, store.Options{DataDir: dir})
	if err != nil {
		return nil, err
	}
	secret := []byte("bench-events-secret")
	cfg := server.Config{AutomationsDir: adir, DataDir: dir, APIToken: "bench-api-token", EventsSecret: string(secret), TaskQueue: taskQueue, Namespace: "default"}
	sctx, cancel := context.WithCancel(ctx)
	app, err := server.New(sctx, c, st, cfg, zerolog.Nop())
	if err != nil {
		cancel()
		return nil, err
	}
	srv := httptest.NewServer(app.Handler)
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	return &Starter{URL: srv.URL, Secret: secret, App: app, http: &http.Client{Transport: tr, Timeout: 60 * time.Second},
		close: func() { srv.Close(); cancel(); tr.CloseIdleConnections() }}, nil
}

// Close stops the starter.
func (s *Starter) Close() { s.close() }

// Post sends one signed event and returns the status and the answer.
func (s *Starter) Post(ctx context.Context, ev any) (int, ingest.EventsResponse, error) {
	body, err := json.Marshal(ev)
	if err != nil {
		return 0, ingest.EventsResponse{}, err
	}
	ts := time.Now().Unix()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+"/events", bytes.NewReader(body))
	if err != nil {
		return 0, ingest.EventsResponse{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(ingest.HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(ingest.HeaderSignature, ingest.Sign(s.Secret, ts, body))
	resp, err := s.http.Do(req)
	if err != nil {
		return 0, ingest.EventsResponse{}, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out ingest.EventsResponse
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(raw, &out); err != nil {
			return resp.StatusCode, out, fmt.Errorf("answer: %w: %s", err, raw)
		}
		return resp.StatusCode, out, nil
	}
	return resp.StatusCode, out, fmt.Errorf("POST /events: HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(raw))
}

// StartServer starts a dev server, on dbFile when set, with extra flags.
func StartServer(ctx context.Context, dbFile, logFile string, port int, extra ...string) (*devserver.Server, error) {
	var log *os.File
	if logFile != "" {
		f, err := os.OpenFile(logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return nil, err
		}
		log = f
	}
	return devserver.Start(ctx, devserver.Options{DBFile: dbFile, UIPort: -1, Port: port, Log: log, ExtraArgs: extra})
}

// Dial connects a quiet client.
func Dial(address string) (client.Client, error) {
	return client.Dial(client.Options{HostPort: address, Logger: logging.SDK(zerolog.Nop())})
}

// fileSize returns the size of path plus its -wal and -shm files.
func fileSize(path string) int64 {
	var n int64
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if st, err := os.Stat(p); err == nil {
			n += st.Size()
		}
	}
	return n
}
