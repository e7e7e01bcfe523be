package nodes

import (
	"fmt"
	"strings"

	"go.temporal.io/sdk/workflow"
)

// pushInput mirrors activities.PushToCRMInput until the CRM engine lands.
type pushInput struct {
	NodeID         string         `json:"nodeId"`
	IdempotencyKey string         `json:"idempotencyKey"`
	IntegrationID  string         `json:"integrationId"`
	Objects        []string       `json:"objects,omitempty"`
	Record         map[string]any `json:"record"`
	Today          string         `json:"today"`
}

func pushToCRM(ctx workflow.Context, x Exec, n *PushToCRM) (Outcome, error) {
	v := x.Vars()
	in := pushInput{
		NodeID: x.NodeID(), IdempotencyKey: x.IdempotencyKey(), IntegrationID: n.IntegrationID,
		Objects: n.Objects, Record: v.Lead, Today: v.Now.In(x.Location()).Format("2006-01-02"),
	}
	what := "records"
	if len(n.Objects) > 0 {
		what = strings.Join(n.Objects, ", ")
	}
	var out map[string]any
	if err := x.Activity(ctx, ActivityCall{Name: "PushToCRM", Summary: fmt.Sprintf("Push %s to CRM integration %s", what, n.IntegrationID), Input: in}, &out); err != nil {
		return Outcome{}, err
	}
	return Outcome{Handle: Plain, Output: out, Summary: "pushed " + what}, nil
}
