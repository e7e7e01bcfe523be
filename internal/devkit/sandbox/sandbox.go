// Package sandbox is an in-memory stand-in for the ConeCRM API endpoints the
// runtime calls. Tests and the one-command demo use it when no real ConeCRM
// is configured. It validates requests like the seed says ConeCRM does,
// honours Idempotency-Key on every mutating route, keeps seeded dealership
// data in memory (see seed.go), records every request, and can inject
// faults per route (see faults.go).
package sandbox

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/conecrm/automation-runtime/internal/conecrm"
	"github.com/conecrm/automation-runtime/internal/validate"
)

// Request is a recorded request. Status is 0 when no response was sent
// (an injected reset or drop).
type Request struct {
	Method         string    `json:"method"`
	Path           string    `json:"path"`
	Route          string    `json:"route,omitempty"`
	IdempotencyKey string    `json:"idempotencyKey,omitempty"`
	Body           string    `json:"body,omitempty"`
	Status         int       `json:"status"`
	Replayed       bool      `json:"replayed,omitempty"`
	Fault          FaultKind `json:"fault,omitempty"`
	At             time.Time `json:"at"`
}

// LeadCopy is a lead created by POST /api/lead/{lead}/copy.
type LeadCopy struct {
	SourceLeadID string       `json:"sourceLeadId"`
	Lead         conecrm.Lead `json:"lead"`
	At           time.Time    `json:"at"`
}

// StageMove is one stage-move call; Changed is false when the lead was
// already in the stage.
type StageMove struct {
	LeadID      string    `json:"leadId"`
	FromStageID string    `json:"fromStageId"`
	ToStageID   string    `json:"toStageId"`
	Changed     bool      `json:"changed"`
	At          time.Time `json:"at"`
}

// Option configures a Server.
type Option func(*Server)

// WithFaults starts the sandbox with a fault configuration (New panics if
// it is invalid; validate it with FaultConfig.Validate or ParseFaults).
func WithFaults(cfg FaultConfig) Option {
	return func(s *Server) {
		if err := s.SetFaults(cfg); err != nil {
			panic("sandbox: " + err.Error())
		}
	}
}

// WithLenientReferences accepts tasks whose assignee, contact, account or
// connection is not in the seeded data (ConeCRM rejects them).
func WithLenientReferences() Option { return func(s *Server) { s.lenient = true } }

// Server is the sandbox. It is safe for concurrent use.
type Server struct {
	token   string
	lenient bool
	// ignoreIdem makes every request run even when it carries an
	// Idempotency-Key already seen (guarded by mu).
	ignoreIdem bool
	mux        *http.ServeMux

	mu         sync.Mutex
	stages     []conecrm.Stage
	users      map[string]User
	contacts   map[string]Contact
	accounts   map[string]*conecrm.Account
	accountIDs []string
	leads      map[string]*conecrm.Lead
	leadIDs    []string
	tasks      []conecrm.Task
	copies     []LeadCopy
	moves      []StageMove
	requests   []Request
	idem       map[string]storedResponse
	keyLocks   map[string]*keyLock
	faults     FaultConfig
	rng        *rand.Rand
	stats      Stats
}

type storedResponse struct {
	bodyHash [32]byte
	status   int
	header   http.Header
	body     []byte
}

type keyLock struct {
	mu   sync.Mutex
	refs int
}

