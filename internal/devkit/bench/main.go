package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"github.com/conecrm/automation-runtime/internal/workerapp"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
)

// Report is everything `make bench` measures; the JSON it writes.
type Report struct {
	Machine      string             `json:"machine"`
	StartedAt    time.Time          `json:"started_at"`
	Seconds      float64            `json:"seconds"`
	Settings     map[string]any     `json:"settings"`
	Interpreter  Round              `json:"interpreter"`
	Handwritten  Round              `json:"handwritten"`
	Rounds       []Round            `json:"rounds"`
	HandMemory   *Round             `json:"handwritten_memory,omitempty"`
	Lever        *Lever             `json:"lever,omitempty"`
	Waiting      *Waiting           `json:"waiting,omitempty"`
	Ingestion    *Ingestion         `json:"ingestion,omitempty"`
	Routing      *Routing           `json:"routing,omitempty"`
	GoBenchmarks map[string]float64 `json:"go_benchmarks_ns_per_op,omitempty"`

	ThroughputRatio    float64 `json:"throughput_ratio"`
	HistoryEventsRatio float64 `json:"history_events_ratio"`
	LatencyP50Ratio    float64 `json:"latency_p50_ratio"`
	CPUPerRunRatio     float64 `json:"cpu_per_run_ratio"`
	RSSRatio           float64 `json:"peak_rss_ratio"`
	MemoryVsSQLite     float64 `json:"handwritten_memory_vs_sqlite_throughput"`
	IngestRatio        float64 `json:"ingest_ratio"`
	WaitingRSSMBPer1k  float64 `json:"waiting_rss_mb_per_1k"`
	// Routing (issue 14): events/s with many automations ÷ with one, and
	// the starter's Temporal RPCs and store writes per event with many.
	RoutingRatio        float64 `json:"routing_ratio"`
	RPCsPerEvent        float64 `json:"rpcs_per_event"`
	StoreWritesPerEvent float64 `json:"store_writes_per_event"`
}

// Lever is one variant measured against the interpreter's default.
type Lever struct {
	Name        string  `json:"name"`
	Interpreter Round   `json:"interpreter"`
	Handwritten Round   `json:"handwritten"`
	Throughput  float64 `json:"interpreter_throughput_vs_default"`
	P50         float64 `json:"interpreter_p50_vs_default"`
}

// Main runs `bench` (cmd/bench): the measurements selected by flags.
func Main(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	rounds := fs.Int("rounds", 3, "alternating rounds of interpreter and hand-written runs")
	runs := fs.Int("runs", 120, "runs per round")
	conc := fs.Int("concurrency", 16, "concurrent submitters")
	memRounds := fs.Int("memory-rounds", 2, "hand-written rounds on an in-memory dev server (0 skips)")
	lever := fs.Bool("lever", true, "measure eager activity dispatch on a dev server that enables it")
	waiting := fs.String("waiting", "1000,5000,10000", "waiting-work checkpoints (runs parked in a 1 h delay); empty skips")
	stickyCache := fs.Int("sticky-cache", workerapp.DefaultWorkflowCacheSize, "worker sticky workflow cache size (the production worker's default; 0: the SDK's 10,000)")
	ingestN := fs.Int("ingest", 1000, "starts each way for the ingestion comparison (0 skips)")
	routingN := fs.Int("routing", 300, "events per round per side for the routing comparison (0 skips)")
	routingRounds := fs.Int("routing-rounds", 5, "alternating rounds of the routing comparison")
	routingAutos := fs.Int("routing-automations", 1000, "automations on the many side of the routing comparison")
	routingFr := fs.Int("routing-franchises", 100, "franchises the routing automations and events are spread over")
	routingLeads := fs.Int("routing-leads", 10000, "lead ids the routing events are spread over")
	routingOnly := fs.Bool("routing-only", false, "run only the routing comparison")
	gobench := fs.String("gobench", "", "output of go test -bench to include")
	out := fs.String("out", "artifacts/bench", "directory for the table, the JSON and the dev servers' files")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logf := func(format string, a ...any) { fmt.Fprintf(stderr, "bench: "+format+"\n", a...) }
	rep, err := run(ctx, opts{rounds: *rounds, runs: *runs, conc: *conc, memRounds: *memRounds, lever: *lever, waiting: *waiting,
		sticky: *stickyCache, ingest: *ingestN, gobench: *gobench, out: *out,
		routing:     RoutingOptions{Events: *routingN, Rounds: *routingRounds, Concurrency: *conc, Automations: *routingAutos, Franchises: *routingFr, Leads: *routingLeads},
		routingOnly: *routingOnly}, logf)
	if err != nil {
		logf("%v", err)
		return 1
	}
	table := Table(rep)
	raw, _ := json.MarshalIndent(rep, "", "  ")
	_ = os.WriteFile(filepath.Join(*out, "bench.txt"), []byte(table), 0o644)
	_ = os.WriteFile(filepath.Join(*out, "bench.json"), raw, 0o644)
	fmt.Fprint(stdout, table)
	fmt.Fprintf(stdout, "written: %s, %s\n", filepath.Join(*out, "bench.txt"), filepath.Join(*out, "bench.json"))
	line, _ := json.Marshal(rep)
	fmt.Fprintln(stdout, string(line))
	return 0
}

