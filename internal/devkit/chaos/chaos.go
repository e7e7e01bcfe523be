// Package chaos is the chaos harness: many enrolments of automations that
// branch, delay, wait for events and push to a fake CRM, against a
// file-backed dev server, two worker processes, the starter and the ConeCRM
// sandbox, while workers are SIGKILLed, the dev server restarts, 30% of
// ConeCRM and CRM responses fail and every event is delivered three times at
// once. It checks every run ends as `starter dry-run` says it should and
// every side effect happened exactly once.
package chaos

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/conecrm/automation-runtime/internal/devkit/bench"
	"github.com/conecrm/automation-runtime/internal/devkit/devserver"
	"github.com/conecrm/automation-runtime/internal/devkit/docbuild"
	"github.com/conecrm/automation-runtime/internal/devkit/sandbox"
	"github.com/conecrm/automation-runtime/internal/event"
	"github.com/conecrm/automation-runtime/internal/ingest"
	"github.com/conecrm/automation-runtime/internal/searchattr"
	"github.com/conecrm/automation-runtime/workflows"
	"github.com/conecrm/automation-runtime/workflows/dryrun"
)

// AutomationID is the chaos automation's id.
const AutomationID = "chaos-branching"

// Automation branches on priority: hot leads get a call task, a delay, and a
// wait for an update (then a HubSpot push) or its timeout (then a stage
// move); cold leads are copied into the used-vehicles department.
func Automation(delay, waitTimeout string) string {
	return docbuild.New(AutomationID).Name("Chaos: call, delay, wait for an update, push or move; or copy").
		Trigger("LEAD_CREATED").Timezone("America/Toronto").
		Node("start", "trigger", docbuild.Data{"label": "New lead"}).
		Node("hot", "condition", docbuild.Data{"label": "Hot lead?", "expression": "has(lead.priority) && lead.priority >= 3"}).
		Node("call", "create_task", docbuild.Data{"label": "Call", "type": "CALL", "assignee": sandbox.UserSam, "title": "Call {{ lead.subject }}", "dueIn": "1h"}).
		Node("pause", "delay", docbuild.Data{"label": "Pause", "duration": delay}).
		Node("wait-reply", "wait_for_event", docbuild.Data{"label": "Wait for an update", "event": "LEAD_UPDATED", "timeout": waitTimeout}).
		Node("push", "push_to_crm", docbuild.Data{"label": "Push to HubSpot", "integrationId": bench.HubSpotID}).
		Node("pushed", "end", docbuild.Data{"label": "Pushed", "reason": "pushed"}).
		Node("contacted", "move_stage", docbuild.Data{"label": "Mark contacted", "stageId": sandbox.StageContacted}).
		Node("moved", "end", docbuild.Data{"label": "Moved", "reason": "moved"}).
		Node("copy", "copy_lead", docbuild.Data{"label": "Copy to used vehicles", "department": sandbox.DepartmentUsedVehicles}).
		Node("copied", "end", docbuild.Data{"label": "Copied", "reason": "copied"}).
		Chain(1, "start", "hot").EdgeID("e2", "hot", "call", "true").EdgeID("e3", "hot", "copy", "false").
		Chain(4, "call", "pause", "wait-reply").
		EdgeID("e6", "wait-reply", "push", "event").EdgeID("e7", "wait-reply", "contacted", "timeout").
		Chain(8, "push", "pushed").Chain(9, "contacted", "moved").Chain(10, "copy", "copied").String()
}

// Options configure a chaos run.
type Options struct {
	Runs          int
	Kills         int
	ServerRestart bool
	// FaultRate is the share of ConeCRM and CRM responses that fail.
	FaultRate float64
	// Deliveries is how many times each event is posted, concurrently.
	Deliveries  int
	Delay       string
	WaitTimeout string
	// Deadline bounds the whole run; runs still open then are stuck.
	Deadline time.Duration
	Seed     uint64
	// IgnoreIdempotency makes the ConeCRM sandbox ignore Idempotency-Key,
	// as a ConeCRM without the header would: exactly once then rests on
	// the actions finding what an earlier attempt created.
	IgnoreIdempotency bool
	// Dir holds the dev server's SQLite file and logs.
	Dir string
	// WorkerCmd starts a worker process (bench.RunWorker).
	WorkerCmd []string
	// Frontend, when set, is an external Temporal frontend (a cluster,
	// internal/devkit/cluster) used in place of the harness's dev server;
	// RestartServer is then the server fault injected once the leads are
	// enrolled (SIGKILL history and matching, restart the frontend...).
	Frontend      string
	RestartServer func(context.Context) error
	Log           io.Writer
}

