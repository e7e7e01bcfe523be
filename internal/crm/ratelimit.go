package crm

import (
	"context"
	"slices"
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
		// and the search endpoints 5 per second, kept at 4.
		ProviderHubSpot: {
			{Name: "10s", Max: 190, Window: 11 * time.Second},
			{Name: "search", Max: 4, Window: 1250 * time.Millisecond, PathContains: "/search"},
		},
		// Salesforce: the org's rolling 24-hour API request allocation
		// (15,000 at the smallest Enterprise org).
		ProviderSalesforce: {
			{Name: "24h", Max: 15000, Window: 24 * time.Hour},
		},
	}
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
