package runlog

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"time"

	"github.com/rs/zerolog"

	"github.com/conecrm/automation-runtime/internal/ingest"
	"github.com/conecrm/automation-runtime/internal/store"
)

// EnvChannels holds the franchises' failure webhooks as a JSON object,
// franchise id → URL, "*" for every franchise without its own.
const EnvChannels = "FAILURE_WEBHOOKS"

// Channels maps franchise ids to failure webhooks.
type Channels map[string]string

// For returns the franchise's webhook, else the "*" one, else "".
func (c Channels) For(franchise string) string {
	if u, ok := c[franchise]; ok && franchise != "" {
		return u
	}
	return c["*"]
}

// ChannelsFromEnv reads FAILURE_WEBHOOKS; the error names the bad entry.
func ChannelsFromEnv() (Channels, error) {
	v := os.Getenv(EnvChannels)
	if v == "" {
		return nil, nil
	}
	var c Channels
	if err := json.Unmarshal([]byte(v), &c); err != nil {
		return nil, fmt.Errorf("%s is not a JSON object of franchise id to URL: %w", EnvChannels, err)
	}
	for f, u := range c {
		if p, err := url.Parse(u); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return nil, fmt.Errorf("%s[%q] = %q is not an absolute http or https URL", EnvChannels, f, u)
		}
	}
	return c, nil
}

// Sender delivers the outbox of failure notifications: each is POSTed,
// signed like every outgoing webhook (X-Timestamp, X-Signature: sha256=HMAC
// of "timestamp.body" under WEBHOOK_SIGNING_SECRET), until a 2xx answers.
type Sender struct {
	Store  *store.Store
	Secret []byte
	Client *http.Client
	Log    zerolog.Logger
	// MaxBackoff caps the wait between attempts (default 1h).
	MaxBackoff time.Duration
}

// Run delivers due notifications every interval until ctx ends.
func (s *Sender) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := s.Deliver(ctx); err != nil && ctx.Err() == nil {
			s.Log.Warn().Err(err).Msg("failure notifications: reading the outbox")
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Deliver sends the notifications due now and returns how many were
// delivered.
func (s *Sender) Deliver(ctx context.Context) (int, error) {
	due, err := s.Store.ClaimNotifications(ctx, 50, 2*time.Minute)
	if err != nil {
		return 0, err
	}
	delivered := 0
	for _, n := range due {
		if err := s.send(ctx, n); err != nil {
			next := time.Now().Add(s.backoff(n.Attempts))
			s.Log.Warn().Err(err).Str("run_id", n.RunID).Int("attempt", n.Attempts+1).Time("next_attempt", next).Msg("failure notification not delivered")
			if serr := s.Store.NotificationFailed(ctx, n.RunID, next, err.Error()); serr != nil {
				return delivered, serr
			}
			continue
		}
		if err := s.Store.NotificationDelivered(ctx, n.RunID); err != nil {
			return delivered, err
		}
		delivered++
	}
	return delivered, nil
}

// backoff doubles from 5s up to MaxBackoff.
func (s *Sender) backoff(attempts int) time.Duration {
	limit := s.MaxBackoff
	if limit <= 0 {
		limit = time.Hour
	}
	d := 5 * time.Second
	for i := 0; i < attempts && d < limit; i++ {
		d *= 2
	}
	return min(d, limit)
}

func (s *Sender) send(ctx context.Context, n store.Notification) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.URL, bytes.NewReader(n.Body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", "run-failed-"+n.RunID)
	if len(s.Secret) > 0 {
		ts := time.Now().Unix()
		req.Header.Set(ingest.HeaderTimestamp, strconv.FormatInt(ts, 10))
		req.Header.Set(ingest.HeaderSignature, ingest.Sign(s.Secret, ts, n.Body))
	}
	c := s.Client
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s answered %d: %s", n.URL, resp.StatusCode, bytes.TrimSpace(b))
	}
	return nil
}