// Defaults is `make chaos`.
func Defaults() Options {
	return Options{Runs: 300, Kills: 5, ServerRestart: true, FaultRate: 0.3, Deliveries: 3, Delay: "8s", WaitTimeout: "40s", Deadline: 15 * time.Minute, Seed: 1}
}

// Count is one kind of side effect, expected (from the dry runs) and
// observed (at the fakes).
type Count struct {
	Expected int `json:"expected"`
	Observed int `json:"observed"`
}

// Summary is what a chaos run found.
type Summary struct {
	Runs                 int              `json:"runs"`
	IgnoreIdempotency    bool             `json:"ignore_idempotency"`
	Completed            int              `json:"completed"`
	PathMatches          int              `json:"path_matches"`
	Stuck                int              `json:"stuck"`
	Kills                int              `json:"kills"`
	WorkerRestarts       int              `json:"worker_restarts"`
	ServerRestarts       int              `json:"server_restarts"`
	FaultsInjected       map[string]int   `json:"faults_injected"`
	Deliveries           int              `json:"deliveries"`
	DuplicatesSuppressed int              `json:"duplicates_suppressed"`
	SideEffects          map[string]Count `json:"side_effects"`
	WorkflowTaskFailures int              `json:"workflow_task_failures"`
	NonDeterminism       int              `json:"nondeterminism_failures"`
	Seconds              float64          `json:"seconds"`
	Problems             []string         `json:"problems,omitempty"`
}

// OK reports whether the run passed.
func (s *Summary) OK() bool { return len(s.Problems) == 0 }

// String renders the summary for people.
func (s *Summary) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "chaos: %d runs, %d completed, %d on their dry-run path, %d stuck, in %.0f s\n", s.Runs, s.Completed, s.PathMatches, s.Stuck, s.Seconds)
	if s.IgnoreIdempotency {
		b.WriteString("  ConeCRM sandbox ignoring Idempotency-Key\n")
	}
	fmt.Fprintf(&b, "  worker SIGKILLs %d (restarts %d), dev server restarts %d\n", s.Kills, s.WorkerRestarts, s.ServerRestarts)
	kinds := make([]string, 0, len(s.FaultsInjected))
	total := 0
	for k, v := range s.FaultsInjected {
		kinds = append(kinds, fmt.Sprintf("%s %d", k, v))
		total += v
	}
	sort.Strings(kinds)
	fmt.Fprintf(&b, "  faults injected %d (%s)\n", total, strings.Join(kinds, ", "))
	fmt.Fprintf(&b, "  event deliveries %d, duplicates suppressed %d\n", s.Deliveries, s.DuplicatesSuppressed)
	names := make([]string, 0, len(s.SideEffects))
	for k := range s.SideEffects {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		c := s.SideEffects[k]
		fmt.Fprintf(&b, "  side effect %-14s expected %4d observed %4d\n", k, c.Expected, c.Observed)
	}
	fmt.Fprintf(&b, "  workflow task failures %d, of which non-determinism %d\n", s.WorkflowTaskFailures, s.NonDeterminism)
	if s.OK() {
		b.WriteString("PASS\n")
	} else {
		for _, p := range s.Problems {
			fmt.Fprintf(&b, "  problem: %s\n", p)
		}
		fmt.Fprintf(&b, "FAIL: %d problems\n", len(s.Problems))
	}
	return b.String()
}

// lead is one enrolment and what it should do.
type lead struct {
	id         string
	n          int
	hot        bool
	update     bool // a LEAD_UPDATED event arrives while it waits
	enrol      event.Lead
	later      event.Lead
	workflowID string
	expected   *dryrun.Output
}