// New returns a sandbox with the seeded data. A non-empty token must be
// presented as a bearer token on every API call.
func New(token string, opts ...Option) *Server {
	s := &Server{token: token, mux: http.NewServeMux(), rng: rand.New(rand.NewPCG(0, 0x9e3779b97f4a7c15))}
	s.reset()
	s.mux.HandleFunc("POST /api/task", s.createTask)
	s.mux.HandleFunc("PATCH /api/task/{task}", s.updateTask)
	s.mux.HandleFunc("POST /api/lead", s.createLead)
	s.mux.HandleFunc("POST /api/lead/{lead}/copy", s.copyLead)
	s.mux.HandleFunc("PATCH /api/lead/{lead}", s.patchLead)
	s.mux.HandleFunc("GET /api/stage", s.listStages)
	s.mux.HandleFunc("GET /api/stage/{id}", s.getStage)
	s.mux.HandleFunc("GET /api/contact/{contact}/lead/open", s.openLeads)
	s.mux.HandleFunc("PATCH /api/account/{account}", s.patchAccount)
	s.mux.HandleFunc("POST /api/query-builder/filter/{entity}", s.filter)

	s.mux.HandleFunc("GET /sandbox/requests", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, 200, s.Requests()) })
	s.mux.HandleFunc("GET /sandbox/tasks", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, 200, s.Tasks()) })
	s.mux.HandleFunc("GET /sandbox/leads", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, 200, s.Leads()) })
	s.mux.HandleFunc("GET /sandbox/lead-copies", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, 200, s.LeadCopies()) })
	s.mux.HandleFunc("GET /sandbox/stage-moves", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, 200, s.StageMoves()) })
	s.mux.HandleFunc("GET /sandbox/accounts", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, 200, s.Accounts()) })
	s.mux.HandleFunc("GET /sandbox/stats", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, 200, s.Stats()) })
	s.mux.HandleFunc("GET /sandbox/faults", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, 200, s.Faults()) })
	s.mux.HandleFunc("PUT /sandbox/faults", func(w http.ResponseWriter, r *http.Request) {
		data, _ := io.ReadAll(r.Body)
		cfg, err := ParseFaults(data)
		if err == nil {
			err = s.SetFaults(cfg)
		}
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, s.Faults())
	})
	s.mux.HandleFunc("GET /sandbox/idempotency", s.getIdempotency)
	s.mux.HandleFunc("PUT /sandbox/idempotency", s.putIdempotency)
	s.mux.HandleFunc("POST /sandbox/reset", func(w http.ResponseWriter, _ *http.Request) {
		s.Reset()
		w.WriteHeader(http.StatusNoContent)
	})
	for _, o := range opts {
		o(s)
	}
	return s
}

// Reset restores the seeded data and forgets every request, created object,
// idempotent response and counter. The fault configuration stays, with its
// random draws reseeded and its Times counters reset.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reset()
	for i := range s.faults.Faults {
		s.faults.Faults[i].fired = 0
	}
	s.rng = rand.New(rand.NewPCG(s.faults.Seed, s.faults.Seed^0x9e3779b97f4a7c15))
}

func (s *Server) reset() {
	s.stages = slices.Clone(SeedStages)
	s.users = map[string]User{}
	for _, u := range SeedUsers {
		s.users[u.ID] = u
	}
	s.contacts = map[string]Contact{}
	for _, c := range SeedContacts {
		s.contacts[c.ID] = c
	}
	s.accounts, s.accountIDs = map[string]*conecrm.Account{}, nil
	for _, a := range seedAccounts() {
		s.accounts[a.ID] = &a
		s.accountIDs = append(s.accountIDs, a.ID)
	}
	s.leads, s.leadIDs = map[string]*conecrm.Lead{}, nil
	for _, l := range seedLeads() {
		s.leads[l.ID] = &l
		s.leadIDs = append(s.leadIDs, l.ID)
	}
	s.tasks, s.copies, s.moves, s.requests = nil, nil, nil, nil
	s.idem = map[string]storedResponse{}
	s.keyLocks = map[string]*keyLock{}
	s.stats = Stats{Injected: map[FaultKind]int{}}
}

