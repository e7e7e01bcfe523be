//go:build cluster

package cluster

import (
	"os"
	"testing"

	"github.com/conecrm/automation-runtime/internal/devkit/bench"
)

// TestMain makes the test binary double as the bench's worker process
// (the interpreter plus the hand-written baseline), as the chaos package's
// does.
func TestMain(m *testing.M) {
	if os.Getenv(bench.EnvWorkerConfig) != "" {
		if err := bench.RunWorker(); err != nil {
			os.Stderr.WriteString("cluster bench worker: " + err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}
