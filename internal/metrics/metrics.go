// Package metrics exports the runtime's metrics for Prometheus: the Temporal
// SDK's own (through its OpenTelemetry contrib handler) and the product's —
// events received, enrolments, node executions, external calls and time
// spent waiting in nodes. Every process has one registry, served by Handler.
package metrics

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/attribute"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.temporal.io/sdk/client"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
)

// Metric names, before the exporter adds Prometheus suffixes (_total for
// counters, _seconds for the wait histogram).
const (
	NameEventsReceived = "conecrm_events_received"
	NameEnrolments     = "conecrm_enrolments"
	NameNodeExecutions = "conecrm_node_executions"
	NameExternalCalls  = "conecrm_external_calls"
	NameNodeWait       = "conecrm_node_wait"
)

// Outcomes of a node execution.
const (
	OutcomeCompleted = "completed"
	OutcomeRetrying  = "retrying"
	OutcomeFailed    = "failed"
	OutcomeCancelled = "cancelled"
)

// Registry is one process's metrics: a Prometheus registry fed by an
// OpenTelemetry meter provider.
type Registry struct {
	prom     *prometheus.Registry
	provider *sdkmetric.MeterProvider
	meter    metric.Meter

	events, enrolments, nodes, calls metric.Int64Counter
}

// waitBuckets suit delays and waits, from seconds to a month.
var waitBuckets = []float64{1, 10, 60, 300, 900, 3600, 4 * 3600, 24 * 3600, 3 * 24 * 3600, 7 * 24 * 3600, 30 * 24 * 3600}

// latencyBuckets suit the SDK's request and task latencies.
var latencyBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}

// New builds an independent registry (tests; processes use the default).
func New() (*Registry, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	exp, err := otelprom.New(otelprom.WithRegisterer(reg), otelprom.WithoutScopeInfo(), otelprom.WithoutTargetInfo())
	if err != nil {
		return nil, fmt.Errorf("prometheus exporter: %w", err)
	}
	provider := sdkmetric.NewMeterProvider(
		sdkmetric.WithReader(exp),
		sdkmetric.WithView(
			sdkmetric.NewView(sdkmetric.Instrument{Name: NameNodeWait},
				sdkmetric.Stream{Aggregation: sdkmetric.AggregationExplicitBucketHistogram{Boundaries: waitBuckets}}),
			sdkmetric.NewView(sdkmetric.Instrument{Name: "temporal_*", Kind: sdkmetric.InstrumentKindHistogram},
				sdkmetric.Stream{Aggregation: sdkmetric.AggregationExplicitBucketHistogram{Boundaries: latencyBuckets}}),
		),
	)
	r := &Registry{prom: reg, provider: provider, meter: provider.Meter("github.com/conecrm/automation-runtime")}
	// No descriptions or units: the workflow side creates the same
	// instruments through the SDK handler, and identical definitions share
	// one series family.
	if r.events, err = r.meter.Int64Counter(NameEventsReceived); err != nil {
		return nil, err
	}
	if r.enrolments, err = r.meter.Int64Counter(NameEnrolments); err != nil {
		return nil, err
	}
	if r.nodes, err = r.meter.Int64Counter(NameNodeExecutions); err != nil {
		return nil, err
	}
	if r.calls, err = r.meter.Int64Counter(NameExternalCalls); err != nil {
		return nil, err
	}
	return r, nil
}

var std = func() *Registry {
	r, err := New()
	if err != nil {
		panic(err) // only a programming error in the views or instruments
	}
	return r
}()

// Default is the process's registry.
func Default() *Registry { return std }

// Handler serves the default registry for Prometheus (mount on /metrics).
func Handler() http.Handler { return std.Handler() }

// SDKHandler is the default registry's handler for client.Options.MetricsHandler.
func SDKHandler() client.MetricsHandler { return std.SDKHandler() }

// EventReceived counts a lead event by type and outcome (accepted,
// rejected, failed).
func EventReceived(eventType, outcome string) { std.EventReceived(eventType, outcome) }

// Enrolled counts an enrolment of a lead in an automation.
func Enrolled(automationID string) { std.Enrolled(automationID) }

// NodeExecuted counts a node execution outside a workflow (activities).
func NodeExecuted(nodeType, outcome string) { std.NodeExecuted(nodeType, outcome) }

// ExternalCall counts a call to an external system by status class.
func ExternalCall(system string, status int, err error) { std.ExternalCall(system, status, err) }

// Handler serves this registry.
func (r *Registry) Handler() http.Handler {
	return promhttp.HandlerFor(r.prom, promhttp.HandlerOpts{})
}

// SDKHandler is a Temporal metrics handler writing to this registry.
// Counters are monotonic so that they export as Prometheus counters.
func (r *Registry) SDKHandler() client.MetricsHandler {
	return temporalotel.NewMetricsHandler(temporalotel.MetricsHandlerOptions{
		Meter:                r.meter,
		UseMonotonicCounters: true,
		OnError:              func(error) {}, // a metric conflict must never fail a workflow task
	})
}

// EventReceived counts a lead event.
func (r *Registry) EventReceived(eventType, outcome string) {
	r.events.Add(context.Background(), 1, metric.WithAttributes(attribute.String("type", eventType), attribute.String("outcome", outcome)))
}

// Enrolled counts an enrolment.
func (r *Registry) Enrolled(automationID string) {
	r.enrolments.Add(context.Background(), 1, metric.WithAttributes(attribute.String("automation_id", automationID)))
}

// NodeExecuted counts a node execution.
func (r *Registry) NodeExecuted(nodeType, outcome string) {
	r.nodes.Add(context.Background(), 1, metric.WithAttributes(attribute.String("node_type", nodeType), attribute.String("outcome", outcome)))
}

// ExternalCall counts a call by system and status class (2xx, 4xx, 5xx, or
// error when no answer came).
func (r *Registry) ExternalCall(system string, status int, err error) {
	r.calls.Add(context.Background(), 1, metric.WithAttributes(attribute.String("system", system), attribute.String("status_class", StatusClass(status, err))))
}

// StatusClass is "2xx".."5xx", or "error" for a call that got no answer.
func StatusClass(status int, err error) string {
	if err != nil || status < 100 || status > 599 {
		return "error"
	}
	return strconv.Itoa(status/100) + "xx"
}

// AddrFromEnv returns the metrics address in the environment variable, or
// def; "off" or "-" disables the endpoint (empty result).
func AddrFromEnv(variable, def string) string {
	v, ok := os.LookupEnv(variable)
	switch {
	case !ok || v == "":
		return def
	case v == "off" || v == "-":
		return ""
	}
	return v
}

// Serve listens on addr and serves /metrics until ctx ends. It returns once
// listening, with the bound address (addr may name port 0).
func Serve(ctx context.Context, addr string) (string, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("metrics endpoint on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintln(os.Stderr, "metrics endpoint stopped:", err)
		}
	}()
	return l.Addr().String(), nil
}
