package chaos

import (
	"bytes"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
)

// crmFaults fails a share of a fake CRM's requests: 429 with Retry-After,
// 500 and connection resets before the handler runs, and dropped responses
// after it ran (the write happened, the answer is lost).
type crmFaults struct {
	next http.Handler
	rate float64

	mu       sync.Mutex
	rng      *rand.Rand
	injected map[string]int
}

func newCRMFaults(next http.Handler, rate float64, seed uint64) *crmFaults {
	return &crmFaults{next: next, rate: rate, rng: rand.New(rand.NewPCG(seed, seed^0x5bd1e995)), injected: map[string]int{}}
}

func (f *crmFaults) draw() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	u := f.rng.Float64()
	if u >= f.rate {
		return ""
	}
	kind := []string{"429", "500", "reset", "drop"}[int(u/f.rate*4)%4]
	f.injected[kind]++
	return kind
}

// Injected counts the faults by kind.
func (f *crmFaults) Injected() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]int{}
	for k, v := range f.injected {
		out[k] = v
	}
	return out
}

func (f *crmFaults) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch f.draw() {
	case "429":
		w.Header().Set("Retry-After", "1")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write([]byte(`{"status":"error","message":"You have reached your secondly limit.","category":"RATE_LIMITS"}`))
	case "500":
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(`{"status":"error","message":"internal error","category":"INTERNAL_ERROR"}`))
	case "reset":
		abort(w)
	case "drop":
		rec := &discard{header: http.Header{}}
		f.next.ServeHTTP(rec, r)
		abort(w)
	default:
		f.next.ServeHTTP(w, r)
	}
}

func abort(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

type discard struct {
	header http.Header
	body   bytes.Buffer
}

func (d *discard) Header() http.Header         { return d.header }
func (d *discard) WriteHeader(int)             {}
func (d *discard) Write(p []byte) (int, error) { return d.body.Write(p) }
