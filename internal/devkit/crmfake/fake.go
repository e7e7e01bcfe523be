// Package crmfake holds fake CRM vendor servers for tests, the demo and the
// chaos harness. Each fake is an http.Handler that behaves like the vendor
// (status codes, error bodies, rate limits, 207 partial failures, 300
// multiple matches), keeps its records in memory, and checks every request
// it receives: against the vendor's OpenAPI document (HubSpot, OpenInt) or
// Salesforce's documented REST shapes. Problems are collected in
// Violations(), which tests assert empty.
package crmfake

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// Fault makes the next matching requests fail.
type Fault struct {
	// PathContains limits the fault to request paths containing it.
	PathContains string
	Status       int
	Header       http.Header
	Body         string
	// Times is how many requests fail (default 1).
	Times int
}

// Stats counts writes.
type Stats struct {
	Requests, Creates, Updates int
	// RateLimited counts the requests refused for the SetRateLimit limit.
	RateLimited int
	// MaxInWindow is the most requests the fake saw in one window of the
	// SetRateLimit limit, refused ones excluded.
	MaxInWindow int
}

type common struct {
	mu         sync.Mutex
	faults     []Fault
	violations []string
	stats      Stats
	log        []string
	seq        int
	// The vendor's request limit (SetRateLimit): arrival times of the
	// requests admitted within the last window.
	limitMax    int
	limitWindow time.Duration
	admitted    []time.Time
}

// SetRateLimit makes the fake refuse, as the vendor does, any request
// beyond max in a rolling window (0: no limit).
func (c *common) SetRateLimit(max int, window time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.limitMax, c.limitWindow, c.admitted = max, window, nil
}

// overLimit records a request against the rate limit and reports whether
// it is refused; c.mu is held.
func (c *common) overLimit(now time.Time) bool {
	if c.limitMax <= 0 {
		return false
	}
	cut := 0
	for cut < len(c.admitted) && !c.admitted[cut].After(now.Add(-c.limitWindow)) {
		cut++
	}
	c.admitted = c.admitted[cut:]
	if len(c.admitted) >= c.limitMax {
		c.stats.RateLimited++
		return true
	}
	c.admitted = append(c.admitted, now)
	c.stats.MaxInWindow = max(c.stats.MaxInWindow, len(c.admitted))
	return false
}

// InjectFault queues a fault.
func (c *common) InjectFault(f Fault) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if f.Times == 0 {
		f.Times = 1
	}
	c.faults = append(c.faults, f)
}

// Violations returns every request problem found so far.
func (c *common) Violations() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.violations...)
}

// Stats returns the write counters.
func (c *common) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

// Requests returns "METHOD path" of every request received.
func (c *common) Requests() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.log...)
}

func (c *common) violate(format string, args ...any) {
	c.violations = append(c.violations, fmt.Sprintf(format, args...))
}

// takeFault returns the fault for this request, if any; c.mu is held.
func (c *common) takeFault(path string) *Fault {
	for i := range c.faults {
		f := &c.faults[i]
		if f.Times > 0 && strings.Contains(path, f.PathContains) {
			f.Times--
			out := *f
			if f.Times == 0 {
				c.faults = append(c.faults[:i], c.faults[i+1:]...)
			}
			return &out
		}
	}
	return nil
}

func writeFault(w http.ResponseWriter, f *Fault) {
	for k, v := range f.Header {
		w.Header()[k] = v
	}
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(f.Status)
	_, _ = io.WriteString(w, f.Body)
}

// specValidator checks requests against one OpenAPI document.
type specValidator struct {
	router routers.Router
}

func loadSpec(path string) (*specValidator, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile(path)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", filepath.Base(path), err)
	}
	// Route on paths only: the fakes listen on whatever address the test
	// gives them, not on the vendor's host.
	doc.Servers = nil
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("route %s: %w", filepath.Base(path), err)
	}
	return &specValidator{router: router}, nil
}

// authenticate checks that the credentials a security scheme names are
// present (the fakes accept any value).
func authenticate(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	s := in.SecurityScheme
	r := in.RequestValidationInput.Request
	switch s.Type {
	case "apiKey":
		if s.In == "header" && r.Header.Get(s.Name) == "" {
			return fmt.Errorf("header %s missing", s.Name)
		}
		if s.In == "query" && r.URL.Query().Get(s.Name) == "" {
			return fmt.Errorf("query parameter %s missing", s.Name)
		}
		return nil
	case "oauth2", "http":
		if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
			return errors.New("bearer token missing")
		}
		return nil
	}
	return fmt.Errorf("unsupported scheme %s", s.Type)
}

// validate checks a request (method, path as the spec names it, headers,
// body) and returns the problem, or "".
func (v *specValidator) validate(r *http.Request, specPath string, body []byte) string {
	req := r.Clone(r.Context())
	req.URL.Path = specPath
	req.URL.RawPath = ""
	req.Body = io.NopCloser(bytes.NewReader(body))
	route, params, err := v.router.FindRoute(req)
	if err != nil {
		return fmt.Sprintf("%s %s: not in the spec: %v", r.Method, specPath, err)
	}
	in := &openapi3filter.RequestValidationInput{
		Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: authenticate, MultiError: true},
	}
	if err := openapi3filter.ValidateRequest(r.Context(), in); err != nil {
		return fmt.Sprintf("%s %s: %v", r.Method, specPath, err)
	}
	return ""
}

func readBody(r *http.Request) []byte {
	b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	return b
}
