package nodes

import (
	"fmt"
	"strings"

	"go.temporal.io/sdk/workflow"

	"github.com/conecrm/automation-runtime/activities"
	"github.com/conecrm/automation-runtime/internal/conecrm"
	"github.com/conecrm/automation-runtime/internal/expr"
	"github.com/conecrm/automation-runtime/internal/validate"
)

var createTaskDef = Definition{
	Type:        "create_task",
	Category:    CategoryAction,
	Description: "Creates a ConeCRM task (call, meeting, reminder...) for the lead.",
	Handles:     []string{Plain, HandleError},
	Required:    []string{Plain},
	New:         func() Node { return &CreateTask{} },
	Activity:    createTaskActivity,
}

var createTaskActivity = NewActivity((*activities.Activities).CreateTask,
	func(in activities.CreateTaskInput, seq int) activities.CreateTaskOutput {
		return activities.CreateTaskOutput{TaskID: fmt.Sprintf("dry-run-task-%d", seq), Type: in.Task.Type}
	})

// CreateTask is the seed's TaskRequest with templates and a relative due date.
// contact, account and connection default to the lead's.
type CreateTask struct {
	Type       string `json:"type,omitempty" validate:"omitempty,oneof=CALL MEETING OTHER SMS FOLLOW_UP REMINDER LINKEDIN_MESSAGE DM"`
	Assignee   string `json:"assignee" validate:"required,max=500"`
	Title      string `json:"title" validate:"required,max=1000"`
	Note       string `json:"note,omitempty" validate:"max=10000"`
	Start      string `json:"start,omitempty"`
	End        string `json:"end,omitempty"`
	DueIn      string `json:"dueIn,omitempty" validate:"excluded_with=Start"`
	Contact    string `json:"contact,omitempty"`
	Account    string `json:"account,omitempty"`
	Connection string `json:"connection,omitempty"`

	fields  taskTemplates
	summary string
}

func (n *CreateTask) Compile(c *Compiler) {
	n.fields = compileTask(c, taskData{n.Assignee, n.Title, n.Note, n.Start, n.End, n.DueIn, n.Contact, n.Account, n.Connection})
	typ := n.Type
	if typ == "" {
		typ = "OTHER"
	}
	n.summary = "Create " + strings.ToLower(strings.ReplaceAll(typ, "_", " ")) + " task"
}

// Render renders the task request from the current values. The relative due
// date is computed from the workflow clock passed in vars; contact, account
// and connection default to the lead's.
func (n *CreateTask) Render(v expr.Vars) (conecrm.TaskRequest, error) {
	r := &renderer{v: v}
	asRendered := func(field string, t *expr.Template, def string) string { return orDefault(r.render(field, t), def) }
	req := n.fields.render(r, n.Type, asRendered, taskRefs{leadRef(v.Lead, "contact"), leadRef(v.Lead, "account"), stringAt(v.Lead, "id")})
	if err := r.err(); err != nil {
		return req, fmt.Errorf("rendering task: %w", err)
	}
	if err := validate.Struct(req); err != nil {
		return req, fmt.Errorf("rendered task is invalid: %w", err)
	}
	return req, nil
}

func (n *CreateTask) Run(ctx workflow.Context, x Exec) (Outcome, error) {
	req, err := n.Render(x.Vars())
	if err != nil {
		return Outcome{}, Invalid(err)
	}
	in := activities.CreateTaskInput{NodeID: x.NodeID(), IdempotencyKey: x.IdempotencyKey(), Task: req}
	out, err := createTaskActivity.Execute(ctx, x, n.summary, in)
	if err != nil {
		return Outcome{}, err
	}
	return Outcome{Handle: Plain, Output: out, Summary: "task " + out.TaskID + " created"}, nil
}
