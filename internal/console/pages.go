package console

import (
	"embed"
	"encoding/json"
	"errors"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/conecrm/automation-runtime/internal/plan"
	"github.com/conecrm/automation-runtime/internal/store"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// CookieName is the cookie the login form keeps the token in.
const CookieName = "console_token"

var pages = template.Must(template.New("").Funcs(template.FuncMap{
	"time": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04:05 UTC")
	},
	"ptime": func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04:05 UTC")
	},
	"short": func(s string) string {
		if len(s) > 12 {
			return s[:12]
		}
		return s
	},
	"pathEscape": url.PathEscape,
}).ParseFS(templateFS, "templates/*.html"))

// Handler serves /console and its pages: the bearer header or the login
// cookie authenticates, through the starter's own Auth.
func (c *Console) Handler() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(staticFS, "static")
	mux.Handle("GET /console/static/", http.StripPrefix("/console/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /console/login", c.loginForm)
	mux.HandleFunc("POST /console/login", c.login)
	mux.HandleFunc("POST /console/logout", c.logout)
	pagesMux := http.NewServeMux()
	pagesMux.HandleFunc("GET /console", c.automationsPage)
	pagesMux.HandleFunc("GET /console/{$}", c.automationsPage)
	pagesMux.HandleFunc("GET /console/automations/{automation}", c.automationPage)
	pagesMux.HandleFunc("GET /console/leads/{lead}", c.leadPage)
	pagesMux.HandleFunc("GET /console/leads", c.leadSearch)
	pagesMux.HandleFunc("GET /console/failed", c.failedPage)
	mux.Handle("/console", c.authed(true, pagesMux))
	mux.Handle("/console/", c.authed(true, pagesMux))
	// The JSON the pages' scripts read, under the console's cookie.
	dataMux := http.NewServeMux()
	dataMux.HandleFunc("GET /console/data/automation/{automation}/stats", c.statsJSON)
	dataMux.HandleFunc("GET /console/data/automation/{automation}/nodes/{node}/runs", c.nodeRunsJSON)
	mux.Handle("/console/data/", c.authed(false, dataMux))
	return securityHeaders(mux)
}

// securityHeaders keeps the console from being framed or loading anything
// from elsewhere (every asset is embedded).
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}

// denyCatcher swallows a 401 answer so that a page can send the browser
// to the login form instead.
type denyCatcher struct {
	w      http.ResponseWriter
	denied bool
	wrote  bool
}

func (d *denyCatcher) Header() http.Header { return d.w.Header() }
func (d *denyCatcher) WriteHeader(code int) {
	if !d.wrote && code == http.StatusUnauthorized {
		d.denied = true
	}
	d.wrote = true
	if !d.denied {
		d.w.WriteHeader(code)
	}
}
func (d *denyCatcher) Write(b []byte) (int, error) {
	if !d.wrote {
		d.WriteHeader(http.StatusOK)
	}
	if d.denied {
		return len(b), nil
	}
	return d.w.Write(b)
}

// authed authenticates with the bearer header, else the login cookie,
// through c.Auth. A page without valid credentials redirects to the login
// form; data answers Auth's 401.
func (c *Console) authed(page bool, next http.Handler) http.Handler {
	inner := c.Auth(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fromCookie := false
		if r.Header.Get("Authorization") == "" {
			if ck, err := r.Cookie(CookieName); err == nil && ck.Value != "" {
				r = r.Clone(r.Context())
				r.Header.Set("Authorization", "Bearer "+ck.Value)
				fromCookie = true
			}
		}
		if !page {
			inner.ServeHTTP(w, r)
			return
		}
		if r.Header.Get("Authorization") == "" {
			redirectLogin(w, r, "")
			return
		}
		d := &denyCatcher{w: w}
		inner.ServeHTTP(d, r)
		if d.denied {
			w.Header().Del("WWW-Authenticate")
			w.Header().Del("Content-Type")
			if fromCookie {
				clearCookie(w, r)
				redirectLogin(w, r, "Your session is no longer valid; sign in again.")
				return
			}
			redirectLogin(w, r, "That token was not accepted.")
		}
	})
}

