package metrics

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"

	"github.com/conecrm/automation-runtime/internal/event"
)

// Transport counts every request to an external system by status class.
// A nil base uses http.DefaultTransport.
func Transport(system string, base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &transport{system: system, base: base, reg: std}
}

// Client is an HTTP client whose requests are counted under system.
func Client(system string, c *http.Client) *http.Client {
	out := &http.Client{}
	if c != nil {
		*out = *c
	}
	out.Transport = Transport(system, out.Transport)
	return out
}

type transport struct {
	system string
	base   http.RoundTripper
	reg    *Registry
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	status := 0
	if resp != nil {
		status = resp.StatusCode
	}
	t.reg.ExternalCall(t.system, status, err)
	return resp, err
}

// Events wraps the starter's POST /events handler: it counts each event by
// type and outcome (accepted, rejected, failed) and each enrolment in the
// answer, without the ingest package knowing about metrics.
func Events(next http.Handler) http.Handler { return std.Events(next) }

// maxPeekBytes bounds how much of a request body Events reads for the type.
const maxPeekBytes = 1 << 20

// Events is the middleware for this registry.
func (r *Registry) Events(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, err := io.ReadAll(io.LimitReader(req.Body, maxPeekBytes+1))
		if err != nil {
			r.EventReceived("unknown", "rejected")
			http.Error(w, "reading body: "+err.Error(), http.StatusBadRequest)
			return
		}
		req.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), req.Body))
		var head struct {
			Type string `json:"type"`
		}
		_ = json.Unmarshal(body, &head)
		rec := &recorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, req)
		eventType := head.Type
		if !event.IsType(eventType) {
			eventType = "unknown" // bounded label values whatever clients send
		}
		switch {
		case rec.status >= 500:
			r.EventReceived(eventType, "failed")
		case rec.status >= 400:
			r.EventReceived(eventType, "rejected")
		default:
			r.EventReceived(eventType, "accepted")
			var answer struct {
				Automations []struct {
					AutomationID string `json:"automationId"`
					Result       string `json:"result"`
				} `json:"automations"`
			}
			if json.Unmarshal(rec.body.Bytes(), &answer) == nil {
				for _, a := range answer.Automations {
					if a.Result == "enrolled" {
						r.Enrolled(a.AutomationID)
					}
				}
			}
		}
	})
}

// recorder passes the answer through and keeps a copy for counting.
type recorder struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (r *recorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.body.Len() < maxPeekBytes {
		r.body.Write(p)
	}
	return r.ResponseWriter.Write(p)
}
