// Package retryafter reads the HTTP Retry-After header, the one parser every
// HTTP client of the runtime (ConeCRM, CRM vendors, webhooks) uses.
package retryafter

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Max caps a server's wish, so a misbehaving server cannot park a run for
// hours; the caller's retry policy still bounds the attempts.
const Max = 10 * time.Minute

// Parse reads a Retry-After value: delay-seconds ("120") or an HTTP-date
// ("Wed, 21 Oct 2015 07:28:00 GMT", also the obsolete RFC 850 and asctime
// forms), relative to now. An empty, malformed, negative or past value is 0
// (no advice: the caller's backoff applies); the result is at most Max.
func Parse(value string, now time.Time) time.Duration {
	value = strings.TrimSpace(value)
	if value == "" {
		return 0
	}
	n, err := strconv.ParseInt(value, 10, 64)
	switch {
	case err == nil && n > int64(Max/time.Second):
		return Max
	case err == nil:
		return max(time.Duration(n)*time.Second, 0)
	case errors.Is(err, strconv.ErrRange):
		if n > 0 {
			return Max
		}
		return 0
	}
	if t, err := http.ParseTime(value); err == nil {
		return min(max(t.Sub(now), 0), Max)
	}
	return 0
}

// FromHeader is Parse of h's Retry-After.
func FromHeader(h http.Header, now time.Time) time.Duration {
	return Parse(h.Get("Retry-After"), now)
}

// The inline retry policy of a request that is safe to resend (a read, an
// update by id, an upsert by key), shared by the ConeCRM and CRM clients:
// InlineTries tries in all, InlineBackoff(n) before try n+1, and a
// Retry-After above InlineMaxWait is handed back to the activity's retry
// policy instead of holding a worker slot.
const (
	InlineTries   = 3
	InlineMaxWait = 2 * time.Second
)

// InlineBackoff is the pause before inline try n+1 (n from 1).
func InlineBackoff(n int) time.Duration { return time.Duration(n) * 250 * time.Millisecond }
