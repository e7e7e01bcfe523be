package nodes

import (
	"fmt"

	"go.temporal.io/sdk/workflow"

	"github.com/conecrm/automation-runtime/activities"
	"github.com/conecrm/automation-runtime/internal/conecrm"
	"github.com/conecrm/automation-runtime/internal/expr"
	"github.com/conecrm/automation-runtime/internal/validate"
)

var updateTaskDef = Definition{
	Type:        "update_task",
	Category:    CategoryAction,
	Description: "Updates a ConeCRM task, typically one an earlier node of the run created: reschedules, reassigns or rewords it.",
	Handles:     []string{Plain, HandleError},
	Required:    []string{Plain},
	New:         func() Node { return &UpdateTask{} },
	Activity:    updateTaskActivity,
}

var updateTaskActivity = NewActivity((*activities.Activities).UpdateTask,
	func(in activities.UpdateTaskInput, _ int) activities.UpdateTaskOutput {
		return activities.UpdateTaskOutput{TaskID: in.TaskID, Type: in.Task.Type, Start: in.Task.Start, End: in.Task.End}
	})

// UpdateTask is the seed's PATCH /api/task/{task}: task is the task's id
// (usually {{ steps.<create node>.taskId }}) and the rest its TaskRequest,
// which the API takes whole, so assignee and title are required. Other
// fields change only when set; dueIn reschedules from the run's clock.
type UpdateTask struct {
	Task       string `json:"task" validate:"required"`
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

	task    *expr.Template
	fields  taskTemplates
	summary string
}

func (n *UpdateTask) Compile(c *Compiler) {
	n.task = uuidTemplate(c, "task", n.Task)
	n.fields = compileTask(c, taskData{n.Assignee, n.Title, n.Note, n.Start, n.End, n.DueIn, n.Contact, n.Account, n.Connection})
	n.summary = "Update task"
	if n.Start != "" || n.End != "" || n.DueIn != "" {
		n.summary = "Reschedule task"
	}
}

// Render renders the task id and request from the current values. The task
// id is checked by the activity: a dry run's created tasks have no UUID.
func (n *UpdateTask) Render(v expr.Vars) (string, conecrm.TaskRequest, error) {
	r := &renderer{v: v}
	taskID := r.render("task", n.task)
	if taskID == "" {
		r.fail("task", "rendered empty: there is no task to update")
	}
	req := n.fields.render(r, n.Type, r.uuid, taskRefs{})
	if err := r.err(); err != nil {
		return "", req, fmt.Errorf("rendering task update: %w", err)
	}
	if err := validate.Struct(req); err != nil {
		return "", req, fmt.Errorf("rendered task update is invalid: %w", err)
	}
	return taskID, req, nil
}

func (n *UpdateTask) Run(ctx workflow.Context, x Exec) (Outcome, error) {
	taskID, req, err := n.Render(x.Vars())
	if err != nil {
		return Outcome{}, Invalid(err)
	}
	in := activities.UpdateTaskInput{NodeID: x.NodeID(), IdempotencyKey: x.IdempotencyKey(), TaskID: taskID, Task: req}
	out, err := updateTaskActivity.Execute(ctx, x, n.summary, in)
	if err != nil {
		return Outcome{}, err
	}
	return Outcome{Handle: Plain, Output: out, Summary: "task " + out.TaskID + " updated"}, nil
}