// ServeHTTP authenticates, injects faults, records, replays idempotent
// responses and routes. Every response is buffered and the request recorded
// before anything reaches the client, so a client that has seen a response
// (or a closed connection) also sees it in Requests and Stats.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	r.Body = io.NopCloser(bytes.NewReader(body))
	_, pattern := s.mux.Handler(r)
	entry := Request{Method: r.Method, Path: r.URL.Path, Route: pattern, IdempotencyKey: r.Header.Get("Idempotency-Key"), Body: string(body), At: time.Now().UTC()}
	record := func(status int) {
		entry.Status = status
		s.mu.Lock()
		s.requests = append(s.requests, entry)
		s.stats.Requests++
		if entry.Replayed {
			s.stats.Replayed++
		}
		s.mu.Unlock()
	}
	respond := func(buf *bufferedWriter) {
		record(buf.status)
		for k, v := range buf.header {
			w.Header()[k] = v
		}
		w.WriteHeader(buf.status)
		_, _ = w.Write(buf.body.Bytes())
	}
	fail := func(kind FaultKind, reset bool) {
		entry.Fault = kind
		record(0)
		abort(w, reset)
	}
	buf := newBuffer()

	internal := strings.HasPrefix(r.URL.Path, "/sandbox/")
	if s.token != "" && !internal && r.Header.Get("Authorization") != "Bearer "+s.token {
		writeJSON(buf, http.StatusUnauthorized, map[string]string{"error": "Invalid or missing token"})
		respond(buf)
		return
	}

	var inj injection
	if !internal && pattern != "" {
		s.mu.Lock()
		inj = s.draw(r.Method, pattern)
		s.mu.Unlock()
	}
	if inj.latency > 0 {
		select {
		case <-time.After(inj.latency):
		case <-r.Context().Done():
			record(0)
			return
		}
	}
	switch inj.kind {
	case FaultTooManyRequests:
		entry.Fault = inj.kind
		buf.Header().Set("Retry-After", fmt.Sprint(max(1, int(inj.retryAfter.Round(time.Second)/time.Second))))
		writeJSON(buf, http.StatusTooManyRequests, map[string]string{"error": "Too many requests"})
		respond(buf)
		return
	case FaultServerError:
		entry.Fault = inj.kind
		writeJSON(buf, http.StatusInternalServerError, map[string]string{"error": "Internal server error"})
		respond(buf)
		return
	case FaultReset:
		fail(inj.kind, true)
		return
	}

	key := r.Header.Get("Idempotency-Key")
	s.mu.Lock()
	ignore := s.ignoreIdem
	s.mu.Unlock()
	if key == "" || ignore || r.Method == http.MethodGet || r.Method == http.MethodHead {
		s.mux.ServeHTTP(buf, r)
		if inj.kind == FaultDrop {
			fail(inj.kind, false)
			return
		}
		respond(buf)
		return
	}
	idemKey := r.Method + " " + r.URL.Path + " " + key
	unlock := s.lockKey(idemKey)
	defer unlock()
	hash := sha256.Sum256(body)
	s.mu.Lock()
	prev, seen := s.idem[idemKey]
	s.mu.Unlock()
	if seen {
		if prev.bodyHash != hash {
			writeJSON(buf, http.StatusUnprocessableEntity, map[string]string{"error": "Idempotency-Key reused with a different request body"})
			respond(buf)
			return
		}
		entry.Replayed = true
		buf.header = prev.header.Clone()
		buf.header.Set("Idempotent-Replayed", "true")
		buf.status = prev.status
		buf.body.Write(prev.body)
		respond(buf)
		return
	}
	s.mux.ServeHTTP(buf, r)
	if buf.status < 500 {
		s.mu.Lock()
		s.idem[idemKey] = storedResponse{bodyHash: hash, status: buf.status, header: buf.header.Clone(), body: bytes.Clone(buf.body.Bytes())}
		s.mu.Unlock()
	}
	if inj.kind == FaultDrop {
		fail(inj.kind, false)
		return
	}
	respond(buf)
}

// lockKey serialises requests that share an idempotency key, so a
// duplicate arriving while the first is in flight waits and is replayed.
func (s *Server) lockKey(k string) func() {
	s.mu.Lock()
	l := s.keyLocks[k]
	if l == nil {
		l = &keyLock{}
		s.keyLocks[k] = l
	}
	l.refs++
	s.mu.Unlock()
	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		s.mu.Lock()
		if l.refs--; l.refs == 0 && s.keyLocks[k] == l {
			delete(s.keyLocks, k)
		}
		s.mu.Unlock()
	}
}

