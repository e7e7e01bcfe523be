package workerapp

import (
	"context"
	"os"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/conecrm/automation-runtime/internal/logging"
	"github.com/conecrm/automation-runtime/internal/metrics"
	"github.com/conecrm/automation-runtime/internal/temporalclient"
)

// Main is the worker command (bin/worker): it connects to Temporal as the
// environment says, serves the worker's metrics and runs the automation
// workflow and its activities on the task queue until SIGINT or SIGTERM.
// It returns the exit code. It lives here, not in package main, so that
// cmd/dev's smoke test runs the same code as a worker process.
func Main() int {
	log := logging.New("worker")
	opts, err := temporalclient.Options(log)
	if err != nil {
		log.Error().Err(err).Msg("Temporal configuration")
		return 1
	}
	encrypted := os.Getenv("PAYLOAD_CODEC_KEYS") != ""
	c, err := client.Dial(opts)
	if err != nil {
		log.Error().Err(err).Str("address", opts.HostPort).Str("namespace", opts.Namespace).Msg("cannot connect to Temporal")
		return 1
	}
	defer c.Close()
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	if addr := metrics.AddrFromEnv("WORKER_METRICS_ADDR", DefaultWorkerMetricsAddr); addr != "" {
		bound, err := metrics.Serve(ctx, addr)
		if err != nil {
			log.Error().Err(err).Msg("metrics endpoint (set WORKER_METRICS_ADDR, or off)")
			return 1
		}
		log.Info().Str("addr", "http://"+bound+"/metrics").Msg("metrics endpoint listening")
	}
	cacheSize, err := ConfigureWorkflowCache()
	if err != nil {
		log.Error().Err(err).Msg("worker settings")
		return 1
	}
	queue := TaskQueue()
	acts, err := ActivitiesFromEnv(log)
	if err != nil {
		log.Error().Err(err).Msg("cannot configure the activities (make run starts the ConeCRM sandbox and sets CONECRM_BASE_URL)")
		return 1
	}
	closeCRM, err := WithCRMFromEnv(ctx, acts, log)
	if err != nil {
		log.Error().Err(err).Msg("CRM push service")
		return 1
	}
	defer closeCRM()
	dep, err := DeploymentFromEnv(os.Getenv)
	if err != nil {
		log.Error().Err(err).Msg("worker deployment")
		return 1
	}
	w := NewWorker(c, queue, acts, worker.Options{DeploymentOptions: dep.Options()})
	log.Info().Str("task_queue", queue).Str("deployment", dep.Name).Str("build_id", dep.BuildID).Str("versioning", dep.Versioning).Bool("payloads_encrypted", encrypted).Int("workflow_cache_size", cacheSize).Msg("worker started")
	// worker.InterruptCh stops on SIGINT/SIGTERM; Run then drains gracefully.
	if err := w.Run(worker.InterruptCh()); err != nil {
		log.Error().Err(err).Msg("worker stopped with an error")
		return 1
	}
	log.Info().Msg("worker stopped")
	return 0
}
