//go:build cluster

package cluster

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/conecrm/automation-runtime/internal/devkit/sandbox"
	"github.com/conecrm/automation-runtime/workflows"
)

const chaosID = "cluster-chaos"

// chaosAutomation gives a car lead a call task, waits delay, then moves
// the lead to Contacted: two side effects on either side of a timer.
func chaosAutomation(delay string) string {
	return `{
  "id": "` + chaosID + `",
  "name": "Cluster chaos: call, pause, mark contacted",
  "automationTrigger": "LEAD_CREATED",
  "timezone": "America/Toronto",
  "franchise": {"id": "` + leadFranchise + `"},
  "nodes": [
    {"id": "start", "type": "trigger", "data": {"label": "New lead"}, "position": {"x": 0, "y": 0}},
    {"id": "call", "type": "create_task", "data": {"label": "Call", "type": "CALL", "assignee": "` + sandbox.UserSam + `", "title": "Call {{ lead.subject }}", "dueIn": "1h"}, "position": {"x": 0, "y": 100}},
    {"id": "pause", "type": "delay", "data": {"label": "Pause", "duration": "` + delay + `"}, "position": {"x": 0, "y": 200}},
    {"id": "contacted", "type": "move_stage", "data": {"label": "Mark contacted", "stageId": "` + sandbox.StageContacted + `"}, "position": {"x": 0, "y": 300}},
    {"id": "done", "type": "end", "data": {"label": "Done", "reason": "contacted"}, "position": {"x": 0, "y": 400}}
  ],
  "edges": [
    {"id": "e1", "source": "start", "target": "call"},
    {"id": "e2", "source": "call", "target": "pause"},
    {"id": "e3", "source": "pause", "target": "contacted"},
    {"id": "e4", "source": "contacted", "target": "done"}
  ]
}`
}

// TestClusterChaos delivers every event three times at once, spread over
// both starters, while a worker, a starter, the history service and the
// matching service are SIGKILLed and restarted and the frontend restarts,
// and checks nothing is lost, doubled or stuck: one run per lead, every run
// completed, one call task and one stage move per lead.
func TestClusterChaos(t *testing.T) {
	autos := t.TempDir()
	if err := os.WriteFile(filepath.Join(autos, chaosID+".json"), []byte(chaosAutomation("10s")), 0o644); err != nil {
		t.Fatal(err)
	}
	e := startCluster(t, Options{AutomationsDir: autos, NoDemoCRM: true, NoUI: true})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	const n = 40
	leads := e.createLeads(ctx, n)
	var posts, failed atomic.Int64
	enrol := func(from, to int) {
		parallel(to-from, func(k int) {
			i := from + k
			body := leadEvent("evt-"+leads[i], leads[i])
			var wg sync.WaitGroup
			for d, s := range []int{i % 2, (i + 1) % 2, i % 2} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					posts.Add(1)
					if _, err := e.deliver(ctx, s, body, chaosID); err != nil {
						failed.Add(1)
						t.Errorf("lead %d delivery %d: %v", i, d, err)
					}
				}()
			}
			wg.Wait()
		})
	}
	step := func(what string, f func() error) {
		t0 := time.Now()
		if err := f(); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		t.Logf("%s (%s)", what, time.Since(t0).Round(time.Millisecond))
	}
	killRestart := func(name string) func() error {
		return func() error {
			if err := e.c.Kill(name); err != nil {
				return err
			}
			time.Sleep(2 * time.Second)
			return e.c.Restart(ctx, name)
		}
	}

	t0 := time.Now()
	// A worker and a starter die while the first third is delivered.
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		time.Sleep(time.Second)
		step("SIGKILL worker-1 and starter-1 during deliveries, restarted", func() error {
			if err := e.c.Kill("worker-1"); err != nil {
				return err
			}
			if err := killRestart("starter-1")(); err != nil {
				return err
			}
			return e.c.Restart(ctx, "worker-1")
		})
	}()
	enrol(0, n/3)
	wg.Wait()
	// History and matching die while those runs wait in their delay.
	step("SIGKILL history, restarted", killRestart("history"))
	enrol(n/3, 2*n/3)
	step("SIGKILL matching, restarted", killRestart("matching"))
	step("frontend restarted (SIGTERM, start)", func() error { return e.c.Restart(ctx, "frontend") })
	wg.Add(1)
	go func() {
		defer wg.Done()
		time.Sleep(time.Second)
		step("SIGKILL worker-2, restarted", killRestart("worker-2"))
	}()
	enrol(2*n/3, n)
	wg.Wait()
	t.Logf("%d deliveries of %d events (%d failed, %d answers %q asked again) in %s", posts.Load(), n, failed.Load(), e.inFlight.Load(), inFlight, time.Since(t0).Round(time.Millisecond))

	completed, stuck := 0, 0
	for i, l := range leads {
		rctx, rcancel := context.WithTimeout(ctx, 3*time.Minute)
		res, err := e.result(rctx, "automation/"+chaosID+"/lead/"+l)
		rcancel()
		switch {
		case err != nil:
			stuck++
			t.Errorf("lead %d: run not finished: %v", i, err)
		case res.Status != workflows.StatusCompleted || res.Reason != "contacted":
			t.Errorf("lead %d: %+v", i, res)
		default:
			completed++
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
	lost, doubled := 0, 0
	for i, l := range leads {
		for kind, got := range map[string]int{"call tasks": tasks[l], "stage moves": moves[l]} {
			switch {
			case got == 0:
				lost++
				t.Errorf("lead %d: no %s", i, kind)
			case got > 1:
				doubled++
				t.Errorf("lead %d: %d %s", i, got, kind)
			}
		}
	}
	vctx, vcancel := context.WithTimeout(ctx, time.Minute)
	e.waitCount(vctx, "AutomationId = '"+chaosID+"'", n)
	vcancel()
	runs, _ := e.count(ctx, "AutomationId = '"+chaosID+"'")
	t.Logf("chaos on the cluster: %d leads, %d runs, %d completed, %d stuck, side effects lost %d, doubled %d; all done %s after the first delivery",
		n, runs, completed, stuck, lost, doubled, time.Since(t0).Round(time.Millisecond))
}
