package ingest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/conecrm/automation-runtime/internal/auth"
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
// missing or stale signature (when Secret is set) or an unknown API token,
// 415 for a content type other than JSON, 400 listing every problem of the
// envelope, 403 for a franchise token posting another franchise's lead, 503
// with Retry-After when the event could not be applied yet (nothing is lost:
// retry it; this includes a duplicate arriving while another delivery
// applies the event), else 200 with one outcome per automation concerned.
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
	// An API token, when sent, authenticates the sender instead of the
	// signature; a franchise token then posts only its franchise's events.
	var caller *auth.Identity
	if cred := auth.Credential(r); cred != "" && in.Tokens != nil {
		id, err := in.Tokens.Authenticate(r.Context(), cred)
		switch {
		case errors.Is(err, auth.ErrUnknownToken):
			WriteJSON(w, http.StatusUnauthorized, ErrorResponse{Error: "unauthenticated: unknown API token"})
			return
		case err != nil:
			WriteJSON(w, http.StatusServiceUnavailable, ErrorResponse{Error: "cannot check the token now; retry"})
			return
		}
		caller = &id
	}
	if len(in.Secret) > 0 && caller == nil {
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
	if caller != nil && !caller.Admin() && ev.FranchiseID() != caller.Franchise {
		msg := fmt.Sprintf("a franchise token may only post events for its own franchise (%s), not %s", caller.Franchise, ev.FranchiseID())
		WriteJSON(w, http.StatusForbidden, ErrorResponse{Error: "lead.franchise.id: " + msg, Problems: validate.Problems{{Path: "lead.franchise.id", Message: msg}}})
		return
	}
	outcomes, err := in.Deliver(r.Context(), ev)
	if err != nil {
		if errors.Is(err, ErrInProgress) {
			in.Log.Info().Str("event_id", ev.ID).Msg("event delivered while another delivery applies it; asked to retry")
		} else {
			in.Log.Error().Err(err).Str("event_id", ev.ID).Msg("event delivery failed")
		}
		w.Header().Set("Retry-After", "1")
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
	if ev.Lead != nil && ev.FranchiseID() == "" {
		problems = append(problems, validate.Problem{Path: "lead.franchise.id", Message: "is required: an event enrols the lead only in its franchise's automations"})
	}
	problems = append(problems, idProblems(ev)...)
	return ev, problems
}

// WriteJSON writes v with a status code.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// MaxIDLength bounds the ids an event carries (lead, franchise, account,
// contact; ConeCRM's are 36-character UUIDs). Longer ids would exceed
// Temporal's limits on search attributes (the LeadId attribute) and make a
// poison event that fails on every retry; they are rejected up front.
const MaxIDLength = 128

// idProblems checks the ids of an event: length and no control
// characters, each named by its JSON path.
func idProblems(ev event.Lead) validate.Problems {
	var problems validate.Problems
	check := func(path, v string, max int) {
		switch n := utf8.RuneCountInString(v); {
		case n > max:
			problems = append(problems, validate.Problem{Path: path, Message: fmt.Sprintf("must be at most %d characters (got %d)", max, n)})
		case strings.IndexFunc(v, unicode.IsControl) >= 0 || !utf8.ValidString(v):
			problems = append(problems, validate.Problem{Path: path, Message: "must not contain control characters or invalid UTF-8"})
		}
	}
	check("id", ev.ID, 1<<20) // its length is event.Lead's tag (max=200)
	if ev.Lead == nil {
		return problems
	}
	if v, ok := ev.Lead["id"]; ok {
		if _, isString := v.(string); !isString && v != nil {
			problems = append(problems, validate.Problem{Path: "lead.id", Message: "must be a string"})
		}
	}
	check("lead.id", ev.LeadID(), MaxIDLength)
	for _, ref := range []string{"franchise", "account", "contact"} {
		m, ok := ev.Lead[ref].(map[string]any)
		if !ok {
			continue
		}
		switch id := m["id"].(type) {
		case string:
			check("lead."+ref+".id", id, MaxIDLength)
		case nil:
		default:
			problems = append(problems, validate.Problem{Path: "lead." + ref + ".id", Message: "must be a string"})
		}
	}
	return problems
}
