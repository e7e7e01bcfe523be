package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

// FaultKind is what an injected fault does.
type FaultKind string

// Fault kinds. Latency delays the request and then serves it; the others
// fail it. TooManyRequests, ServerError and Reset happen before the handler
// runs (nothing changes); Drop runs the handler, stores the idempotent
// response, and then closes the connection without answering, as when a
// response is lost on the way back.
const (
	FaultLatency         FaultKind = "latency"
	FaultTooManyRequests FaultKind = "429"
	FaultServerError     FaultKind = "500"
	FaultReset           FaultKind = "reset"
	FaultDrop            FaultKind = "drop"
)

// Fault injects one kind of fault into the requests of a route.
type Fault struct {
	// Route is a route pattern as registered ("POST /api/task",
	// "POST /api/lead/{lead}/copy"), a path pattern matching any method
	// ("/api/task"), or "*" for every API route (never /sandbox/).
	Route string    `json:"route"`
	Kind  FaultKind `json:"kind"`
	// Rate is the probability per request (0 < Rate <= 1; 0 means 1). The
	// failing faults of a route share one draw, so rates add up: 0.1 each
	// of 429, 500 and reset fail 30% of requests.
	Rate float64 `json:"rate,omitempty"`
	// Times caps how many times the fault fires (0: unlimited).
	Times int `json:"times,omitempty"`
	// Latency is the delay of a latency fault.
	Latency Duration `json:"latency,omitempty"`
	// RetryAfter is sent with a 429 (default 1s; whole seconds).
	RetryAfter Duration `json:"retryAfter,omitempty"`

	fired int
}

// FaultConfig is the sandbox's fault configuration, as code or JSON:
//
//	{"seed": 42, "faults": [
//	  {"route": "POST /api/task", "kind": "429", "rate": 0.1, "retryAfter": "1s"},
//	  {"route": "*", "kind": "latency", "rate": 0.5, "latency": "200ms"}]}
type FaultConfig struct {
	// Seed seeds the random draws, so a run is reproducible (up to the
	// order in which concurrent requests arrive).
	Seed   uint64  `json:"seed"`
	Faults []Fault `json:"faults"`
}

// EnvFaults names the environment variable FaultsFromEnv reads: the JSON
// of a FaultConfig, or the path of a file holding it.
const EnvFaults = "SANDBOX_FAULTS"

// FaultsFromEnv reads SANDBOX_FAULTS; ok is false when it is unset.
func FaultsFromEnv() (cfg FaultConfig, ok bool, err error) {
	v := strings.TrimSpace(os.Getenv(EnvFaults))
	if v == "" {
		return FaultConfig{}, false, nil
	}
	data := []byte(v)
	if !strings.HasPrefix(v, "{") {
		if data, err = os.ReadFile(v); err != nil {
			return FaultConfig{}, false, fmt.Errorf("%s: %w", EnvFaults, err)
		}
	}
	cfg, err = ParseFaults(data)
	if err != nil {
		return FaultConfig{}, false, fmt.Errorf("%s: %w", EnvFaults, err)
	}
	return cfg, true, nil
}

// ParseFaults parses and validates a JSON FaultConfig.
func ParseFaults(data []byte) (FaultConfig, error) {
	var cfg FaultConfig
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		return FaultConfig{}, fmt.Errorf("fault configuration: %w", err)
	}
	return cfg, cfg.Validate()
}

// Validate checks every fault.
func (c FaultConfig) Validate() error {
	var errs []error
	for i, f := range c.Faults {
		if f.Route == "" {
			errs = append(errs, fmt.Errorf("faults[%d]: route is required", i))
		}
		switch f.Kind {
		case FaultLatency:
			if f.Latency.D() <= 0 {
				errs = append(errs, fmt.Errorf("faults[%d]: a latency fault needs a positive latency", i))
			}
		case FaultTooManyRequests, FaultServerError, FaultReset, FaultDrop:
		default:
			errs = append(errs, fmt.Errorf("faults[%d]: kind must be latency, 429, 500, reset or drop, got %q", i, f.Kind))
		}
		if f.Rate < 0 || f.Rate > 1 {
			errs = append(errs, fmt.Errorf("faults[%d]: rate must be between 0 and 1, got %v", i, f.Rate))
		}
		if f.Times < 0 {
			errs = append(errs, fmt.Errorf("faults[%d]: times must not be negative", i))
		}
	}
	return errors.Join(errs...)
}

