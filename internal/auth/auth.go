// Package auth identifies callers of the starter's management API
// (/api/*, the console): the admin token, or a franchise-scoped token kept
// hashed in the store. Handlers read the caller's Identity from the request
// context and check every object's franchise with Identity.CanAccess.
//
// Another franchise's object answers 404, exactly like a missing one, so a
// scoped token cannot learn which ids exist elsewhere. A request that names
// another franchise itself (a filter, a body's franchise) answers 403: the
// caller already knows that franchise, and the answer says what to fix.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/conecrm/automation-runtime/internal/validate"
)

// Identity is who calls.
type Identity struct {
	// TokenID names the credential: "admin" or a stored token's id. It is
	// safe to log; the token itself never is.
	TokenID string `json:"tokenId"`
	// Franchise is the only franchise a scoped caller sees and changes;
	// empty for the admin, who sees every franchise.
	Franchise string `json:"franchise,omitempty"`
	// UserID, when known, is the ConeCRM user acting: the token's user, or
	// the X-User-Id header. It fills createdBy, modifiedBy and deletedBy;
	// it is attribution, not authorisation.
	UserID string `json:"userId,omitempty"`
}

// AdminTokenID is the TokenID of the admin token.
const AdminTokenID = "admin"

// Admin reports whether the caller sees every franchise.
func (id Identity) Admin() bool { return id.Franchise == "" }

// CanAccess reports whether the caller may see and change an object of
// franchise f. A scoped caller never sees an object without a franchise.
func (id Identity) CanAccess(f string) bool { return id.Admin() || (f != "" && f == id.Franchise) }

// Scope is the franchise filter to apply to listings: the caller's own
// franchise, or requested (403-worthy when a scoped caller asks for another:
// ok is false). An admin with no request sees everything ("").
func (id Identity) Scope(requested string) (franchise string, ok bool) {
	if id.Admin() {
		return requested, true
	}
	if requested != "" && requested != id.Franchise {
		return "", false
	}
	return id.Franchise, true
}

type ctxKey struct{}

// NewContext returns ctx carrying id.
func NewContext(ctx context.Context, id Identity) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// FromContext returns the caller's identity. Without one (a handler mounted
// without Require) the caller is nobody: a scoped identity with an
// impossible franchise, so a forgotten middleware fails closed.
func FromContext(ctx context.Context) Identity {
	if id, ok := ctx.Value(ctxKey{}).(Identity); ok {
		return id
	}
	return Identity{TokenID: "none", Franchise: "\x00none"}
}

// Token is a stored franchise-scoped token, without its secret.
type Token struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Franchise string    `json:"franchise"`
	UserID    string    `json:"userId,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
	// CreatedBy is the token id of the caller that created it.
	CreatedBy string `json:"createdBy,omitempty"`
}

// ErrUnknownToken: no live token has this hash.
var ErrUnknownToken = errors.New("unknown token")

// Tokens looks tokens up by the SHA-256 of their secret.
type Tokens interface {
	TokenByHash(ctx context.Context, hash string) (Token, error)
}

// TokenPrefix starts every generated token, so a leaked one is recognisable.
const TokenPrefix = "cat_"

// NewSecret returns a fresh token secret (256 random bits) and its hash.
func NewSecret() (secret, hash string) {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	secret = TokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	return secret, Hash(secret)
}

// Hash is what the store keeps of a token: SHA-256, hex. A plain hash is
// enough (no bcrypt) because secrets are 256 random bits, not passwords: a
// leaked hash cannot be brute-forced, and lookup stays one indexed read.
func Hash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// Authenticator checks credentials: the admin token (from configuration)
// or a stored franchise token.
type Authenticator struct {
	AdminToken string
	// Tokens, when set, holds the franchise-scoped tokens.
	Tokens Tokens
	// Realm names the service in WWW-Authenticate.
	Realm string
}

// Credential is the token a request carries: "Authorization: Bearer <t>",
// else the x-api-key header (what Heron's API uses).
func Credential(r *http.Request) string {
	if h := r.Header.Get("Authorization"); h != "" {
		if t, ok := strings.CutPrefix(h, "Bearer "); ok {
			return strings.TrimSpace(t)
		}
		return ""
	}
	return strings.TrimSpace(r.Header.Get("X-Api-Key"))
}

// UserHeader asserts the acting ConeCRM user (a UUID) for record fields.
const UserHeader = "X-User-Id"

var uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// Authenticate returns the identity of token; ErrUnknownToken when it is
// neither the admin token nor a live stored one. Other errors mean the
// store did not answer.
func (a *Authenticator) Authenticate(ctx context.Context, token string) (Identity, error) {
	if token == "" {
		return Identity{}, ErrUnknownToken
	}
	if a.AdminToken != "" && subtle.ConstantTimeCompare([]byte(token), []byte(a.AdminToken)) == 1 {
		return Identity{TokenID: AdminTokenID}, nil
	}
	if a.Tokens == nil {
		return Identity{}, ErrUnknownToken
	}
	// The lookup is by hash, so timing reveals nothing about the secret.
	t, err := a.Tokens.TokenByHash(ctx, Hash(token))
	if err != nil {
		return Identity{}, err
	}
	return Identity{TokenID: t.ID, Franchise: t.Franchise, UserID: t.UserID}, nil
}

// Require admits requests carrying a valid credential and puts the
// caller's Identity in their context; others get 401 (503 when the token
// store does not answer).
func (a *Authenticator) Require(next http.Handler) http.Handler {
	realm := a.Realm
	if realm == "" {
		realm = "starter"
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := a.Authenticate(r.Context(), Credential(r))
		switch {
		case errors.Is(err, ErrUnknownToken):
			w.Header().Set("WWW-Authenticate", `Bearer realm="`+realm+`"`)
			WriteError(w, http.StatusUnauthorized, "missing or wrong token: send Authorization: Bearer <token> (or x-api-key: <token>)")
			return
		case err != nil:
			WriteError(w, http.StatusServiceUnavailable, "cannot check the token now; retry")
			return
		}
		if id.UserID == "" {
			if u := r.Header.Get(UserHeader); uuidRE.MatchString(u) {
				id.UserID = strings.ToLower(u)
			}
		}
		next.ServeHTTP(w, r.WithContext(NewContext(r.Context(), id)))
	})
}

// AdminOnly answers 403 to scoped callers.
func AdminOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !FromContext(r.Context()).Admin() {
			WriteError(w, http.StatusForbidden, "this endpoint needs the admin token")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Forbidden answers 403 for a request that names another franchise; the
// problem's path is the field (or query parameter) that named it.
func Forbidden(w http.ResponseWriter, field string) {
	const msg = "a franchise token may only name its own franchise"
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusForbidden)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": field + ": " + msg, "problems": validate.Problems{{Path: field, Message: msg}}})
}

// WriteError writes {"error": msg} with status.
func WriteError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

// Fixed serves next as id, without checking any credential: for tests and
// in-process callers that authenticated otherwise.
func Fixed(id Identity, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(NewContext(r.Context(), id)))
	})
}
