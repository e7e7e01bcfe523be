package crm

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// RateRule is one vendor request limit: at most Max requests in any
// Window, counted for the requests whose URL path contains PathContains
// ("" counts every request).
type RateRule struct {
	// Name tells the rule's window apart in the shared log.
	Name         string
	Max          int
	Window       time.Duration
	PathContains string
}

// DefaultRateRules are the limits pushes keep to per CRM account, shared
// by every worker. Windows are the vendor's plus a margin, so requests
// spaced just far enough apart when sent cannot arrive bunched closer
// than the vendor counts.
func DefaultRateRules() map[string][]RateRule {
	return map[string][]RateRule{
		// HubSpot: 190 requests per 10 s (Professional and Enterprise),
		// and the search endpoints 5 per second, kept at 4. The
		// X-HubSpot-RateLimit-* headers of its answers replace these
		// (LearnRateRules).
		ProviderHubSpot: {
			{Name: hsInterval, Max: 190, Window: Pad(10 * time.Second)},
			{Name: "search", Max: 4, Window: Pad(time.Second), PathContains: "/search"},
		},
		// Salesforce: the org's rolling 24-hour API request allocation
		// (15,000 at the smallest Enterprise org), replaced by the one
		// its Sforce-Limit-Info header states.
		ProviderSalesforce: {
			{Name: sfDaily, Max: 15000, Window: 24 * time.Hour},
		},
	}
}

const (
	hsInterval = "interval"
	hsSecondly = "secondly"
	sfDaily    = "24h"
)

// Pad lengthens a vendor's window by a tenth, at least 500 ms: a limiter
// spacing requests over the padded window keeps them apart at arrival
// too, whatever the network delays up to that margin.
func Pad(window time.Duration) time.Duration {
	return window + max(window/10, 500*time.Millisecond)
}

// LearnRateRules reads the limits a vendor states in its answer's headers:
// HubSpot's X-HubSpot-RateLimit-Max per X-HubSpot-RateLimit-Interval-
// Milliseconds and X-HubSpot-RateLimit-Secondly, Salesforce's
// Sforce-Limit-Info (api-usage=used/allocation). They replace the rules of
// the same name.
func LearnRateRules(provider string, h http.Header) []RateRule {
	var out []RateRule
	switch provider {
	case ProviderHubSpot:
		n, _ := strconv.Atoi(h.Get("X-HubSpot-RateLimit-Max"))
		ms, _ := strconv.Atoi(h.Get("X-HubSpot-RateLimit-Interval-Milliseconds"))
		if n > 0 && ms > 0 {
			out = append(out, RateRule{Name: hsInterval, Max: n, Window: Pad(time.Duration(ms) * time.Millisecond)})
		}
		if s, _ := strconv.Atoi(h.Get("X-HubSpot-RateLimit-Secondly")); s > 0 {
			out = append(out, RateRule{Name: hsSecondly, Max: s, Window: Pad(time.Second)})
		}
	case ProviderSalesforce:
		for _, part := range strings.Split(h.Get("Sforce-Limit-Info"), ",") {
			usage, ok := strings.CutPrefix(strings.TrimSpace(part), "api-usage=")
			if !ok {
				continue
			}
			_, alloc, _ := strings.Cut(usage, "/")
			if n, err := strconv.Atoi(alloc); err == nil && n > 0 {
				out = append(out, RateRule{Name: sfDaily, Max: n, Window: 24 * time.Hour})
			}
		}
	}
	return out
}

// MergeRules returns base with the learned rules replacing those of the
// same name and the others added.
func MergeRules(base, learned []RateRule) []RateRule {
	out := slices.Clone(base)
	for _, l := range learned {
		i := slices.IndexFunc(out, func(r RateRule) bool { return r.Name == l.Name })
		if i >= 0 {
			l.PathContains = out[i].PathContains
			out[i] = l
		} else {
			out = append(out, l)
		}
	}
	return out
}

// RateClaim asks for one request slot in a bucket.
type RateClaim struct {
	Bucket string
	Max    int
	Window time.Duration
}

// RateStore is the request log shared by the workers.
type RateStore interface {
	// TakeRate records one request at now in every claimed bucket when
	// each has fewer than Max requests in its window ending at now, and
	// returns 0; otherwise it records nothing and returns how long until
	// the fullest bucket has room.
	TakeRate(ctx context.Context, claims []RateClaim, now time.Time, holder string) (wait time.Duration, err error)
}

var _ RateStore = (*MemoryStore)(nil)

// TakeRate implements RateStore.
func (m *MemoryStore) TakeRate(_ context.Context, claims []RateClaim, now time.Time, _ string) (time.Duration, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.rates == nil {
		m.rates = map[string][]time.Time{}
	}
	var wait time.Duration
	for _, c := range claims {
		log := m.rates[c.Bucket]
		cut := 0
		for cut < len(log) && !log[cut].After(now.Add(-c.Window)) {
			cut++
		}
		log = log[cut:]
		m.rates[c.Bucket] = log
		if len(log) >= c.Max {
			wait = max(wait, log[0].Add(c.Window).Sub(now))
		}
	}
	if wait > 0 {
		return wait, nil
	}
	for _, c := range claims {
		m.rates[c.Bucket] = append(m.rates[c.Bucket], now)
	}
	return 0, nil
}

// Claims returns the claims a request to path makes under rules, in
// bucket order (stores lock buckets in that order).
func Claims(rules []RateRule, account, path string) []RateClaim {
	var out []RateClaim
	for _, r := range rules {
		if r.Max > 0 && r.Window > 0 && strings.Contains(path, r.PathContains) {
			out = append(out, RateClaim{Bucket: account + ":" + r.Name, Max: r.Max, Window: r.Window})
		}
	}
	slices.SortFunc(out, func(a, b RateClaim) int { return strings.Compare(a.Bucket, b.Bucket) })
	return out
}
