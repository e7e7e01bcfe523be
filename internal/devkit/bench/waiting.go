package bench

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/conecrm/automation-runtime/internal/devkit/sandbox"
	"github.com/conecrm/automation-runtime/internal/event"
	"github.com/conecrm/automation-runtime/internal/ingest"
)

// WaitPoint is the state after enrolling Count runs into a one-hour delay.
type WaitPoint struct {
	Count        int     `json:"count"`
	WorkerRSSMB  float64 `json:"worker_rss_mb"`
	DBBytes      int64   `json:"db_bytes"`
	EnrolSeconds float64 `json:"enrol_s"`
}

// Waiting is the result of the waiting-work measurement.
type Waiting struct {
	Points           []WaitPoint `json:"points"`
	EnrolPerSec      float64     `json:"enrol_per_sec"`
	DBBytesPerRun    float64     `json:"db_bytes_per_waiting_run"`
	RSSMBPer1k       float64     `json:"worker_rss_mb_per_1k"`
	BaselineRSSMB    float64     `json:"worker_rss_mb_idle"`
	DrainSeconds     float64     `json:"drain_s"`
	DrainPerSec      float64     `json:"drain_per_sec"`
	StickyCacheSize  int         `json:"sticky_cache_size,omitempty"`
	WorkerCPUSeconds float64     `json:"worker_cpu_s"`
}

// MeasureWaiting enrols runs of WaitingAutomation through the starter up to
// each checkpoint, waits until every one is parked in its delay, and reads
// the worker's RSS and the database size; then it drains them all with a
// goal event each and measures how fast they finish.
func MeasureWaiting(ctx context.Context, r *Rig, dbFile string, checkpoints []int, conc int) (Waiting, error) {
	var out Waiting
	cfg := r.Fakes.WorkerConfig(r.Address, r.TaskQueue)
	cfg.StickyCacheSize = r.StickyCache
	w, err := StartWorker(ctx, r.WorkerCmd, cfg, nil)
	if err != nil {
		return out, err
	}
	defer w.Stop()
	time.Sleep(time.Second)
	if st, err := w.Stats(); err == nil {
		out.BaselineRSSMB = st.RSSMB
	}
	baseDB := fileSize(dbFile)
	enrolled := 0
	start := time.Now()
	var enrolTime time.Duration
	for _, target := range checkpoints {
		t0 := time.Now()
		if err := r.postMany(ctx, enrolled, target, conc, func(i int) event.Lead {
			id := fmt.Sprintf("wait-%d", i)
			ev := LeadEvent("LEAD_ASSIGNED", "wait-ev-"+id, id, i)
			return ev
		}, ingest.Enrolled); err != nil {
			return out, err
		}
		enrolTime += time.Since(t0)
		enrolled = target
		if err := waitCount(ctx, r.Client, `AutomationId="`+WaitingID+`" AND CurrentNodeType="delay" AND ExecutionStatus="Running"`, target, 10*time.Minute); err != nil {
			return out, err
		}
		time.Sleep(2 * time.Second) // let the worker settle (GC) before reading RSS
		st, err := w.Stats()
		if err != nil {
			return out, err
		}
		out.Points = append(out.Points, WaitPoint{Count: target, WorkerRSSMB: st.RSSMB, DBBytes: fileSize(dbFile) - baseDB, EnrolSeconds: time.Since(start).Seconds()})
	}
	out.EnrolPerSec = float64(enrolled) / enrolTime.Seconds()
	if n := len(out.Points); n > 0 {
		last := out.Points[n-1]
		out.DBBytesPerRun = float64(last.DBBytes) / float64(last.Count)
		first := out.Points[0]
		if n > 1 && last.Count > first.Count {
			out.RSSMBPer1k = (last.WorkerRSSMB - first.WorkerRSSMB) / float64(last.Count-first.Count) * 1000
		}
	}
	// Drain: a stage change to Sold reaches the goal of every run.
	t0 := time.Now()
	if err := r.postMany(ctx, 0, enrolled, conc, func(i int) event.Lead {
		id := fmt.Sprintf("wait-%d", i)
		ev := LeadEvent("LEAD_STAGE_CHANGED", "drain-ev-"+id, id, i)
		ev.Lead["stage"] = map[string]any{"id": sandbox.StageSold}
		return ev
	}, ingest.Signalled); err != nil {
		return out, err
	}
	if err := waitCount(ctx, r.Client, `AutomationId="`+WaitingID+`" AND ExecutionStatus="Running"`, 0, 10*time.Minute); err != nil {
		return out, err
	}
	out.DrainSeconds = time.Since(t0).Seconds()
	out.DrainPerSec = float64(enrolled) / out.DrainSeconds
	if st, err := w.Stats(); err == nil {
		out.WorkerCPUSeconds = st.CPU.Seconds()
	}
	return out, nil
}

// postMany posts the events of indexes [from, to) from conc goroutines and
// checks each got the wanted result.
func (r *Rig) postMany(ctx context.Context, from, to, conc int, mk func(int) event.Lead, want string) error {
	var (
		next     atomic.Int64
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	next.Store(int64(from))
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= to {
					return
				}
				_, resp, err := r.Starter.Post(ctx, mk(i))
				if err == nil && (len(resp.Automations) != 1 || resp.Automations[0].Result != want) {
					err = fmt.Errorf("event %d: want %s, got %+v", i, want, resp.Automations)
				}
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	return firstErr
}

// waitCount polls a visibility count until it equals want.
func waitCount(ctx context.Context, c client.Client, query string, want int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last int64 = -1
	for time.Now().Before(deadline) {
		resp, err := c.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Namespace: "default", Query: query})
		if err == nil {
			last = resp.GetCount()
			if last == int64(want) {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
	return fmt.Errorf("visibility count of %s: %d after %s, want %d", query, last, timeout, want)
}
