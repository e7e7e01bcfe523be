//go:build cluster

package cluster

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/conecrm/automation-runtime/workflows"
)

// TestClusterRollingUpgrade replaces both workers while runs are parked in
// their delay and new events keep arriving: two workers of the new build
// (a copy of bin/worker at another path, as a deployment would install it)
// start, then the old ones get SIGTERM and drain. Every run completes, on
// the new workers for the parked ones, with one task and one stage move per
// lead.
func TestClusterRollingUpgrade(t *testing.T) {
	autos := t.TempDir()
	if err := os.WriteFile(filepath.Join(autos, chaosID+".json"), []byte(chaosAutomation("15s")), 0o644); err != nil {
		t.Fatal(err)
	}
	e := startCluster(t, Options{AutomationsDir: autos, NoDemoCRM: true, NoUI: true})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	newBin := filepath.Join(e.c.opts.Dir, "release-2", "worker")
	if err := copyFile(filepath.Join(e.c.opts.BinDir, "worker"), newBin); err != nil {
		t.Fatal(err)
	}

	const n = 40
	leads := e.createLeads(ctx, n)
	enrol := func(from, to int) {
		parallel(to-from, func(k int) {
			i := from + k
			if _, err := e.deliver(ctx, i%2, leadEvent("evt-"+leads[i], leads[i]), chaosID); err != nil {
				t.Errorf("lead %d: %v", i, err)
			}
		})
	}
	enrol(0, n/2) // these park in their 15 s delay on the old workers
	old := []*Proc{e.c.Proc("worker-1"), e.c.Proc("worker-2")}
	oldPIDs := map[int]bool{old[0].Pid(): true, old[1].Pid(): true}

	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the rest arrive during the upgrade
		defer wg.Done()
		enrol(n/2, n)
	}()
	t0 := time.Now()
	newPIDs := map[int]bool{}
	for _, name := range []string{"worker-new-1", "worker-new-2"} {
		p, err := e.c.StartWorkerFrom(ctx, name, newBin, nil)
		if err != nil {
			t.Fatal(err)
		}
		newPIDs[p.Pid()] = true
	}
	var drain []time.Duration
	for _, p := range old {
		drain = append(drain, p.Stop(time.Minute).Round(time.Millisecond))
	}
	t.Logf("new workers started, old workers drained (SIGTERM took %v) in %s", drain, time.Since(t0).Round(time.Millisecond))
	wg.Wait()

	failed, onNew := 0, 0
	for i, l := range leads {
		wfID := "automation/" + chaosID + "/lead/" + l
		rctx, rcancel := context.WithTimeout(ctx, 3*time.Minute)
		res, err := e.result(rctx, wfID)
		rcancel()
		if err != nil || res.Status != workflows.StatusCompleted {
			failed++
			t.Errorf("lead %d: %+v %v", i, res, err)
			continue
		}
		pids, err := e.workerPIDs(ctx, wfID)
		if err != nil {
			t.Fatal(err)
		}
		for p := range pids {
			if newPIDs[p] {
				onNew++
				break
			}
		}
		if i < n/2 {
			seenNew := false
			for p := range pids {
				seenNew = seenNew || newPIDs[p]
				if !oldPIDs[p] && !newPIDs[p] {
					t.Errorf("lead %d: workflow task by unknown pid %d", i, p)
				}
			}
			if !seenNew {
				t.Errorf("lead %d parked before the upgrade did not finish on a new worker (pids %v)", i, pids)
			}
		}
	}
	tasks, moves := map[string]int{}, map[string]int{}
	for _, tk := range e.sb.Tasks() {
		if tk.Connection != nil {
			tasks[tk.Connection.ID]++
		}
	}
	for _, m := range e.sb.StageMoves() {
		moves[m.LeadID]++
	}
	for i, l := range leads {
		if tasks[l] != 1 || moves[l] != 1 {
			t.Errorf("lead %d: %d tasks, %d stage moves, want 1 and 1", i, tasks[l], moves[l])
		}
	}
	t.Logf("rolling upgrade under load: %d runs, %d failed, %d finished with workflow tasks on the new workers", n, failed, onNew)
}

func copyFile(src, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
