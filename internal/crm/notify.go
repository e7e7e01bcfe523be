package crm

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"time"

	"github.com/rs/zerolog"
)

// NotifySecretEnv names the key that signs link notifications: the same
// variable, and the same scheme, as the runtime's outgoing webhooks.
const NotifySecretEnv = "WEBHOOK_SIGNING_SECRET"

// LinkStatusChanged is the type of the notification a link's status change
// sends to the integration's failure_notification_channel.
const LinkStatusChanged = "crm.link.status_changed"

// LinkNotification is the JSON body of a link status notification. It
// carries ids and statuses, never a token.
type LinkNotification struct {
	Type           string    `json:"type"`
	IntegrationID  string    `json:"data_source_heron_id"`
	Provider       string    `json:"provider"`
	ItemID         string    `json:"item_id"`
	EndUserID      string    `json:"end_user_id"`
	EndUserName    string    `json:"end_user_name"`
	Status         string    `json:"status"`
	PreviousStatus string    `json:"previous_status"`
	StatusMessage  string    `json:"status_message"`
	OccurredAt     time.Time `json:"occurred_at"`
}

// Notifier posts signed link notifications:
//
//	X-Timestamp: <Unix seconds>
//	X-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>
//
// as POST /events and the webhook node sign. Delivery is best effort: three
// attempts, then the failure is logged; the push that changed the status is
// not failed for it.
type Notifier struct {
	HTTP   *http.Client
	Secret []byte
	Log    zerolog.Logger
	// Backoff between attempts (default 500 ms, doubled each time).
	Backoff time.Duration
}

// NotifierFromEnv signs with WEBHOOK_SIGNING_SECRET; without it
// notifications go out unsigned, and a warning says so once.
func NotifierFromEnv(client *http.Client, log zerolog.Logger) *Notifier {
	secret := os.Getenv(NotifySecretEnv)
	if secret == "" {
		log.Warn().Msg(NotifySecretEnv + " is not set: CRM link notifications are sent unsigned")
	}
	return &Notifier{HTTP: client, Secret: []byte(secret), Log: log}
}

// SignNotification returns the X-Signature value for a body sent at ts.
func SignNotification(secret []byte, ts int64, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(strconv.FormatInt(ts, 10)))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Notify sends n to channel (a URL; nil or empty sends nothing).
func (nt *Notifier) Notify(ctx context.Context, channel *string, n LinkNotification) {
	if nt == nil || channel == nil || *channel == "" {
		return
	}
	log := nt.Log.With().Str("integration", n.IntegrationID).Str("item_id", n.ItemID).Str("status", n.Status).Str("channel_host", hostOf(*channel)).Logger()
	body, err := json.Marshal(n)
	if err != nil {
		log.Error().Err(err).Msg("link notification not encoded")
		return
	}
	client := nt.HTTP
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	backoff := nt.Backoff
	if backoff == 0 {
		backoff = 500 * time.Millisecond
	}
	var last string
	for attempt := 0; attempt < 3; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				log.Warn().Str("error", ctx.Err().Error()).Msg("link notification abandoned")
				return
			case <-time.After(backoff):
			}
			backoff *= 2
		}
		status, err := nt.post(ctx, client, *channel, body)
		if err == nil && status >= 200 && status < 300 {
			log.Info().Msg("link notification delivered")
			return
		}
		if err != nil {
			last = err.Error()
		} else {
			last = "HTTP " + strconv.Itoa(status)
			if status < 500 && status != http.StatusTooManyRequests && status != http.StatusRequestTimeout {
				break // the receiver refuses it; retrying will not help
			}
		}
	}
	log.Warn().Str("error", last).Msg("link notification not delivered")
}

func (nt *Notifier) post(ctx context.Context, client *http.Client, channel string, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, channel, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("invalid failure_notification_channel")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "conecrm-automation-runtime/1")
	if len(nt.Secret) > 0 {
		ts := time.Now().Unix()
		req.Header.Set("X-Timestamp", strconv.FormatInt(ts, 10))
		req.Header.Set("X-Signature", SignNotification(nt.Secret, ts, body))
	}
	resp, err := client.Do(req)
	if err != nil {
		if ue, ok := err.(*url.Error); ok {
			err = ue.Err // without the URL
		}
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, nil
}

func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Host
}
