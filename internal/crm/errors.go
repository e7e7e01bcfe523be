package crm

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Error is a failure talking to a CRM. Retryable errors (rate limits, 5xx,
// network) may carry the delay the vendor asked for; the others fail the
// node at once. Message is written for the operator and never copies a
// response body wholesale, since CRM responses may echo personal data.
type Error struct {
	Provider   string
	Object     string // object key, when the error concerns one object
	Field      string // field name(s), when the vendor named them
	Code       string // the vendor's error code, e.g. REQUEST_LIMIT_EXCEEDED
	StatusCode int
	Message    string
	Retryable  bool
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Provider)
	if e.Object != "" {
		b.WriteString(" " + e.Object)
	}
	b.WriteString(": ")
	if e.Code != "" {
		b.WriteString(e.Code + ": ")
	}
	b.WriteString(e.Message)
	if e.Field != "" {
		b.WriteString(" (fields: " + e.Field + ")")
	}
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, " [HTTP %d]", e.StatusCode)
	}
	return b.String()
}

// AsError returns the *Error in err's chain, if any.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// IsRetryable reports whether err is worth retrying: a retryable *Error, or
// any error that is not a *Error (network failures, timeouts).
func IsRetryable(err error) bool {
	if e, ok := AsError(err); ok {
		return e.Retryable
	}
	return err != nil
}

// IsAuthFailure reports whether err is the vendor refusing the credentials:
// HTTP 401, Salesforce's INVALID_SESSION_ID or an OAuth invalid_grant (a
// refresh token that no longer works). Rate limits and 5xx are not.
func IsAuthFailure(err error) bool {
	e, ok := AsError(err)
	if !ok {
		return false
	}
	return e.StatusCode == http.StatusUnauthorized || e.Code == "INVALID_SESSION_ID" || e.Code == "invalid_grant"
}

// StatusRetryable reports whether an HTTP status is transient.
func StatusRetryable(code int) bool {
	return code == http.StatusTooManyRequests || code == http.StatusRequestTimeout || code >= 500
}

// Truncate shortens a vendor message for logs and errors.
func Truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
