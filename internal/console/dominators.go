package console

import (
	"github.com/conecrm/automation-runtime/internal/automation"
)

// dominators returns, for each node reachable from the trigger, the nodes
// every path from the trigger to it passes through, itself excluded. A run
// parked at a node has necessarily passed its dominators, so running runs
// count as having passed them without reading their histories. Automations
// are acyclic (cycles are rejected), so one pass in topological order
// suffices.
func dominators(trigger string, nodeIDs []string, edges []automation.Edge) map[string]map[string]bool {
	preds := map[string][]string{}
	succ := map[string][]string{}
	known := map[string]bool{}
	for _, id := range nodeIDs {
		known[id] = true
	}
	indeg := map[string]int{}
	for _, e := range edges {
		if !known[e.Source] || !known[e.Target] {
			continue
		}
		preds[e.Target] = append(preds[e.Target], e.Source)
		succ[e.Source] = append(succ[e.Source], e.Target)
		indeg[e.Target]++
	}
	// Kahn's order over the whole graph; nodes on a cycle never come out
	// and get no dominators.
	var order, queue []string
	for _, id := range nodeIDs {
		if indeg[id] == 0 {
			queue = append(queue, id)
		}
	}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		order = append(order, n)
		for _, s := range succ[n] {
			if indeg[s]--; indeg[s] == 0 {
				queue = append(queue, s)
			}
		}
	}
	// full[n] is n's dominator set including n; nil: not reachable.
	full := map[string]map[string]bool{}
	for _, n := range order {
		if n == trigger {
			full[n] = map[string]bool{n: true}
			continue
		}
		var set map[string]bool
		for _, p := range preds[n] {
			dp := full[p]
			if dp == nil {
				continue // an unreachable predecessor adds no path
			}
			if set == nil {
				set = map[string]bool{}
				for k := range dp {
					set[k] = true
				}
				continue
			}
			for k := range set {
				if !dp[k] {
					delete(set, k)
				}
			}
		}
		if set != nil {
			set[n] = true
			full[n] = set
		}
	}
	out := map[string]map[string]bool{}
	for n, set := range full {
		strict := map[string]bool{}
		for k := range set {
			if k != n {
				strict[k] = true
			}
		}
		out[n] = strict
	}
	return out
}
