package nodes

import (
	"fmt"

	"go.temporal.io/sdk/workflow"

	"github.com/conecrm/automation-runtime/activities"
	"github.com/conecrm/automation-runtime/internal/expr"
)

var copyLeadDef = Definition{
	Type:        "copy_lead",
	Category:    CategoryAction,
	Description: "Copies the lead (the seed's CopyLeadData), for example into another department.",
	Handles:     []string{Plain, HandleError},
	Required:    []string{Plain},
	New:         func() Node { return &CopyLead{} },
	Activity:    copyLeadActivity,
}

var copyLeadActivity = NewActivity((*activities.Activities).CopyLead,
	func(in activities.CopyLeadInput, seq int) activities.CopyLeadOutput {
		return activities.CopyLeadOutput{LeadID: fmt.Sprintf("dry-run-lead-%d", seq), SourceLeadID: in.LeadID}
	})

// CopyLead is the seed's CopyLeadData by id; contact and account default to
// the lead's.
type CopyLead struct {
	Subject    string `json:"subject,omitempty" validate:"max=1000"`
	Department string `json:"department,omitempty"`
	Franchise  string `json:"franchise,omitempty"`
	Contact    string `json:"contact,omitempty"`
	Account    string `json:"account,omitempty"`

	subject, department, franchise, contact, account *expr.Template
}

func (n *CopyLead) Compile(c *Compiler) {
	n.subject = c.Template("subject", n.Subject)
	n.department = uuidTemplate(c, "department", n.Department)
	n.franchise = uuidTemplate(c, "franchise", n.Franchise)
	n.contact = uuidTemplate(c, "contact", n.Contact)
	n.account = uuidTemplate(c, "account", n.Account)
}

func (n *CopyLead) Run(ctx workflow.Context, x Exec) (Outcome, error) {
	v := x.Vars()
	r := renderer{v: v}
	in := activities.CopyLeadInput{
		NodeID:         x.NodeID(),
		IdempotencyKey: x.IdempotencyKey(),
		LeadID:         stringAt(v.Lead, "id"),
		Subject:        r.render("subject", n.subject),
		DepartmentID:   r.uuid("department", n.department, ""),
		FranchiseID:    r.uuid("franchise", n.franchise, ""),
		ContactID:      r.uuid("contact", n.contact, leadRef(v.Lead, "contact")),
		AccountID:      r.uuid("account", n.account, leadRef(v.Lead, "account")),
		SourceSubject:  stringAt(v.Lead, "subject"),
	}
	if in.ContactID == "" {
		r.fail("contact", "the lead has no contact and none is set")
	}
	if err := r.err(); err != nil {
		return Outcome{}, Invalid(err)
	}
	out, err := copyLeadActivity.Execute(ctx, x, "Copy lead"+suffix(n.Department != "", " into another department"), in)
	if err != nil {
		return Outcome{}, err
	}
	return Outcome{Handle: Plain, Output: out, Summary: "lead copied as " + out.LeadID}, nil
}
