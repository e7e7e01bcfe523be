package ingest_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/conecrm/automation-runtime/internal/catalog"
	"github.com/conecrm/automation-runtime/internal/ingest"
)

var secret = []byte("test-secret")

const goodEvent = `{"id":"e1","type":"LEAD_CREATED","occurredAt":"2026-11-24T10:00:00Z","lead":{"id":"l1","franchise":{"id":"f1"}}}`

func TestSignAndVerify(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	body := []byte(goodEvent)
	ts := now.Unix()
	sig := ingest.Sign(secret, ts, body)
	if !strings.HasPrefix(sig, "sha256=") || len(sig) != len("sha256=")+64 {
		t.Fatalf("signature %q", sig)
	}
	tsStr := strconv.FormatInt(ts, 10)
	cases := []struct {
		name           string
		ts, sig        string
		body           []byte
		at             time.Time
		wantErrContain string
	}{
		{"valid", tsStr, sig, body, now, ""},
		{"valid 4m59s later", tsStr, sig, body, now.Add(299 * time.Second), ""},
		{"replayed after 5 minutes", tsStr, sig, body, now.Add(301 * time.Second), "stale"},
		{"from the future", tsStr, sig, body, now.Add(-6 * time.Minute), "stale"},
		{"body changed", tsStr, sig, []byte(goodEvent + " "), now, "does not match"},
		{"timestamp changed", strconv.FormatInt(ts+1, 10), sig, body, now, "does not match"},
		{"other secret", tsStr, ingest.Sign([]byte("other"), ts, body), body, now, "does not match"},
		{"missing signature", tsStr, "", body, now, "missing"},
		{"missing timestamp", "", sig, body, now, "missing"},
		{"timestamp not a number", "yesterday", sig, body, now, "Unix seconds"},
		{"signature without prefix", tsStr, strings.TrimPrefix(sig, "sha256="), body, now, "does not match"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := ingest.Verify(secret, tc.ts, tc.sig, tc.body, tc.at)
			if tc.wantErrContain == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErrContain) {
				t.Fatalf("error %v, want one containing %q", err, tc.wantErrContain)
			}
		})
	}
}

// Every bad request is rejected before anything is matched or started: the
// ingester has no Temporal client, so reaching delivery would panic.
func TestHandleEventsRejects(t *testing.T) {
	now := time.Now()
	in := &ingest.Ingester{Source: catalog.New(), Log: zerolog.Nop(), Secret: secret, Now: func() time.Time { return now }}
	signed := func(body string, at time.Time) http.Header {
		h := http.Header{}
		h.Set("Content-Type", "application/json")
		h.Set(ingest.HeaderTimestamp, strconv.FormatInt(at.Unix(), 10))
		h.Set(ingest.HeaderSignature, ingest.Sign(secret, at.Unix(), []byte(body)))
		return h
	}
	big := `{"id":"e1","type":"LEAD_CREATED","occurredAt":"2026-11-24T10:00:00Z","lead":{"id":"l1","x":"` + strings.Repeat("a", ingest.MaxEventBytes) + `"}}`
	cases := []struct {
		name     string
		body     string
		header   http.Header
		status   int
		problems []string
	}{
		{"oversized body", big, signed(big, now), 413, nil},
		{"no signature", goodEvent, http.Header{"Content-Type": {"application/json"}}, 401, nil},
		{"bad signature", goodEvent, func() http.Header { h := signed(goodEvent, now); h.Set(ingest.HeaderSignature, "sha256=00"); return h }(), 401, nil},
		{"replayed old timestamp", goodEvent, signed(goodEvent, now.Add(-10*time.Minute)), 401, nil},
		{"wrong content type", goodEvent, func() http.Header { h := signed(goodEvent, now); h.Set("Content-Type", "text/plain"); return h }(), 415, nil},
		{"malformed JSON", `{"id": "x", `, signed(`{"id": "x", `, now), 400, []string{"malformed JSON"}},
		{"missing type", `{"id":"e1","occurredAt":"2026-11-24T10:00:00Z","lead":{"id":"l1"}}`, nil, 400, []string{"type"}},
		{"unknown type", `{"id":"e1","type":"LEAD_EXPLODED","occurredAt":"2026-11-24T10:00:00Z","lead":{"id":"l1"}}`, nil, 400, []string{"unknown event type"}},
		{"lead without id", `{"id":"e1","type":"LEAD_CREATED","occurredAt":"2026-11-24T10:00:00Z","lead":{"subject":"x","franchise":{"id":"f1"}}}`, nil, 400, []string{"lead.id"}},
		{"lead without franchise", `{"id":"e1","type":"LEAD_CREATED","occurredAt":"2026-11-24T10:00:00Z","lead":{"id":"l1"}}`, nil, 400, []string{"lead.franchise.id"}},
		{"franchise without id", `{"id":"e1","type":"LEAD_CREATED","occurredAt":"2026-11-24T10:00:00Z","lead":{"id":"l1","franchise":{"name":"Montréal"}}}`, nil, 400, []string{"lead.franchise.id"}},
		{"every problem listed", `{"lead":{"subject":"x"}}`, nil, 400, []string{"id", "type", "occurredAt", "lead.id"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := tc.header
			if h == nil {
				h = signed(tc.body, now)
			}
			req := httptest.NewRequest("POST", "/events", bytes.NewBufferString(tc.body))
			req.Header = h
			rec := httptest.NewRecorder()
			in.HandleEvents(rec, req)
			if rec.Code != tc.status {
				t.Fatalf("HTTP %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			var er ingest.ErrorResponse
			if err := json.Unmarshal(rec.Body.Bytes(), &er); err != nil || er.Error == "" {
				t.Fatalf("error body %q is not a JSON error", rec.Body)
			}
			all := er.Problems.Error()
			for _, p := range tc.problems {
				if !strings.Contains(all, p) {
					t.Errorf("problems %v do not mention %q", er.Problems, p)
				}
			}
			if len(tc.problems) > 1 && len(er.Problems) < len(tc.problems) {
				t.Errorf("%d problems listed, want at least %d: %v", len(er.Problems), len(tc.problems), er.Problems)
			}
		})
	}
}

func TestMemoryEvents(t *testing.T) {
	m := ingest.NewMemoryEvents()
	ctx := t.Context()
	if c, _ := m.ClaimEvent(ctx, "a", "e"); !c.Claimed {
		t.Fatal("first claim")
	}
	if c, _ := m.ClaimEvent(ctx, "a", "e"); c.Claimed || c.Done {
		t.Fatalf("pending claim: %+v", c)
	}
	_ = m.ReleaseEvent(ctx, "a", "e")
	if c, _ := m.ClaimEvent(ctx, "a", "e"); !c.Claimed {
		t.Fatal("claim after release")
	}
	_ = m.CompleteEvent(ctx, "a", "e", json.RawMessage(`{"result":"enrolled"}`))
	if c, _ := m.ClaimEvent(ctx, "a", "e"); !c.Done || string(c.Outcome) != `{"result":"enrolled"}` {
		t.Fatalf("completed claim: %+v", c)
	}
}
