package workflows_test

import (
	stdcontext "context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/conecrm/automation-runtime/internal/devkit/stack"
	"github.com/conecrm/automation-runtime/internal/event"
	"github.com/conecrm/automation-runtime/workflows"
)

// Bursts of concurrent events to runs that cross a small history budget
// again and again: every event the server accepted is applied exactly
// once, across continue-as-new and the run's completion (the closing event
// goes out with the last burst).
func TestEventBurstsAcrossContinueAsNew(t *testing.T) {
	c := stack.Client(t)
	const (
		runs    = 3
		bursts  = 4
		perPart = 12 // events per burst
		trickle = 6  // single events after each burst
		budget  = 20
	)
	queue := fmt.Sprintf("test-bursts-%d", time.Now().UnixNano())
	startWorker(t, c, queue, nil)
	raw := doc(t, []n{trig(),
		{"wait", "wait_for_event", map[string]any{"event": "LEAD_CLOSED", "timeout": "1h"}},
		endNode("closed"), endNode("timeout"),
	}, []e{{"start", "wait", ""}, {"wait", "closed", "event"}, {"wait", "timeout", "timeout"}}, nil)
	ctx, cancel := stdcontext.WithTimeout(stdcontext.Background(), 4*time.Minute)
	defer cancel()

	var wg sync.WaitGroup
	for r := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("automation/bursts/lead/%d/%d", r, time.Now().UnixNano())
			in := input(t, raw, enrol(nil))
			in.HistoryBudget = budget
			run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: queue}, workflows.WorkflowName, in)
			if err != nil {
				t.Error(err)
				return
			}
			var (
				mu       sync.Mutex
				accepted = map[string]bool{"evt-1": true}
			)
			send := func(ev event.Lead, copies int) {
				for range copies {
					if err := c.SignalWorkflow(ctx, id, "", workflows.SignalLeadEvent, ev); err == nil {
						mu.Lock()
						accepted[ev.ID] = true
						mu.Unlock()
					}
				}
			}
			for b := range bursts {
				var bw sync.WaitGroup
				for i := range perPart {
					bw.Add(1)
					go func() {
						defer bw.Done()
						// Burst events go out twice, as a retried delivery would.
						send(later(fmt.Sprintf("evt-%d-%d", b, i), "LEAD_UPDATED", map[string]any{"priority": i}), 2)
					}()
				}
				if b == bursts-1 {
					bw.Add(1)
					go func() { defer bw.Done(); send(later("evt-close", "LEAD_CLOSED", nil), 2) }()
				}
				bw.Wait()
				if b == bursts-1 {
					break
				}
				// Let the run apply the burst and go quiet, so that it
				// continues as new before the next one; then single events,
				// one workflow task each, until one of those tasks crosses
				// the budget (the task whose one event was lost before).
				applied := func() int { mu.Lock(); defer mu.Unlock(); return len(accepted) }
				waitApplied(ctx, c, id, applied())
				for i := range trickle {
					send(later(fmt.Sprintf("evt-%d-single-%d", b, i), "LEAD_UPDATED", nil), 1)
					if !waitApplied(ctx, c, id, applied()) {
						break // lost: the check below names it
					}
				}
			}
			var res workflows.Result
			if err := c.GetWorkflow(ctx, id, "").Get(ctx, &res); err != nil {
				t.Errorf("run %d: %v", r, err)
				return
			}
			if want := []string{"start", "wait", "closed"}; !equal(res.Path, want) {
				t.Errorf("run %d: path %v, want %v", r, res.Path, want)
			}
			seen := map[string]int{}
			for _, id := range res.Applied {
				seen[id]++
			}
			var missing, twice []string
			for id := range accepted {
				if seen[id] == 0 {
					missing = append(missing, id)
				}
			}
			for id, k := range seen {
				if k > 1 || !accepted[id] {
					twice = append(twice, id)
				}
			}
			sort.Strings(missing)
			sort.Strings(twice)
			generations := countRuns(ctx, t, c, id, run.GetRunID())
			t.Logf("run %d: %d events accepted, %d applied, %d generations", r, len(accepted), len(res.Applied), generations)
			if len(missing) > 0 || len(twice) > 0 {
				t.Errorf("run %d: not applied %v; applied twice or never sent %v", r, missing, twice)
			}
			if generations < 2 {
				t.Errorf("run %d: %d generations, want the bursts to cross the history budget", r, generations)
			}
		}()
	}
	wg.Wait()
}

// countRuns follows a workflow's continue-as-new chain from its first run.
func countRuns(ctx stdcontext.Context, t *testing.T, c client.Client, id, runID string) int {
	n := 0
	for runID != "" {
		h, err := history(ctx, c, id, runID)
		if err != nil {
			t.Error(err)
			return n
		}
		n++
		runID = ""
		if last := h.Events[len(h.Events)-1]; last.GetWorkflowExecutionContinuedAsNewEventAttributes() != nil {
			runID = last.GetWorkflowExecutionContinuedAsNewEventAttributes().NewExecutionRunId
		}
	}
	return n
}

// waitApplied waits until the run's state lists at least n applied events,
// for 20 s at most (a lost event is never listed; the test reports it).
func waitApplied(ctx stdcontext.Context, c client.Client, id string, n int) bool {
	ctx, cancel := stdcontext.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		if v, err := c.QueryWorkflow(ctx, id, "", workflows.QueryState); err == nil {
			var st workflows.State
			if v.Get(&st) == nil && len(st.Applied) >= n {
				return true
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return false
}
