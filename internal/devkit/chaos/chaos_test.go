package chaos

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/conecrm/automation-runtime/internal/devkit/bench"
	"github.com/conecrm/automation-runtime/internal/devkit/devserver"
)

// TestMain makes the test binary double as the worker process the harness
// starts (and SIGKILLs).
func TestMain(m *testing.M) {
	if os.Getenv(bench.EnvWorkerConfig) != "" {
		if err := bench.RunWorker(); err != nil {
			os.Stderr.WriteString("chaos worker: " + err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestChaosShort is the short chaos variant make test runs: 30 enrolments,
// two worker SIGKILLs, one dev server restart, 15% failing ConeCRM and CRM
// responses, every event delivered three times at once, the ConeCRM sandbox
// ignoring Idempotency-Key. `make chaos` runs the full one.
func TestChaosShort(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos harness skipped in -short")
	}
	if _, err := devserver.Binary(); err != nil {
		t.Skip(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	o := Defaults()
	// Half the full fault rate: a push makes several vendor calls and an
	// attempt fails if any does, so at 30% its retries (backoff up to a
	// minute) outlast a three-minute test; make chaos runs the full rate.
	o.Runs, o.Kills, o.FaultRate, o.Delay, o.WaitTimeout, o.Deadline = 30, 2, 0.15, "3s", "20s", 150*time.Second
	// The sandbox ignores Idempotency-Key, as a ConeCRM without the header
	// would: no create may happen twice all the same.
	o.IgnoreIdempotency = true
	o.Dir, o.WorkerCmd, o.Log = t.TempDir(), []string{exe}, testWriter{t}
	sum, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + sum.String())
	if !sum.OK() {
		t.Fail()
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }
