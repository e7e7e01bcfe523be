// Package runtime wires the runtime's parts: the worker's registrations and
// the activities' dependencies from the environment.
package runtime

import (
	"net/http"
	"os"
	"time"

	"github.com/rs/zerolog"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/conecrm/automation-runtime/activities"
	"github.com/conecrm/automation-runtime/internal/conecrm"
	"github.com/conecrm/automation-runtime/workflows"
)

// NewWorker registers the automation workflow and every activity on the
// task queue.
func NewWorker(c client.Client, taskQueue string, acts *activities.Activities, opts worker.Options) worker.Worker {
	w := worker.New(c, taskQueue, opts)
	w.RegisterWorkflowWithOptions(workflows.AutomationRun, workflow.RegisterOptions{Name: workflows.WorkflowName})
	w.RegisterActivity(acts)
	return w
}

// ActivitiesFromEnv builds the activities' dependencies: ConeCRM from
// CONECRM_BASE_URL and CONECRM_TOKEN.
func ActivitiesFromEnv(log zerolog.Logger) *activities.Activities {
	return &activities.Activities{
		ConeCRM: conecrm.New(conecrm.Config{BaseURL: os.Getenv("CONECRM_BASE_URL"), Token: os.Getenv("CONECRM_TOKEN")}, nil),
		HTTP:    &http.Client{Timeout: 30 * time.Second},
		Log:     log,
	}
}

// TaskQueue returns TASK_QUEUE or the default.
func TaskQueue() string {
	if q := os.Getenv("TASK_QUEUE"); q != "" {
		return q
	}
	return workflows.TaskQueue
}