type opts struct {
	rounds, runs, conc, memRounds, sticky, ingest int
	lever                                         bool
	waiting, gobench, out                         string
	routing                                       RoutingOptions
	routingOnly                                   bool
}

func run(ctx context.Context, o opts, logf func(string, ...any)) (*Report, error) {
	began := time.Now()
	rep := &Report{Machine: machine(), StartedAt: began.UTC(), Settings: map[string]any{
		"rounds": o.rounds, "runs_per_round": o.runs, "concurrency": o.conc, "worker": "one process, worker.Options{} (SDK defaults), workerapp.NewWorker + HandwrittenReference",
		"server": "temporal CLI dev server, SQLite file with journal_mode=wal, synchronous=normal",
	}}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return nil, err
	}
	work, err := os.MkdirTemp(o.out, "run-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	if o.routingOnly {
		if err := measureRouting(ctx, rep, filepath.Join(work, "routing"), o.routing, logf); err != nil {
			return nil, err
		}
		rep.Seconds = time.Since(began).Seconds()
		return rep, nil
	}
	workerCmd, err := SelfCommand("worker")
	if err != nil {
		return nil, err
	}
	fakes, err := NewFakes(nil)
	if err != nil {
		return nil, err
	}
	defer fakes.Close()
	perRound := o.runs + 4
	leads, err := fakes.NewLeads(ctx, perRound*(2*o.rounds+o.memRounds+4))
	if err != nil {
		return nil, err
	}

	// 1. Interpreter vs hand-written on the SQLite-backed server.
	logf("dev server on SQLite: %d alternating rounds of %d runs each way", o.rounds, o.runs)
	main, err := newRig(ctx, work, "sqlite", fakes, workerCmd, true, nil)
	if err != nil {
		return nil, err
	}
	defer main.close()
	main.UseLeads(leads)
	var ia, hb []Round
	for i := range o.rounds {
		order := []Variant{Interpreter, Handwritten}
		if i%2 == 1 {
			order = []Variant{Handwritten, Interpreter}
		}
		for _, v := range order {
			r, err := main.RunRound(ctx, v, o.runs, o.conc)
			if err != nil {
				return nil, fmt.Errorf("round %d %s: %w", i+1, v, err)
			}
			logf("  round %d %-11s %6.1f runs/s  p50 %5.0f ms  p99 %5.0f ms  %3.0f events  %.4f cpu-s/run  %4.0f MB", i+1, v, r.RunsPerSec, r.P50ms, r.P99ms, r.HistoryEvents, r.CPUSecPerRun, r.WorkerPeakRSS)
			rep.Rounds = append(rep.Rounds, r)
			if v == Interpreter {
				ia = append(ia, r)
			} else {
				hb = append(hb, r)
			}
		}
	}
	rep.Interpreter, rep.Handwritten = MedianRound(ia), MedianRound(hb)
	rep.ThroughputRatio = ratio(rep.Interpreter.RunsPerSec, rep.Handwritten.RunsPerSec)
	rep.HistoryEventsRatio = ratio(rep.Interpreter.HistoryEvents, rep.Handwritten.HistoryEvents)
	rep.LatencyP50Ratio = ratio(rep.Interpreter.P50ms, rep.Handwritten.P50ms)
	rep.CPUPerRunRatio = ratio(rep.Interpreter.CPUSecPerRun, rep.Handwritten.CPUSecPerRun)
	rep.RSSRatio = ratio(rep.Interpreter.WorkerPeakRSS, rep.Handwritten.WorkerPeakRSS)

	// 4. Ingestion, on the same server (a task queue no worker polls).
	if o.ingest > 0 {
		logf("ingestion: %d starter events vs %d raw SDK starts", o.ingest, o.ingest)
		ing, err := newRig(ctx, filepath.Join(work, "ingest"), "sqlite", fakes, workerCmd, false, main)
		if err != nil {
			return nil, err
		}
		res, err := MeasureIngestion(ctx, ing.Rig, o.ingest, o.conc)
		ing.Starter.Close()
		if err != nil {
			return nil, fmt.Errorf("ingestion: %w", err)
		}
		rep.Ingestion, rep.IngestRatio = &res, res.Ratio
		logf("  events %.0f/s, raw %.0f/s, ratio %.2f", res.EventsPerSec, res.RawPerSec, res.Ratio)
	}
	main.close()

	// 5. Routing: one automation vs many over franchises (its own server).
	if o.routing.Events > 0 {
		if err := measureRouting(ctx, rep, filepath.Join(work, "routing"), o.routing, logf); err != nil {
			return nil, err
		}
	}

	// 2. Where the limit is: (b) with the server in memory.
	if o.memRounds > 0 {
		logf("dev server in memory: %d hand-written rounds", o.memRounds)
		mem, err := newRig(ctx, filepath.Join(work, "mem"), "memory", fakes, workerCmd, false, nil)
		if err != nil {
			return nil, err
		}
		mem.UseLeads(leads[main.next.Load():])
		var rs []Round
		for range o.memRounds {
			r, err := mem.RunRound(ctx, Handwritten, o.runs, o.conc)
			if err != nil {
				mem.close()
				return nil, fmt.Errorf("in-memory round: %w", err)
			}
			logf("  memory      %6.1f runs/s  p50 %5.0f ms  %.4f cpu-s/run", r.RunsPerSec, r.P50ms, r.CPUSecPerRun)
			rs = append(rs, r)
		}
		used := main.next.Load() + mem.next.Load()
		mem.close()
		m := MedianRound(rs)
		rep.HandMemory = &m
		rep.MemoryVsSQLite = ratio(m.RunsPerSec, rep.Handwritten.RunsPerSec)
		main.next.Store(used)
	}

	// Lever: eager activity dispatch (the server hands the first activity
	// task back in the workflow task's response).
	if o.lever {
		logf("lever: eager activity dispatch, one round each way")
		lv, err := newRig(ctx, filepath.Join(work, "eager"), "sqlite+eager", fakes, workerCmd, true, nil, "--dynamic-config-value", "system.enableActivityEagerExecution=true")
		if err != nil {
			return nil, err
		}
		lv.UseLeads(leads[main.next.Load():])
		ri, err := lv.RunRound(ctx, Interpreter, o.runs, o.conc)
		if err == nil {
			var rh Round
			rh, err = lv.RunRound(ctx, Handwritten, o.runs, o.conc)
			rep.Lever = &Lever{Name: "eager activity dispatch (system.enableActivityEagerExecution)", Interpreter: ri, Handwritten: rh,
				Throughput: ratio(ri.RunsPerSec, rep.Interpreter.RunsPerSec), P50: ratio(ri.P50ms, rep.Interpreter.P50ms)}
			logf("  eager interpreter %6.1f runs/s p50 %5.0f ms; hand-written %6.1f runs/s", ri.RunsPerSec, ri.P50ms, rh.RunsPerSec)
		}
		lv.close()
		if err != nil {
			return nil, fmt.Errorf("lever: %w", err)
		}
	}

	// 3. Waiting work, on a fresh SQLite file.
	if cps := parseInts(o.waiting); len(cps) > 0 {
		logf("waiting work: checkpoints %v", cps)
		wr, err := newRig(ctx, filepath.Join(work, "waiting"), "sqlite", fakes, workerCmd, true, nil)
		if err != nil {
			return nil, err
		}
		wr.StickyCache = o.sticky
		res, err := MeasureWaiting(ctx, wr.Rig, wr.dbFile, cps, 32)
		wr.close()
		if err != nil {
			return nil, fmt.Errorf("waiting work: %w", err)
		}
		res.StickyCacheSize = o.sticky
		rep.Waiting, rep.WaitingRSSMBPer1k = &res, res.RSSMBPer1k
		for _, p := range res.Points {
			logf("  %6d waiting: worker RSS %.0f MB, DB +%.1f MB, enrolled after %.0f s", p.Count, p.WorkerRSSMB, float64(p.DBBytes)/1e6, p.EnrolSeconds)
		}
		logf("  drained in %.1f s (%.0f runs/s)", res.DrainSeconds, res.DrainPerSec)
	}

	if o.gobench != "" {
		rep.GoBenchmarks = parseGoBench(o.gobench)
	}
	rep.Seconds = time.Since(began).Seconds()
	return rep, nil
}

