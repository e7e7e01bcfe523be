// Package console is the operators' console the starter serves at
// /console, and the JSON endpoints behind it: per-node counts of an
// automation (/api/automation/{id}/stats) and a lead's runs across
// automations (/api/leads/{lead}/runs).
//
// Where the figures come from: "waiting" is Temporal's visibility store
// (the CurrentNode search attribute of running runs, counted per node);
// "passed" and "failed" are the run log (package runlog), one row per
// closed run read once from its close event; a running run's steps come
// from its state query, only on the lead page.
package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/converter"

	"github.com/conecrm/automation-runtime/internal/nodes"
	"github.com/conecrm/automation-runtime/internal/plan"
	"github.com/conecrm/automation-runtime/internal/routes"
	"github.com/conecrm/automation-runtime/internal/runlog"
	"github.com/conecrm/automation-runtime/internal/store"
	"github.com/conecrm/automation-runtime/internal/validate"
	"github.com/conecrm/automation-runtime/workflows"
)

// Temporal is the part of the client the console uses.
type Temporal interface {
	CountWorkflow(ctx context.Context, req *workflowservice.CountWorkflowExecutionsRequest) (*workflowservice.CountWorkflowExecutionsResponse, error)
	ListWorkflow(ctx context.Context, req *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error)
	QueryWorkflow(ctx context.Context, workflowID, runID, queryType string, args ...any) (converter.EncodedValue, error)
}

// Console serves the console and its JSON endpoints.
type Console struct {
	Store     *store.Store
	Temporal  Temporal
	Namespace string
	// UIURL is the Temporal Web UI's root, for links to runs.
	UIURL string
	// Auth is the starter's authentication of /api/*: it answers 401 or
	// calls the next handler. The console runs it on the bearer header or,
	// for browsers, on the token its login form keeps in a cookie.
	Auth func(http.Handler) http.Handler
	// Scope returns the franchises the caller may see; nil means every
	// franchise.
	Scope func(*http.Request) []string
	Log   zerolog.Logger
}

// APIPatterns are the routes of the JSON endpoints.
var APIPatterns = []string{
	"GET /api/automation/{automation}/stats",
	"GET /api/automation/{automation}/nodes/{node}/runs",
	"GET /api/leads/{lead}/runs",
	"GET /api/runs/failed",
}

// RegisterAPI adds the JSON endpoints to mux; the caller authenticates.
func (c *Console) RegisterAPI(mux routes.Registrar) {
	handlers := []http.HandlerFunc{c.statsJSON, c.nodeRunsJSON, c.leadRunsJSON, c.failedJSON}
	for i, p := range APIPatterns {
		mux.HandleFunc(p, handlers[i])
	}
}

