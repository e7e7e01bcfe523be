package bench

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/conecrm/automation-runtime/internal/event"
	"github.com/conecrm/automation-runtime/internal/ingest"
	"github.com/conecrm/automation-runtime/workflows"
)

// Variant is one side of the comparison.
type Variant string

// The variants: (a) events through the signed starter into the
// interpreter, (b) the hand-written workflow started directly.
const (
	Interpreter Variant = "interpreter"
	Handwritten Variant = "handwritten"
)

// Round is one measured batch of runs of one variant on a fresh worker
// process.
type Round struct {
	Variant        Variant `json:"variant"`
	Server         string  `json:"server"`
	Runs           int     `json:"runs"`
	Failed         int     `json:"failed"`
	RunsPerSec     float64 `json:"runs_per_sec"`
	P50ms          float64 `json:"p50_ms"`
	P95ms          float64 `json:"p95_ms"`
	P99ms          float64 `json:"p99_ms"`
	HistoryEvents  float64 `json:"history_events_per_run"`
	CPUSecPerRun   float64 `json:"worker_cpu_s_per_run"`
	WorkerPeakRSS  float64 `json:"worker_peak_rss_mb"`
	ElapsedSeconds float64 `json:"elapsed_s"`
}

// Rig is a dev server with the fakes, a starter and a worker command.
type Rig struct {
	Address   string
	Client    client.Client
	Fakes     *Fakes
	Starter   *Starter // nil: only (b) can run
	TaskQueue string
	WorkerCmd []string
	// ServerName labels the rounds ("sqlite", "memory", ...).
	ServerName string
	// StickyCache sets the worker's sticky workflow cache size (0: default).
	StickyCache int
	leads       []string
	next        atomic.Int64
}

// UseLeads gives the rig sandbox lead ids to consume, one per run.
func (r *Rig) UseLeads(ids []string) { r.leads = ids; r.next.Store(0) }

func (r *Rig) lead() (string, int, error) {
	i := int(r.next.Add(1)) - 1
	if i >= len(r.leads) {
		return "", 0, errors.New("bench: out of sandbox leads")
	}
	return r.leads[i], i, nil
}

// submit starts one run and returns its workflow id and the submit time.
func (r *Rig) submit(ctx context.Context, v Variant) (string, time.Time, error) {
	leadID, n, err := r.lead()
	if err != nil {
		return "", time.Time{}, err
	}
	ev := LeadEvent("LEAD_CREATED", "bench-ev-"+leadID, leadID, n)
	t0 := time.Now()
	switch v {
	case Interpreter:
		_, out, err := r.Starter.Post(ctx, ev)
		if err != nil {
			return "", t0, err
		}
		for _, o := range out.Automations {
			if o.Result == ingest.Enrolled {
				return o.WorkflowID, t0, nil
			}
		}
		return "", t0, fmt.Errorf("event not enrolled: %+v", out.Automations)
	default:
		opts := r.startOptions(ev, "bench/handwritten/lead/"+leadID)
		run, err := r.Client.ExecuteWorkflow(ctx, opts, HandwrittenName, ev)
		if err != nil {
			return "", t0, err
		}
		return run.GetID(), t0, nil
	}
}

// startOptions are the starter's options for the reference automation
// (search attributes, summary), so both variants start alike.
func (r *Rig) startOptions(ev event.Lead, id string) client.StartWorkflowOptions {
	if r.Starter != nil {
		if p, ok := r.Starter.App.Catalog.Get(ReferenceID); ok {
			o := r.Starter.App.Ingester.StartOptions(p, ev, id, ev.LeadID())
			o.TaskQueue = r.TaskQueue
			return o
		}
	}
	return client.StartWorkflowOptions{ID: id, TaskQueue: r.TaskQueue, TypedSearchAttributes: referenceSearchAttributes(ev)}
}