func measureRouting(ctx context.Context, rep *Report, dir string, o RoutingOptions, logf func(string, ...any)) error {
	if o.Events <= 0 || o.Rounds <= 0 || o.Automations <= 0 || o.Franchises <= 0 || o.Leads <= 0 || o.Franchises > o.Automations {
		return fmt.Errorf("routing: events, rounds, automations, franchises and leads must be positive, franchises at most automations")
	}
	logf("routing: %d rounds of %d events each way, 1 automation vs %d over %d franchises, %d lead ids", o.Rounds, o.Events, o.Automations, o.Franchises, o.Leads)
	res, err := MeasureRouting(ctx, dir, o, logf)
	if err != nil {
		return fmt.Errorf("routing: %w", err)
	}
	rep.Routing = &res
	rep.RoutingRatio, rep.RPCsPerEvent, rep.StoreWritesPerEvent = res.Ratio, res.RPCsPerEvent, res.StoreWritesPerEvent
	logf("  single %.0f events/s, many %.0f events/s, ratio %.2f; per event: %.2f RPCs, %.2f store writes", res.SinglePerSec, res.ManyPerSec, res.Ratio, res.RPCsPerEvent, res.StoreWritesPerEvent)
	return nil
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// rig adds what newRig started.
type rigRes struct {
	*Rig
	dbFile string
	closer []func()
}

func (r *rigRes) close() {
	for i := len(r.closer) - 1; i >= 0; i-- {
		r.closer[i]()
	}
	r.closer = nil
}

// newRig starts a dev server (SQLite under dir unless name is "memory"; or
// reuses share's) and a starter when withStarter.
func newRig(ctx context.Context, dir, name string, fakes *Fakes, workerCmd []string, withStarter bool, share *rigRes, extra ...string) (*rigRes, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	r := &rigRes{Rig: &Rig{Fakes: fakes, ServerName: name, TaskQueue: "bench", WorkerCmd: workerCmd}}
	if share != nil {
		r.Address, r.Client, r.dbFile = share.Address, share.Client, share.dbFile
		r.TaskQueue = "bench-ingest-unpolled"
		st, err := StartStarter(ctx, r.Client, dir, r.TaskQueue, IngestAutomation)
		if err != nil {
			return nil, err
		}
		r.Starter = st
		return r, nil
	}
	if name != "memory" {
		r.dbFile = filepath.Join(dir, "temporal.db")
	}
	srv, err := StartServer(ctx, r.dbFile, filepath.Join(dir, "temporal.log"), 0, extra...)
	if err != nil {
		return nil, err
	}
	r.closer = append(r.closer, srv.Stop)
	r.Address = srv.Address
	c, err := Dial(srv.Address)
	if err != nil {
		r.close()
		return nil, err
	}
	r.Client = c
	r.closer = append(r.closer, c.Close)
	if withStarter {
		st, err := StartStarter(ctx, c, dir, r.TaskQueue, ReferenceAutomation, WaitingAutomation)
		if err != nil {
			r.close()
			return nil, err
		}
		r.Starter = st
		r.closer = append(r.closer, st.Close)
	}
	return r, nil
}

func parseInts(s string) []int {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if n, err := strconv.Atoi(strings.TrimSpace(f)); err == nil && n > 0 {
			out = append(out, n)
		}
	}
	return out
}

