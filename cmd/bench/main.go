// Command bench measures the automation interpreter against a hand-written
// Temporal workflow doing the same work (see BENCHMARKS.md). `bench worker`
// is the worker process it starts for itself.
package main

import (
	"fmt"
	"os"

	"github.com/conecrm/automation-runtime/internal/devkit/bench"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "worker" {
		if err := bench.RunWorker(); err != nil {
			fmt.Fprintln(os.Stderr, "bench worker:", err)
			os.Exit(1)
		}
		return
	}
	os.Exit(bench.Main(os.Args[1:], os.Stdout, os.Stderr))
}
