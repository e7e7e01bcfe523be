// Package runtime wires the runtime's parts: the worker's registrations and
// the activities' dependencies from the environment.
package workerapp

import (
	"fmt"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/rs/zerolog"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/conecrm/automation-runtime/activities"
	"github.com/conecrm/automation-runtime/internal/conecrm"
	"github.com/conecrm/automation-runtime/internal/metrics"
	"github.com/conecrm/automation-runtime/workflows"
)

// NewWorker registers the automation workflow and every activity on the
// task queue, with the interceptor that names the run on every log line
// and counts node executions. A worker whose options name no deployment
// version gets DefaultDeploymentName and BuildID(), versioning off.
func NewWorker(c client.Client, taskQueue string, acts *activities.Activities, opts worker.Options) worker.Worker {
	if (opts.DeploymentOptions.Version == worker.WorkerDeploymentVersion{}) {
		opts.DeploymentOptions = Deployment{Name: DefaultDeploymentName, BuildID: BuildID(), Versioning: VersioningOff}.Options()
	}
	opts.Interceptors = append(append([]interceptor.WorkerInterceptor(nil), opts.Interceptors...), NewInterceptor(acts.Log))
	if opts.MaxHeartbeatThrottleInterval == 0 {
		// push_to_crm heartbeats the id of each object it creates; the
		// SDK would otherwise hold a heartbeat back for up to 80% of the
		// HeartbeatTimeout, and a worker dying meanwhile loses the id.
		opts.MaxHeartbeatThrottleInterval = time.Second
	}
	w := worker.New(c, taskQueue, opts)
	w.RegisterWorkflowWithOptions(workflows.AutomationRun, workflow.RegisterOptions{Name: workflows.WorkflowName})
	RegisterActivities(w, acts)
	return w
}

// RegisterActivities registers every activity, each under its method's name
// (the name the node registry's activity references derive).
func RegisterActivities(r interface{ RegisterActivity(a any) }, acts *activities.Activities) {
	r.RegisterActivity(acts)
}

// ActivitiesFromEnv builds the activities' dependencies: ConeCRM from
// CONECRM_BASE_URL, CONECRM_TOKEN, CONECRM_TIMEOUT and the stage-move
// settings. Their HTTP calls are counted in the external-calls metric
// (systems "conecrm" and "webhook").
func ActivitiesFromEnv(log zerolog.Logger) (*activities.Activities, error) {
	cfg, err := conecrm.ConfigFromEnv(os.Getenv)
	if err != nil {
		return nil, fmt.Errorf("ConeCRM configuration: %w", err)
	}
	return &activities.Activities{
		ConeCRM: conecrm.New(cfg, metrics.Client("conecrm", &http.Client{Timeout: cfg.Timeout})),
		HTTP:    metrics.Client("webhook", &http.Client{Timeout: 30 * time.Second}),
		Log:     log,
	}, nil
}

// TaskQueue returns TASK_QUEUE or the default.
func TaskQueue() string {
	if q := os.Getenv("TASK_QUEUE"); q != "" {
		return q
	}
	return workflows.TaskQueue
}

// DefaultWorkerMetricsAddr is where the worker serves /metrics unless
// WORKER_METRICS_ADDR says otherwise ("off" disables it).
const DefaultWorkerMetricsAddr = "127.0.0.1:9464"

// DefaultWorkflowCacheSize bounds the runs a worker keeps in memory between
// workflow tasks. Parked runs (waiting in a delay or a wait) beyond it are
// evicted and replayed from history when they wake, so a worker's memory
// stays flat however many runs wait.
const DefaultWorkflowCacheSize = 1000

// ConfigureWorkflowCache applies WORKER_WORKFLOW_CACHE_SIZE (default
// DefaultWorkflowCacheSize). It is process-wide and must run before any
// worker starts.
func ConfigureWorkflowCache() (int, error) {
	n := DefaultWorkflowCacheSize
	if v := os.Getenv("WORKER_WORKFLOW_CACHE_SIZE"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			return 0, fmt.Errorf("WORKER_WORKFLOW_CACHE_SIZE must be a positive integer, got %q", v)
		}
	}
	worker.SetStickyWorkflowCacheSize(n)
	return n, nil
}
