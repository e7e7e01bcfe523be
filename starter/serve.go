package main

import (
	"context"
	"os/signal"
	"syscall"

	"github.com/rs/zerolog"

	"github.com/conecrm/automation-runtime/internal/logging"
	"github.com/conecrm/automation-runtime/internal/temporalclient"
	"github.com/conecrm/automation-runtime/internal/workerapp"
	"github.com/conecrm/automation-runtime/starter/server"
)

const envStarterURL = "STARTER_URL"

var envOr = server.EnvOr

// fatal logs and prints a message a person can act on; it returns exit code 1.
func fatal(log zerolog.Logger, err error, msg string) int {
	return logging.Fatal(log, "starter", err, msg)
}

const dbHint = "cannot open the database (check DATABASE_URL, or DATA_DIR for the SQLite file)"

func serve([]string) int {
	log := logging.New("starter")
	cfg, err := server.ConfigFromEnv()
	if err != nil {
		return fatal(log, err, "configuration incomplete")
	}
	cfg.TaskQueue = workerapp.TaskQueue()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	st, err := server.OpenStore(ctx, cfg)
	if err != nil {
		return fatal(log, err, dbHint)
	}
	defer st.Close()
	c, err := temporalclient.Dial(log)
	if err != nil {
		return fatal(log, err, "cannot connect to Temporal")
	}
	defer c.Close()
	app, err := server.New(ctx, c, st, cfg, log)
	if err != nil {
		return fatal(log, err, "cannot load automations")
	}
	if err := server.Listen(ctx, cfg.Addr, app.Handler, log); err != nil {
		return fatal(log, err, "starter stopped with an error")
	}
	return 0
}
