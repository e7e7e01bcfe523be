// Command worker runs the automation workflow and its activities on the
// "automations" task queue. Run as many as needed behind one queue.
package main

import (
	"context"
	"os"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/conecrm/automation-runtime/internal/logging"
	"github.com/conecrm/automation-runtime/internal/metrics"
	"github.com/conecrm/automation-runtime/internal/temporalclient"
	"github.com/conecrm/automation-runtime/internal/workerapp"
)

func main() {
	log := logging.New("worker")
	opts, err := temporalclient.Options(log)
	if err != nil {
		log.Error().Err(err).Msg("Temporal configuration")
		os.Exit(1)
	}
	encrypted := os.Getenv("PAYLOAD_CODEC_KEYS") != ""
	c, err := client.Dial(opts)
	if err != nil {
		log.Error().Err(err).Str("address", opts.HostPort).Str("namespace", opts.Namespace).Msg("cannot connect to Temporal")
		os.Exit(1)
	}
	defer c.Close()
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	if addr := metrics.AddrFromEnv("WORKER_METRICS_ADDR", workerapp.DefaultWorkerMetricsAddr); addr != "" {
		bound, err := metrics.Serve(ctx, addr)
		if err != nil {
			log.Error().Err(err).Msg("metrics endpoint (set WORKER_METRICS_ADDR, or off)")
			os.Exit(1)
		}
		log.Info().Str("addr", "http://"+bound+"/metrics").Msg("metrics endpoint listening")
	}
	cacheSize, err := workerapp.ConfigureWorkflowCache()
	if err != nil {
		log.Error().Err(err).Msg("worker settings")
		os.Exit(1)
	}
	queue := workerapp.TaskQueue()
	acts, err := workerapp.ActivitiesFromEnv(log)
	if err != nil {
		log.Error().Err(err).Msg("cannot configure the activities (make run starts the ConeCRM sandbox and sets CONECRM_BASE_URL)")
		os.Exit(1)
	}
	closeCRM, err := workerapp.WithCRMFromEnv(ctx, acts, log)
	if err != nil {
		log.Error().Err(err).Msg("CRM push service")
		os.Exit(1)
	}
	defer closeCRM()
	w := workerapp.NewWorker(c, queue, acts, worker.Options{})
	log.Info().Str("task_queue", queue).Bool("payloads_encrypted", encrypted).Int("workflow_cache_size", cacheSize).Msg("worker started")
	// worker.InterruptCh stops on SIGINT/SIGTERM; Run then drains gracefully.
	if err := w.Run(worker.InterruptCh()); err != nil {
		log.Error().Err(err).Msg("worker stopped with an error")
		os.Exit(1)
	}
	log.Info().Msg("worker stopped")
}