type harness struct {
	o       Options
	logf    func(string, ...any)
	fakes   *bench.Fakes
	crm     *crmFaults
	srv     *devserver.Server
	srvMu   sync.Mutex
	port    int
	address string
	dbFile  string
	client  client.Client
	starter *bench.Starter
	workers [2]*bench.WorkerProc
	wmu     sync.Mutex
	sum     Summary
	dups    atomic.Int64
	posts   atomic.Int64
}

// Run runs the chaos scenario and returns its summary; err is for the
// harness's own failures (a mismatch is in Summary.Problems).
func Run(ctx context.Context, o Options) (*Summary, error) {
	began := time.Now()
	if o.Log == nil {
		o.Log = io.Discard
	}
	h := &harness{o: o, logf: func(f string, a ...any) { fmt.Fprintf(o.Log, "chaos: "+f+"\n", a...) }}
	h.sum.Runs = o.Runs
	var err error
	h.fakes, err = bench.NewFakes(func(next http.Handler) http.Handler {
		h.crm = newCRMFaults(next, o.FaultRate, o.Seed)
		return h.crm
	})
	if err != nil {
		return nil, err
	}
	defer h.fakes.Close()
	ids, err := h.fakes.NewLeads(ctx, o.Runs)
	if err != nil {
		return nil, err
	}
	if err := h.fakes.Sandbox.SetFaults(sandboxFaults(o.FaultRate, o.Seed)); err != nil {
		return nil, err
	}
	h.fakes.Sandbox.SetIgnoreIdempotency(o.IgnoreIdempotency)
	h.sum.IgnoreIdempotency = o.IgnoreIdempotency

	// Expected ends, from dry runs of the same inputs.
	doc := Automation(o.Delay, o.WaitTimeout)
	leads := make([]*lead, o.Runs)
	rng := rand.New(rand.NewPCG(o.Seed, 7))
	for i, id := range ids {
		l := &lead{id: id, n: i, hot: i%3 != 0}
		l.update = l.hot && rng.IntN(2) == 0
		l.enrol = bench.LeadEvent("LEAD_CREATED", "chaos-created-"+id, id, i)
		l.enrol.Lead["priority"] = 1
		if l.hot {
			l.enrol.Lead["priority"] = 5
		}
		var opts dryrun.Options
		if l.update {
			l.later = bench.LeadEvent("LEAD_UPDATED", "chaos-updated-"+id, id, i)
			l.later.Lead["priority"] = 5
			l.later.OccurredAt = l.enrol.OccurredAt.Add(delayOf(o.Delay) + 2*time.Second)
			opts.Later = []event.Lead{l.later}
		}
		out, err := dryrun.Run([]byte(doc), l.enrol, opts)
		if err != nil {
			return nil, fmt.Errorf("dry run of lead %d: %w", i, err)
		}
		l.expected = out
		leads[i] = l
	}
	h.logf("%d leads, expected paths from dry runs ready", len(leads))

	// Server, starter, two workers.
	h.dbFile = filepath.Join(o.Dir, "temporal.db")
	if h.port, err = devserver.FreePort(); err != nil {
		return nil, err
	}
	h.address = "127.0.0.1:" + fmt.Sprint(h.port)
	if o.Frontend != "" {
		h.address = o.Frontend
	} else if err := h.startServer(ctx); err != nil {
		return nil, err
	}
	defer func() {
		h.srvMu.Lock()
		if h.srv != nil {
			h.srv.Stop()
		}
		h.srvMu.Unlock()
	}()
	if h.client, err = bench.Dial(h.address); err != nil {
		return nil, err
	}
	defer h.client.Close()
	if h.starter, err = bench.StartStarter(ctx, h.client, filepath.Join(o.Dir, "starter"), "chaos", doc); err != nil {
		return nil, err
	}
	defer h.starter.Close()
	for i := range h.workers {
		if err := h.startWorker(ctx, i); err != nil {
			return nil, err
		}
	}
	defer func() {
		h.wmu.Lock()
		for _, w := range h.workers {
			if w != nil {
				w.Kill()
			}
		}
		h.wmu.Unlock()
	}()

	runCtx, cancel := context.WithTimeout(ctx, o.Deadline)
	defer cancel()
	chaosDone := make(chan struct{})
	enrolled := make(chan struct{})
	go func() { defer close(chaosDone); h.chaos(runCtx, enrolled) }()

	// Enrol every lead (three concurrent deliveries each), then deliver the
	// updates once each run waits.
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for _, l := range leads {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			o, err := h.deliver(runCtx, l.enrol)
			if err != nil {
				h.problem("lead %d: enrolment: %v", l.n, err)
				return
			}
			l.workflowID = o.WorkflowID
		}()
	}
	wg.Wait()
	close(enrolled)
	h.logf("enrolled %d leads", len(leads))
	for _, l := range leads {
		if !l.update || l.workflowID == "" {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := h.waitNode(runCtx, l.workflowID, "wait-reply"); err != nil {
				h.problem("lead %d: never waited for its update: %v", l.n, err)
				return
			}
			l.later.OccurredAt = time.Now().UTC().Truncate(time.Second)
			if _, err := h.deliver(runCtx, l.later); err != nil {
				h.problem("lead %d: update: %v", l.n, err)
			}
		}()
	}
	wg.Wait()
	h.logf("updates delivered")

	// Every run's end.
	results := make([]*workflows.Result, len(leads))
	for i, l := range leads {
		if l.workflowID == "" {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var res workflows.Result
			for runCtx.Err() == nil {
				err := h.client.GetWorkflow(runCtx, l.workflowID, "").Get(runCtx, &res)
				if err == nil {
					results[i] = &res
					return
				}
				if runCtx.Err() != nil {
					break
				}
				var failed *temporal.WorkflowExecutionError
				if errors.As(err, &failed) {
					h.problem("lead %d: run failed: %v", l.n, err)
					return
				}
				time.Sleep(time.Second)
			}
		}()
	}
	wg.Wait()
	cancel()
	<-chaosDone
	h.check(ctx, leads, results)
	h.sum.Seconds = time.Since(began).Seconds()
	return &h.sum, nil
}

