package main

import (
	"context"
	"errors"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/rs/zerolog"
	"go.temporal.io/sdk/client"

	"github.com/conecrm/automation-runtime/internal/catalog"
	"github.com/conecrm/automation-runtime/internal/ingest"
	"github.com/conecrm/automation-runtime/internal/logging"
	"github.com/conecrm/automation-runtime/internal/runtime"
	"github.com/conecrm/automation-runtime/internal/temporalx"
)

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func serve([]string) int {
	log := logging.New("starter")
	c, err := temporalx.Dial(log)
	if err != nil {
		log.Error().Err(err).Msg("cannot connect to Temporal")
		return 1
	}
	defer c.Close()
	h, err := newHandler(c, log, envOr("AUTOMATIONS_DIR", "automations"))
	if err != nil {
		log.Error().Err(err).Msg("cannot load automations")
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := listen(ctx, envOr("STARTER_ADDR", "127.0.0.1:8080"), h, log); err != nil {
		log.Error().Err(err).Msg("starter stopped with an error")
		return 1
	}
	return 0
}

// newHandler loads the automations and returns the starter's HTTP handler.
func newHandler(c client.Client, log zerolog.Logger, dir string) (http.Handler, error) {
	cat := catalog.New()
	n, err := cat.LoadDir(dir)
	if err != nil {
		return nil, err
	}
	log.Info().Int("automations", n).Str("dir", dir).Msg("automations loaded")
	in := &ingest.Ingester{Temporal: c, Source: cat, TaskQueue: runtime.TaskQueue(), Log: log}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /events", in.HandleEvents)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { ingest.WriteJSON(w, 200, map[string]string{"status": "ok"}) })
	return mux, nil
}

func listen(ctx context.Context, addr string, h http.Handler, log zerolog.Logger) error {
	srv := &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	log.Info().Str("addr", addr).Msg("starter listening")
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
