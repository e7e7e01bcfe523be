package ingest_test

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/conecrm/automation-runtime/internal/event"
	"github.com/conecrm/automation-runtime/internal/ingest"
)

func eventWith(t testing.TB, edit func(ev map[string]any, lead map[string]any)) []byte {
	t.Helper()
	lead := map[string]any{"id": "0192f0a0-0005-7000-8000-000000000001", "franchise": map[string]any{"id": "0192f0a0-0007-7000-8000-000000000001"}}
	ev := map[string]any{"id": "ev-1", "type": "LEAD_CREATED", "occurredAt": "2026-11-24T10:00:00Z", "lead": lead}
	edit(ev, lead)
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Ids over their limits or with control characters are a 400 naming the
// field and the limit, never a 5xx after the event reached Temporal (a
// 5,000-character lead.id used to answer 503, retried forever).
func TestEventIDLimits(t *testing.T) {
	long := strings.Repeat("x", 5000)
	for _, tc := range []struct {
		name string
		edit func(ev, lead map[string]any)
		path string
		want string // in the message; "" means valid
	}{
		{"valid", func(ev, lead map[string]any) {}, "", ""},
		{"lead id at the limit", func(ev, lead map[string]any) { lead["id"] = strings.Repeat("l", ingest.MaxIDLength) }, "", ""},
		{"lead id of 5000 characters", func(ev, lead map[string]any) { lead["id"] = long }, "lead.id", "at most 128 characters (got 5000)"},
		{"lead id one over", func(ev, lead map[string]any) { lead["id"] = strings.Repeat("l", ingest.MaxIDLength+1) }, "lead.id", "at most 128"},
		{"lead id with a newline", func(ev, lead map[string]any) { lead["id"] = "a\nb" }, "lead.id", "control characters"},
		{"lead id a number", func(ev, lead map[string]any) { lead["id"] = 42 }, "lead.id", "must be a string"},
		{"franchise id too long", func(ev, lead map[string]any) { lead["franchise"] = map[string]any{"id": long} }, "lead.franchise.id", "at most 128"},
		{"franchise id a number", func(ev, lead map[string]any) { lead["franchise"] = map[string]any{"id": 7} }, "lead.franchise.id", "must be a string"},
		{"account id too long", func(ev, lead map[string]any) { lead["account"] = map[string]any{"id": long} }, "lead.account.id", "at most 128"},
		{"contact id too long", func(ev, lead map[string]any) { lead["contact"] = map[string]any{"id": long} }, "lead.contact.id", "at most 128"},
		{"event id too long", func(ev, lead map[string]any) { ev["id"] = long }, "id", "200"},
		{"event id with a control character", func(ev, lead map[string]any) { ev["id"] = "ev\x00" }, "id", "control characters"},
		{"multibyte lead id at the limit", func(ev, lead map[string]any) { lead["id"] = strings.Repeat("é", ingest.MaxIDLength) }, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, problems := ingest.ParseEvent(eventWith(t, tc.edit))
			if tc.path == "" {
				if len(problems) > 0 {
					t.Fatalf("valid event rejected: %v", problems)
				}
				return
			}
			for _, p := range problems {
				if p.Path == tc.path && strings.Contains(p.Message, tc.want) {
					return
				}
			}
			t.Fatalf("problems %v, want one at %s mentioning %q", problems, tc.path, tc.want)
		})
	}
}

// Whatever the body, ParseEvent does not panic, and an event it accepts
// meets every documented limit.
func FuzzParseEvent(f *testing.F) {
	f.Add([]byte(`{"id":"e1","type":"LEAD_CREATED","occurredAt":"2026-11-24T10:00:00Z","lead":{"id":"l1","franchise":{"id":"f1"}}}`))
	f.Add([]byte(`{"id":"e1","type":"LEAD_UPDATED","occurredAt":"2026-11-24T10:00:00Z","lead":{"id":"l1","franchise":{"id":"f1"},"account":{"id":"a"},"contact":{"id":null}},"previous":{"stage":"x"}}`))
	f.Add([]byte(`{"lead":{"id":5,"franchise":"x"}}`))
	f.Add([]byte(`{"id":"e1","type":"LEAD_CREATED","occurredAt":"2026-11-24T10:00:00Z","lead":{"id":"` + strings.Repeat("9", 300) + `","franchise":{"id":"f"}}}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, problems := ingest.ParseEvent(body)
		if len(problems) > 0 {
			for _, p := range problems {
				if p.Message == "" {
					t.Fatalf("a problem without a message: %+v", p)
				}
			}
			return
		}
		if !event.IsType(ev.Type) || ev.ID == "" || utf8.RuneCountInString(ev.ID) > 200 || ev.OccurredAt.IsZero() {
			t.Fatalf("accepted an invalid envelope: %+v", ev)
		}
		for path, id := range map[string]string{"lead.id": ev.LeadID(), "lead.franchise.id": ev.FranchiseID()} {
			if id == "" || utf8.RuneCountInString(id) > ingest.MaxIDLength || strings.ContainsAny(id, "\x00\n\r") {
				t.Fatalf("accepted %s %q", path, id)
			}
		}
	})
}
