package nodes

import (
	"fmt"
	"strings"
	"time"

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
	dueIn   time.Duration
	summary string
}

type taskTemplates struct {
	assignee, title, note, start, end, contact, account, connection *expr.Template
}

func (n *CreateTask) Compile(c *Compiler) {
	n.fields.assignee = uuidTemplate(c, "assignee", n.Assignee)
	n.fields.title = c.Template("title", n.Title)
	n.fields.note = c.Template("note", n.Note)
	n.fields.start = timeTemplate(c, "start", n.Start)
	n.fields.end = timeTemplate(c, "end", n.End)
	n.fields.contact = uuidTemplate(c, "contact", n.Contact)
	n.fields.account = uuidTemplate(c, "account", n.Account)
	n.fields.connection = uuidTemplate(c, "connection", n.Connection)
	if n.DueIn != "" {
		n.dueIn = c.Duration("dueIn", n.DueIn)
	}
	if !expr.IsTemplate(n.Start) && !expr.IsTemplate(n.End) && n.Start != "" && n.End != "" {
		start, err1 := time.Parse(time.RFC3339, n.Start)
		end, err2 := time.Parse(time.RFC3339, n.End)
		if err1 == nil && err2 == nil && end.Before(start) {
			c.Problemf("end", "the task ends (%s) before it starts (%s)", n.End, n.Start)
		}
	}
	typ := n.Type
	if typ == "" {
		typ = "OTHER"
	}
	n.summary = "Create " + strings.ToLower(strings.ReplaceAll(typ, "_", " ")) + " task"
}

// Render renders the task request from the current values. The relative due
// date is computed from the workflow clock passed in vars.
func (n *CreateTask) Render(v expr.Vars) (conecrm.TaskRequest, error) {
	var (
		req  = conecrm.TaskRequest{Type: n.Type}
		errs []string
	)
	render := func(name string, t *expr.Template) string {
		s, err := t.Render(v)
		if err != nil {
			errs = append(errs, name+": "+err.Error())
		}
		return strings.TrimSpace(s)
	}
	req.Assignee = render("assignee", n.fields.assignee)
	req.Title = render("title", n.fields.title)
	req.Note = render("note", n.fields.note)
	req.Contact = orDefault(render("contact", n.fields.contact), leadRef(v.Lead, "contact"))
	req.Account = orDefault(render("account", n.fields.account), leadRef(v.Lead, "account"))
	req.Connection = orDefault(render("connection", n.fields.connection), stringAt(v.Lead, "id"))
	for _, f := range []struct {
		name string
		t    *expr.Template
		dst  **time.Time
	}{{"start", n.fields.start, &req.Start}, {"end", n.fields.end, &req.End}} {
		if s := render(f.name, f.t); s != "" {
			ts, err := time.Parse(time.RFC3339, s)
			if err != nil {
				errs = append(errs, fmt.Sprintf("%s: %q is not an RFC 3339 timestamp", f.name, s))
				continue
			}
			*f.dst = &ts
		}
	}
	if n.dueIn > 0 {
		due := v.Now.Add(n.dueIn).UTC()
		req.Start = &due
	}
	if len(errs) > 0 {
		return req, fmt.Errorf("rendering task: %s", strings.Join(errs, "; "))
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
