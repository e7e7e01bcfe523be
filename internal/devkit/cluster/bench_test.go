//go:build cluster

package cluster

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/conecrm/automation-runtime/internal/devkit/bench"
)

// envInt reads a positive integer setting of the bench.
func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// TestClusterBench runs the bench's reference automation (internal/devkit/bench:
// a task, a stage move and a HubSpot push) through the interpreter and as
// the hand-written workflow (internal/devkit/baseline's shape) on the
// PostgreSQL-backed cluster, in alternating rounds on a fresh worker
// process each, and reports the medians and the ratios: throughput, p50
// latency and history events per run. Then the throughput of the
// interpreter with 1, 2 and 4 worker processes. CLUSTER_BENCH_RUNS,
// CLUSTER_BENCH_ROUNDS and CLUSTER_BENCH_CONC size it (30, 3, 8).
func TestClusterBench(t *testing.T) {
	runs, rounds, conc := envInt("CLUSTER_BENCH_RUNS", 30), envInt("CLUSTER_BENCH_ROUNDS", 3), envInt("CLUSTER_BENCH_CONC", 8)
	e := startCluster(t, Options{Workers: -1, Starters: -1, NoUI: true, NoDemoCRM: true})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	fakes, err := bench.NewFakes(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer fakes.Close()
	scales := []int{1, 2, 4}
	leads, err := fakes.NewLeads(ctx, (runs+4)*(2*rounds+len(scales)))
	if err != nil {
		t.Fatal(err)
	}
	st, err := bench.StartStarter(ctx, e.cl, t.TempDir(), "bench", bench.ReferenceAutomation)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rig := &bench.Rig{Address: e.c.Frontend, Client: e.cl, Fakes: fakes, Starter: st, TaskQueue: "bench", WorkerCmd: []string{exe}, ServerName: "cluster-postgres"}
	rig.UseLeads(leads)

	var ia, hb []bench.Round
	for i := range rounds {
		order := []bench.Variant{bench.Interpreter, bench.Handwritten}
		if i%2 == 1 {
			order = []bench.Variant{bench.Handwritten, bench.Interpreter}
		}
		for _, v := range order {
			r, err := rig.RunRound(ctx, v, runs, conc)
			if err != nil {
				t.Fatalf("round %d %s: %v", i+1, v, err)
			}
			t.Logf("round %d %-11s %6.1f runs/s  p50 %5.0f ms  p99 %5.0f ms  %3.0f history events/run  %.4f worker cpu-s/run", i+1, v, r.RunsPerSec, r.P50ms, r.P99ms, r.HistoryEvents, r.CPUSecPerRun)
			if v == bench.Interpreter {
				ia = append(ia, r)
			} else {
				hb = append(hb, r)
			}
		}
	}
	mi, mh := bench.MedianRound(ia), bench.MedianRound(hb)
	t.Logf("medians on the cluster (%d rounds of %d runs, %d concurrent): interpreter %.1f runs/s p50 %.0f ms %.0f events/run; hand-written %.1f runs/s p50 %.0f ms %.0f events/run",
		rounds, runs, conc, mi.RunsPerSec, mi.P50ms, mi.HistoryEvents, mh.RunsPerSec, mh.P50ms, mh.HistoryEvents)
	t.Logf("ratios interpreter / hand-written: throughput %.2f, p50 latency %.2f, history events per run %.2f, worker cpu per run %.2f",
		mi.RunsPerSec/mh.RunsPerSec, mi.P50ms/mh.P50ms, mi.HistoryEvents/mh.HistoryEvents, mi.CPUSecPerRun/mh.CPUSecPerRun)
	if mi.HistoryEvents == 0 || mh.HistoryEvents == 0 {
		t.Errorf("no history events measured: %+v %+v", mi, mh)
	}

	// Scaling: RunRound starts one worker; start the others beside it.
	var base float64
	for _, n := range scales {
		var extra []*bench.WorkerProc
		for range n - 1 {
			w, err := bench.StartWorker(ctx, rig.WorkerCmd, fakes.WorkerConfig(rig.Address, rig.TaskQueue), nil)
			if err != nil {
				t.Fatal(err)
			}
			extra = append(extra, w)
		}
		r, err := rig.RunRound(ctx, bench.Interpreter, runs, conc)
		for _, w := range extra {
			w.Stop()
		}
		if err != nil {
			t.Fatalf("%d workers: %v", n, err)
		}
		if n == 1 {
			base = r.RunsPerSec
		}
		t.Logf("interpreter with %d worker process(es): %6.1f runs/s (%.2f× one worker), p50 %5.0f ms", n, r.RunsPerSec, r.RunsPerSec/base, r.P50ms)
	}
}
