// Command worker runs the automation workflow and its activities on the
// "automations" task queue. Run as many as needed behind one queue.
package main

import (
	"os"

	"go.temporal.io/sdk/worker"

	"github.com/conecrm/automation-runtime/internal/logging"
	"github.com/conecrm/automation-runtime/internal/runtime"
	"github.com/conecrm/automation-runtime/internal/temporalx"
)

func main() {
	log := logging.New("worker")
	c, err := temporalx.Dial(log)
	if err != nil {
		log.Error().Err(err).Msg("cannot connect to Temporal")
		os.Exit(1)
	}
	defer c.Close()
	if os.Getenv("CONECRM_BASE_URL") == "" {
		log.Warn().Msg("CONECRM_BASE_URL is not set: ConeCRM actions will fail")
	}
	queue := runtime.TaskQueue()
	w := runtime.NewWorker(c, queue, runtime.ActivitiesFromEnv(log), worker.Options{})
	log.Info().Str("task_queue", queue).Msg("worker started")
	// worker.InterruptCh stops on SIGINT/SIGTERM; Run then drains gracefully.
	if err := w.Run(worker.InterruptCh()); err != nil {
		log.Error().Err(err).Msg("worker stopped with an error")
		os.Exit(1)
	}
	log.Info().Msg("worker stopped")
}
