package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"go.temporal.io/sdk/client"
	"google.golang.org/grpc"

	"github.com/conecrm/automation-runtime/internal/devkit/docbuild"
	"github.com/conecrm/automation-runtime/internal/ingest"
	"github.com/conecrm/automation-runtime/internal/logging"
	"github.com/conecrm/automation-runtime/internal/store"
)

// RoutingOptions size the routing measurement (issue 14): events through
// POST /events with one automation, then with Automations spread over
// Franchises and events over Leads lead ids.
type RoutingOptions struct {
	Events      int `json:"events_per_round"` // per side
	Rounds      int `json:"rounds"`
	Concurrency int `json:"concurrency"`
	Automations int `json:"automations"`
	Franchises  int `json:"franchises"`
	Leads       int `json:"leads"`
}

// Routing is what MeasureRouting reports.
type Routing struct {
	RoutingOptions
	SinglePerSec        float64            `json:"single_events_per_sec"`
	ManyPerSec          float64            `json:"many_events_per_sec"`
	SingleRounds        []float64          `json:"single_rounds_events_per_sec"`
	ManyRounds          []float64          `json:"many_rounds_events_per_sec"`
	SingleP50ms         float64            `json:"single_p50_ms"`
	ManyP50ms           float64            `json:"many_p50_ms"`
	Ratio               float64            `json:"routing_ratio"`
	RPCsPerEvent        float64            `json:"rpcs_per_event"`
	StoreWritesPerEvent float64            `json:"store_writes_per_event"`
	StoreReadsPerEvent  float64            `json:"store_reads_per_event"`
	SingleRPCsPerEvent  float64            `json:"single_rpcs_per_event"`
	SingleWritesPerEvt  float64            `json:"single_store_writes_per_event"`
	EnrolledPerEvent    float64            `json:"enrolled_per_event"`
	RPCsByMethod        map[string]float64 `json:"many_rpcs_per_event_by_method"`
	WritesByMethod      map[string]float64 `json:"many_store_writes_per_event_by_method"`
}

// routeFranchise is the id of bench franchise f.
func routeFranchise(f int) string { return fmt.Sprintf("0192f0a0-00b0-7000-8000-%012d", f) }

// routeTriggers are the other triggers non-matching automations listen to.
var routeTriggers = []string{"LEAD_CREATED", "LEAD_ASSIGNED", "LEAD_STAGE_CHANGED", "LEAD_CLOSED"}

// RoutingAutomations builds n automations over franchises: in each
// franchise the first listens to LEAD_UPDATED with a filter the bench's
// events pass; of the others, every third listens to LEAD_UPDATED with a
// filter they fail (category BOAT), the rest to other triggers. So each
// event can enrol in exactly one automation, whatever n.
func RoutingAutomations(prefix string, n, franchises int) []string {
	docs := make([]string, 0, n)
	for i := range n {
		f, k := i%franchises, i/franchises
		trigger, filter := "LEAD_UPDATED", "has(lead.category) && lead.category == 'CAR'"
		switch {
		case k == 0:
		case k%3 == 1:
			filter = "has(lead.category) && lead.category == 'BOAT'"
		default:
			trigger, filter = routeTriggers[k%len(routeTriggers)], "true"
		}
		docs = append(docs, docbuild.New(fmt.Sprintf("%s-%03d-%03d", prefix, f, k)).Name(fmt.Sprintf("Bench routing %d/%d", f, k)).
			Trigger(trigger).Set("franchise", docbuild.Data{"id": routeFranchise(f)}).
			Node("start", "trigger", docbuild.Data{"label": "Lead event", "filter": docbuild.Data{"expression": filter}}).
			Node("done", "end", docbuild.Data{"label": "Done"}).
			Chain(1, "start", "done").String())
	}
	return docs
}

// rpcCounter counts the unary gRPC calls a client makes, per method.
type rpcCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *rpcCounter) intercept(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	c.mu.Lock()
	c.n[filepath.Base(method)]++
	c.mu.Unlock()
	return invoker(ctx, method, req, reply, cc, opts...)
}

func (c *rpcCounter) snapshot() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int, len(c.n))
	for k, v := range c.n {
		out[k] = v
	}
	return out
}

// countingStore wraps the store as the ingester's event log and enrolment
// index, counting writes (claims, outcomes, releases, enrolment rows) and
// reads.
type countingStore struct {
	st     *store.Store
	mu     sync.Mutex
	writes map[string]int
	reads  atomic.Int64
}

func (c *countingStore) w(name string) {
	c.mu.Lock()
	c.writes[name]++
	c.mu.Unlock()
}

