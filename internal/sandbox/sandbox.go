// Package sandbox is an in-memory stand-in for the ConeCRM API endpoints the
// runtime calls. Tests and the one-command demo use it when no real ConeCRM
// is configured. It validates requests like the seed says ConeCRM does,
// honours Idempotency-Key and records every request.
package sandbox

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/conecrm/automation-runtime/internal/conecrm"
	"github.com/conecrm/automation-runtime/internal/validate"
)

// Request is a recorded request.
type Request struct {
	Method         string    `json:"method"`
	Path           string    `json:"path"`
	IdempotencyKey string    `json:"idempotencyKey,omitempty"`
	Body           string    `json:"body,omitempty"`
	Status         int       `json:"status"`
	At             time.Time `json:"at"`
}

// Server is the sandbox.
type Server struct {
	token string

	mu       sync.Mutex
	tasks    []conecrm.Task
	requests []Request
	idem     map[string]storedResponse
	mux      *http.ServeMux
}

type storedResponse struct {
	bodyHash [32]byte
	status   int
	body     []byte
}

// New returns a sandbox. A non-empty token must be presented as a bearer
// token on every call.
func New(token string) *Server {
	s := &Server{token: token, idem: map[string]storedResponse{}, mux: http.NewServeMux()}
	s.mux.HandleFunc("POST /api/task", s.createTask)
	s.mux.HandleFunc("GET /sandbox/requests", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, 200, s.Requests()) })
	s.mux.HandleFunc("GET /sandbox/tasks", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, 200, s.Tasks()) })
	return s
}

// ServeHTTP authenticates, records, replays idempotent responses and routes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	r.Body = io.NopCloser(bytes.NewReader(body))
	rec := &recorder{ResponseWriter: w, status: 200}
	defer func() {
		s.mu.Lock()
		s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, IdempotencyKey: r.Header.Get("Idempotency-Key"), Body: string(body), Status: rec.status, At: time.Now()})
		s.mu.Unlock()
	}()
	if s.token != "" && !strings.HasPrefix(r.URL.Path, "/sandbox/") && r.Header.Get("Authorization") != "Bearer "+s.token {
		writeJSON(rec, http.StatusUnauthorized, map[string]string{"error": "Invalid or missing token"})
		return
	}
	key := r.Header.Get("Idempotency-Key")
	if key == "" || r.Method == http.MethodGet {
		s.mux.ServeHTTP(rec, r)
		return
	}
	idemKey := r.Method + " " + r.URL.Path + " " + key
	hash := sha256.Sum256(body)
	s.mu.Lock()
	prev, seen := s.idem[idemKey]
	s.mu.Unlock()
	if seen {
		if prev.bodyHash != hash {
			writeJSON(rec, http.StatusUnprocessableEntity, map[string]string{"error": "Idempotency-Key reused with a different request body"})
			return
		}
		rec.Header().Set("Content-Type", "application/json")
		rec.Header().Set("Idempotent-Replayed", "true")
		rec.WriteHeader(prev.status)
		_, _ = rec.Write(prev.body)
		return
	}
	buf := &bufferedWriter{header: http.Header{}, status: 200}
	s.mux.ServeHTTP(buf, r)
	if buf.status < 500 {
		s.mu.Lock()
		s.idem[idemKey] = storedResponse{bodyHash: hash, status: buf.status, body: buf.body.Bytes()}
		s.mu.Unlock()
	}
	for k, v := range buf.header {
		rec.Header()[k] = v
	}
	rec.WriteHeader(buf.status)
	_, _ = rec.Write(buf.body.Bytes())
}

func (s *Server) createTask(w http.ResponseWriter, r *http.Request) {
	var req conecrm.TaskRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, "Invalid JSON: "+err.Error())
		return
	}
	if err := validate.Struct(req); err != nil {
		writeJSON(w, http.StatusBadRequest, "Validation failed: "+err.Error())
		return
	}
	now := time.Now().UTC()
	t := conecrm.Task{ID: uuid.Must(uuid.NewV7()).String(), DateCreated: &now, Type: req.Type, Title: req.Title, Note: req.Note, Start: req.Start, End: req.End, Assignee: &conecrm.IDRef{ID: req.Assignee}}
	if req.Connection != "" {
		t.Connection = &conecrm.IDRef{ID: req.Connection}
	}
	if req.Contact != "" {
		t.Contact = &conecrm.IDRef{ID: req.Contact}
	}
	if req.Account != "" {
		t.Account = &conecrm.IDRef{ID: req.Account}
	}
	s.mu.Lock()
	s.tasks = append(s.tasks, t)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, t)
}

// Tasks returns the tasks created so far.
func (s *Server) Tasks() []conecrm.Task {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]conecrm.Task(nil), s.tasks...)
}

// Requests returns every request received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		fmt.Fprintln(w)
	}
}

type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

type bufferedWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedWriter) Header() http.Header         { return b.header }
func (b *bufferedWriter) WriteHeader(code int)        { b.status = code }
func (b *bufferedWriter) Write(p []byte) (int, error) { return b.body.Write(p) }
