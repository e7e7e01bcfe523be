package crm

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/conecrm/automation-runtime/internal/retryafter"
)

func TestDoIdempotentRetriesTransientFailures(t *testing.T) {
	inlineBackoff = func(int) time.Duration { return time.Millisecond }
	t.Cleanup(func() { inlineBackoff = retryafter.InlineBackoff })
	tests := []struct {
		name       string
		failures   []int // statuses of the first answers; 0 resets the connection
		retryAfter string
		wantStatus int
		wantErr    bool
		wantCalls  int
	}{
		{name: "ok at once", wantStatus: 200, wantCalls: 1},
		{name: "one 500 absorbed", failures: []int{500}, wantStatus: 200, wantCalls: 2},
		{name: "reset then 503 absorbed", failures: []int{0, 503}, wantStatus: 200, wantCalls: 3},
		{name: "three 500s surface", failures: []int{500, 500, 500}, wantStatus: 500, wantCalls: 3},
		{name: "three resets surface", failures: []int{0, 0, 0}, wantErr: true, wantCalls: 3},
		{name: "short Retry-After waited", failures: []int{429}, retryAfter: "0", wantStatus: 200, wantCalls: 2},
		{name: "long Retry-After returned at once", failures: []int{429}, retryAfter: "30", wantStatus: 429, wantCalls: 1},
		{name: "400 not retried", failures: []int{400}, wantStatus: 400, wantCalls: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n := int(calls.Add(1))
				if n > len(tt.failures) {
					w.WriteHeader(http.StatusOK)
					_, _ = w.Write([]byte(`{}`))
					return
				}
				status := tt.failures[n-1]
				if status == 0 {
					conn, _, _ := http.NewResponseController(w).Hijack()
					_ = conn.Close()
					return
				}
				if tt.retryAfter != "" {
					w.Header().Set("Retry-After", tt.retryAfter)
				}
				w.WriteHeader(status)
			}))
			defer srv.Close()
			resp, err := DoIdempotent(context.Background(), srv.Client(), "test", http.MethodPost, srv.URL, nil, map[string]string{"a": "b"})
			if got := int(calls.Load()); got != tt.wantCalls {
				t.Errorf("calls = %d, want %d", got, tt.wantCalls)
			}
			if tt.wantErr {
				if err == nil || !IsRetryable(err) {
					t.Fatalf("err = %v, want a retryable error", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if resp.Status != tt.wantStatus {
				t.Fatalf("status = %d, want %d", resp.Status, tt.wantStatus)
			}
		})
	}
}

func TestDoIdempotentStopsWithTheContext(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	resp, err := DoIdempotent(ctx, srv.Client(), "test", http.MethodGet, srv.URL, nil, nil)
	if err != nil || resp.Status != http.StatusServiceUnavailable {
		t.Fatalf("resp %v err %v: want the last 503", resp, err)
	}
	if d := time.Since(start); d > 200*time.Millisecond {
		t.Fatalf("kept retrying %v past a cancelled context", d)
	}
}