func redirectLogin(w http.ResponseWriter, r *http.Request, msg string) {
	q := url.Values{"next": {r.URL.RequestURI()}}
	if msg != "" {
		q.Set("error", msg)
	}
	http.Redirect(w, r, "/console/login?"+q.Encode(), http.StatusSeeOther)
}

func secure(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

func clearCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/console", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: secure(r)})
}

// safeNext keeps redirects inside the console.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/console") || strings.HasPrefix(next, "//") || strings.Contains(next, "\\") {
		return "/console"
	}
	return next
}

func (c *Console) loginForm(w http.ResponseWriter, r *http.Request) {
	c.render(w, "login.html", map[string]any{"Title": "Sign in", "Next": safeNext(r.URL.Query().Get("next")), "Error": r.URL.Query().Get("error")})
}

// login checks the token with the starter's Auth and keeps it in an
// HttpOnly, SameSite=Strict cookie.
func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	token := strings.TrimSpace(r.PostForm.Get("token"))
	next := safeNext(r.PostForm.Get("next"))
	probe := r.Clone(r.Context())
	probe.Method = http.MethodGet
	probe.Header.Set("Authorization", "Bearer "+token)
	ok := false
	d := &denyCatcher{w: discard{h: http.Header{}}}
	c.Auth(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { ok = true })).ServeHTTP(d, probe)
	if token == "" || !ok {
		w.WriteHeader(http.StatusUnauthorized)
		c.render(w, "login.html", map[string]any{"Title": "Sign in", "Next": next, "Error": "That token was not accepted."})
		return
	}
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: token, Path: "/console", MaxAge: 12 * 3600, HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: secure(r)})
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request) {
	clearCookie(w, r)
	http.Redirect(w, r, "/console/login", http.StatusSeeOther)
}

type discard struct{ h http.Header }

func (d discard) Header() http.Header         { return d.h }
func (d discard) Write(b []byte) (int, error) { return len(b), nil }
func (d discard) WriteHeader(int)             {}

func (c *Console) render(w http.ResponseWriter, name string, data map[string]any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := pages.ExecuteTemplate(w, name, data); err != nil {
		c.Log.Error().Err(err).Str("template", name).Msg("console page failed")
	}
}

func (c *Console) pageError(w http.ResponseWriter, r *http.Request, err error) {
	status := http.StatusServiceUnavailable
	msg := "Temporarily unavailable: " + err.Error()
	var br badRequest
	switch {
	case errors.As(err, &br):
		status, msg = http.StatusBadRequest, br.msg
	case isNotFound(err):
		status, msg = http.StatusNotFound, "Not found."
	default:
		c.Log.Error().Err(err).Str("path", r.URL.Path).Msg("console page failed")
	}
	w.WriteHeader(status)
	c.render(w, "error.html", map[string]any{"Title": "Error", "Message": msg})
}

// periods are the choices of the automation page.
var periods = []struct{ Key, Label string }{{"1h", "last hour"}, {"24h", "last 24 hours"}, {"7d", "last 7 days"}, {"30d", "last 30 days"}}

func periodSince(key string) (string, time.Time) {
	d := map[string]time.Duration{"1h": time.Hour, "24h": 24 * time.Hour, "7d": 7 * 24 * time.Hour, "30d": 30 * 24 * time.Hour}
	if v, ok := d[key]; ok {
		return key, time.Now().Add(-v).UTC()
	}
	return "7d", time.Now().Add(-d["7d"]).UTC()
}

type automationRow struct {
	ID, Name, Franchise, Version string
	Seq                          int
	Active                       bool
	Counts                       Counts
}

func (c *Console) automationsPage(w http.ResponseWriter, r *http.Request) {
	list, err := c.Store.List(r.Context())
	if err != nil {
		c.pageError(w, r, err)
		return
	}
	var rows []*automationRow
	var fns []func() error
	for _, at := range list {
		p, err := plan.Load(at.Document, 0)
		row := &automationRow{ID: at.ID, Version: at.Version, Seq: at.Seq, Active: at.Active, Name: at.ID}
		if err == nil {
			row.Name = p.Doc.Name
			if p.Doc.Franchise != nil {
				row.Franchise = p.Doc.Franchise.ID
			}
		}
		if !c.allowed(r, row.Franchise) {
			continue
		}
		rows = append(rows, row)
		fns = append(fns, func() (err error) { row.Counts, err = c.runCounts(r.Context(), at.ID); return })
	}
	if err := parallel(fns); err != nil {
		c.pageError(w, r, err)
		return
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].Franchise < rows[j].Franchise })
	c.render(w, "automations.html", map[string]any{"Title": "Automations", "Rows": rows})
}

