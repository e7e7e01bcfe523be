// Command dev is what `make run` runs: the whole product on one machine for
// a newcomer. It starts the pinned Temporal dev server on its SQLite file,
// the ConeCRM sandbox (unless CONECRM_BASE_URL is set), fake Salesforce and
// HubSpot for the demo CRM integrations, a worker process (bin/worker) and
// the starter's HTTP service; then it posts a demo lead event and prints
// where to look. It is part of the development kit, not of the product: the
// production starter and worker binaries link none of it.
package main

import (
	"os"

	"github.com/rs/zerolog"

	"github.com/conecrm/automation-runtime/internal/logging"
	"github.com/conecrm/automation-runtime/starter/server"
)

func main() { os.Exit(dev(os.Args[1:])) }

var envOr = server.EnvOr

// fatal logs and prints a message a person can act on; it returns exit code 1.
func fatal(log zerolog.Logger, err error, msg string) int {
	return logging.Fatal(log, "dev", err, msg)
}

const dbHint = "cannot open the database (check DATABASE_URL, or DATA_DIR for the SQLite file)"
