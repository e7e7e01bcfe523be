package sandbox

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/conecrm/automation-runtime/internal/expr"
	"github.com/conecrm/automation-runtime/internal/querybuilder"
)

// EnvIgnoreIdempotency names the environment variable NewFromEnv reads: 1
// (or true) starts the sandbox ignoring Idempotency-Key, as a ConeCRM that
// does not honour the header would (seed 003 documents none).
const EnvIgnoreIdempotency = "SANDBOX_IGNORE_IDEMPOTENCY"

// WithIgnoreIdempotency starts the sandbox ignoring Idempotency-Key: every
// request runs, a retried create creates again.
func WithIgnoreIdempotency() Option { return func(s *Server) { s.ignoreIdem = true } }

// SetIgnoreIdempotency switches the Idempotency-Key handling at run time
// (also PUT /sandbox/idempotency {"ignore": true}).
func (s *Server) SetIgnoreIdempotency(ignore bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ignoreIdem = ignore
}

// IgnoresIdempotency reports whether Idempotency-Key is ignored.
func (s *Server) IgnoresIdempotency() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ignoreIdem
}

// IgnoreIdempotencyFromEnv reports whether SANDBOX_IGNORE_IDEMPOTENCY is
// 1 (or true, yes, on).
func IgnoreIdempotencyFromEnv() bool {
	switch strings.ToLower(strings.TrimSpace(os.Getenv(EnvIgnoreIdempotency))) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}

type idempotencyMode struct {
	Ignore bool `json:"ignore"`
}

func (s *Server) getIdempotency(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, idempotencyMode{Ignore: s.IgnoresIdempotency()})
}

func (s *Server) putIdempotency(w http.ResponseWriter, r *http.Request) {
	var m idempotencyMode
	if err := decodeStrict(r.Body, &m); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": `body must be {"ignore": true|false}: ` + err.Error()})
		return
	}
	s.SetIgnoreIdempotency(m.Ignore)
	writeJSON(w, http.StatusOK, m)
}

// filter is seed 003's POST /api/query-builder/filter/{entity} for the
// entities the runtime searches: "task" and "lead" ("connection" is an
// alias). The QueryBuilderQuery is translated to CEL exactly as the
// runtime's conditions are (internal/querybuilder) and evaluated over each
// record's JSON, so a field is a dotted path in the record
// ("connection.id", "note"). It answers {"success": true, "data": [...]}
// in creation order; an unknown entity is 404, a bad query 400.
func (s *Server) filter(w http.ResponseWriter, r *http.Request) {
	entity := r.PathValue("entity")
	if entity != "task" && entity != "lead" && entity != "connection" {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "Entity not found"})
		return
	}
	data, err := io.ReadAll(r.Body)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "Invalid request"})
		return
	}
	var q querybuilder.Query
	if err := json.Unmarshal(data, &q); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "Invalid request: " + err.Error()})
		return
	}
	src, err := querybuilder.ToCEL(q.Query)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "Invalid request: " + err.Error()})
		return
	}
	prog, err := expr.Compile(src, expr.KindBool)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "Invalid request: " + err.Error()})
		return
	}
	s.mu.Lock()
	var records []any
	if entity == "task" {
		for _, t := range s.tasks {
			records = append(records, t)
		}
	} else {
		for _, id := range s.leadIDs {
			records = append(records, *s.leads[id])
		}
	}
	s.mu.Unlock()
	out := []any{}
	for _, rec := range records {
		raw, _ := json.Marshal(rec)
		var m map[string]any
		_ = json.Unmarshal(raw, &m)
		ok, err := prog.EvalBool(expr.Vars{Lead: m})
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "Invalid request: " + err.Error()})
			return
		}
		if ok {
			out = append(out, m)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"success": true, "data": out})
}
