package activities

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"sync"
	"time"

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

// Time limits of push_to_crm, set where the workflow schedules it. A push
// makes several vendor calls of up to 30 s each (the vendor HTTP timeout)
// and a write-back that waits one window to verify, so its attempt may run
// for minutes; the heartbeat, sent every PushHeartbeatInterval and after
// every object created, tells the server within PushHeartbeatTimeout that a
// worker died, instead of after the whole StartToClose.
const (
	PushStartToClose      = 10 * time.Minute
	PushHeartbeatTimeout  = 30 * time.Second
	PushHeartbeatInterval = 5 * time.Second
)

// PushToCRM pushes a record through a CRM integration. Progress is
// heartbeated: the id of every object created is in the heartbeat details
// (object key → CRM id) as soon as the vendor returns it, and a retry reads
// them back and updates those objects instead of creating them again.
func (a *Activities) PushToCRM(ctx context.Context, in PushToCRMInput) (PushToCRMOutput, error) {
	if a.CRM == nil {
		return PushToCRMOutput{}, temporal.NewApplicationErrorWithOptions("node "+in.NodeID+": CRM push is not configured on this worker (CRM_SECRETS_KEY missing?)", ErrInvalidInput, temporal.ApplicationErrorOptions{NonRetryable: true})
	}
	p := &pushProgress{known: map[string]string{}}
	if activity.IsActivity(ctx) && activity.HasHeartbeatDetails(ctx) {
		if err := activity.GetHeartbeatDetails(ctx, &p.known); err != nil {
			a.log(ctx).Warn().Err(err).Str("node_id", in.NodeID).Msg("unreadable push progress from the previous attempt; starting over")
			p.known = map[string]string{}
		} else if len(p.known) > 0 {
			a.log(ctx).Info().Str("node_id", in.NodeID).Int("objects", len(p.known)).Msg("resuming push: updating the objects the previous attempt created")
		}
	}
	if activity.IsActivity(ctx) {
		stop := p.heartbeatEvery(ctx, PushHeartbeatInterval)
		defer stop()
	}
	out, err := a.CRM.Push(ctx, push.Request{
		IntegrationID:  in.IntegrationID,
		IdempotencyKey: in.IdempotencyKey,
		Objects:        in.Objects,
		Record:         in.Record,
		Today:          in.Today,
		KnownIDs:       p.snapshot(),
		OnPushed: func(r crm.ObjectResult) {
			if r.ID != "" {
				p.add(ctx, r.Key, r.ID)
			}
		},
	})
	if err != nil {
		return out, crmError(in.NodeID, err)
	}
	return out, nil
}

// pushProgress is the heartbeat details of a push: the CRM id of every
// object created or updated so far, by object key.
type pushProgress struct {
	mu    sync.Mutex
	known map[string]string
}

func (p *pushProgress) snapshot() map[string]string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return maps.Clone(p.known)
}

// add records an id and heartbeats it at once.
func (p *pushProgress) add(ctx context.Context, key, id string) {
	p.mu.Lock()
	p.known[key] = id
	p.mu.Unlock()
	if activity.IsActivity(ctx) {
		activity.RecordHeartbeat(ctx, p.snapshot())
	}
}

// heartbeatEvery heartbeats the progress every interval until stop is
// called, so a vendor call or the write-back's verify wait never outlasts
// the HeartbeatTimeout while the worker is alive.
func (p *pushProgress) heartbeatEvery(ctx context.Context, interval time.Duration) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				activity.RecordHeartbeat(ctx, p.snapshot())
			}
		}
	}()
	return func() { close(done); wg.Wait() }
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
