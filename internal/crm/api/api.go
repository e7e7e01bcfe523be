// Package api serves the Heron-compatible CRM integrations API:
//
//	POST  /api/crm_integrations             201 {"crm_integration": {...}}
//	GET   /api/crm_integrations             200 {"crm_integrations": [...]}
//	GET   /api/crm_integrations/{heron_id}  200 {...}
//	PATCH /api/crm_integrations/{heron_id}  200 {...} (JSON merge patch)
//	POST  /api/integrations/{heron_id}/links            201|200 {"link": {...}}
//	GET   /api/integrations/{heron_id}/links            200 {"links": [...]}
//	GET   /api/integrations/{heron_id}/links/{item_id}  200 {"link": {...}}
//
// secret and auth are write-only: sealed with the Cipher, never returned or
// logged. Invalid bodies get 400 {"error", "problems": [{"path","message"}]}
// listing every problem; unknown ids 404. Authentication is the caller's
// (the starter wraps this handler and puts an auth.Identity in the
// context): a franchise token sees only its franchise's integrations
// (others are 404) and may not name another franchise_id (403).
package api

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/conecrm/automation-runtime/internal/jsonmerge"
	"github.com/conecrm/automation-runtime/internal/validate"

	"github.com/rs/zerolog"

	"github.com/conecrm/automation-runtime/internal/auth"
	"github.com/conecrm/automation-runtime/internal/crm"
	"github.com/conecrm/automation-runtime/internal/routes"
)

// Handler serves the integrations API.
type Handler struct {
	store    crm.Store
	links    crm.LinkStore
	cipher   *crm.Cipher
	notifier *crm.Notifier
	log      zerolog.Logger
	now      func() time.Time
	mux      *routes.Mux
}

var _ http.Handler = (*Handler)(nil)

// New returns the handler. The links endpoints are served when store is
// also a crm.LinkStore (both stores are). Link status changes made here (a
// login-required link updated with a new token) are notified through
// WEBHOOK_SIGNING_SECRET's Notifier; SetNotifier replaces it.
func New(store crm.Store, cipher *crm.Cipher, log zerolog.Logger) *Handler {
	h := &Handler{store: store, cipher: cipher, log: log, now: time.Now, mux: routes.New()}
	h.notifier = crm.NotifierFromEnv(nil, log)
	h.mux.HandleFunc("POST /api/crm_integrations", h.create)
	h.mux.HandleFunc("GET /api/crm_integrations", h.list)
	h.mux.HandleFunc("GET /api/crm_integrations/{heron_id}", h.get)
	h.mux.HandleFunc("PATCH /api/crm_integrations/{heron_id}", h.patch)
	if links, ok := store.(crm.LinkStore); ok {
		h.links = links
		h.mux.HandleFunc("POST /api/integrations/{heron_id}/links", h.createLink)
		h.mux.HandleFunc("GET /api/integrations/{heron_id}/links", h.listLinks)
		h.mux.HandleFunc("GET /api/integrations/{heron_id}/links/{item_id}", h.getLink)
	}
	return h
}

// SetNotifier replaces the notifier of link status changes.
func (h *Handler) SetNotifier(n *crm.Notifier) { h.notifier = n }

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// Routes lists the patterns served (the starter mounts the handler under
// prefixes; its OpenAPI test compares these with the document).
func (h *Handler) Routes() []string { return h.mux.Routes() }

const maxBody = 1 << 20

