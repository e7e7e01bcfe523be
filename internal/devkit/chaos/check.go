package chaos

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"go.temporal.io/api/enums/v1"

	"github.com/conecrm/automation-runtime/workflows"
)

// check compares every run with its dry run and the fakes' records with the
// side effects the dry runs predict.
func (h *harness) check(ctx context.Context, leads []*lead, results []*workflows.Result) {
	s := &h.sum
	s.Deliveries = int(h.posts.Load())
	s.DuplicatesSuppressed = int(h.dups.Load())
	s.FaultsInjected = map[string]int{}
	for k, v := range h.fakes.Sandbox.Stats().Injected {
		if k != "latency" {
			s.FaultsInjected["conecrm "+string(k)] += v
		}
	}
	for k, v := range h.crm.Injected() {
		s.FaultsInjected["crm "+k] += v
	}

	// Observed side effects per lead.
	tasks, copies, moves := map[string]int{}, map[string]int{}, map[string]int{}
	for _, t := range h.fakes.Sandbox.Tasks() {
		if t.Connection != nil {
			tasks[t.Connection.ID]++
		}
	}
	for _, c := range h.fakes.Sandbox.LeadCopies() {
		copies[c.SourceLeadID]++
	}
	for _, m := range h.fakes.Sandbox.StageMoves() {
		moves[m.LeadID]++
	}
	contacts, deals := map[string]int{}, map[string]int{}
	for _, r := range h.fakes.HubSpot.Records("contacts") {
		contacts[r["email"]]++
	}
	for _, r := range h.fakes.HubSpot.Records("deals") {
		deals[r["conecrm_lead_id"]]++
	}
	s.SideEffects = map[string]Count{}
	add := func(kind string, exp, obs int, l *lead) {
		c := s.SideEffects[kind]
		c.Expected += exp
		c.Observed += obs
		s.SideEffects[kind] = c
		if exp != obs {
			h.problem("lead %d (%s): %s expected %d, observed %d", l.n, l.id, kind, exp, obs)
		}
	}
	for i, l := range leads {
		exp := map[string]int{}
		for _, a := range l.expected.Actions {
			exp[a.Activity]++
		}
		add("tasks", exp["CreateTask"], tasks[l.id], l)
		add("lead copies", exp["CopyLead"], copies[l.id], l)
		add("stage moves", exp["MoveStage"], moves[l.id], l)
		add("crm contacts", exp["PushToCRM"], contacts["lead-"+l.id+"@bench.example"], l)
		add("crm deals", exp["PushToCRM"], deals[l.id], l)
		res := results[i]
		if res == nil {
			if l.workflowID != "" {
				s.Stuck++
				h.problem("lead %d: run %s did not finish (stuck): %s", l.n, l.workflowID, h.pending(ctx, l.workflowID))
			}
			continue
		}
		s.Completed++
		if res.Status == l.expected.Status && res.Reason == l.expected.Reason && slices.Equal(res.Path, l.expected.Path) {
			s.PathMatches++
		} else {
			h.problem("lead %d: ended %s (%s) via %v; dry run: %s (%s) via %v", l.n, res.Status, res.Reason, res.Path, l.expected.Status, l.expected.Reason, l.expected.Path)
		}
	}

	// Workflow task failures in every history.
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for _, l := range leads {
		if l.workflowID == "" {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			it := h.client.GetWorkflowHistory(ctx, l.workflowID, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
			failed, nondet := 0, 0
			for it.HasNext() {
				ev, err := it.Next()
				if err != nil {
					h.problem("lead %d: history: %v", l.n, err)
					return
				}
				if a := ev.GetWorkflowTaskFailedEventAttributes(); a != nil {
					failed++
					msg := strings.ToLower(a.GetFailure().GetMessage())
					if a.GetCause() == enums.WORKFLOW_TASK_FAILED_CAUSE_NON_DETERMINISTIC_ERROR || strings.Contains(msg, "nondeterministic") || strings.Contains(msg, "non-deterministic") {
						nondet++
					}
				}
			}
			mu.Lock()
			s.WorkflowTaskFailures += failed
			s.NonDeterminism += nondet
			mu.Unlock()
			if nondet > 0 {
				h.problem("lead %d: %d non-determinism workflow task failures", l.n, nondet)
			}
		}()
	}
	wg.Wait()
	if s.Kills < h.o.Kills {
		h.problem("only %d of %d worker kills happened", s.Kills, h.o.Kills)
	}
	if h.o.ServerRestart && s.ServerRestarts == 0 {
		h.problem("the dev server was not restarted")
	}
}

// pending says where an unfinished run is: its current node and its pending
// activities with their attempts and last failures.
func (h *harness) pending(ctx context.Context, id string) string {
	d, err := h.client.DescribeWorkflowExecution(ctx, id, "")
	if err != nil {
		return err.Error()
	}
	var parts []string
	if p := d.GetWorkflowExecutionInfo().GetSearchAttributes().GetIndexedFields()["CurrentNode"]; p != nil {
		parts = append(parts, "at "+string(p.GetData()))
	}
	for _, a := range d.GetPendingActivities() {
		parts = append(parts, fmt.Sprintf("activity %s %s attempt %d last failure %q", a.GetActivityType().GetName(), a.GetState(), a.GetAttempt(), a.GetLastFailure().GetMessage()))
	}
	if wt := d.GetPendingWorkflowTask(); wt != nil {
		parts = append(parts, fmt.Sprintf("workflow task %s attempt %d", wt.GetState(), wt.GetAttempt()))
	}
	return strings.Join(parts, "; ")
}
