package routes

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
)

func TestSplit(t *testing.T) {
	for _, tc := range []struct{ pattern, method, path string }{
		{"GET /api/automation/{automation}", "GET", "/api/automation/{}"},
		{"GET /api/automation/{id}/nodes/{node}/runs", "GET", "/api/automation/{}/nodes/{}/runs"},
		{"/console/", "", "/console/"},
		{"GET /console/{$}", "GET", "/console/"},
		{"GET /static/{path...}", "GET", "/static/{}"},
		{"POST example.com/hook", "POST", "/hook"},
		{"/api/automation/{automation}", "", "/api/automation/{}"}, // an OpenAPI path
	} {
		m, p := Split(tc.pattern)
		if m != tc.method || p != tc.path {
			t.Errorf("Split(%q) = %q, %q; want %q, %q", tc.pattern, m, p, tc.method, tc.path)
		}
	}
}

// TestMuxListsMountedRoutes: a mux lists its own patterns and, in place of
// a mounted prefix, the routes of what is mounted there, even behind a
// wrapper; the requests still reach the handlers.
func TestMuxListsMountedRoutes(t *testing.T) {
	inner := New()
	inner.HandleFunc("GET /api/things/{id}", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("thing " + r.PathValue("id"))) })
	inner.HandleFunc("POST /api/things", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusCreated) })
	wrapped := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { inner.ServeHTTP(w, r) })

	outer := New()
	outer.HandleFunc("GET /healthz", func(http.ResponseWriter, *http.Request) {})
	outer.Mount("/api/", wrapped, inner)
	outer.Mount("/codec/", http.NotFoundHandler(), Fixed{"POST /codec/encode"})
	outer.Mount("/static/", http.NotFoundHandler(), nil)
	top := New()
	top.Mount("/", outer, nil) // a Lister mounted without naming it

	want := []string{"/static/", "GET /api/things/{id}", "GET /healthz", "POST /api/things", "POST /codec/encode"}
	if got, ok := Of(top); !ok || !slices.Equal(got, want) {
		t.Errorf("routes = %q, want %q", got, want)
	}
	rec := httptest.NewRecorder()
	top.ServeHTTP(rec, httptest.NewRequest("GET", "/api/things/7", nil))
	if rec.Body.String() != "thing 7" {
		t.Errorf("GET /api/things/7 answered %d %q", rec.Code, rec.Body)
	}
	match := Matcher(want)
	for path, pattern := range map[string]string{"/api/things/7": "GET /api/things/{id}", "/static/app.js": "/static/", "/nowhere": ""} {
		if got := match(httptest.NewRequest("GET", path, nil)); got != pattern {
			t.Errorf("match(GET %s) = %q, want %q", path, got, pattern)
		}
	}
	if _, ok := Of(http.NotFoundHandler()); ok {
		t.Error("a plain handler lists routes")
	}
}
