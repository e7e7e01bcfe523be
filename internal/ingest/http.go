package ingest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/conecrm/automation-runtime/internal/event"
	"github.com/conecrm/automation-runtime/internal/validate"
)

// MaxEventBytes bounds an event body.
const MaxEventBytes = 1 << 20

// EventsResponse is the body of a POST /events answer.
type EventsResponse struct {
	EventID     string    `json:"eventId"`
	LeadID      string    `json:"leadId"`
	Automations []Outcome `json:"automations"`
}

// ErrorResponse is the body of every error answer.
type ErrorResponse struct {
	Error string `json:"error"`
	// Problems locate what is wrong with an invalid event by JSON path.
	Problems validate.Problems `json:"problems,omitempty"`
}

// HandleEvents serves POST /events: 413 over MaxEventBytes, 401 for a bad,
// missing or stale signature (when Secret is set), 415 for a content type
// other than JSON, 400 listing every problem of the envelope, 503 when the
// event could not be applied (nothing is lost: retry it), else 200 with one
// outcome per automation concerned.
func (in *Ingester) HandleEvents(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxEventBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			WriteJSON(w, http.StatusRequestEntityTooLarge, ErrorResponse{Error: fmt.Sprintf("event body exceeds %d bytes", MaxEventBytes)})
			return
		}
		WriteJSON(w, http.StatusBadRequest, ErrorResponse{Error: "reading body: " + err.Error()})
		return
	}
	if len(in.Secret) > 0 {
		if err := Verify(in.Secret, r.Header.Get(HeaderTimestamp), r.Header.Get(HeaderSignature), body, in.now()); err != nil {
			WriteJSON(w, http.StatusUnauthorized, ErrorResponse{Error: "unauthenticated: " + err.Error()})
			return
		}
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			WriteJSON(w, http.StatusUnsupportedMediaType, ErrorResponse{Error: fmt.Sprintf("content type %q: send application/json", ct)})
			return
		}
	}
	ev, problems := ParseEvent(body)
	if len(problems) > 0 {
		WriteJSON(w, http.StatusBadRequest, ErrorResponse{Error: "invalid event", Problems: problems})
		return
	}
	outcomes, err := in.Deliver(r.Context(), ev)
	if err != nil {
		in.Log.Error().Err(err).Str("event_id", ev.ID).Msg("event delivery failed")
		WriteJSON(w, http.StatusServiceUnavailable, ErrorResponse{Error: "delivery failed; retry the event: " + err.Error()})
		return
	}
	WriteJSON(w, http.StatusOK, EventsResponse{EventID: ev.ID, LeadID: ev.LeadID(), Automations: outcomes})
}

// ParseEvent decodes and validates an event envelope, listing every problem.
func ParseEvent(body []byte) (event.Lead, validate.Problems) {
	var ev event.Lead
	if err := json.Unmarshal(body, &ev); err != nil {
		return ev, validate.Problems{{Message: "malformed JSON: " + err.Error()}}
	}
	problems := validate.Fields(ev)
	if ev.Type != "" && !event.IsType(ev.Type) {
		problems = append(problems, validate.Problem{Path: "type", Message: fmt.Sprintf("unknown event type %q (one of %s)", ev.Type, strings.Join(event.Types(), ", "))})
	}
	if ev.Lead != nil && ev.LeadID() == "" {
		problems = append(problems, validate.Problem{Path: "lead.id", Message: "is required"})
	}
	return ev, problems
}

// WriteJSON writes v with a status code.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
