package auth

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/conecrm/automation-runtime/internal/routes"
	"github.com/conecrm/automation-runtime/internal/validate"
)

// TokenStore keeps franchise-scoped tokens.
type TokenStore interface {
	Tokens
	CreateToken(ctx context.Context, t Token, hash string) error
	ListTokens(ctx context.Context, franchise string) ([]Token, error)
	RevokeToken(ctx context.Context, id string) error
}

// TokensAPI manages franchise-scoped tokens, admin token only:
//
//	POST   /api/tokens       201 {"token": {...}, "secret": "cat_..."} (the secret is shown once) | 400
//	GET    /api/tokens       200 {"tokens": [...]} (?franchise= filters)
//	DELETE /api/tokens/{id}  204 | 404
type TokensAPI struct {
	Store TokenStore
	Now   func() time.Time
}

// Register adds the routes to mux, behind AdminOnly.
func (a *TokensAPI) Register(mux routes.Registrar) {
	mux.Handle("POST /api/tokens", AdminOnly(http.HandlerFunc(a.create)))
	mux.Handle("GET /api/tokens", AdminOnly(http.HandlerFunc(a.list)))
	mux.Handle("DELETE /api/tokens/{id}", AdminOnly(http.HandlerFunc(a.revoke)))
}

// NewToken is the body of POST /api/tokens.
type NewToken struct {
	Name      string `json:"name"`
	Franchise string `json:"franchise"`
	UserID    string `json:"userId,omitempty"`
}

// Created is the answer to POST /api/tokens.
type Created struct {
	Token  Token  `json:"token"`
	Secret string `json:"secret"`
}

// Issue creates a token for a franchise and returns it with its secret,
// which is not kept and cannot be shown again.
func Issue(ctx context.Context, st TokenStore, in NewToken, by string, now time.Time) (Created, error) {
	if problems := in.Problems(); len(problems) > 0 {
		return Created{}, &InvalidError{Problems: problems}
	}
	secret, hash := NewSecret()
	t := Token{ID: uuid.Must(uuid.NewV7()).String(), Name: in.Name, Franchise: strings.ToLower(in.Franchise), UserID: strings.ToLower(in.UserID), CreatedAt: now.UTC().Truncate(time.Millisecond), CreatedBy: by}
	if err := st.CreateToken(ctx, t, hash); err != nil {
		return Created{}, err
	}
	return Created{Token: t, Secret: secret}, nil
}

// InvalidError lists what is wrong with a NewToken.
type InvalidError struct{ Problems validate.Problems }

func (e *InvalidError) Error() string { return "invalid token: " + e.Problems.Error() }

// Problems lists what is wrong, each naming its field.
func (in NewToken) Problems() validate.Problems {
	var p validate.Problems
	if n := strings.TrimSpace(in.Name); n == "" || len(n) > 200 {
		p = append(p, validate.Problem{Path: "name", Message: "required, at most 200 characters"})
	}
	if !uuidRE.MatchString(in.Franchise) {
		p = append(p, validate.Problem{Path: "franchise", Message: "required, the franchise id (a UUID)"})
	}
	if in.UserID != "" && !uuidRE.MatchString(in.UserID) {
		p = append(p, validate.Problem{Path: "userId", Message: "must be a UUID"})
	}
	return p
}

func (a *TokensAPI) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

func (a *TokensAPI) create(w http.ResponseWriter, r *http.Request) {
	var in NewToken
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err == nil {
		err = json.Unmarshal(body, &in)
	}
	if err != nil {
		WriteError(w, http.StatusBadRequest, "the body must be a JSON object {name, franchise, userId}: "+err.Error())
		return
	}
	c, err := Issue(r.Context(), a.Store, in, FromContext(r.Context()).TokenID, a.now())
	var ie *InvalidError
	switch {
	case errors.As(err, &ie):
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid token", "problems": ie.Problems})
	case err != nil:
		WriteError(w, http.StatusServiceUnavailable, "the token store is unavailable; nothing was created")
	default:
		writeJSON(w, http.StatusCreated, c)
	}
}

func (a *TokensAPI) list(w http.ResponseWriter, r *http.Request) {
	ts, err := a.Store.ListTokens(r.Context(), r.URL.Query().Get("franchise"))
	if err != nil {
		WriteError(w, http.StatusServiceUnavailable, "the token store is unavailable")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"tokens": ts})
}

func (a *TokensAPI) revoke(w http.ResponseWriter, r *http.Request) {
	err := a.Store.RevokeToken(r.Context(), r.PathValue("id"))
	switch {
	case errors.Is(err, ErrUnknownToken):
		WriteError(w, http.StatusNotFound, "token not found")
	case err != nil:
		WriteError(w, http.StatusServiceUnavailable, "the token store is unavailable; nothing was revoked")
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
