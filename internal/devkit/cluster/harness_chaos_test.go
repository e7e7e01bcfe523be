//go:build cluster

package cluster

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/conecrm/automation-runtime/internal/devkit/chaos"
)

// TestClusterChaosHarness runs the chaos harness (internal/devkit/chaos,
// what make chaos runs) against the cluster's frontend instead of a dev
// server: worker SIGKILLs, 30% failing ConeCRM and CRM responses, triple
// deliveries, and, once the leads are enrolled, SIGKILLs of history and
// matching and a frontend restart. CLUSTER_CHAOS_RUNS sizes it (60).
func TestClusterChaosHarness(t *testing.T) {
	e := startCluster(t, Options{Workers: -1, Starters: -1, NoUI: true, NoDemoCRM: true})
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	o := chaos.Defaults()
	o.Runs = envInt("CLUSTER_CHAOS_RUNS", 60)
	o.Kills = 3
	o.Deadline = 10 * time.Minute
	o.Dir = t.TempDir()
	o.WorkerCmd = []string{exe}
	o.Log = testWriter{t}
	o.Frontend = e.c.Frontend
	o.RestartServer = func(ctx context.Context) error {
		for _, s := range []string{"history", "matching"} {
			if err := e.c.Kill(s); err != nil {
				return err
			}
			time.Sleep(time.Second)
			if err := e.c.Restart(ctx, s); err != nil {
				return err
			}
		}
		return e.c.Restart(ctx, "frontend")
	}
	sum, err := chaos.Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s", sum.String())
	for _, p := range sum.Problems {
		t.Error(p)
	}
}
