package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/conecrm/automation-runtime/internal/devkit/docbuild"
	"github.com/conecrm/automation-runtime/internal/devkit/stack"
	"github.com/conecrm/automation-runtime/internal/event"
	"github.com/conecrm/automation-runtime/internal/ingest"
	"github.com/conecrm/automation-runtime/workflows"
)

// BenchmarkIngest compares signed POST /events (verify, validate, match,
// claim the event id in SQLite, start the run, record the outcome) with raw
// SDK ExecuteWorkflow calls against the same dev server, at the same
// concurrency, in the same run. Each reports starts per second and p50/p99
// latency from request to workflow started; ratio = events/s ÷ raw/s.
//
//	go test -run '^$' -bench BenchmarkIngest -benchtime 2000x ./internal/devkit/e2e/
func BenchmarkIngest(b *testing.B) {
	const concurrency = 16
	s := starter(b, nil, false, instantDoc("bench", "never"))
	transport := &http.Transport{MaxIdleConnsPerHost: concurrency, MaxConnsPerHost: concurrency}
	hc := &http.Client{Transport: transport}
	defer transport.CloseIdleConnections()
	p, ok := s.App.Catalog.Get("bench")
	if !ok {
		b.Fatal("automation not loaded")
	}
	var seq atomic.Int64

	raw := func() error {
		n := seq.Add(1)
		ev := benchEvent(n)
		opts := s.App.Ingester.StartOptions(p, ev, fmt.Sprintf("automation/bench/lead/raw-%d", n), ev.LeadID())
		_, err := s.Client.ExecuteWorkflow(context.Background(), opts, workflows.WorkflowName, workflows.Input{Automation: p.Canonical, Version: p.Version, Event: ev})
		return err
	}
	events := func() error {
		n := seq.Add(1)
		body, _ := json.Marshal(benchEvent(n))
		ts := time.Now().Unix()
		req, _ := http.NewRequest("POST", s.StarterURL+"/events", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(ingest.HeaderTimestamp, strconv.FormatInt(ts, 10))
		req.Header.Set(ingest.HeaderSignature, ingest.Sign([]byte(stack.EventsSecret), ts, body))
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		var er ingest.EventsResponse
		if resp.StatusCode != 200 || json.Unmarshal(out, &er) != nil || len(er.Automations) != 1 || er.Automations[0].Result != ingest.Enrolled {
			return fmt.Errorf("HTTP %d: %s", resp.StatusCode, out)
		}
		return nil
	}
	// Warm both paths (connections, caches) outside the measurement.
	for range concurrency {
		if err := raw(); err != nil {
			b.Fatal(err)
		}
		if err := events(); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	// Short rounds, interleaved, so drift in the server's speed (its
	// database grows; other load on the machine) affects both alike.
	const rounds = 8
	var rawR, evR phase
	per := max(b.N/rounds, concurrency)
	for range rounds {
		rawR.add(run(b, per, concurrency, raw))
		evR.add(run(b, per, concurrency, events))
	}
	b.StopTimer()
	b.ReportMetric(rawR.rate(), "raw-starts/s")
	b.ReportMetric(evR.rate(), "events/s")
	b.ReportMetric(evR.rate()/rawR.rate(), "ratio")
	b.ReportMetric(rawR.pct(0.50), "raw-p50-ms")
	b.ReportMetric(rawR.pct(0.99), "raw-p99-ms")
	b.ReportMetric(evR.pct(0.50), "events-p50-ms")
	b.ReportMetric(evR.pct(0.99), "events-p99-ms")
}

type phase struct {
	n       int
	elapsed time.Duration
	lat     []time.Duration
}

func (p *phase) add(q phase) {
	p.n += q.n
	p.elapsed += q.elapsed
	p.lat = append(p.lat, q.lat...)
}

func (p *phase) rate() float64 { return float64(p.n) / p.elapsed.Seconds() }

func (p *phase) pct(q float64) float64 {
	if len(p.lat) == 0 {
		return 0
	}
	slices.Sort(p.lat)
	return float64(p.lat[int(q*float64(len(p.lat)-1))].Microseconds()) / 1000
}

// run calls f n times from c goroutines, timing each call.
func run(b *testing.B, n, c int, f func() error) phase {
	var (
		next atomic.Int64
		mu   sync.Mutex
		wg   sync.WaitGroup
		lat  = make([]time.Duration, 0, n)
	)
	start := time.Now()
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]time.Duration, 0, n/c+1)
			for next.Add(1) <= int64(n) {
				t0 := time.Now()
				if err := f(); err != nil {
					b.Error(err)
					return
				}
				local = append(local, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, local...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return phase{n: n, elapsed: time.Since(start), lat: lat}
}

func benchEvent(n int64) event.Lead {
	return event.Lead{ID: fmt.Sprintf("bench-ev-%d", n), Type: "LEAD_ASSIGNED", OccurredAt: time.Now().UTC().Truncate(time.Second),
		Lead: map[string]any{"id": fmt.Sprintf("bench-lead-%d", n), "franchise": map[string]any{"id": docbuild.Franchise}}}
}