func (c *countingStore) snapshot() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int, len(c.writes))
	for k, v := range c.writes {
		out[k] = v
	}
	return out
}

func (c *countingStore) ClaimEvent(ctx context.Context, a, e string) (store.Claim, error) {
	c.w("ClaimEvent")
	return c.st.ClaimEvent(ctx, a, e)
}
func (c *countingStore) CompleteEvent(ctx context.Context, a, e string, o json.RawMessage) error {
	c.w("CompleteEvent")
	return c.st.CompleteEvent(ctx, a, e, o)
}
func (c *countingStore) ReleaseEvent(ctx context.Context, a, e string) error {
	c.w("ReleaseEvent")
	return c.st.ReleaseEvent(ctx, a, e)
}
func (c *countingStore) RecordEnrolment(ctx context.Context, e store.Enrolment) error {
	c.w("RecordEnrolment")
	return c.st.RecordEnrolment(ctx, e)
}
func (c *countingStore) EndEnrolment(ctx context.Context, l, w string, t time.Time) error {
	c.w("EndEnrolment")
	return c.st.EndEnrolment(ctx, l, w, t)
}
func (c *countingStore) GetEnrolment(ctx context.Context, l, w string) (store.Enrolment, error) {
	c.reads.Add(1)
	return c.st.GetEnrolment(ctx, l, w)
}
func (c *countingStore) RunningEnrolments(ctx context.Context, l string) ([]store.Enrolment, error) {
	c.reads.Add(1)
	return c.st.RunningEnrolments(ctx, l)
}

var (
	_ ingest.EventLog   = (*countingStore)(nil)
	_ ingest.Enrolments = (*countingStore)(nil)
)

// routingSide is one starter (its own store and counting client).
type routingSide struct {
	name      string
	starter   *Starter
	client    client.Client
	rpcs      *rpcCounter
	store     *countingStore
	franchise func(lead int) string
	seq       atomic.Int64
	leads     int
	perSec    []float64
	lat       []time.Duration
	events    int
	enrolled  atomic.Int64
	rpcTotal  map[string]int
	wTotal    map[string]int
	readTotal int64
}

func newRoutingSide(ctx context.Context, address, dir, name string, docs []string, leads int, franchise func(int) string) (*routingSide, error) {
	s := &routingSide{name: name, rpcs: &rpcCounter{n: map[string]int{}}, franchise: franchise, leads: leads, rpcTotal: map[string]int{}, wTotal: map[string]int{}}
	c, err := client.Dial(client.Options{HostPort: address, Logger: logging.SDK(zerolog.Nop()),
		ConnectionOptions: client.ConnectionOptions{DialOptions: []grpc.DialOption{grpc.WithChainUnaryInterceptor(s.rpcs.intercept)}}})
	if err != nil {
		return nil, err
	}
	s.client = c
	st, err := StartStarter(ctx, c, dir, "bench-routing-unpolled", docs...)
	if err != nil {
		c.Close()
		return nil, err
	}
	s.starter = st
	cs := &countingStore{writes: map[string]int{}}
	inner, ok := st.App.Ingester.Events.(*store.Store)
	if !ok {
		s.close()
		return nil, fmt.Errorf("the starter's event log is %T, not the store", st.App.Ingester.Events)
	}
	cs.st = inner
	st.App.Ingester.Events, st.App.Ingester.Enrolments = cs, cs
	s.store = cs
	if got := len(st.App.Catalog.All()); got != len(docs) {
		s.close()
		return nil, fmt.Errorf("%s: %d of %d automations loaded", name, got, len(docs))
	}
	return s, nil
}

func (s *routingSide) close() {
	if s.starter != nil {
		s.starter.Close()
	}
	s.client.Close()
}

// post sends the next event: LEAD_UPDATED for the next lead id, in that
// lead's franchise, and checks that it enrolled exactly once.
func (s *routingSide) post(ctx context.Context) error {
	i := int(s.seq.Add(1))
	lead := i % s.leads
	ev := LeadEvent("LEAD_UPDATED", fmt.Sprintf("route-%s-ev-%d", s.name, i), "route-lead-"+strconv.Itoa(lead), i)
	ev.Lead["franchise"] = map[string]any{"id": s.franchise(lead)}
	_, resp, err := s.starter.Post(ctx, ev)
	if err != nil {
		return err
	}
	n := 0
	for _, a := range resp.Automations {
		if a.Result == ingest.Enrolled || a.Result == ingest.Signalled {
			n++
		}
	}
	if n != 1 {
		return fmt.Errorf("%s: event enrolled/signalled %d times, want 1: %+v", s.name, n, resp.Automations)
	}
	s.enrolled.Add(1)
	return nil
}

