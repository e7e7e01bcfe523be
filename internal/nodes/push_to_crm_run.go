package nodes

import (
	"fmt"
	"strings"

	"go.temporal.io/sdk/workflow"

	"github.com/conecrm/automation-runtime/activities"
)

func pushToCRM(ctx workflow.Context, x Exec, n *PushToCRM) (Outcome, error) {
	v := x.Vars()
	in := activities.PushToCRMInput{
		NodeID: x.NodeID(), IdempotencyKey: x.IdempotencyKey(), IntegrationID: n.IntegrationID,
		Objects: n.Objects, Record: v.Lead, Today: v.Now.In(x.Location()).Format("2006-01-02"),
	}
	what := "records"
	if len(n.Objects) > 0 {
		what = strings.Join(n.Objects, ", ")
	}
	out, err := pushToCRMActivity.Execute(ctx, x, fmt.Sprintf("Push %s to CRM integration %s", what, n.IntegrationID), in)
	if err != nil {
		return Outcome{}, err
	}
	return Outcome{Handle: Plain, Output: out, Summary: "pushed " + what}, nil
}