var benchLine = regexp.MustCompile(`^(Benchmark\S+?)(-\d+)?\s+\d+\s+([\d.]+) ns/op`)

// parseGoBench reads ns/op per benchmark from go test -bench output,
// prefixed with the package of the preceding "pkg:" line.
func parseGoBench(path string) map[string]float64 {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	out := map[string]float64{}
	pkg := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if p, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = strings.TrimPrefix(p, "github.com/conecrm/automation-runtime/")
			continue
		}
		if m := benchLine.FindStringSubmatch(line); m != nil {
			v, _ := strconv.ParseFloat(m[3], 64)
			out[pkg+"."+m[1]] = v
		}
	}
	return out
}

func machine() string {
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		if f := strings.Fields(strings.SplitN(string(b), "\n", 2)[0]); len(f) >= 2 {
			kb, _ := strconv.ParseFloat(f[1], 64)
			mem = fmt.Sprintf(", %.0f GB RAM", kb/1024/1024)
		}
	}
	return fmt.Sprintf("%s, %d CPUs%s, shared", cpu, numCPU(), mem)
}

// Table renders the report for people.
func Table(r *Report) string {
	var b strings.Builder
	fmt.Fprintf(&b, "machine: %s\n\n", r.Machine)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	if len(r.Rounds) > 0 { // not with -routing-only
		fmt.Fprintln(tw, "median of rounds\truns/s\tp50 ms\tp95 ms\tp99 ms\thistory events/run\tworker CPU s/run\tworker peak RSS MB\truns\t")
		row := func(name string, x Round) {
			fmt.Fprintf(tw, "%s\t%.1f\t%.0f\t%.0f\t%.0f\t%.0f\t%.4f\t%.0f\t%d\t\n", name, x.RunsPerSec, x.P50ms, x.P95ms, x.P99ms, x.HistoryEvents, x.CPUSecPerRun, x.WorkerPeakRSS, x.Runs)
		}
		row("(a) interpreter via starter, SQLite", r.Interpreter)
		row("(b) hand-written, SQLite", r.Handwritten)
		fmt.Fprintf(tw, "ratio a/b\t%.2f\t%.2f\t\t\t%.2f\t%.2f\t%.2f\t\t\n", r.ThroughputRatio, r.LatencyP50Ratio, r.HistoryEventsRatio, r.CPUPerRunRatio, r.RSSRatio)
		if r.HandMemory != nil {
			row("(b) hand-written, in memory", *r.HandMemory)
		}
		if r.Lever != nil {
			row("(a) interpreter, eager activities", r.Lever.Interpreter)
			row("(b) hand-written, eager activities", r.Lever.Handwritten)
		}
		tw.Flush()
		if r.HandMemory != nil {
			fmt.Fprintf(&b, "\nhand-written throughput in memory / on SQLite: %.2f\n", r.MemoryVsSQLite)
		}
		if r.Lever != nil {
			fmt.Fprintf(&b, "eager activity dispatch: interpreter throughput %.2f×, p50 %.2f× the default\n", r.Lever.Throughput, r.Lever.P50)
		}
	}
	if w := r.Waiting; w != nil {
		fmt.Fprintf(&b, "\nwaiting work (1 h delay)\n")
		tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "waiting runs\tworker RSS MB\tDB growth MB\tenrolled after s\t")
		fmt.Fprintf(tw, "0\t%.0f\t0\t0\t\n", w.BaselineRSSMB)
		for _, p := range w.Points {
			fmt.Fprintf(tw, "%d\t%.0f\t%.1f\t%.0f\t\n", p.Count, p.WorkerRSSMB, float64(p.DBBytes)/1e6, p.EnrolSeconds)
		}
		tw.Flush()
		fmt.Fprintf(&b, "worker RSS per 1k waiting runs: %.1f MB; DB per waiting run: %.1f KB; enrol %.0f runs/s; drain (goal event each) %.1f s = %.0f runs/s\n",
			w.RSSMBPer1k, w.DBBytesPerRun/1024, w.EnrolPerSec, w.DrainSeconds, w.DrainPerSec)
	}
	if in := r.Ingestion; in != nil {
		fmt.Fprintf(&b, "\ningestion (%d each, %d concurrent): starter %.0f events/s (p50 %.1f ms, p99 %.1f ms) vs raw SDK %.0f starts/s (p50 %.1f ms, p99 %.1f ms): ratio %.2f\n",
			in.Starts, in.Concurrency, in.EventsPerSec, in.EventsP50ms, in.EventsP99ms, in.RawPerSec, in.RawP50ms, in.RawP99ms, in.Ratio)
	}
	if rt := r.Routing; rt != nil {
		fmt.Fprintf(&b, "\nrouting (%d rounds of %d events each way, %d concurrent, %d lead ids): 1 automation %.0f events/s (p50 %.1f ms) vs %d automations over %d franchises %.0f events/s (p50 %.1f ms): ratio %.2f\n",
			rt.Rounds, rt.Events, rt.Concurrency, rt.Leads, rt.SinglePerSec, rt.SingleP50ms, rt.Automations, rt.Franchises, rt.ManyPerSec, rt.ManyP50ms, rt.Ratio)
		fmt.Fprintf(&b, "  per event with %d automations: %.2f Temporal RPCs %v, %.2f store writes %v, %.2f store reads (with 1: %.2f RPCs, %.2f writes); each event enrols in 1\n",
			rt.Automations, rt.RPCsPerEvent, rt.RPCsByMethod, rt.StoreWritesPerEvent, rt.WritesByMethod, rt.StoreReadsPerEvent, rt.SingleRPCsPerEvent, rt.SingleWritesPerEvt)
	}
	if len(r.GoBenchmarks) > 0 {
		fmt.Fprintf(&b, "\nGo benchmarks (ns/op)\n")
		keys := make([]string, 0, len(r.GoBenchmarks))
		for k := range r.GoBenchmarks {
			keys = append(keys, k)
		}
		sortStrings(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "  %-70s %12.0f\n", k, r.GoBenchmarks[k])
		}
	}
	fmt.Fprintf(&b, "\ntotal %.0f s\n", r.Seconds)
	return b.String()
}