// round times n events and adds the RPCs and store writes made meanwhile.
func (s *routingSide) round(ctx context.Context, n, conc int) error {
	r0, w0, rd0 := s.rpcs.snapshot(), s.store.snapshot(), s.store.reads.Load()
	lat, d, err := timed(n, conc, func() error { return s.post(ctx) })
	if err != nil {
		return err
	}
	r1, w1, rd1 := s.rpcs.snapshot(), s.store.snapshot(), s.store.reads.Load()
	for k, v := range r1 {
		s.rpcTotal[k] += v - r0[k]
	}
	for k, v := range w1 {
		s.wTotal[k] += v - w0[k]
	}
	s.readTotal += rd1 - rd0
	s.perSec = append(s.perSec, float64(len(lat))/d.Seconds())
	s.lat = append(s.lat, lat...)
	s.events += len(lat)
	return nil
}

func sum(m map[string]int) int {
	t := 0
	for _, v := range m {
		t += v
	}
	return t
}

// MeasureRouting starts a dev server on a SQLite file under dir and two
// starters on it, each over its own store, with a counting gRPC client:
// one with a single automation (every event in its franchise), one with
// o.Automations over o.Franchises (every event in its lead's franchise).
// Each event enrols in exactly one automation either way. Rounds alternate
// the sides; events/s are medians of rounds; RPCs and store writes per
// event are totals over the timed rounds of the many side.
func MeasureRouting(ctx context.Context, dir string, o RoutingOptions, logf func(string, ...any)) (Routing, error) {
	out := Routing{RoutingOptions: o}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return out, err
	}
	srv, err := StartServer(ctx, filepath.Join(dir, "temporal.db"), filepath.Join(dir, "temporal.log"), 0)
	if err != nil {
		return out, err
	}
	defer srv.Stop()
	single, err := newRoutingSide(ctx, srv.Address, filepath.Join(dir, "single"), "single", RoutingAutomations("bench-route1", 1, 1), o.Leads, func(int) string { return routeFranchise(0) })
	if err != nil {
		return out, err
	}
	defer single.close()
	many, err := newRoutingSide(ctx, srv.Address, filepath.Join(dir, "many"), "many", RoutingAutomations("bench-route", o.Automations, o.Franchises), o.Leads,
		func(lead int) string { return routeFranchise(lead % o.Franchises) })
	if err != nil {
		return out, err
	}
	defer many.close()
	sides := []*routingSide{single, many}
	for _, s := range sides { // warm connections, caches and the starter's start-up RPCs
		if _, _, err := timed(o.Concurrency, o.Concurrency, func() error { return s.post(ctx) }); err != nil {
			return out, fmt.Errorf("warm-up: %w", err)
		}
	}
	time.Sleep(time.Second) // let the enrolment backfill at start-up finish outside the timed rounds
	for i := range o.Rounds {
		order := sides
		if i%2 == 1 {
			order = []*routingSide{many, single}
		}
		for _, s := range order {
			if err := s.round(ctx, o.Events, o.Concurrency); err != nil {
				return out, fmt.Errorf("round %d %s: %w", i+1, s.name, err)
			}
			logf("  round %d %-6s %6.1f events/s", i+1, s.name, s.perSec[len(s.perSec)-1])
		}
	}
	out.SingleRounds, out.ManyRounds = single.perSec, many.perSec
	out.SinglePerSec, out.ManyPerSec = Median(single.perSec), Median(many.perSec)
	out.Ratio = ratio(out.ManyPerSec, out.SinglePerSec)
	out.SingleP50ms, out.ManyP50ms = ms(Percentile(single.lat, 50)), ms(Percentile(many.lat, 50))
	ev := float64(many.events)
	out.RPCsPerEvent = float64(sum(many.rpcTotal)) / ev
	out.StoreWritesPerEvent = float64(sum(many.wTotal)) / ev
	out.StoreReadsPerEvent = float64(many.readTotal) / ev
	out.SingleRPCsPerEvent = float64(sum(single.rpcTotal)) / float64(single.events)
	out.SingleWritesPerEvt = float64(sum(single.wTotal)) / float64(single.events)
	out.EnrolledPerEvent = 1
	out.RPCsByMethod, out.WritesByMethod = map[string]float64{}, map[string]float64{}
	for k, v := range many.rpcTotal {
		if v > 0 {
			out.RPCsByMethod[k] = float64(v) / ev
		}
	}
	for k, v := range many.wTotal {
		if v > 0 {
			out.WritesByMethod[k] = float64(v) / ev
		}
	}
	return out, nil
}
