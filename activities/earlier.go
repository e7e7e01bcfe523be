package activities

import (
	"context"

	"go.temporal.io/sdk/activity"

	"github.com/conecrm/automation-runtime/internal/conecrm"
)

// Exactly once without the Idempotency-Key header. Seed 003 documents no
// such header, so a ConeCRM that ignores it would run a retried create
// twice when the first answer was lost. Every create therefore carries a
// marker derived from its idempotency key (conecrm.Marker: a task's note,
// a lead copy's subject), and a retry attempt first searches for it with
// POST /api/query-builder/filter/{entity}, returning what the earlier
// attempt created instead of creating another. The first attempt does not
// search: nothing can exist yet, and a search per create would double the
// calls. A retried stage move first reads the lead's stage the same way.

// retrying reports whether this is a retry of the activity, i.e. an
// earlier attempt may have reached ConeCRM.
func retrying(ctx context.Context) bool {
	return activity.IsActivity(ctx) && activity.GetInfo(ctx).Attempt > 1
}

// findEarlierTask returns the task an earlier attempt created with marker,
// or nil. A ConeCRM without the filter endpoint (404) cannot be searched:
// the create goes ahead, relying on the header.
func (a *Activities) findEarlierTask(ctx context.Context, nodeID, marker string, task conecrm.TaskRequest) (*conecrm.Task, error) {
	rules := []conecrm.Rule{{Field: "note", Operator: "contains", Value: marker}}
	if task.Connection != "" {
		rules = append(rules, conecrm.Rule{Field: "connection.id", Operator: "=", Value: task.Connection})
	}
	found, err := a.ConeCRM.FindTasks(ctx, rules...)
	if conecrm.IsNotFound(err) {
		a.log(ctx).Warn().Str("node_id", nodeID).Msg("ConeCRM has no task filter: retrying the create without looking for an earlier one")
		return nil, nil
	}
	if err != nil || len(found) == 0 {
		return nil, err
	}
	return &found[0], nil
}

// findEarlierCopy returns the lead copy an earlier attempt created with
// marker, or nil.
func (a *Activities) findEarlierCopy(ctx context.Context, nodeID, marker, contactID string) (*conecrm.Lead, error) {
	found, err := a.ConeCRM.FindLeads(ctx,
		conecrm.Rule{Field: "subject", Operator: "contains", Value: marker},
		conecrm.Rule{Field: "contact.id", Operator: "=", Value: contactID})
	if conecrm.IsNotFound(err) {
		a.log(ctx).Warn().Str("node_id", nodeID).Msg("ConeCRM has no lead filter: retrying the copy without looking for an earlier one")
		return nil, nil
	}
	if err != nil || len(found) == 0 {
		return nil, err
	}
	return &found[0], nil
}

// stageNow returns the lead's current stage id as ConeCRM has it ("" when
// it cannot say).
func (a *Activities) stageNow(ctx context.Context, leadID string) (string, error) {
	found, err := a.ConeCRM.FindLeads(ctx, conecrm.Rule{Field: "id", Operator: "=", Value: leadID})
	if conecrm.IsNotFound(err) || len(found) == 0 {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return conecrm.RefID(found[0].Stage), nil
}