type errorBody struct {
	Error    string            `json:"error"`
	Problems validate.Problems `json:"problems,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

var errNotFound = errors.New("not found")

// badRequest is an error in the request, answered 400; path names the
// query parameter or path segment at fault.
type badRequest struct{ path, msg string }

func (b badRequest) Error() string { return b.path + ": " + b.msg }

func (c *Console) fail(w http.ResponseWriter, r *http.Request, err error) {
	var br badRequest
	switch {
	case errors.As(err, &br):
		writeJSON(w, http.StatusBadRequest, errorBody{Error: br.Error(), Problems: validate.Problems{{Path: br.path, Message: br.msg}}})
	case errors.Is(err, errNotFound), errors.Is(err, store.ErrNotFound):
		writeJSON(w, http.StatusNotFound, errorBody{Error: "automation not found"})
	default:
		c.Log.Error().Err(err).Str("path", r.URL.Path).Msg("console request failed")
		writeJSON(w, http.StatusServiceUnavailable, errorBody{Error: "temporarily unavailable: " + err.Error()})
	}
}

// allowed says whether the caller may see a franchise's objects.
func (c *Console) allowed(r *http.Request, franchise string) bool {
	if c.Scope == nil {
		return true
	}
	scope := c.Scope(r)
	if scope == nil {
		return true
	}
	for _, f := range scope {
		if f == franchise {
			return true
		}
	}
	return false
}

func (c *Console) scope(r *http.Request) []string {
	if c.Scope == nil {
		return nil
	}
	return c.Scope(r)
}

// loaded is an automation with its compiled plan.
type loaded struct {
	rec       store.Automation
	plan      *plan.Plan
	franchise string
}

// automation reads an automation the caller may see; another franchise's
// automation is not found, as in the rest of the API.
func (c *Console) automation(r *http.Request, id string) (loaded, error) {
	at, err := c.Store.Get(r.Context(), id)
	if err != nil {
		return loaded{}, err
	}
	p, err := plan.Load(at.Document, 0)
	if err != nil {
		return loaded{}, fmt.Errorf("stored automation %s does not compile: %w", id, err)
	}
	l := loaded{rec: at, plan: p}
	if p.Doc.Franchise != nil {
		l.franchise = p.Doc.Franchise.ID
	}
	if !c.allowed(r, l.franchise) {
		return loaded{}, errNotFound
	}
	return l, nil
}

// sinceParam reads ?since=RFC3339; the default is 7 days ago.
func sinceParam(r *http.Request) (time.Time, error) {
	v := r.URL.Query().Get("since")
	if v == "" {
		return time.Now().Add(-7 * 24 * time.Hour).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, badRequest{"since", fmt.Sprintf("%q is not an RFC 3339 time such as 2026-01-02T15:04:05Z", v)}
	}
	return t, nil
}

// startedSince restricts a visibility query to runs started at or after t.
func startedSince(t time.Time) string {
	return " AND StartTime >= '" + t.UTC().Format(time.RFC3339Nano) + "'"
}

func quote(s string) string { return strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), `'`, `\'`) }

func (c *Console) count(ctx context.Context, query string) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	resp, err := c.Temporal.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Namespace: c.Namespace, Query: query})
	if err != nil {
		return 0, fmt.Errorf("counting runs: %w", err)
	}
	return resp.GetCount(), nil
}

// list returns up to limit runs matching a visibility query.
func (c *Console) list(ctx context.Context, query string, limit int) ([]*workflowpb.WorkflowExecutionInfo, error) {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	var (
		out   []*workflowpb.WorkflowExecutionInfo
		token []byte
	)
	for len(out) < limit {
		resp, err := c.Temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: c.Namespace, Query: query, PageSize: int32(min(limit-len(out), 1000)), NextPageToken: token})
		if err != nil {
			return nil, fmt.Errorf("listing runs: %w", err)
		}
		out = append(out, resp.GetExecutions()...)
		if token = resp.GetNextPageToken(); len(token) == 0 {
			break
		}
	}
	return out, nil
}

