package push

import (
	"context"
	"io"
	"net/http"
	"time"

	"github.com/conecrm/automation-runtime/internal/crm"
)

// Shared rate limits: every vendor request of a push first takes a slot in
// the CRM account's request log in the store, so all workers together keep
// under the vendor's limits, and a push waits for room instead of failing.
const (
	// maxRateWait is the longest a request waits for room; beyond it (a
	// spent daily allocation) the push fails retryably, with the wait as
	// the retry delay, rather than holding a worker slot for hours.
	maxRateWait = 2 * time.Minute
)

// rateLimited is the transport of one push: it takes a slot for every
// request under the account's rules before sending it.
type rateLimited struct {
	next     http.RoundTripper
	store    crm.RateStore
	pusher   *Pusher
	provider string
	account  string // the CRM account: provider, integration and link
	holder   string
	// timeout bounds each send (the client's Timeout, which would
	// otherwise also count the wait for a slot).
	timeout time.Duration
}

// cancelOnClose ends a send's context when its body is closed.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

// limitedClient returns a copy of client whose requests go through the
// account's shared rate limits.
func (p *Pusher) limitedClient(client *http.Client, provider, account string) *http.Client {
	if p.opts.Rates == nil || len(p.opts.RateRules[provider]) == 0 {
		return client
	}
	next := client.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	c := *client
	c.Transport = &rateLimited{next: next, store: p.opts.Rates, pusher: p, provider: provider, account: provider + ":" + account, holder: p.holder, timeout: client.Timeout}
	c.Timeout = 0
	return &c
}

func (t *rateLimited) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := t.take(req, crm.Claims(t.pusher.rules(t.provider, t.account), t.account, req.URL.Path)); err != nil {
		return nil, err
	}
	resp, err := t.send(req)
	if err == nil {
		if learned := crm.LearnRateRules(t.provider, resp.Header); len(learned) > 0 {
			t.pusher.learn(t.account, learned)
		}
	}
	return resp, err
}

// rules are the provider's rules with what the account's answers said.
func (p *Pusher) rules(provider, account string) []crm.RateRule {
	p.mu.Lock()
	defer p.mu.Unlock()
	return crm.MergeRules(p.opts.RateRules[provider], p.learned[account])
}

// learn keeps the limits an answer of the account stated.
func (p *Pusher) learn(account string, rules []crm.RateRule) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.learned == nil {
		p.learned = map[string][]crm.RateRule{}
	}
	p.learned[account] = crm.MergeRules(p.learned[account], rules)
}

func (t *rateLimited) send(req *http.Request) (*http.Response, error) {
	if t.timeout <= 0 {
		return t.next.RoundTrip(req)
	}
	ctx, cancel := context.WithTimeout(req.Context(), t.timeout)
	resp, err := t.next.RoundTrip(req.WithContext(ctx))
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

// take waits until every claim has room and records the request.
func (t *rateLimited) take(req *http.Request, claims []crm.RateClaim) error {
	if len(claims) == 0 {
		return nil
	}
	ctx := req.Context()
	var waited time.Duration
	for {
		wait, err := t.store.TakeRate(ctx, claims, time.Now(), t.holder)
		if err != nil {
			return &crm.Error{Provider: "crm", Message: "shared rate limit: " + crm.Truncate(err.Error(), 200), Retryable: true}
		}
		if wait <= 0 {
			return nil
		}
		if waited+wait > maxRateWait {
			return &crm.Error{Provider: "crm", Retryable: true, RetryAfter: wait,
				Message: "the CRM account's request limit, shared by all workers, is spent; retrying after " + wait.Round(time.Second).String()}
		}
		// A little past the moment the oldest request leaves the window,
		// so the next try finds room.
		wait += 5 * time.Millisecond
		if err := sleep(ctx, wait); err != nil {
			return err
		}
		waited += wait
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
