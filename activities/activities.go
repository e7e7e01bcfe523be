// Package activities holds every Temporal activity of the automation runtime.
// Activities are methods on Activities, which holds their dependencies; the
// worker registers one instance with RegisterActivity.
package activities

import (
	"context"
	"errors"
	"net/http"

	"github.com/rs/zerolog"
	"go.temporal.io/sdk/temporal"

	"github.com/conecrm/automation-runtime/internal/conecrm"
	"github.com/conecrm/automation-runtime/internal/crm/push"
	"github.com/conecrm/automation-runtime/internal/logging"
)

// Activities holds the dependencies of every activity.
type Activities struct {
	ConeCRM *conecrm.Client
	CRM     *push.Pusher
	// HTTP sends webhook calls; nil uses http.DefaultClient.
	HTTP *http.Client
	Log  zerolog.Logger
}

// log is the activity's logger: the one the worker's interceptor puts in
// ctx (naming the workflow, run, automation, version and node), else a.Log.
func (a *Activities) log(ctx context.Context) *zerolog.Logger {
	return logging.FromContext(ctx, a.Log)
}

// Error types, matched by the workflow's retry policies.
const (
	ErrInvalidInput  = "InvalidInput"
	ErrRejected      = "Rejected"
	ErrUnauthorized  = "Unauthorized"
	ErrNotFound      = "NotFound"
	ErrRetryableHTTP = "RetryableHTTP"
)

// NonRetryableErrorTypes are the error types a retry cannot fix.
var NonRetryableErrorTypes = []string{ErrInvalidInput, ErrRejected, ErrUnauthorized, ErrNotFound}

// coneCRMError maps a ConeCRM client error to a Temporal application error:
// 4xx fail at once, 408/429/5xx and network errors retry, honouring Retry-After.
func coneCRMError(nodeID string, err error) error {
	var e *conecrm.Error
	if !errors.As(err, &e) {
		return temporal.NewApplicationErrorWithOptions("node "+nodeID+": "+err.Error(), ErrRetryableHTTP, temporal.ApplicationErrorOptions{})
	}
	msg := "node " + nodeID + ": " + e.Error()
	if e.Retryable() {
		return temporal.NewApplicationErrorWithOptions(msg, ErrRetryableHTTP, temporal.ApplicationErrorOptions{NextRetryDelay: e.RetryAfter})
	}
	typ := ErrRejected
	switch e.Status {
	case 401, 403:
		typ = ErrUnauthorized
	case 404:
		typ = ErrNotFound
	}
	return temporal.NewApplicationErrorWithOptions(msg, typ, temporal.ApplicationErrorOptions{NonRetryable: true})
}