// parallel runs fns, a few at a time, and joins their errors.
func parallel(fns []func() error) error {
	errs := make([]error, len(fns))
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i, fn := range fns {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			errs[i] = fn()
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Counts are an automation's runs by state, from visibility.
type Counts struct {
	Running   int64 `json:"running"`
	Waiting   int64 `json:"waiting"`
	Failed    int64 `json:"failed"`
	Completed int64 `json:"completed"`
}

func (c *Console) runCounts(ctx context.Context, id string) (Counts, error) {
	var out Counts
	base := fmt.Sprintf("AutomationId = '%s' AND ", quote(id))
	err := parallel([]func() error{
		func() (err error) { out.Running, err = c.count(ctx, base+"ExecutionStatus = 'Running'"); return },
		func() (err error) {
			out.Waiting, err = c.count(ctx, base+"ExecutionStatus = 'Running' AND CurrentNodeType IN ('delay','wait_for_event')")
			return
		},
		func() (err error) { out.Failed, err = c.count(ctx, base+"ExecutionStatus = 'Failed'"); return },
		func() (err error) { out.Completed, err = c.count(ctx, base+"ExecutionStatus = 'Completed'"); return },
	})
	return out, err
}

// NodeStats are one node's figures.
type NodeStats struct {
	// Waiting: running runs at the node now.
	Waiting int64 `json:"waiting"`
	// Passed: runs closed since the period's start that passed the node,
	// plus runs started in the period and running at a node it dominates
	// (every path to where they are goes through it). Failed: runs closed
	// in the period that failed at the node.
	Passed int `json:"passed"`
	Failed int `json:"failed"`
}

// Goal is the goal conversion over the period.
type Goal struct {
	// Defined says whether the automation has a goal.
	Defined bool `json:"defined"`
	// Closed is the runs closed in the period; Reached those that reached
	// the goal; Conversion = Reached / Closed.
	Closed     int     `json:"closed"`
	Reached    int     `json:"reached"`
	Conversion float64 `json:"conversion"`
}

// Stats answers GET /api/automation/{id}/stats.
type Stats struct {
	AutomationID string               `json:"automationId"`
	Version      string               `json:"version"`
	Since        time.Time            `json:"since"`
	Nodes        map[string]NodeStats `json:"nodes"`
	Runs         Counts               `json:"runs"`
	Goal         Goal                 `json:"goal"`
}

// waitingNode says whether a run can be counted waiting at the node (its
// CurrentNode is set there); conditions, switches and splits add no history
// events, and an end finishes its branch.
func waitingNode(n *plan.Node) bool {
	return n.Category != nodes.CategoryCondition && n.Type != "end"
}

func (c *Console) stats(ctx context.Context, l loaded, since time.Time) (Stats, error) {
	id := l.rec.ID
	st := Stats{AutomationID: id, Version: l.rec.Version, Since: since, Nodes: map[string]NodeStats{}}
	ids := l.plan.NodeIDs()
	waiting := make([]int64, len(ids))
	recent := make([]int64, len(ids)) // running at the node, started in the period
	var fns []func() error
	for i, nid := range ids {
		if !waitingNode(l.plan.Node(nid)) {
			continue
		}
		at := fmt.Sprintf("AutomationId = '%s' AND ExecutionStatus = 'Running' AND CurrentNode = '%s'", quote(id), quote(nid))
		fns = append(fns, func() (err error) {
			waiting[i], err = c.count(ctx, at)
			return err
		}, func() (err error) {
			recent[i], err = c.count(ctx, at+startedSince(since))
			return err
		})
	}
	fns = append(fns, func() (err error) { st.Runs, err = c.runCounts(ctx, id); return })
	var counts map[string]store.NodeCount
	fns = append(fns, func() (err error) { counts, err = c.Store.NodeCounts(ctx, id, since); return })
	var closed []store.RunOutcome
	fns = append(fns, func() (err error) {
		closed, err = c.Store.Runs(ctx, store.RunFilter{AutomationID: id, ClosedSince: since, Limit: 100000})
		return
	})
	if err := parallel(fns); err != nil {
		return st, err
	}
	// A running run has passed the nodes that dominate the one it is at.
	passedRunning := map[string]int64{}
	dom := dominators(l.plan.TriggerID, ids, l.plan.Doc.Edges)
	for i, nid := range ids {
		for d := range dom[nid] {
			passedRunning[d] += recent[i]
		}
	}
	for i, nid := range ids {
		nc := counts[nid]
		st.Nodes[nid] = NodeStats{Waiting: waiting[i], Passed: nc.Passed + int(passedRunning[nid]), Failed: nc.Failed}
	}
	st.Goal = Goal{Defined: l.plan.Goal != nil, Closed: len(closed)}
	for _, o := range closed {
		if o.Status == workflows.StatusGoalReached {
			st.Goal.Reached++
		}
	}
	if st.Goal.Closed > 0 {
		st.Goal.Conversion = float64(st.Goal.Reached) / float64(st.Goal.Closed)
	}
	return st, nil
}

// serveJSON answers 200 with what get returns, or its error as fail words
// it.
func serveJSON[T any](c *Console, w http.ResponseWriter, r *http.Request, get func() (T, error)) {
	v, err := get()
	if err != nil {
		c.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// automationSince reads ?since= (a bad one is a 400 before anything is
// looked up) and the automation the path names.
func (c *Console) automationSince(r *http.Request) (loaded, time.Time, error) {
	since, err := sinceParam(r)
	if err != nil {
		return loaded{}, since, err
	}
	l, err := c.automation(r, r.PathValue("automation"))
	return l, since, err
}

func (c *Console) statsJSON(w http.ResponseWriter, r *http.Request) {
	serveJSON(c, w, r, func() (Stats, error) {
		l, since, err := c.automationSince(r)
		if err != nil {
			return Stats{}, err
		}
		return c.stats(r.Context(), l, since)
	})
}

// Run is one run as the console lists it.
type Run struct {
	WorkflowID   string     `json:"workflowId"`
	RunID        string     `json:"runId"`
	AutomationID string     `json:"automationId"`
	Automation   string     `json:"automationName,omitempty"`
	Version      string     `json:"version,omitempty"`
	LeadID       string     `json:"leadId"`
	FranchiseID  string     `json:"franchiseId,omitempty"`
	Status       string     `json:"status"`
	CurrentNode  string     `json:"currentNode,omitempty"`
	FailedNode   string     `json:"failedNode,omitempty"`
	Error        string     `json:"error,omitempty"`
	StartedAt    time.Time  `json:"startedAt"`
	ClosedAt     *time.Time `json:"closedAt,omitempty"`
	RunURL       string     `json:"runUrl"`
	// Steps are the run's steps with their time, outcome and summary.
	Steps []Step `json:"steps,omitempty"`
}

// Step is one node execution.
type Step struct {
	workflows.StepResult
	// Label is the node's label in the builder.
	Label string `json:"label,omitempty"`
}

func (c *Console) fromOutcome(o store.RunOutcome) Run {
	closed := o.ClosedAt
	run := Run{WorkflowID: o.WorkflowID, RunID: o.RunID, AutomationID: o.AutomationID, Version: o.Version, LeadID: o.LeadID, FranchiseID: o.FranchiseID,
		Status: o.Status, FailedNode: o.FailedNode, Error: o.Error, StartedAt: o.StartedAt, ClosedAt: &closed,
		RunURL: runlog.RunURL(c.UIURL, c.Namespace, o.WorkflowID, o.RunID)}
	var steps []workflows.StepResult
	_ = json.Unmarshal(o.Steps, &steps)
	for _, s := range steps {
		run.Steps = append(run.Steps, Step{StepResult: s})
	}
	return run
}

func keyword(ex *workflowpb.WorkflowExecutionInfo, name string) string {
	p := ex.GetSearchAttributes().GetIndexedFields()[name]
	if p == nil {
		return ""
	}
	var s string
	_ = converter.GetDefaultDataConverter().FromPayload(p, &s)
	return s
}

func (c *Console) fromVisibility(ex *workflowpb.WorkflowExecutionInfo) Run {
	wid, rid := ex.GetExecution().GetWorkflowId(), ex.GetExecution().GetRunId()
	status := strings.ToLower(strings.TrimPrefix(ex.GetStatus().String(), "WORKFLOW_EXECUTION_STATUS_"))
	if status == "canceled" { // the run log's spelling, so a run keeps its status once recorded
		status = workflows.StatusCancelled
	}
	run := Run{WorkflowID: wid, RunID: rid, AutomationID: keyword(ex, "AutomationId"), Version: keyword(ex, "AutomationVersion"),
		LeadID: keyword(ex, "LeadId"), FranchiseID: keyword(ex, "FranchiseId"), Status: status, StartedAt: ex.GetStartTime().AsTime(),
		RunURL: runlog.RunURL(c.UIURL, c.Namespace, wid, rid)}
	if ex.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		run.CurrentNode = keyword(ex, "CurrentNode")
	} else if ex.GetCloseTime() != nil {
		t := ex.GetCloseTime().AsTime()
		run.ClosedAt = &t
	}
	return run
}

// labels fills step labels and automation names from the automations'
// current documents.
func (c *Console) labels(ctx context.Context, runs []Run) {
	plans := map[string]*plan.Plan{}
	for i := range runs {
		id := runs[i].AutomationID
		p, ok := plans[id]
		if !ok {
			if at, err := c.Store.Get(ctx, id); err == nil {
				p, _ = plan.Load(at.Document, 0)
			}
			plans[id] = p
		}
		if p == nil {
			continue
		}
		runs[i].Automation = p.Doc.Name
		for j := range runs[i].Steps {
			if n := p.Node(runs[i].Steps[j].NodeID); n != nil {
				runs[i].Steps[j].Label = n.Label
			}
		}
	}
}

// LeadRuns answers GET /api/leads/{lead}/runs.
type LeadRuns struct {
	LeadID string `json:"leadId"`
	Runs   []Run  `json:"runs"`
}

// leadRuns lists every run of the lead, newest first: visibility names
// the runs (running ones included); closed runs' steps come from the run
// log, running runs' from their state query.
func (c *Console) leadRuns(r *http.Request, lead string) (LeadRuns, error) {
	ctx := r.Context()
	execs, err := c.list(ctx, fmt.Sprintf("LeadId = '%s' AND ExecutionStatus != 'ContinuedAsNew'", quote(lead)), 500)
	if err != nil {
		return LeadRuns{}, err
	}
	recorded, err := c.Store.Runs(ctx, store.RunFilter{LeadID: lead, Franchises: c.scope(r), Limit: 1000})
	if err != nil {
		return LeadRuns{}, err
	}
	byRun := map[string]store.RunOutcome{}
	for _, o := range recorded {
		byRun[o.RunID] = o
	}
	out := LeadRuns{LeadID: lead, Runs: []Run{}}
	var fns []func() error
	for _, ex := range execs {
		run := c.fromVisibility(ex)
		if !c.allowed(r, run.FranchiseID) {
			continue
		}
		if o, ok := byRun[run.RunID]; ok {
			run = c.fromOutcome(o)
		}
		out.Runs = append(out.Runs, run)
		if ex.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			i := len(out.Runs) - 1
			fns = append(fns, func() error {
				qctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				defer cancel()
				v, err := c.Temporal.QueryWorkflow(qctx, run.WorkflowID, run.RunID, workflows.QueryState)
				if err != nil {
					c.Log.Warn().Err(err).Str("workflow_id", run.WorkflowID).Msg("console: state query failed; steps omitted")
					return nil
				}
				var s workflows.State
				if err := v.Get(&s); err == nil {
					for _, sr := range s.Results {
						out.Runs[i].Steps = append(out.Runs[i].Steps, Step{StepResult: sr})
					}
				}
				return nil
			})
		}
	}
	// Runs recorded but gone from visibility (past its retention) stay
	// on the timeline.
	seen := map[string]bool{}
	for _, run := range out.Runs {
		seen[run.RunID] = true
	}
	for _, o := range recorded {
		if !seen[o.RunID] {
			out.Runs = append(out.Runs, c.fromOutcome(o))
		}
	}
	if err := parallel(fns); err != nil {
		return out, err
	}
	sort.SliceStable(out.Runs, func(i, j int) bool { return out.Runs[i].StartedAt.After(out.Runs[j].StartedAt) })
	c.labels(ctx, out.Runs)
	return out, nil
}

func (c *Console) leadRunsJSON(w http.ResponseWriter, r *http.Request) {
	serveJSON(c, w, r, func() (LeadRuns, error) { return c.leadRuns(r, r.PathValue("lead")) })
}

// NodeRuns are the runs at one node: waiting there now, and those closed
// in the period that passed it or failed at it.
type NodeRuns struct {
	NodeID  string `json:"nodeId"`
	Waiting []Run  `json:"waiting"`
	Passed  []Run  `json:"passed"`
	Failed  []Run  `json:"failed"`
}

const nodeRunsLimit = 200

func (c *Console) nodeRuns(r *http.Request, l loaded, node string, since time.Time) (NodeRuns, error) {
	ctx := r.Context()
	if l.plan.Node(node) == nil {
		return NodeRuns{}, badRequest{"node", fmt.Sprintf("automation %s has no node %q", l.rec.ID, node)}
	}
	out := NodeRuns{NodeID: node, Waiting: []Run{}, Passed: []Run{}, Failed: []Run{}}
	execs, err := c.list(ctx, fmt.Sprintf("AutomationId = '%s' AND ExecutionStatus = 'Running' AND CurrentNode = '%s'", quote(l.rec.ID), quote(node)), nodeRunsLimit)
	if err != nil {
		return out, err
	}
	for _, ex := range execs {
		out.Waiting = append(out.Waiting, c.fromVisibility(ex))
	}
	// Running runs past the node: at a node it dominates.
	var beyond []string
	for n, doms := range dominators(l.plan.TriggerID, l.plan.NodeIDs(), l.plan.Doc.Edges) {
		if doms[node] {
			beyond = append(beyond, "'"+quote(n)+"'")
		}
	}
	if len(beyond) > 0 {
		sort.Strings(beyond)
		execs, err := c.list(ctx, fmt.Sprintf("AutomationId = '%s' AND ExecutionStatus = 'Running' AND CurrentNode IN (%s)%s", quote(l.rec.ID), strings.Join(beyond, ","), startedSince(since)), nodeRunsLimit)
		if err != nil {
			return out, err
		}
		for _, ex := range execs {
			out.Passed = append(out.Passed, c.fromVisibility(ex))
		}
	}
	for outcome, dst := range map[string]*[]Run{store.NodePassed: &out.Passed, store.NodeFailed: &out.Failed} {
		runs, err := c.Store.RunsAtNode(ctx, l.rec.ID, node, outcome, since, nodeRunsLimit)
		if err != nil {
			return out, err
		}
		for _, o := range runs {
			run := c.fromOutcome(o)
			run.Steps = nil
			*dst = append(*dst, run)
		}
	}
	return out, nil
}

func (c *Console) nodeRunsJSON(w http.ResponseWriter, r *http.Request) {
	serveJSON(c, w, r, func() (NodeRuns, error) {
		l, since, err := c.automationSince(r)
		if err != nil {
			return NodeRuns{}, err
		}
		return c.nodeRuns(r, l, r.PathValue("node"), since)
	})
}

// failed lists failed runs, newest first, filtered by ?automation= and
// ?node= and ?since=.
func (c *Console) failed(r *http.Request) ([]Run, error) {
	since, err := sinceParam(r)
	if err != nil {
		return nil, err
	}
	q := r.URL.Query()
	recs, err := c.Store.Runs(r.Context(), store.RunFilter{Status: workflows.StatusFailed, AutomationID: q.Get("automation"), FailedNode: q.Get("node"),
		ClosedSince: since, Franchises: c.scope(r), Limit: 500})
	if err != nil {
		return nil, err
	}
	out := make([]Run, 0, len(recs))
	for _, o := range recs {
		run := c.fromOutcome(o)
		run.Steps = nil
		out = append(out, run)
	}
	c.labels(r.Context(), out)
	return out, nil
}

func (c *Console) failedJSON(w http.ResponseWriter, r *http.Request) {
	serveJSON(c, w, r, func() (map[string][]Run, error) {
		runs, err := c.failed(r)
		return map[string][]Run{"runs": runs}, err
	})
}