// RunRound measures n runs of v, submitted from conc goroutines, on a fresh
// worker process (warmed with a few runs first).
func (r *Rig) RunRound(ctx context.Context, v Variant, n, conc int) (Round, error) {
	res := Round{Variant: v, Server: r.ServerName, Runs: n}
	w, err := StartWorker(ctx, r.WorkerCmd, r.Fakes.WorkerConfig(r.Address, r.TaskQueue), nil)
	if err != nil {
		return res, err
	}
	defer w.Stop()
	if _, err := r.batch(ctx, v, 4, 4); err != nil {
		return res, fmt.Errorf("warm-up: %w", err)
	}
	before, err := w.Stats()
	if err != nil {
		return res, err
	}
	start := time.Now()
	runs, err := r.batch(ctx, v, n, conc)
	if err != nil {
		return res, err
	}
	after, err := w.Stats()
	if err != nil {
		return res, err
	}
	var (
		lat      []time.Duration
		hist     []float64
		lastDone time.Time
	)
	for _, x := range runs {
		if x.failed {
			res.Failed++
			continue
		}
		lat = append(lat, x.closed.Sub(x.submitted))
		hist = append(hist, float64(x.history))
		if x.closed.After(lastDone) {
			lastDone = x.closed
		}
	}
	elapsed := lastDone.Sub(start)
	res.ElapsedSeconds = elapsed.Seconds()
	if elapsed > 0 {
		res.RunsPerSec = float64(len(lat)) / elapsed.Seconds()
	}
	res.P50ms, res.P95ms, res.P99ms = ms(Percentile(lat, 50)), ms(Percentile(lat, 95)), ms(Percentile(lat, 99))
	res.HistoryEvents = Median(hist)
	res.CPUSecPerRun = (after.CPU - before.CPU).Seconds() / float64(n)
	res.WorkerPeakRSS = after.PeakRSSMB
	if res.Failed > 0 {
		return res, fmt.Errorf("%d of %d %s runs did not complete as expected", res.Failed, n, v)
	}
	return res, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

type runRecord struct {
	id        string
	submitted time.Time
	closed    time.Time
	history   int64
	failed    bool
}

// batch submits n runs from conc goroutines and waits for all to close.
func (r *Rig) batch(ctx context.Context, v Variant, n, conc int) ([]runRecord, error) {
	runs := make([]runRecord, n)
	var (
		next     atomic.Int64
		wg       sync.WaitGroup
		firstErr error
		mu       sync.Mutex
	)
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				id, t0, err := r.submit(ctx, v)
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					return
				}
				runs[i] = runRecord{id: id, submitted: t0}
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	// Wait for every run, then read its close time and history length.
	sem := make(chan struct{}, 64)
	for i := range runs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			x := &runs[i]
			wctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
			defer cancel()
			ok := r.waitRun(wctx, v, x.id)
			d, err := r.Client.DescribeWorkflowExecution(wctx, x.id, "")
			if err != nil || !ok {
				x.failed = true
				return
			}
			info := d.GetWorkflowExecutionInfo()
			x.closed = info.GetCloseTime().AsTime()
			x.history = info.GetHistoryLength()
		}()
	}
	wg.Wait()
	return runs, nil
}

// waitRun waits for the run and checks it took the reference path to its end.
func (r *Rig) waitRun(ctx context.Context, v Variant, id string) bool {
	run := r.Client.GetWorkflow(ctx, id, "")
	if v == Interpreter {
		var res workflows.Result
		if err := run.Get(ctx, &res); err != nil {
			return false
		}
		return res.Status == workflows.StatusCompleted && res.Reason == "pushed"
	}
	var res string
	return run.Get(ctx, &res) == nil && res == "pushed"
}

// Median of the rounds of one variant, field by field.
func MedianRound(rounds []Round) Round {
	if len(rounds) == 0 {
		return Round{}
	}
	pick := func(f func(Round) float64) float64 {
		xs := make([]float64, len(rounds))
		for i, r := range rounds {
			xs[i] = f(r)
		}
		return Median(xs)
	}
	out := Round{Variant: rounds[0].Variant, Server: rounds[0].Server}
	for _, r := range rounds {
		out.Runs += r.Runs
		out.Failed += r.Failed
	}
	out.RunsPerSec = pick(func(r Round) float64 { return r.RunsPerSec })
	out.P50ms = pick(func(r Round) float64 { return r.P50ms })
	out.P95ms = pick(func(r Round) float64 { return r.P95ms })
	out.P99ms = pick(func(r Round) float64 { return r.P99ms })
	out.HistoryEvents = pick(func(r Round) float64 { return r.HistoryEvents })
	out.CPUSecPerRun = pick(func(r Round) float64 { return r.CPUSecPerRun })
	out.WorkerPeakRSS = pick(func(r Round) float64 { return r.WorkerPeakRSS })
	out.ElapsedSeconds = pick(func(r Round) float64 { return r.ElapsedSeconds })
	return out
}