// validation answers ConeCRM's 400 for form errors on copy and update:
// {"message": ..., "errors": {field: [messages]}}.
func validation(w http.ResponseWriter, field, msg string) {
	writeJSON(w, http.StatusBadRequest, map[string]any{"message": "Form validation failed", "errors": map[string][]string{field: {msg}}})
}

func notFound(w http.ResponseWriter, what string) {
	writeJSON(w, http.StatusNotFound, map[string]string{"error": what + " not found"})
}

func (s *Server) createTask(w http.ResponseWriter, r *http.Request) {
	var req conecrm.TaskRequest
	if err := decodeStrict(r.Body, &req); err != nil {
		writeJSON(w, http.StatusBadRequest, "Invalid JSON: "+err.Error())
		return
	}
	if err := validate.Struct(req); err != nil {
		writeJSON(w, http.StatusBadRequest, "Validation failed: "+err.Error())
		return
	}
	if req.Start != nil && req.End != nil && req.End.Before(*req.Start) {
		writeJSON(w, http.StatusBadRequest, "Validation failed: end: must not be before start")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.lenient {
		if _, ok := s.users[req.Assignee]; !ok {
			writeJSON(w, http.StatusBadRequest, "Validation failed: assignee: user not found")
			return
		}
		if _, ok := s.contacts[req.Contact]; req.Contact != "" && !ok {
			writeJSON(w, http.StatusBadRequest, "Validation failed: contact: contact not found")
			return
		}
		if _, ok := s.accounts[req.Account]; req.Account != "" && !ok {
			writeJSON(w, http.StatusBadRequest, "Validation failed: account: account not found")
			return
		}
		if _, ok := s.leads[req.Connection]; req.Connection != "" && !ok {
			writeJSON(w, http.StatusBadRequest, "Validation failed: connection: connection not found")
			return
		}
	}
	now := time.Now().UTC()
	t := conecrm.Task{ID: uuid.Must(uuid.NewV7()).String(), DateCreated: &now, Type: req.Type, Title: req.Title, Note: req.Note, Start: req.Start, End: req.End,
		Assignee: conecrm.Ref(req.Assignee), Connection: conecrm.Ref(req.Connection), Contact: conecrm.Ref(req.Contact), Account: conecrm.Ref(req.Account)}
	s.tasks = append(s.tasks, t)
	writeJSON(w, http.StatusOK, t)
}

// ForeignTaskID is a task of another tenant: it exists, and updating it is
// answered 403 as the seed documents.
const ForeignTaskID = "0192f0a0-0008-7000-8000-0000000000ff"

// updateTask is the seed's PATCH /api/task/{task}. The body is a
// TaskRequest, so assignee and title are required; the other fields change
// only when present (null clears them). A 400 answers a JSON string naming
// the field, the seed's "title This value should not be blank."; 403 and
// 404 have no body.
func (s *Server) updateTask(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("task")
	if id == ForeignTaskID {
		w.WriteHeader(http.StatusForbidden)
		return
	}
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	defer s.mu.Unlock()
	i := slices.IndexFunc(s.tasks, func(t conecrm.Task) bool { return t.ID == id })
	if i < 0 {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	var req conecrm.TaskRequest
	var present map[string]json.RawMessage
	if err := decodeStrict(bytes.NewReader(body), &req); err != nil || json.Unmarshal(body, &present) != nil {
		writeJSON(w, http.StatusBadRequest, "Invalid JSON")
		return
	}
	t := s.tasks[i]
	set := func(field string, apply func()) {
		if _, ok := present[field]; ok {
			apply()
		}
	}
	set("type", func() { t.Type = req.Type })
	set("start", func() { t.Start = req.Start })
	set("end", func() { t.End = req.End })
	set("note", func() { t.Note = req.Note })
	set("contact", func() { t.Contact = conecrm.Ref(req.Contact) })
	set("account", func() { t.Account = conecrm.Ref(req.Account) })
	set("connection", func() { t.Connection = conecrm.Ref(req.Connection) })
	t.Assignee, t.Title = conecrm.Ref(req.Assignee), req.Title
	if msg := s.taskProblem(t); msg != "" {
		writeJSON(w, http.StatusBadRequest, msg)
		return
	}
	s.tasks[i] = t
	writeJSON(w, http.StatusOK, t)
}

// taskProblem is the first problem of an updated task, worded as the seed's
// 400 ("<field> <message>"), or "".
func (s *Server) taskProblem(t conecrm.Task) string {
	known := func(field, id string, exists bool) string {
		if _, err := uuid.Parse(id); err != nil || (!exists && !s.lenient) {
			return field + " This value is not valid."
		}
		return ""
	}
	_, user := s.users[conecrm.RefID(t.Assignee)]
	_, contact := s.contacts[conecrm.RefID(t.Contact)]
	_, lead := s.leads[conecrm.RefID(t.Connection)]
	switch {
	case t.Assignee == nil:
		return "assignee This value should not be blank."
	case strings.TrimSpace(t.Title) == "":
		return "title This value should not be blank."
	case t.Type != "" && !slices.Contains(conecrm.TaskTypes, t.Type):
		return "type The value you selected is not a valid choice."
	case len([]rune(t.Title)) > conecrm.MaxTitleLength:
		return fmt.Sprintf("title This value is too long. It should have %d characters or less.", conecrm.MaxTitleLength)
	case len([]rune(t.Note)) > conecrm.MaxNoteLength:
		return fmt.Sprintf("note This value is too long. It should have %d characters or less.", conecrm.MaxNoteLength)
	case t.Start != nil && t.End != nil && t.End.Before(*t.Start):
		return "end This value should be greater than or equal to start."
	}
	for _, p := range []string{
		known("assignee", conecrm.RefID(t.Assignee), user),
		optional(t.Contact, func(id string) string { return known("contact", id, contact) }),
		optional(t.Account, func(id string) string { return known("account", id, s.accounts[id] != nil) }),
		optional(t.Connection, func(id string) string { return known("connection", id, lead) }),
	} {
		if p != "" {
			return p
		}
	}
	return ""
}

func optional(ref *conecrm.IDRef, check func(string) string) string {
	if ref == nil {
		return ""
	}
	return check(ref.ID)
}

// decodeForm reads a lead form's JSON body, or answers ConeCRM's 400 for
// one it cannot read and returns false.
func decodeForm(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": "Invalid data provided", "errors": map[string][]string{}})
		return false
	}
	return true
}

const notValid = "This value is not valid."

// leadFormProblem is the first form error of a new lead's or a copy's
// references and subject, as ConeCRM words it ("" when none). A contact,
// when given, must be a seeded one; so must the account, department and
// franchise.
func (s *Server) leadFormProblem(contact, account, department, franchise *conecrm.IDRef, subject string) (field, msg string) {
	switch {
	case contact != nil && s.contacts[contact.ID].ID == "":
		return "contact", notValid
	case account != nil && s.accounts[account.ID] == nil:
		return "account", notValid
	case department != nil && !slices.Contains(SeedDepartments, department.ID):
		return "department", notValid
	case franchise != nil && !slices.Contains(SeedFranchises, franchise.ID):
		return "franchise", notValid
	case len([]rune(subject)) > conecrm.MaxSubjectLength:
		return "subject", fmt.Sprintf("This value is too long. It should have %d characters or less.", conecrm.MaxSubjectLength)
	}
	return "", ""
}

// createLead is ConeCRM's POST /api/lead: a new open lead in the first
// stage, its references checked against the seeded data.
func (s *Server) createLead(w http.ResponseWriter, r *http.Request) {
	var req conecrm.LeadRequest
	if !decodeForm(w, r, &req) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if field, msg := s.leadFormProblem(req.Contact, req.Account, req.Department, req.Franchise, req.Subject); field != "" {
		validation(w, field, msg)
		return
	}
	now := time.Now().UTC()
	l := conecrm.Lead{ID: uuid.Must(uuid.NewV7()).String(), DateCreated: &now, Subject: req.Subject, Description: req.Description, Category: req.Category,
		Contact: req.Contact, Account: req.Account, Department: req.Department, Franchise: req.Franchise, Direction: "inbound"}
	if len(s.stages) > 0 {
		l.Stage = conecrm.Ref(s.stages[0].ID)
	}
	s.leads[l.ID] = &l
	s.leadIDs = append(s.leadIDs, l.ID)
	writeJSON(w, http.StatusOK, l)
}

func (s *Server) copyLead(w http.ResponseWriter, r *http.Request) {
	var req conecrm.CopyLeadData
	if !decodeForm(w, r, &req) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	src, ok := s.leads[r.PathValue("lead")]
	if !ok {
		notFound(w, "Lead")
		return
	}
	field, msg := "contact", "This value should not be blank."
	if req.Contact != nil && req.Contact.ID != "" {
		field, msg = s.leadFormProblem(req.Contact, req.Account, req.Department, req.Franchise, req.Subject)
	}
	if field != "" {
		validation(w, field, msg)
		return
	}
	now := time.Now().UTC()
	cp := *src
	cp.ID = uuid.Must(uuid.NewV7()).String()
	cp.DateCreated, cp.DateModified, cp.ConnectionClosedDate, cp.ThirdPartyIDs = &now, nil, nil, nil
	cp.Contact = conecrm.Ref(req.Contact.ID)
	if req.Account != nil {
		cp.Account = conecrm.Ref(req.Account.ID)
	}
	if req.Subject != "" {
		cp.Subject = req.Subject
	}
	if req.Department != nil {
		cp.Department = conecrm.Ref(req.Department.ID)
	}
	if req.Franchise != nil {
		cp.Franchise = conecrm.Ref(req.Franchise.ID)
	}
	s.leads[cp.ID] = &cp
	s.leadIDs = append(s.leadIDs, cp.ID)
	s.copies = append(s.copies, LeadCopy{SourceLeadID: src.ID, Lead: cp, At: now})
	writeJSON(w, http.StatusOK, cp)
}

// patchLead is the sandbox's side of the runtime's default stage move
// (PATCH /api/lead/{lead} with {"stage": {"id": ...}}); the seed documents
// no such endpoint.
func (s *Server) patchLead(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Stage   *conecrm.IDRef `json:"stage"`
		Subject *string        `json:"subject"`
	}
	if !decodeForm(w, r, &req) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	lead, ok := s.leads[r.PathValue("lead")]
	if !ok {
		notFound(w, "Lead")
		return
	}
	if req.Stage != nil {
		if !slices.ContainsFunc(s.stages, func(st conecrm.Stage) bool { return st.ID == req.Stage.ID }) {
			validation(w, "stage", "This value is not valid.")
			return
		}
	}
	if req.Subject != nil && (*req.Subject == "" || len([]rune(*req.Subject)) > conecrm.MaxSubjectLength) {
		validation(w, "subject", "This value is not valid.")
		return
	}
	now := time.Now().UTC()
	if req.Stage != nil {
		from := conecrm.RefID(lead.Stage)
		s.moves = append(s.moves, StageMove{LeadID: lead.ID, FromStageID: from, ToStageID: req.Stage.ID, Changed: from != req.Stage.ID, At: now})
		lead.Stage = conecrm.Ref(req.Stage.ID)
	}
	if req.Subject != nil {
		lead.Subject = *req.Subject
	}
	lead.DateModified = &now
	writeJSON(w, http.StatusOK, lead)
}

