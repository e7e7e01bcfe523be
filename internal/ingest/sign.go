package ingest

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Signing of POST /events: the sender computes
//
//	X-Timestamp: <Unix seconds>
//	X-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + raw body)>
//
// with the secret shared through EVENTS_SIGNING_SECRET. The same scheme signs
// the runtime's outgoing webhooks.
const (
	HeaderTimestamp = "X-Timestamp"
	HeaderSignature = "X-Signature"
	SecretEnv       = "EVENTS_SIGNING_SECRET"
	// MaxSkew is how far a timestamp may be from the receiver's clock.
	MaxSkew = 5 * time.Minute
)

// Sign returns the X-Signature value for a body sent at ts.
func Sign(secret []byte, ts int64, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(strconv.FormatInt(ts, 10)))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Verify checks a signature and its timestamp against now, in constant
// time. The error says what is wrong without revealing the expected value.
func Verify(secret []byte, timestamp, signature string, body []byte, now time.Time) error {
	if timestamp == "" || signature == "" {
		return errors.New("missing " + HeaderTimestamp + " or " + HeaderSignature + " header")
	}
	ts, err := strconv.ParseInt(strings.TrimSpace(timestamp), 10, 64)
	if err != nil {
		return errors.New(HeaderTimestamp + " is not Unix seconds")
	}
	skew := now.Sub(time.Unix(ts, 0))
	if skew > MaxSkew || skew < -MaxSkew {
		return errors.New(HeaderTimestamp + " is more than 5 minutes from the server's clock (stale or replayed)")
	}
	want := Sign(secret, ts, body)
	if !hmac.Equal([]byte(strings.TrimSpace(signature)), []byte(want)) {
		return errors.New(HeaderSignature + " does not match the body")
	}
	return nil
}

// PostSigned posts a lead event to a starter's /events with X-Timestamp and
// X-Signature, and returns the status code and body of the answer.
func PostSigned(ctx context.Context, url string, secret, body []byte) (int, []byte, error) {
	ts := time.Now().Unix()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(HeaderSignature, Sign(secret, ts, body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	return resp.StatusCode, out, err
}