func (f *Fault) matches(method, pattern string) bool {
	if strings.HasPrefix(pattern, "GET /sandbox/") || strings.Contains(pattern, " /sandbox/") {
		return false
	}
	if f.Route == "*" {
		return true
	}
	if f.Route == pattern {
		return true
	}
	_, path, _ := strings.Cut(pattern, " ")
	return f.Route == path || f.Route == method+" "+path
}

func (f *Fault) rate() float64 {
	if f.Rate == 0 {
		return 1
	}
	return f.Rate
}

// injection is what the sandbox does to one request.
type injection struct {
	latency    time.Duration
	kind       FaultKind // "" for none (latency alone is not a failure)
	retryAfter time.Duration
}

// draw decides the faults of one request. Callers hold s.mu.
func (s *Server) draw(method, pattern string) injection {
	var in injection
	if len(s.faults.Faults) == 0 {
		return in
	}
	u := s.rng.Float64()
	cum := 0.0
	for i := range s.faults.Faults {
		f := &s.faults.Faults[i]
		if !f.matches(method, pattern) || (f.Times > 0 && f.fired >= f.Times) {
			continue
		}
		if f.Kind == FaultLatency {
			if s.rng.Float64() < f.rate() {
				f.fired++
				in.latency += f.Latency.D()
				s.stats.Injected[FaultLatency]++
			}
			continue
		}
		if in.kind != "" {
			continue
		}
		cum += f.rate()
		if u < cum {
			f.fired++
			in.kind = f.Kind
			in.retryAfter = f.RetryAfter.D()
			if in.retryAfter <= 0 {
				in.retryAfter = time.Second
			}
			s.stats.Injected[f.Kind]++
		}
	}
	return in
}

// SetFaults replaces the fault configuration and reseeds the random draws.
func (s *Server) SetFaults(cfg FaultConfig) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = FaultConfig{Seed: cfg.Seed, Faults: append([]Fault(nil), cfg.Faults...)}
	for i := range s.faults.Faults {
		s.faults.Faults[i].fired = 0
	}
	s.rng = rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15))
	return nil
}

// AddFault adds one fault to the configuration.
func (s *Server) AddFault(f Fault) error {
	if err := (FaultConfig{Faults: []Fault{f}}).Validate(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f.fired = 0
	s.faults.Faults = append(s.faults.Faults, f)
	return nil
}

// ClearFaults removes every fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.Faults = nil
}

// Faults returns the current fault configuration.
func (s *Server) Faults() FaultConfig {
	s.mu.Lock()
	defer s.mu.Unlock()
	return FaultConfig{Seed: s.faults.Seed, Faults: append([]Fault(nil), s.faults.Faults...)}
}

// Stats counts what the sandbox did.
type Stats struct {
	// Requests is every request received; Replayed those answered from the
	// idempotency store.
	Requests int `json:"requests"`
	Replayed int `json:"replayed"`
	// Injected counts injected faults by kind.
	Injected map[FaultKind]int `json:"injected"`
}

// Stats returns the counters since New or Reset.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Injected = make(map[FaultKind]int, len(s.stats.Injected))
	for k, v := range s.stats.Injected {
		st.Injected[k] = v
	}
	return st
}

// abort ends the request without a response: a TCP reset when the
// connection can be hijacked, otherwise the server's abort.
func abort(w http.ResponseWriter, reset bool) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok && reset {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// Duration is a time.Duration that reads "250ms" or a number of
// milliseconds from JSON and writes the string form.
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// MarshalJSON writes "1.5s".
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads "1.5s" or 1500 (milliseconds).
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		v, err := time.ParseDuration(s)
		if err != nil {
			return err
		}
		*d = Duration(v)
		return nil
	}
	var ms float64
	if err := json.Unmarshal(b, &ms); err != nil {
		return errors.New("duration must be a string like \"250ms\" or a number of milliseconds")
	}
	*d = Duration(time.Duration(ms * float64(time.Millisecond)))
	return nil
}

// NewFromEnv returns New(token, opts...) with the fault configuration of
// SANDBOX_FAULTS when it is set, and ignoring Idempotency-Key when
// SANDBOX_IGNORE_IDEMPOTENCY is 1, for `make run` and the chaos harness.
func NewFromEnv(token string, opts ...Option) (*Server, error) {
	cfg, ok, err := FaultsFromEnv()
	if err != nil {
		return nil, err
	}
	if ok {
		opts = append(opts, WithFaults(cfg))
	}
	if IgnoreIdempotencyFromEnv() {
		opts = append(opts, WithIgnoreIdempotency())
	}
	return New(token, opts...), nil
}
