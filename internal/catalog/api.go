package catalog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/rs/zerolog"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/conecrm/automation-runtime/internal/auth"
	"github.com/conecrm/automation-runtime/internal/automation"
	"github.com/conecrm/automation-runtime/internal/jsonmerge"
	"github.com/conecrm/automation-runtime/internal/nodes"
	"github.com/conecrm/automation-runtime/internal/routes"
	"github.com/conecrm/automation-runtime/internal/store"
	"github.com/conecrm/automation-runtime/internal/validate"
)

// Runs is the part of the Temporal client the API uses: visibility counts
// and lists, and cancellation.
type Runs interface {
	CountWorkflow(ctx context.Context, req *workflowservice.CountWorkflowExecutionsRequest) (*workflowservice.CountWorkflowExecutionsResponse, error)
	ListWorkflow(ctx context.Context, req *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error)
	CancelWorkflow(ctx context.Context, workflowID, runID string) error
	DescribeWorkflowExecution(ctx context.Context, workflowID, runID string) (*workflowservice.DescribeWorkflowExecutionResponse, error)
}

// API serves ConeCRM's automation endpoints over the store:
//
//	GET    /api/automation                          200 [automation...]
//	POST   /api/automation                          200 automation | 400 problems | 409 id taken
//	GET    /api/automation/builder/data             200 {triggers, actions, conditions, flow}
//	GET    /api/automation/{automation}             200 | 404
//	PATCH  /api/automation/{automation}             200 | 400 | 404 | 409 (JSON merge patch; a new version)
//	DELETE /api/automation/{automation}             200 | 404 (?cancelRunning=true cancels running runs)
//	POST   /api/automation/{automation}/duplicate   200 (an inactive copy) | 404
//	POST   /api/automation/{automation}/activate    200 | 404
//	POST   /api/automation/{automation}/deactivate  200 | 404
//
// Store failures answer 503 and write nothing. Authentication is the
// caller's (the starter wraps the handler and puts an auth.Identity in the
// request context): a franchise token sees and changes only its
// franchise's automations — another franchise's automation is a 404, as if
// it did not exist; naming another franchise (?franchise=, a body's
// franchise) is a 403. GET /api/automation?franchise=ID filters.
type API struct {
	Store   *store.Store
	Catalog *Catalog
	Runs    Runs
	// Namespace is the Temporal namespace of the runs.
	Namespace string
	Log       zerolog.Logger
}

// Register adds the routes to mux.
func (a *API) Register(mux routes.Registrar) {
	mux.HandleFunc("GET /api/automation", a.list)
	mux.HandleFunc("POST /api/automation", a.create)
	mux.HandleFunc("GET /api/automation/builder/data", a.builderData)
	mux.HandleFunc("GET /api/automation/{automation}", a.get)
	mux.HandleFunc("PATCH /api/automation/{automation}", a.patch)
	mux.HandleFunc("DELETE /api/automation/{automation}", a.delete)
	mux.HandleFunc("POST /api/automation/{automation}/duplicate", a.duplicate)
	mux.HandleFunc("POST /api/automation/{automation}/activate", func(w http.ResponseWriter, r *http.Request) { a.setActive(w, r, true) })
	mux.HandleFunc("POST /api/automation/{automation}/deactivate", func(w http.ResponseWriter, r *http.Request) { a.setActive(w, r, false) })
}

