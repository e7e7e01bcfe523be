//go:build cluster

package cluster

import (
	"context"
	"testing"
	"time"

	"github.com/conecrm/automation-runtime/internal/ingest"
	"github.com/conecrm/automation-runtime/workflows"
)

// callTask is automations/new-lead-call-task.json: a car lead gets a call
// task, then the run ends.
const callTask = "0193a4c2-7a10-7c5e-9d1a-2f6b8c1e0a01"

// TestClusterSmoke enrols leads through both starters of a cluster and
// sees every run complete, on both workers, with one call task each, and
// the runs found through the search attributes on PostgreSQL visibility.
func TestClusterSmoke(t *testing.T) {
	e := startCluster(t, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	const n = 20
	leads := newLeads(n)
	runs := make([]ingest.Outcome, n)
	t0 := time.Now()
	parallel(n, func(i int) {
		o, err := e.deliver(ctx, i%2, leadEvent("evt-"+leads[i], leads[i]), callTask)
		if err != nil || o.Result != ingest.Enrolled {
			t.Errorf("lead %d through starter-%d: %+v %v", i, i%2+1, o, err)
		}
		runs[i] = o
	})
	if t.Failed() {
		return
	}
	pids := map[int]int{}
	for i, o := range runs {
		res, err := e.result(ctx, o.WorkflowID)
		if err != nil || res.Status != workflows.StatusCompleted {
			t.Errorf("lead %d: %+v %v", i, res, err)
			continue
		}
		ps, err := e.workerPIDs(ctx, o.WorkflowID)
		if err != nil {
			t.Fatal(err)
		}
		for p := range ps {
			pids[p]++
		}
	}
	t.Logf("%d runs enrolled through 2 starters and completed in %s", n, time.Since(t0).Round(time.Millisecond))
	byWorker := map[string]int{}
	for _, name := range []string{"worker-1", "worker-2"} {
		byWorker[name] = pids[e.c.Proc(name).Pid()]
	}
	t.Logf("runs with workflow tasks completed per worker: %v", byWorker)
	for name, k := range byWorker {
		if k == 0 {
			t.Errorf("%s completed no workflow task (per worker: %v, pids seen %v)", name, byWorker, pids)
		}
	}
	tasks := map[string]int{}
	for _, tk := range e.sb.Tasks() {
		if tk.Connection != nil {
			tasks[tk.Connection.ID]++
		}
	}
	for i, l := range leads {
		if tasks[l] != 1 {
			t.Errorf("lead %d: %d call tasks, want 1", i, tasks[l])
		}
	}
	e.waitCount(ctx, "AutomationId = '"+callTask+"' AND ExecutionStatus = 'Completed' AND FranchiseId = '"+leadFranchise+"'", n)
}