func (s *Server) listStages(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	writeJSON(w, http.StatusOK, s.stages)
}

func (s *Server) getStage(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, st := range s.stages {
		if st.ID == r.PathValue("id") {
			writeJSON(w, http.StatusOK, st)
			return
		}
	}
	notFound(w, "Stage")
}

// openLeads answers 200 with an empty list for an unknown contact: the seed
// documents no 404 for this route.
func (s *Server) openLeads(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []conecrm.Lead{}
	for _, id := range s.leadIDs {
		l := s.leads[id]
		if conecrm.RefID(l.Contact) == r.PathValue("contact") && l.ConnectionClosedDate == nil {
			out = append(out, *l)
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// patchAccount updates an account. thirdPartyIds, when present, replaces
// the list (as a form collection does), keeping the record id of an entry
// whose systemName stays; an empty body changes nothing.
func (s *Server) patchAccount(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name          *string                 `json:"name"`
		ThirdPartyIDs *[]conecrm.ThirdPartyID `json:"thirdPartyIds"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, "Invalid input data")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	acc, ok := s.accounts[r.PathValue("account")]
	if !ok {
		notFound(w, "Account")
		return
	}
	if req.Name != nil && (*req.Name == "" || len([]rune(*req.Name)) > 255) {
		writeJSON(w, http.StatusBadRequest, "Invalid input data: name")
		return
	}
	now := time.Now().UTC()
	if req.ThirdPartyIDs != nil {
		seen := map[string]bool{}
		for i, t := range *req.ThirdPartyIDs {
			if err := validate.Struct(t); err != nil {
				writeJSON(w, http.StatusBadRequest, fmt.Sprintf("Invalid input data: thirdPartyIds[%d]: %v", i, err))
				return
			}
			if seen[t.SystemName] {
				writeJSON(w, http.StatusBadRequest, fmt.Sprintf("Invalid input data: thirdPartyIds[%d]: duplicate systemName %s", i, t.SystemName))
				return
			}
			seen[t.SystemName] = true
		}
		old := map[string]conecrm.ThirdPartyID{}
		for _, t := range acc.ThirdPartyIDs {
			old[t.SystemName] = t
		}
		next := make([]conecrm.ThirdPartyID, 0, len(*req.ThirdPartyIDs))
		for _, t := range *req.ThirdPartyIDs {
			if o, ok := old[t.SystemName]; ok {
				t.ID, t.DateCreated = o.ID, o.DateCreated
			} else {
				t.ID, t.DateCreated = uuid.Must(uuid.NewV7()).String(), &now
			}
			next = append(next, t)
		}
		acc.ThirdPartyIDs = next
	}
	if req.Name != nil {
		acc.Name = *req.Name
	}
	writeJSON(w, http.StatusOK, acc)
}

// Tasks returns the tasks created so far.
func (s *Server) Tasks() []conecrm.Task {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.tasks)
}

// LeadCopies returns the lead copies made so far.
func (s *Server) LeadCopies() []LeadCopy {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.copies)
}

// StageMoves returns every stage-move call so far.
func (s *Server) StageMoves() []StageMove {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.moves)
}

// Leads returns every lead, seeded and copied, in creation order.
func (s *Server) Leads() []conecrm.Lead {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]conecrm.Lead, 0, len(s.leadIDs))
	for _, id := range s.leadIDs {
		out = append(out, *s.leads[id])
	}
	return out
}

// Lead returns one lead.
func (s *Server) Lead(id string) (conecrm.Lead, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.leads[id]
	if !ok {
		return conecrm.Lead{}, false
	}
	return *l, true
}

// Accounts returns every account with its current thirdPartyIds.
func (s *Server) Accounts() []conecrm.Account {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]conecrm.Account, 0, len(s.accountIDs))
	for _, id := range s.accountIDs {
		a := *s.accounts[id]
		a.ThirdPartyIDs = slices.Clone(a.ThirdPartyIDs)
		out = append(out, a)
	}
	return out
}

// Account returns one account.
func (s *Server) Account(id string) (conecrm.Account, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.accounts[id]
	if !ok {
		return conecrm.Account{}, false
	}
	cp := *a
	cp.ThirdPartyIDs = slices.Clone(a.ThirdPartyIDs)
	return cp, true
}

// Requests returns every request received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

func decodeStrict(r io.Reader, v any) error {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		fmt.Fprintln(w)
	}
}

type bufferedWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func newBuffer() *bufferedWriter {
	return &bufferedWriter{header: http.Header{}, status: http.StatusOK}
}

func (b *bufferedWriter) Header() http.Header         { return b.header }
func (b *bufferedWriter) WriteHeader(code int)        { b.status = code }
func (b *bufferedWriter) Write(p []byte) (int, error) { return b.body.Write(p) }
