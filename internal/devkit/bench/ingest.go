package bench

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/conecrm/automation-runtime/internal/event"
	"github.com/conecrm/automation-runtime/internal/ingest"
	"github.com/conecrm/automation-runtime/workflows"
)

// Ingestion compares signed POST /events (verify, match, claim the event id
// in SQLite, start) with raw SDK starts of the same workflow, same options.
type Ingestion struct {
	Starts        int     `json:"starts_each"`
	Concurrency   int     `json:"concurrency"`
	EventsPerSec  float64 `json:"events_per_sec"`
	RawPerSec     float64 `json:"raw_starts_per_sec"`
	Ratio         float64 `json:"ratio"`
	EventsP50ms   float64 `json:"events_p50_ms"`
	EventsP99ms   float64 `json:"events_p99_ms"`
	RawP50ms      float64 `json:"raw_p50_ms"`
	RawP99ms      float64 `json:"raw_p99_ms"`
	EventsRoundsS []float64
	RawRoundsS    []float64
}

// MeasureIngestion runs n starts each way in two interleaved halves. The
// starter enrols on a task queue no worker polls, so only starts count.
func MeasureIngestion(ctx context.Context, r *Rig, n, conc int) (Ingestion, error) {
	out := Ingestion{Starts: n, Concurrency: conc}
	p, ok := r.Starter.App.Catalog.Get(IngestID)
	if !ok {
		return out, fmt.Errorf("automation %s not loaded", IngestID)
	}
	var seq atomic.Int64
	mkEvent := func() event.Lead {
		i := seq.Add(1)
		id := fmt.Sprintf("ingest-%d", i)
		return LeadEvent("LEAD_UPDATED", "ingest-ev-"+id, id, int(i))
	}
	raw := func() error {
		ev := mkEvent()
		opts := r.Starter.App.Ingester.StartOptions(p, ev, ingest.WorkflowID(p, ev.LeadID(), ev.ID), ev.LeadID())
		_, err := r.Client.ExecuteWorkflow(ctx, opts, workflows.WorkflowName, workflows.Input{Automation: p.Canonical, Version: p.Version, Event: ev})
		return err
	}
	events := func() error {
		_, resp, err := r.Starter.Post(ctx, mkEvent())
		if err == nil && (len(resp.Automations) != 1 || resp.Automations[0].Result != ingest.Enrolled) {
			err = fmt.Errorf("not enrolled: %+v", resp.Automations)
		}
		return err
	}
	for range conc { // warm connections and caches
		if err := raw(); err != nil {
			return out, err
		}
		if err := events(); err != nil {
			return out, err
		}
	}
	var rawLat, evLat []time.Duration
	var rawT, evT time.Duration
	half := max(n/2, 1)
	for range 2 {
		l, d, err := timed(half, conc, raw)
		if err != nil {
			return out, err
		}
		rawLat, rawT = append(rawLat, l...), rawT+d
		out.RawRoundsS = append(out.RawRoundsS, d.Seconds())
		l, d, err = timed(half, conc, events)
		if err != nil {
			return out, err
		}
		evLat, evT = append(evLat, l...), evT+d
		out.EventsRoundsS = append(out.EventsRoundsS, d.Seconds())
	}
	out.RawPerSec = float64(len(rawLat)) / rawT.Seconds()
	out.EventsPerSec = float64(len(evLat)) / evT.Seconds()
	out.Ratio = out.EventsPerSec / out.RawPerSec
	out.RawP50ms, out.RawP99ms = ms(Percentile(rawLat, 50)), ms(Percentile(rawLat, 99))
	out.EventsP50ms, out.EventsP99ms = ms(Percentile(evLat, 50)), ms(Percentile(evLat, 99))
	return out, nil
}

// timed calls f n times from c goroutines.
func timed(n, c int, f func() error) ([]time.Duration, time.Duration, error) {
	var (
		next     atomic.Int64
		mu       sync.Mutex
		wg       sync.WaitGroup
		lat      = make([]time.Duration, 0, n)
		firstErr error
	)
	start := time.Now()
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				t0 := time.Now()
				err := f()
				d := time.Since(t0)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				lat = append(lat, d)
				mu.Unlock()
				if err != nil {
					return
				}
			}
		}()
	}
	wg.Wait()
	return lat, time.Since(start), firstErr
}
