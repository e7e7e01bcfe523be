package activities

import (
	"context"
	"errors"
	"net/http"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/conecrm/automation-runtime/internal/crm"
	"github.com/conecrm/automation-runtime/internal/crm/push"
)

// PushToCRMInput holds only ids and non-secret data: the activity resolves
// the integration and its credentials itself, so no secret reaches the
// workflow history.
type PushToCRMInput struct {
	IntegrationID string `json:"integrationId"`
	NodeID        string `json:"nodeId"`
	// IdempotencyKey is derived from the workflow and node ids.
	IdempotencyKey string `json:"idempotencyKey"`
	// Objects are the object keys to sync; empty syncs all.
	Objects []string `json:"objects,omitempty"`
	// Record is the lead JSON with its contact and account.
	Record map[string]any `json:"record"`
	// Today is the workflow's date (YYYY-MM-DD) in the automation's zone,
	// for static_value_key date_today.
	Today string `json:"today"`
}

// PushToCRMOutput is the node's output for later expressions
// (steps.<node>.objects, steps.<node>.thirdPartyIds, ...).
type PushToCRMOutput = push.Result

// PushToCRM pushes a record through a CRM integration. Progress is
// heartbeated: a retry updates the objects an earlier attempt created
// instead of creating them twice.
func (a *Activities) PushToCRM(ctx context.Context, in PushToCRMInput) (PushToCRMOutput, error) {
	if a.CRM == nil {
		return PushToCRMOutput{}, temporal.NewApplicationErrorWithOptions("node "+in.NodeID+": CRM push is not configured on this worker (CRM_SECRETS_KEY missing?)", ErrInvalidInput, temporal.ApplicationErrorOptions{NonRetryable: true})
	}
	known := map[string]string{}
	if activity.IsActivity(ctx) && activity.HasHeartbeatDetails(ctx) {
		_ = activity.GetHeartbeatDetails(ctx, &known)
	}
	out, err := a.CRM.Push(ctx, push.Request{
		IntegrationID:  in.IntegrationID,
		IdempotencyKey: in.IdempotencyKey,
		Objects:        in.Objects,
		Record:         in.Record,
		Today:          in.Today,
		KnownIDs:       known,
		OnPushed: func(r crm.ObjectResult) {
			known[r.Key] = r.ID
			if activity.IsActivity(ctx) {
				activity.RecordHeartbeat(ctx, known)
			}
		},
	})
	if err != nil {
		return out, crmError(in.NodeID, err)
	}
	return out, nil
}

// crmError maps a push failure to a Temporal application error: vendor
// rejections (4xx, mapping and config errors) fail at once; rate limits,
// 5xx and network errors retry, after the vendor's Retry-After when given.
func crmError(nodeID string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	msg := "node " + nodeID + ": " + err.Error()
	e, ok := crm.AsError(err)
	if !ok || e.Retryable {
		opts := temporal.ApplicationErrorOptions{}
		if ok {
			opts.NextRetryDelay = e.RetryAfter
		}
		return temporal.NewApplicationErrorWithOptions(msg, ErrRetryableHTTP, opts)
	}
	typ := ErrRejected
	switch e.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden:
		typ = ErrUnauthorized
	case http.StatusNotFound:
		typ = ErrNotFound
	}
	return temporal.NewApplicationErrorWithOptions(msg, typ, temporal.ApplicationErrorOptions{NonRetryable: true})
}