type errorBody struct {
	Error    string            `json:"error"`
	Problems validate.Problems `json:"problems,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	var ve *crm.ValidationError
	switch {
	case errors.As(err, &ve):
		writeJSON(w, http.StatusBadRequest, errorBody{Error: "invalid crm integration", Problems: ve.Problems})
	case errors.Is(err, crm.ErrNotFound):
		writeJSON(w, http.StatusNotFound, errorBody{Error: "crm integration not found"})
	case errors.Is(err, crm.ErrLinkItemTaken):
		writeJSON(w, http.StatusConflict, errorBody{Error: err.Error()})
	default:
		h.log.Error().Err(err).Str("path", r.URL.Path).Msg("crm integrations api")
		writeJSON(w, http.StatusInternalServerError, errorBody{Error: "internal error"})
	}
}

func readBody(r *http.Request) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxBody {
		return nil, &crm.ValidationError{Problems: validate.Problems{{Path: "$", Message: "body larger than 1 MiB"}}}
	}
	return data, nil
}

func newID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return "crm_" + hex.EncodeToString(b)
}

func (h *Handler) create(w http.ResponseWriter, r *http.Request) {
	data, err := readBody(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var in crm.IntegrationInput
	if err := crm.DecodeInput(data, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	in.HeronID = ""
	caller := auth.FromContext(r.Context())
	if !caller.Admin() && in.FranchiseID == "" {
		in.FranchiseID = caller.Franchise
	}
	if !caller.CanAccess(in.FranchiseID) {
		auth.Forbidden(w, "franchise_id")
		return
	}
	verr := crm.Validate(&in.Integration)
	if in.Secret == nil || *in.Secret == "" {
		verr = appendProblem(verr, validate.Problem{Path: "$.secret", Message: "is required"})
	}
	if verr != nil {
		h.fail(w, r, verr)
		return
	}
	id := newID()
	sealed, err := h.cipher.Seal(id, crm.Credentials{Secret: *in.Secret, Auth: in.Auth})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	integ := in.Integration
	integ.HeronID = id
	raw, err := json.Marshal(integ)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	now := h.now().UTC()
	if err := h.store.Create(r.Context(), crm.Record{HeronID: id, Integration: raw, SealedCredentials: sealed, CreatedAt: now, UpdatedAt: now}); err != nil {
		h.fail(w, r, err)
		return
	}
	h.log.Info().Str("heron_id", id).Str("provider", integ.Provider).Msg("crm integration created")
	writeJSON(w, http.StatusCreated, map[string]any{"crm_integration": integ})
}

func appendProblem(err error, ps ...validate.Problem) error {
	var ve *crm.ValidationError
	if errors.As(err, &ve) {
		ve.Problems = append(ve.Problems, ps...)
		return ve
	}
	if err != nil || len(ps) == 0 {
		return err
	}
	return &crm.ValidationError{Problems: ps}
}

func isEmptyObject(v any) bool {
	m, ok := v.(map[string]any)
	return ok && len(m) == 0
}

// toAny copies auth into a fresh map for jsonmerge, which edits in place.
func toAny(auth map[string]any) any {
	out := make(map[string]any, len(auth))
	for k, v := range auth {
		out[k] = v
	}
	return out
}

func decodeStored(rec crm.Record) (crm.Integration, error) {
	var in crm.Integration
	err := json.Unmarshal(rec.Integration, &in)
	in.HeronID = rec.HeronID
	return in, err
}

func (h *Handler) list(w http.ResponseWriter, r *http.Request) {
	recs, err := h.store.List(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	caller := auth.FromContext(r.Context())
	out := make([]crm.Integration, 0, len(recs))
	for _, rec := range recs {
		in, err := decodeStored(rec)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		if caller.CanAccess(in.FranchiseID) {
			out = append(out, in)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"crm_integrations": out})
}

func (h *Handler) get(w http.ResponseWriter, r *http.Request) {
	_, in, err := h.load(r, r.PathValue("heron_id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, in)
}

// load returns an integration the caller may see; another franchise's is
// crm.ErrNotFound, like a missing one.
func (h *Handler) load(r *http.Request, id string) (crm.Record, crm.Integration, error) {
	rec, err := h.store.Get(r.Context(), id)
	if err != nil {
		return rec, crm.Integration{}, err
	}
	in, err := decodeStored(rec)
	if err != nil {
		return rec, in, err
	}
	if !auth.FromContext(r.Context()).CanAccess(in.FranchiseID) {
		return crm.Record{}, crm.Integration{}, crm.ErrNotFound
	}
	return rec, in, nil
}

// patch applies the body as a JSON merge patch (RFC 7396) to the stored
// integration: given fields replace stored ones (arrays whole), null
// removes them. The write-only credentials are kept unless clearly
// replaced: a non-empty secret replaces the sealed one ("" and null keep
// it); auth is merged key by key into the sealed auth, so "auth": {} keeps
// every key, {"k": "v"} sets k, {"k": null} removes k, and "auth": null
// removes all of it.
func (h *Handler) patch(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("heron_id")
	rec, _, err := h.load(r, id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	data, err := readBody(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var patch map[string]any
	if err := json.Unmarshal(data, &patch); err != nil || patch == nil {
		h.fail(w, r, &crm.ValidationError{Problems: validate.Problems{{Path: "$", Message: "body must be a JSON object"}}})
		return
	}
	secretPatch, hasSecret := patch["secret"]
	authPatch, hasAuth := patch["auth"]
	delete(patch, "secret")
	delete(patch, "auth")
	var verr error
	if _, ok := secretPatch.(string); hasSecret && secretPatch != nil && !ok {
		verr = appendProblem(verr, validate.Problem{Path: "$.secret", Message: "must be a string"})
	}
	if _, ok := authPatch.(map[string]any); hasAuth && authPatch != nil && !ok {
		verr = appendProblem(verr, validate.Problem{Path: "$.auth", Message: "must be an object or null"})
	}
	var stored map[string]any
	if err := json.Unmarshal(rec.Integration, &stored); err != nil {
		h.fail(w, r, err)
		return
	}
	merged := jsonmerge.Apply(stored, patch).(map[string]any)
	merged["heron_id"] = id
	mergedJSON, err := json.Marshal(merged)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var in crm.IntegrationInput
	if err := crm.DecodeInput(mergedJSON, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	if !auth.FromContext(r.Context()).CanAccess(in.FranchiseID) {
		auth.Forbidden(w, "franchise_id")
		return
	}
	if err := crm.Validate(&in.Integration); err != nil {
		if ve, ok := verr.(*crm.ValidationError); ok {
			err = appendProblem(err, ve.Problems...)
		}
		verr = err
	}
	if verr != nil {
		h.fail(w, r, verr)
		return
	}
	newSecret, _ := secretPatch.(string)
	if newSecret != "" || (hasAuth && !isEmptyObject(authPatch)) {
		creds, err := h.cipher.Open(id, rec.SealedCredentials)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		if newSecret != "" {
			creds.Secret = newSecret
		}
		if hasAuth {
			merged, _ := jsonmerge.Apply(toAny(creds.Auth), authPatch).(map[string]any)
			creds.Auth = merged
			if authPatch == nil {
				creds.Auth = nil
			}
		}
		if rec.SealedCredentials, err = h.cipher.Seal(id, creds); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	integ := in.Integration
	integ.HeronID = id
	if rec.Integration, err = json.Marshal(integ); err != nil {
		h.fail(w, r, err)
		return
	}
	rec.UpdatedAt = h.now().UTC()
	if err := h.store.Update(r.Context(), rec); err != nil {
		h.fail(w, r, err)
		return
	}
	h.log.Info().Str("heron_id", id).Msg("crm integration updated")
	writeJSON(w, http.StatusOK, integ)
}