// ErrorBody is the body of every error answer.
type ErrorBody struct {
	Error    string            `json:"error"`
	Problems validate.Problems `json:"problems,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// fail maps an error to its status: 404, 409, else 503 (the store or
// Temporal is unavailable; nothing was written).
func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeJSON(w, http.StatusNotFound, ErrorBody{Error: "automation not found"})
	case errors.Is(err, store.ErrExists):
		writeJSON(w, http.StatusConflict, ErrorBody{Error: "an automation with this id already exists"})
	case errors.Is(err, store.ErrConflict):
		writeJSON(w, http.StatusConflict, ErrorBody{Error: "the automation changed concurrently; read it again and retry"})
	default:
		a.Log.Error().Err(err).Str("method", r.Method).Str("path", r.URL.Path).Msg("automation API request failed")
		writeJSON(w, http.StatusServiceUnavailable, ErrorBody{Error: "temporarily unavailable, nothing was changed: " + err.Error()})
	}
}

func (a *API) invalid(w http.ResponseWriter, problems validate.Problems) {
	writeJSON(w, http.StatusBadRequest, ErrorBody{Error: "invalid automation", Problems: problems})
}

func readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, automation.MaxDocumentBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeJSON(w, http.StatusRequestEntityTooLarge, ErrorBody{Error: fmt.Sprintf("body exceeds %d bytes", automation.MaxDocumentBytes)})
		} else {
			writeJSON(w, http.StatusBadRequest, ErrorBody{Error: "reading body: " + err.Error()})
		}
		return nil, false
	}
	return body, true
}

// DelayedQuery is the visibility query counting an automation's runs that
// wait in a delay or wait node.
func DelayedQuery(id string) string {
	return fmt.Sprintf("AutomationId = '%s' AND ExecutionStatus = 'Running' AND CurrentNodeType IN ('delay','wait_for_event')", quote(id))
}

func quote(s string) string { return strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), `'`, `\'`) }

func (a *API) delayed(ctx context.Context, id string) (int64, error) {
	if a.Runs == nil {
		return 0, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	resp, err := a.Runs.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Namespace: a.Namespace, Query: DelayedQuery(id)})
	if err != nil {
		return 0, fmt.Errorf("counting delayed runs: %w", err)
	}
	return resp.GetCount(), nil
}

// render is the automation as the API returns it: the document with its
// record fields and the live count of delayed runs.
func (a *API) render(ctx context.Context, at store.Automation) (map[string]any, error) {
	var out map[string]any
	if err := json.Unmarshal(at.Document, &out); err != nil {
		return nil, fmt.Errorf("stored automation %s: %w", at.ID, err)
	}
	n, err := a.delayed(ctx, at.ID)
	if err != nil {
		return nil, err
	}
	recordFields(out, at)
	out["version"] = at.Version
	out["versionNumber"] = at.Seq
	out["delayedAutomationsCount"] = n
	return out, nil
}

// recordFields sets seed 003's BaseRecord fields (users as {"id"}, or
// null when unknown).
func recordFields(out map[string]any, at store.Automation) {
	user := func(id string) any {
		if id == "" {
			return nil
		}
		return map[string]string{"id": id}
	}
	out["id"] = at.ID
	out["dtype"] = "Automation"
	out["isActive"] = at.Active
	out["isDeleted"] = at.Deleted
	out["dateCreated"] = at.CreatedAt.Format(time.RFC3339Nano)
	out["createdBy"] = user(at.CreatedBy)
	out["dateModified"] = at.UpdatedAt.Format(time.RFC3339Nano)
	out["modifiedBy"] = user(at.ModifiedBy)
	out["dateDeleted"] = nil
	if !at.DeletedAt.IsZero() {
		out["dateDeleted"] = at.DeletedAt.Format(time.RFC3339Nano)
	}
	out["deletedBy"] = user(at.DeletedBy)
}

// load returns the automation if the caller may see it; another
// franchise's is ErrNotFound, like a missing one.
func (a *API) load(r *http.Request, id string) (store.Automation, error) {
	at, err := a.Store.Get(r.Context(), id)
	if err != nil {
		return at, err
	}
	if !auth.FromContext(r.Context()).CanAccess(at.Franchise) {
		return store.Automation{}, store.ErrNotFound
	}
	return at, nil
}

// owns checks that a prepared document's franchise is the caller's, and
// answers 403 when it is not.
func (a *API) owns(w http.ResponseWriter, r *http.Request, p *Prepared) bool {
	if !auth.FromContext(r.Context()).CanAccess(p.Version.Franchise) {
		auth.Forbidden(w, "franchise.id")
		return false
	}
	return true
}