func delayOf(s string) time.Duration {
	d, _ := time.ParseDuration(s)
	return d
}

func sandboxFaults(rate float64, seed uint64) sandbox.FaultConfig {
	cfg := sandbox.FaultConfig{Seed: seed}
	for _, k := range []sandbox.FaultKind{sandbox.FaultTooManyRequests, sandbox.FaultServerError, sandbox.FaultReset, sandbox.FaultDrop} {
		cfg.Faults = append(cfg.Faults, sandbox.Fault{Route: "*", Kind: k, Rate: rate / 4, RetryAfter: sandbox.Duration(time.Second)})
	}
	return cfg
}

func (h *harness) problem(format string, a ...any) {
	h.wmu.Lock()
	defer h.wmu.Unlock()
	h.sum.Problems = append(h.sum.Problems, fmt.Sprintf(format, a...))
}

func (h *harness) startServer(ctx context.Context) error {
	srv, err := bench.StartServer(ctx, h.dbFile, filepath.Join(h.o.Dir, "temporal.log"), h.port)
	if err != nil {
		return err
	}
	h.srvMu.Lock()
	h.srv = srv
	h.srvMu.Unlock()
	return nil
}

func (h *harness) startWorker(ctx context.Context, i int) error {
	cfg := h.fakes.WorkerConfig(h.address, "chaos")
	cfg.ActivityHTTPTimeout = 10 * time.Second
	logf, err := os.OpenFile(filepath.Join(h.o.Dir, fmt.Sprintf("worker-%d.log", i)), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	w, err := bench.StartWorker(ctx, h.o.WorkerCmd, cfg, logf)
	if err != nil {
		return err
	}
	h.wmu.Lock()
	h.workers[i] = w
	h.wmu.Unlock()
	return nil
}

// chaos kills a worker at random moments until Kills is reached, and
// restarts the dev server once after the enrolments, while runs wait.
func (h *harness) chaos(ctx context.Context, enrolled <-chan struct{}) {
	rng := rand.New(rand.NewPCG(h.o.Seed, 11))
	restarted := !h.o.ServerRestart
	for h.sum.Kills < h.o.Kills || !restarted {
		wait := time.Duration(2000+rng.IntN(5000)) * time.Millisecond
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		select {
		case <-enrolled:
			if !restarted {
				restarted = true
				h.restartServer(ctx)
				continue
			}
		default:
		}
		if h.sum.Kills >= h.o.Kills {
			continue
		}
		i := rng.IntN(2)
		h.wmu.Lock()
		w := h.workers[i]
		h.wmu.Unlock()
		w.Kill()
		h.sum.Kills++
		h.logf("SIGKILL worker %d (pid %d), kill %d", i, w.Pid(), h.sum.Kills)
		time.Sleep(time.Duration(300+rng.IntN(1500)) * time.Millisecond)
		if err := h.startWorker(ctx, i); err != nil {
			h.problem("restarting worker %d: %v", i, err)
			return
		}
		h.sum.WorkerRestarts++
	}
}

func (h *harness) restartServer(ctx context.Context) {
	if h.o.Frontend != "" {
		if h.o.RestartServer == nil {
			return
		}
		h.logf("server fault on the external cluster while runs wait")
		if err := h.o.RestartServer(ctx); err != nil {
			h.problem("server fault: %v", err)
			return
		}
		h.sum.ServerRestarts++
		h.logf("cluster answering again")
		return
	}
	h.logf("stopping the dev server while runs wait")
	h.srvMu.Lock()
	h.srv.Stop()
	h.srv = nil
	h.srvMu.Unlock()
	time.Sleep(2 * time.Second)
	if err := h.startServer(ctx); err != nil {
		h.problem("restarting the dev server: %v", err)
		return
	}
	h.sum.ServerRestarts++
	h.logf("dev server restarted")
}

// deliver posts ev Deliveries times concurrently, again until one delivery
// took effect or the event is known as processed.
func (h *harness) deliver(ctx context.Context, ev event.Lead) (ingest.Outcome, error) {
	for attempt := 0; ; attempt++ {
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			got  *ingest.Outcome
			last error
		)
		for range h.o.Deliveries {
			wg.Add(1)
			go func() {
				defer wg.Done()
				h.posts.Add(1)
				_, resp, err := h.starter.Post(ctx, ev)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					last = err
					return
				}
				for _, o := range resp.Automations {
					switch {
					case o.Result == ingest.Enrolled || (o.Result == ingest.Signalled && o.Reason == ""):
						got = &o
					case o.Result == ingest.Skipped && strings.HasPrefix(o.Reason, "event already processed"):
						h.dups.Add(1)
						if got == nil {
							got = &o
						}
					case o.Result == ingest.Skipped && strings.HasPrefix(o.Reason, "event already"), o.Result == ingest.Signalled:
						h.dups.Add(1)
					default:
						last = fmt.Errorf("unexpected outcome %+v", o)
					}
				}
			}()
		}
		wg.Wait()
		if got != nil && got.WorkflowID != "" {
			return *got, nil
		}
		if ctx.Err() != nil {
			return ingest.Outcome{}, fmt.Errorf("%w (last: %v)", ctx.Err(), last)
		}
		time.Sleep(time.Duration(500+attempt*250) * time.Millisecond)
	}
}

// waitNode waits until the run's CurrentNode search attribute names node.
func (h *harness) waitNode(ctx context.Context, id, node string) error {
	for ctx.Err() == nil {
		d, err := h.client.DescribeWorkflowExecution(ctx, id, "")
		if err == nil {
			if p := d.GetWorkflowExecutionInfo().GetSearchAttributes().GetIndexedFields()[searchattr.CurrentNode.GetName()]; p != nil && strings.Contains(string(p.GetData()), `"`+node+`"`) {
				return nil
			}
			if d.GetWorkflowExecutionInfo().GetStatus() != enums.WORKFLOW_EXECUTION_STATUS_RUNNING {
				return errors.New("the run closed first")
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
	return ctx.Err()
}
