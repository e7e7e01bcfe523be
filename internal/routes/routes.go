// Package routes is an http.ServeMux that remembers the patterns registered
// on it, so a test can hold a service's description (the starter's OpenAPI
// document, its franchise walk) against every route the service serves: a
// new route nobody documented fails that test instead of going unnoticed.
package routes

import (
	"net/http"
	"slices"
	"strings"
)

// Registrar is what a package's Register method needs of a mux; both
// *http.ServeMux and *Mux are one.
type Registrar interface {
	Handle(pattern string, handler http.Handler)
	HandleFunc(pattern string, handler func(http.ResponseWriter, *http.Request))
}

// Lister is a handler that knows the routes it serves.
type Lister interface {
	Routes() []string
}

// Fixed is a Lister of a list kept by hand, for a handler that routes by
// itself (the payload codec endpoint).
type Fixed []string

// Routes returns the list.
func (f Fixed) Routes() []string { return slices.Clone(f) }

// Mux is an http.ServeMux that lists its routes.
type Mux struct {
	mux      http.ServeMux
	patterns []string
}

var (
	_ Registrar    = (*Mux)(nil)
	_ Lister       = (*Mux)(nil)
	_ http.Handler = (*Mux)(nil)
)

// New returns an empty Mux.
func New() *Mux { return &Mux{} }

// Handle registers handler for pattern (http.ServeMux's syntax).
func (m *Mux) Handle(pattern string, handler http.Handler) {
	m.mux.Handle(pattern, handler)
	m.patterns = append(m.patterns, pattern)
}

// HandleFunc registers handler for pattern.
func (m *Mux) HandleFunc(pattern string, handler func(http.ResponseWriter, *http.Request)) {
	m.Handle(pattern, http.HandlerFunc(handler))
}

// Mount serves handler under pattern (usually a prefix such as "/api/")
// and lists inner's routes in its place: inner is the mux handler wraps
// (behind authentication, say). A nil inner lists handler's routes when it
// is a Lister, else pattern itself.
func (m *Mux) Mount(pattern string, handler http.Handler, inner Lister) {
	m.mux.Handle(pattern, handler)
	if inner == nil {
		inner, _ = handler.(Lister)
	}
	if inner == nil {
		m.patterns = append(m.patterns, pattern)
		return
	}
	m.patterns = append(m.patterns, inner.Routes()...)
}

// ServeHTTP dispatches like http.ServeMux.
func (m *Mux) ServeHTTP(w http.ResponseWriter, r *http.Request) { m.mux.ServeHTTP(w, r) }

// Routes returns the patterns served, mounted handlers' routes included,
// sorted and without duplicates.
func (m *Mux) Routes() []string {
	out := slices.Clone(m.patterns)
	slices.Sort(out)
	return slices.Compact(out)
}

// Of returns h's routes when h knows them.
func Of(h http.Handler) ([]string, bool) {
	l, ok := h.(Lister)
	if !ok {
		return nil, false
	}
	return l.Routes(), true
}

// Split parses a pattern into its method ("" for any) and its path with
// each wildcard written "{}" and no trailing "{$}", so patterns compare
// with OpenAPI paths whose parameters are named differently.
func Split(pattern string) (method, path string) {
	method, path, ok := strings.Cut(pattern, " ")
	if !ok {
		method, path = "", pattern
	}
	if i := strings.IndexByte(path, '/'); i > 0 { // a host before the path
		path = path[i:]
	}
	path = strings.TrimSuffix(path, "{$}")
	var b strings.Builder
	for {
		open := strings.IndexByte(path, '{')
		if open < 0 {
			b.WriteString(path)
			break
		}
		end := strings.IndexByte(path[open:], '}')
		if end < 0 {
			b.WriteString(path)
			break
		}
		b.WriteString(path[:open])
		b.WriteString("{}")
		path = path[open+end+1:]
	}
	return method, b.String()
}

// Matcher returns the function that names the pattern among patterns a
// request would be routed to ("" when none), for tests that check which
// routes their requests reached.
func Matcher(patterns []string) func(*http.Request) string {
	mux := http.NewServeMux()
	for _, p := range patterns {
		mux.Handle(p, http.NotFoundHandler())
	}
	return func(r *http.Request) string {
		_, p := mux.Handler(r)
		return p
	}
}
