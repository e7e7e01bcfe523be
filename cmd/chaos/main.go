// Command chaos runs the chaos harness (see BENCHMARKS.md): enrolments under
// worker SIGKILLs, a dev server restart, failing ConeCRM/CRM responses and
// duplicate deliveries; it exits non-zero on any lost, doubled or stuck run.
// `chaos worker` is the worker process it starts for itself.
package main

import (
	"fmt"
	"os"

	"github.com/conecrm/automation-runtime/internal/devkit/bench"
	"github.com/conecrm/automation-runtime/internal/devkit/chaos"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "worker" {
		if err := bench.RunWorker(); err != nil {
			fmt.Fprintln(os.Stderr, "chaos worker:", err)
			os.Exit(1)
		}
		return
	}
	os.Exit(chaos.Main(os.Args[1:], os.Stdout, os.Stderr))
}
