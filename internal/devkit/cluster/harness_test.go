//go:build cluster

package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/conecrm/automation-runtime/internal/conecrm"
	"github.com/conecrm/automation-runtime/internal/devkit/devserver"
	"github.com/conecrm/automation-runtime/internal/devkit/sandbox"
	"github.com/conecrm/automation-runtime/internal/ingest"
	"github.com/conecrm/automation-runtime/workflows"
)

// The cluster tests (make cluster-test; build tag cluster, so make test
// never runs them) each start a cluster of their own on free ports, its
// PostgreSQL under data/ (PostgreSQL runs as the postgres user, which cannot
// enter a root-owned test temp directory). A failed test keeps the
// directory and its logs.

type env struct {
	t  *testing.T
	c  *Cluster
	sb *sandbox.Server
	cl client.Client
	// inFlight counts answers "event already being processed" asked again.
	inFlight atomic.Int64
}

// inFlight is the starter's reason for an event whose claim another
// delivery holds.
const inFlight = "event already being processed"

func startCluster(t *testing.T, opts Options) *env {
	t.Helper()
	root, err := devserver.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp(filepath.Join(root, "data"), "cluster-test-")
	if err != nil {
		t.Fatal(err)
	}
	sb := sandbox.New(SandboxToken, sandbox.WithLenientReferences())
	opts.Dir, opts.Sandbox, opts.Log = dir, sb, testWriter{t}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	t0 := time.Now()
	c, err := Start(ctx, opts)
	if err != nil {
		t.Fatalf("cluster: %v (files in %s)", err, dir)
	}
	t.Logf("cluster up in %s: frontend %s, starters %v", time.Since(t0).Round(time.Millisecond), c.Frontend, c.StarterURLs)
	cl, err := c.Dial()
	if err != nil {
		c.Stop()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cl.Close()
		took := c.Stop()
		t.Logf("cluster stopped in %s", took.Round(time.Millisecond))
		if t.Failed() {
			t.Logf("cluster files and logs kept in %s", dir)
			return
		}
		_ = os.RemoveAll(dir)
	})
	return &env{t: t, c: c, sb: sb, cl: cl}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// leadFranchise is the franchise of the tests' leads (the demo automations').
const leadFranchise = sandbox.FranchiseMontreal

// leadEvent is a LEAD_CREATED event of a new car lead.
func leadEvent(eventID, leadID string) []byte {
	b, _ := json.Marshal(map[string]any{
		"id": eventID, "type": "LEAD_CREATED", "occurredAt": time.Now().UTC().Format(time.RFC3339),
		"lead": map[string]any{
			"id": leadID, "subject": "Cluster lead " + leadID[len(leadID)-6:], "category": "CAR", "priority": 2,
			"franchise": map[string]any{"id": leadFranchise}, "stage": map[string]any{"id": sandbox.StageNew},
		},
	})
	return b
}

// deliver posts a signed event to starter i, moving to the next starter on
// a transport error or a 503 (a starter killed, Temporal unreachable for a
// moment), as an event source retrying would; it returns the enrolment of
// automation, if the answer has one.
func (e *env) deliver(ctx context.Context, i int, body []byte, automation string) (ingest.Outcome, error) {
	var last string
	for attempt := 0; attempt < 240; attempt++ {
		u := e.c.StarterURLs[(i+attempt)%len(e.c.StarterURLs)]
		status, out, err := ingest.PostSigned(ctx, u+"/events", []byte(SigningSecret), body)
		if err == nil && status == 200 {
			var er ingest.EventsResponse
			if err := json.Unmarshal(out, &er); err != nil {
				return ingest.Outcome{}, err
			}
			var found *ingest.Outcome
			for _, o := range er.Automations {
				if o.AutomationID == automation {
					found = &o
				}
			}
			if found == nil {
				return ingest.Outcome{}, fmt.Errorf("no outcome for %s in %s", automation, out)
			}
			if found.Result != ingest.Skipped || found.Reason != inFlight {
				return *found, nil
			}
			// Another delivery holds the event's claim: not final (that
			// delivery may die before it starts the run, and the claim
			// lapses only after the store's lease), so ask again.
			e.inFlight.Add(1)
			last = "still " + inFlight
		} else {
			last = fmt.Sprintf("HTTP %d %v %s", status, err, out)
		}
		select {
		case <-ctx.Done():
			return ingest.Outcome{}, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
	return ingest.Outcome{}, fmt.Errorf("event not accepted: %s", last)
}

// result waits for a run's result.
func (e *env) result(ctx context.Context, workflowID string) (workflows.Result, error) {
	var res workflows.Result
	err := e.cl.GetWorkflow(ctx, workflowID, "").Get(ctx, &res)
	return res, err
}

// workerPIDs returns the process ids of the workers that completed the
// run's workflow tasks (the SDK's identity is pid@host@).
func (e *env) workerPIDs(ctx context.Context, workflowID string) (map[int]bool, error) {
	pids := map[int]bool{}
	it := e.cl.GetWorkflowHistory(ctx, workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return nil, err
		}
		if a := ev.GetWorkflowTaskCompletedEventAttributes(); a != nil {
			pid, _, _ := strings.Cut(a.GetIdentity(), "@")
			n, err := strconv.Atoi(pid)
			if err != nil {
				return nil, fmt.Errorf("identity %q", a.GetIdentity())
			}
			pids[n] = true
		}
	}
	return pids, nil
}

// count counts the runs a visibility query matches (PostgreSQL
// visibility, the runtime's search attributes).
func (e *env) count(ctx context.Context, query string) (int64, error) {
	resp, err := e.cl.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Namespace: "default", Query: query})
	return resp.GetCount(), err
}

// waitCount waits until query matches want runs.
func (e *env) waitCount(ctx context.Context, query string, want int64) {
	e.t.Helper()
	var n int64
	var err error
	for ctx.Err() == nil {
		if n, err = e.count(ctx, query); err == nil && n == want {
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
	e.t.Errorf("visibility %q: %d runs (err %v), want %d", query, n, err, want)
}

// newLeads returns n fresh lead ids.
func newLeads(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = uuid.Must(uuid.NewV7()).String()
	}
	return ids
}

// createLeads creates n leads in the sandbox (a stage move needs the lead
// to exist) and returns their ids.
func (e *env) createLeads(ctx context.Context, n int) []string {
	e.t.Helper()
	crm := conecrm.New(conecrm.Config{BaseURL: e.c.SandboxURL, Token: SandboxToken}, nil)
	ids := make([]string, n)
	for i := range ids {
		l, err := crm.CreateLead(ctx, conecrm.LeadRequest{Subject: fmt.Sprintf("Cluster lead %d", i), Franchise: &conecrm.IDRef{ID: leadFranchise}}, "")
		if err != nil {
			e.t.Fatalf("creating lead %d in the sandbox: %v", i, err)
		}
		ids[i] = l.ID
	}
	return ids
}

// parallel runs f(i) for i in [0, n) on up to 8 goroutines.
func parallel(n int, f func(i int)) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i := 0; i < n; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			f(i)
		}()
	}
	wg.Wait()
}