type graphNode struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Label    string `json:"label"`
	Category string `json:"category"`
}

type graphEdge struct {
	Source string `json:"source"`
	Target string `json:"target"`
	Handle string `json:"handle,omitempty"`
}

func (c *Console) automationPage(w http.ResponseWriter, r *http.Request) {
	l, err := c.automation(r, r.PathValue("automation"))
	if err != nil {
		c.pageError(w, r, err)
		return
	}
	period, since := periodSince(r.URL.Query().Get("period"))
	st, err := c.stats(r.Context(), l, since)
	if err != nil {
		c.pageError(w, r, err)
		return
	}
	graph := struct {
		ID    string      `json:"id"`
		Since time.Time   `json:"since"`
		Nodes []graphNode `json:"nodes"`
		Edges []graphEdge `json:"edges"`
		Stats Stats       `json:"stats"`
	}{ID: l.rec.ID, Since: since, Stats: st}
	for _, id := range l.plan.NodeIDs() {
		n := l.plan.Node(id)
		graph.Nodes = append(graph.Nodes, graphNode{ID: id, Type: n.Type, Label: n.Label, Category: string(n.Category)})
	}
	for _, e := range l.plan.Doc.Edges {
		graph.Edges = append(graph.Edges, graphEdge{Source: e.Source, Target: e.Target, Handle: e.SourceHandle})
	}
	data, err := json.Marshal(graph)
	if err != nil {
		c.pageError(w, r, err)
		return
	}
	c.render(w, "automation.html", map[string]any{
		"Title": l.plan.Doc.Name, "Automation": l, "Name": l.plan.Doc.Name, "ID": l.rec.ID, "Seq": l.rec.Seq, "Version": l.rec.Version,
		"Active": l.rec.Active, "Franchise": l.franchise, "Stats": st, "Periods": periods, "Period": period, "Since": since,
		"Graph": template.JS(data), "ConversionPct": int(st.Goal.Conversion*100 + 0.5),
	})
}

func (c *Console) leadSearch(w http.ResponseWriter, r *http.Request) {
	if lead := strings.TrimSpace(r.URL.Query().Get("lead")); lead != "" {
		http.Redirect(w, r, "/console/leads/"+url.PathEscape(lead), http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/console", http.StatusSeeOther)
}

func (c *Console) leadPage(w http.ResponseWriter, r *http.Request) {
	lr, err := c.leadRuns(r, r.PathValue("lead"))
	if err != nil {
		c.pageError(w, r, err)
		return
	}
	c.render(w, "lead.html", map[string]any{"Title": "Lead " + lr.LeadID, "Lead": lr})
}

func (c *Console) failedPage(w http.ResponseWriter, r *http.Request) {
	runs, err := c.failed(r)
	if err != nil {
		c.pageError(w, r, err)
		return
	}
	list, err := c.Store.List(r.Context())
	if err != nil {
		c.pageError(w, r, err)
		return
	}
	type option struct{ ID, Name string }
	var autos []option
	for _, at := range list {
		name := at.ID
		franchise := ""
		if p, err := plan.Load(at.Document, 0); err == nil {
			name = p.Doc.Name
			if p.Doc.Franchise != nil {
				franchise = p.Doc.Franchise.ID
			}
		}
		if c.allowed(r, franchise) {
			autos = append(autos, option{at.ID, name})
		}
	}
	q := r.URL.Query()
	period := q.Get("since")
	c.render(w, "failed.html", map[string]any{"Title": "Failed runs", "Runs": runs, "Automations": autos,
		"Automation": q.Get("automation"), "Node": q.Get("node"), "SinceParam": period})
}

func isNotFound(err error) bool {
	return errors.Is(err, errNotFound) || errors.Is(err, store.ErrNotFound)
}