func (a *API) respond(w http.ResponseWriter, r *http.Request, at store.Automation) {
	out, err := a.render(r.Context(), at)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) list(w http.ResponseWriter, r *http.Request) {
	franchise, ok := auth.FromContext(r.Context()).Scope(r.URL.Query().Get("franchise"))
	if !ok {
		auth.Forbidden(w, "franchise")
		return
	}
	list, err := a.Store.ListFranchise(r.Context(), franchise)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	// One visibility count per automation, a few at a time.
	out := make([]map[string]any, len(list))
	errs := make([]error, len(list))
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i, at := range list {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			out[i], errs[i] = a.render(r.Context(), at)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) get(w http.ResponseWriter, r *http.Request) {
	at, err := a.load(r, r.PathValue("automation"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.respond(w, r, at)
}

func (a *API) builderData(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, nodes.Builtin().BuilderData())
}

// created puts a stored version in the catalog at once (other starters
// see it at their next refresh).
func (a *API) created(at store.Automation, p *Prepared) {
	if a.Catalog != nil {
		a.Catalog.Set(at.Seq, p.Plan)
	}
}

func (a *API) create(w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	var head struct {
		ID        string          `json:"id"`
		Franchise json.RawMessage `json:"franchise"`
	}
	_ = json.Unmarshal(body, &head)
	id := head.ID
	if id == "" {
		id = uuid.Must(uuid.NewV7()).String()
	}
	// A franchise token's automation belongs to its franchise unless the
	// body says otherwise (which owns then rejects).
	if caller := auth.FromContext(r.Context()); !caller.Admin() && (len(head.Franchise) == 0 || string(head.Franchise) == "null") {
		var fields map[string]any
		if json.Unmarshal(body, &fields) == nil && fields != nil {
			fields["franchise"] = map[string]any{"id": caller.Franchise}
			body, _ = json.Marshal(fields)
		}
	}
	a.insert(w, r, body, id, true)
}

func (a *API) patch(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("automation")
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	var patch any
	if err := json.Unmarshal(body, &patch); err != nil {
		a.invalid(w, validate.Problems{{Message: "malformed JSON: " + err.Error()}})
		return
	}
	if _, isObject := patch.(map[string]any); !isObject {
		a.invalid(w, validate.Problems{{Message: "the body must be a JSON object (a merge patch of the automation)"}})
		return
	}
	cur, err := a.load(r, id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var doc any
	if err := json.Unmarshal(cur.Document, &doc); err != nil {
		a.fail(w, r, err)
		return
	}
	merged, _ := json.Marshal(jsonmerge.Apply(doc, patch))
	p, problems := Prepare(merged, id, cur.Active)
	if len(problems) > 0 {
		a.invalid(w, problems)
		return
	}
	if !a.owns(w, r, p) {
		return
	}
	p.Version.By = auth.FromContext(r.Context()).UserID
	at, err := a.Store.Update(r.Context(), cur.Seq, p.Version)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.created(at, p)
	a.Log.Info().Str("automation_id", id).Int("version_number", at.Seq).Str("version", at.Version).Bool("active", at.Active).Msg("automation updated")
	a.respond(w, r, at)
}

func (a *API) setActive(w http.ResponseWriter, r *http.Request, active bool) {
	id := r.PathValue("automation")
	cur, err := a.load(r, id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	p, problems := Prepare(cur.Document, id, active)
	if len(problems) > 0 {
		a.invalid(w, problems)
		return
	}
	p.Version.Active = active
	p.Version.By = auth.FromContext(r.Context()).UserID
	at, err := a.Store.Update(r.Context(), cur.Seq, p.Version)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.created(at, p)
	a.respond(w, r, at)
}

func (a *API) duplicate(w http.ResponseWriter, r *http.Request) {
	cur, err := a.load(r, r.PathValue("automation"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var fields map[string]any
	if err := json.Unmarshal(cur.Document, &fields); err != nil {
		a.fail(w, r, err)
		return
	}
	name, _ := fields["name"].(string)
	fields["name"] = name + " (copy)"
	body, _ := json.Marshal(fields)
	id := uuid.Must(uuid.NewV7()).String()
	// A copy starts inactive, so it does not enrol the same leads twice.
	a.insert(w, r, body, id, false)
}

// insert validates and stores a new automation, and answers with it.
func (a *API) insert(w http.ResponseWriter, r *http.Request, body []byte, id string, active bool) {
	p, problems := Prepare(body, id, active)
	if len(problems) > 0 {
		a.invalid(w, problems)
		return
	}
	if !a.owns(w, r, p) {
		return
	}
	p.Version.By = auth.FromContext(r.Context()).UserID
	at, err := a.Store.Create(r.Context(), p.Version)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.created(at, p)
	a.Log.Info().Str("automation_id", id).Str("version", at.Version).Msg("automation created")
	a.respond(w, r, at)
}

// DeleteResult is the body of a DELETE answer.
type DeleteResult struct {
	ID      string `json:"id"`
	Deleted bool   `json:"deleted"`
	// CancelledRuns counts the running runs cancelled (cancelRunning=true).
	CancelledRuns int `json:"cancelledRuns"`
	// DeletedBy is the user who deleted it, when known.
	DeletedBy *struct {
		ID string `json:"id"`
	} `json:"deletedBy,omitempty"`
}

func (a *API) delete(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("automation")
	if _, err := a.load(r, id); err != nil {
		a.fail(w, r, err)
		return
	}
	by := auth.FromContext(r.Context()).UserID
	if err := a.Store.Delete(r.Context(), id, by); err != nil {
		a.fail(w, r, err)
		return
	}
	if a.Catalog != nil {
		a.Catalog.Remove(id)
	}
	res := DeleteResult{ID: id, Deleted: true}
	if by != "" {
		res.DeletedBy = &struct {
			ID string `json:"id"`
		}{by}
	}
	if r.URL.Query().Get("cancelRunning") == "true" {
		n, err := a.cancelRunning(r.Context(), id)
		res.CancelledRuns = n
		if err != nil {
			// The automation is deleted; the caller may repeat the
			// cancellation (a DELETE of a deleted automation is a 404, so
			// say what happened).
			a.Log.Error().Err(err).Str("automation_id", id).Msg("cancelling running runs")
			writeJSON(w, http.StatusServiceUnavailable, ErrorBody{Error: fmt.Sprintf("automation deleted, but cancelling its running runs failed after %d: %v", n, err)})
			return
		}
	}
	a.Log.Info().Str("automation_id", id).Int("cancelled_runs", res.CancelledRuns).Msg("automation deleted")
	writeJSON(w, http.StatusOK, res)
}

// cancelRunning cancels every running run of the automation, found through
// visibility and the enrolment index, by workflow id: an empty run id
// reaches the current run of a chain that continued as new, where a listed
// run id may already be closed. A run that closed meanwhile is not counted.
func (a *API) cancelRunning(ctx context.Context, id string) (int, error) {
	if a.Runs == nil {
		return 0, nil
	}
	seen := map[string]bool{}
	n := 0
	cancel := func(wfID, leadID string) error {
		if seen[wfID] {
			return nil
		}
		seen[wfID] = true
		// Temporal accepts a cancellation of a closed workflow without
		// error: ask first, so only running runs are counted.
		asked := time.Now()
		desc, err := a.Runs.DescribeWorkflowExecution(ctx, wfID, "")
		if err == nil && desc.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			err = serviceerror.NewNotFound("closed")
		}
		if err == nil {
			err = a.Runs.CancelWorkflow(ctx, wfID, "")
		}
		var nf *serviceerror.NotFound
		switch {
		case err == nil:
			n++
		case errors.As(err, &nf):
			if leadID != "" && a.Store != nil {
				if err := a.Store.EndEnrolment(ctx, leadID, wfID, asked); err != nil {
					return fmt.Errorf("recording the end of %s: %w", wfID, err)
				}
			}
		default:
			return fmt.Errorf("cancelling %s: %w", wfID, err)
		}
		return nil
	}
	if a.Store != nil {
		rows, err := a.Store.AutomationEnrolments(ctx, id)
		if err != nil {
			return n, fmt.Errorf("reading the enrolment index: %w", err)
		}
		for _, r := range rows {
			if err := cancel(r.WorkflowID, r.LeadID); err != nil {
				return n, err
			}
		}
	}
	query := fmt.Sprintf("AutomationId = '%s' AND ExecutionStatus = 'Running'", quote(id))
	var token []byte
	for {
		resp, err := a.Runs.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: a.Namespace, Query: query, PageSize: 500, NextPageToken: token})
		if err != nil {
			return n, err
		}
		for _, ex := range resp.GetExecutions() {
			if err := cancel(ex.GetExecution().GetWorkflowId(), ""); err != nil {
				return n, err
			}
		}
		token = resp.GetNextPageToken()
		if len(token) == 0 {
			return n, nil
		}
	}
}
