// Package server assembles the starter's HTTP service: signed POST /events,
// the automation and CRM-integration APIs behind a bearer token, /healthz;
// over the durable store and a Temporal client.
package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"go.temporal.io/sdk/client"

	"github.com/conecrm/automation-runtime/internal/auth"
	"github.com/conecrm/automation-runtime/internal/catalog"
	"github.com/conecrm/automation-runtime/internal/codec"
	"github.com/conecrm/automation-runtime/internal/console"
	"github.com/conecrm/automation-runtime/internal/crm"
	crmapi "github.com/conecrm/automation-runtime/internal/crm/api"
	"github.com/conecrm/automation-runtime/internal/ingest"
	"github.com/conecrm/automation-runtime/internal/metrics"
	"github.com/conecrm/automation-runtime/internal/routes"
	"github.com/conecrm/automation-runtime/internal/runlog"
	"github.com/conecrm/automation-runtime/internal/store"
	"github.com/conecrm/automation-runtime/internal/store/crmstore"
)

// Environment variables (see README, Configuration).
const (
	EnvAddr           = "STARTER_ADDR"
	EnvAPIToken       = "STARTER_API_TOKEN"
	EnvDatabaseURL    = "DATABASE_URL"
	EnvDataDir        = "DATA_DIR"
	EnvAutomationsDir = "AUTOMATIONS_DIR"
	EnvRefresh        = "CATALOG_REFRESH"
	EnvEventRetention = "EVENT_ID_RETENTION"
	EnvUIURL          = "TEMPORAL_UI_URL"
	EnvRunLogInterval = "RUNLOG_INTERVAL"
	DefaultUIURL      = "http://localhost:8233"
	DefaultAddr       = "127.0.0.1:8080"
	DefaultDataDir    = "data"
)

// Config is the starter's configuration.
type Config struct {
	Addr           string
	AutomationsDir string
	DataDir        string
	DatabaseURL    string
	APIToken       string
	EventsSecret   string
	TaskQueue      string
	Namespace      string
	// Refresh is how often the catalog re-reads the store, for changes
	// other starters sharing the database made.
	Refresh time.Duration
	// EventRetention, when positive, is how long applied event ids are
	// remembered; zero remembers them forever.
	EventRetention time.Duration
	// UIURL is the Temporal Web UI's root, for the console's links.
	UIURL string
	// RunLogInterval is how often closed runs are recorded and failure
	// notifications sent; zero turns both off.
	RunLogInterval time.Duration
	// FailureWebhooks are the franchises' failure notification channels.
	FailureWebhooks runlog.Channels
	// WebhookSecret signs failure notifications (WEBHOOK_SIGNING_SECRET).
	WebhookSecret string
}

// EnvOr is the environment variable key, or def when it is unset or empty.
func EnvOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// ConfigFromEnv reads the configuration; the error names every missing
// required variable (the returned Config is usable for store commands).
func ConfigFromEnv() (Config, error) {
	c := Config{
		Addr:           EnvOr(EnvAddr, DefaultAddr),
		AutomationsDir: EnvOr(EnvAutomationsDir, "automations"),
		DataDir:        EnvOr(EnvDataDir, DefaultDataDir),
		DatabaseURL:    os.Getenv(EnvDatabaseURL),
		APIToken:       os.Getenv(EnvAPIToken),
		EventsSecret:   os.Getenv(ingest.SecretEnv),
		TaskQueue:      EnvOr("TASK_QUEUE", "automations"),
		Namespace:      EnvOr("TEMPORAL_NAMESPACE", "default"),
		Refresh:        5 * time.Second,
		UIURL:          EnvOr(EnvUIURL, DefaultUIURL),
		RunLogInterval: 5 * time.Second,
		WebhookSecret:  os.Getenv("WEBHOOK_SIGNING_SECRET"),
	}
	var problems []string
	if v := os.Getenv(EnvRunLogInterval); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			problems = append(problems, fmt.Sprintf("%s=%q is not a duration such as 5s (0 turns the run log off)", EnvRunLogInterval, v))
		} else {
			c.RunLogInterval = d
		}
	}
	if ch, err := runlog.ChannelsFromEnv(); err != nil {
		problems = append(problems, err.Error())
	} else {
		c.FailureWebhooks = ch
	}
	if v := os.Getenv(EnvRefresh); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			problems = append(problems, fmt.Sprintf("%s=%q is not a positive duration such as 5s", EnvRefresh, v))
		} else {
			c.Refresh = d
		}
	}
	if v := os.Getenv(EnvEventRetention); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			problems = append(problems, fmt.Sprintf("%s=%q is not a duration such as 2160h (0 keeps event ids forever)", EnvEventRetention, v))
		} else {
			c.EventRetention = d
		}
	}
	if c.APIToken == "" {
		problems = append(problems, "set "+EnvAPIToken+" (the bearer token of /api/*)")
	}
	if c.EventsSecret == "" {
		problems = append(problems, "set "+ingest.SecretEnv+" (the key POST /events signatures are checked with)")
	}
	if len(problems) > 0 {
		return c, errors.New(strings.Join(problems, "; "))
	}
	return c, nil
}

// OpenStore opens the configured store: DATABASE_URL, else the SQLite file
// in the data directory.
func OpenStore(ctx context.Context, cfg Config) (*store.Store, error) {
	return store.Open(ctx, store.Options{DatabaseURL: cfg.DatabaseURL, DataDir: cfg.DataDir})
}

// App is the assembled service.
type App struct {
	Handler  http.Handler
	Console  *console.Console
	Recorder *runlog.Recorder
	Sender   *runlog.Sender
	Catalog  *catalog.Catalog
	Ingester *ingest.Ingester
	API      *catalog.API
}

// New imports the automations directory into the store, loads the catalog
// and keeps it refreshed until ctx ends.
func New(ctx context.Context, c client.Client, st *store.Store, cfg Config, log zerolog.Logger) (*App, error) {
	if cfg.AutomationsDir != "" {
		res, err := catalog.ImportDir(ctx, st, cfg.AutomationsDir)
		if err != nil {
			if perr := st.Ping(ctx); perr != nil {
				return nil, fmt.Errorf("importing %s: %w", cfg.AutomationsDir, err)
			}
			// Invalid files are reported; the valid ones are imported.
			log.Error().Err(err).Str("dir", cfg.AutomationsDir).Msg("some automation files were not imported")
		}
		log.Info().Str("dir", cfg.AutomationsDir).Interface("imported", res).Str("database", st.Where()).Msg("automations imported")
	}
	cat := catalog.New()
	if err := cat.Sync(ctx, st); err != nil {
		if perr := st.Ping(ctx); perr != nil {
			return nil, fmt.Errorf("loading automations: %w", err)
		}
		log.Error().Err(err).Msg("some stored automations do not compile; they do not enrol")
	}
	if cfg.Refresh > 0 {
		go cat.Refresh(ctx, st, cfg.Refresh, log)
	}
	if cfg.EventRetention > 0 {
		go pruneEvents(ctx, st, cfg.EventRetention, log)
	}
	go func() {
		if c == nil {
			return
		}
		n, err := BackfillEnrolments(ctx, c, st, cfg.Namespace)
		if err != nil && ctx.Err() == nil {
			log.Warn().Err(err).Msg("filling the enrolment index from Temporal; retried at the next start")
		} else if n > 0 {
			log.Info().Int("runs", n).Msg("enrolment index filled from Temporal's running runs")
		}
	}()
	in := &ingest.Ingester{Temporal: c, Source: cat, TaskQueue: cfg.TaskQueue, Log: log, Events: st, Enrolments: st, Secret: []byte(cfg.EventsSecret), Holidays: st}
	api := &catalog.API{Store: st, Catalog: cat, Runs: c, Namespace: cfg.Namespace, Log: log}
	h := Handler(in, api, CRMHandler(st, log), cfg.APIToken, st)
	// The console shares /api's credentials: the admin token or a
	// franchise token, the caller's identity in the request context.
	cons := &console.Console{Store: st, Temporal: c, Namespace: cfg.Namespace, UIURL: cfg.UIURL, Auth: Authenticator(cfg.APIToken, st).Require, Scope: ConsoleScope, Log: log.With().Str("component", "console").Logger()}
	rec := &runlog.Recorder{Temporal: c, Store: st, Namespace: cfg.Namespace, Channels: cfg.FailureWebhooks, UIURL: cfg.UIURL, Log: log.With().Str("component", "runlog").Logger()}
	snd := &runlog.Sender{Store: st, Secret: []byte(cfg.WebhookSecret), Log: log.With().Str("component", "notify").Logger()}
	if cfg.RunLogInterval > 0 {
		go rec.Run(ctx, cfg.RunLogInterval)
		go snd.Run(ctx, cfg.RunLogInterval)
	}
	return &App{Handler: WithConsole(h, cons), Console: cons, Recorder: rec, Sender: snd, Catalog: cat, Ingester: in, API: api}, nil
}

// ConsoleScope is the franchises the console shows the caller: nil (all)
// for the admin token, the token's own franchise otherwise.
func ConsoleScope(r *http.Request) []string {
	id := auth.FromContext(r.Context())
	if id.Admin() {
		return nil
	}
	return []string{id.Franchise}
}

// WithConsole adds the console (/console, its own login) and its JSON
// endpoints (under /api, behind the console's Auth) to h. The result lists
// its routes (routes.Of), h's included when h lists its own.
func WithConsole(h http.Handler, cons *console.Console) http.Handler {
	apiMux := routes.New()
	cons.RegisterAPI(apiMux)
	mux := routes.New()
	mux.Mount("/", h, nil)
	for _, pattern := range console.APIPatterns {
		mux.Handle(pattern, cons.Auth(apiMux))
	}
	// The HTML pages and the data they fetch (cookie or bearer), not part
	// of the API the OpenAPI document describes.
	mux.Handle("/console", cons.Handler())
	mux.Handle("/console/", cons.Handler())
	return mux
}

// pruneEvents forgets event ids older than the retention, hourly.
func pruneEvents(ctx context.Context, st *store.Store, retention time.Duration, log zerolog.Logger) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		n, err := st.PruneEvents(ctx, time.Now().Add(-retention))
		if err != nil && ctx.Err() == nil {
			log.Warn().Err(err).Msg("pruning old event ids")
		} else if n > 0 {
			log.Info().Int64("forgotten", n).Msg("old event ids pruned")
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// CRMHandler serves /api/crm_integrations over the store, or explains why
// it cannot (no CRM_SECRETS_KEY to seal credentials with).
func CRMHandler(st *store.Store, log zerolog.Logger) http.Handler {
	cipher, err := crm.NewCipherFromEnv()
	if err != nil {
		log.Warn().Err(err).Msg("CRM integrations API disabled")
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			ingest.WriteJSON(w, http.StatusServiceUnavailable, ingest.ErrorResponse{Error: "CRM integrations are not configured: " + err.Error()})
		})
	}
	return crmapi.New(crmstore.New(st), cipher, log)
}

// Handler routes POST /events (signed, or with an API token), /api/* (the admin token or a
// franchise token, see Authenticator), the API's descriptions
// GET /api/openapi.json and GET /api/automation/schema (open), /healthz
// (open; 503 when the database does not answer), GET /metrics and, with
// payload encryption on, /codec/. openapi.json describes every route: the
// returned handler lists them (routes.Of), and the OpenAPI test fails on a
// route the document does not name.
func Handler(in *ingest.Ingester, api *catalog.API, crmH http.Handler, token string, st *store.Store) http.Handler {
	apiMux := routes.New()
	api.Register(apiMux)
	if crmH != nil {
		apiMux.Mount("/api/crm_integrations", crmH, nil)
		apiMux.Mount("/api/crm_integrations/", crmH, nil)
		apiMux.Mount("/api/integrations/", crmH, nil)
	}
	if st != nil {
		(&auth.TokensAPI{Store: st}).Register(apiMux)
		(&HolidaysAPI{Store: st}).Register(apiMux)
	}
	if in.Tokens == nil {
		in.Tokens = Authenticator(token, st)
	}
	mux := routes.New()
	mux.Handle("POST /events", metrics.Events(http.HandlerFunc(in.HandleEvents)))
	mux.Mount("/api/", Authenticator(token, st).Require(apiMux), apiMux)
	// The API's descriptions are public: editors fetch them without
	// credentials, and they hold no data.
	mux.HandleFunc("GET /api/openapi.json", serveJSON("application/json", OpenAPI))
	mux.HandleFunc("GET /api/automation/schema", serveJSON("application/schema+json", AutomationSchema))
	mux.Handle("GET /metrics", metrics.Handler())
	// With payload encryption on, the codec endpoint lets the Web UI and
	// the CLI show decoded payloads to operators.
	if c, err := codec.FromEnv(); err == nil && c != nil {
		mux.Mount("/codec/", http.StripPrefix("/codec", c.Handler(codec.HandlerOptionsFromEnv())), routes.Fixed{"POST /codec/encode", "POST /codec/decode"})
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if st != nil {
			ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
			defer cancel()
			if err := st.Ping(ctx); err != nil {
				ingest.WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "database unavailable"})
				return
			}
		}
		ingest.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	return mux
}

// Authenticator checks the credentials of /api/* (and anything else that
// mounts it, such as the console): the admin token, or a franchise-scoped
// token stored hashed in st. Handlers read the caller with
// auth.FromContext(r.Context()).
func Authenticator(adminToken string, st *store.Store) *auth.Authenticator {
	a := &auth.Authenticator{AdminToken: adminToken, Realm: "starter"}
	if st != nil {
		a.Tokens = st
	}
	return a
}

// RequireToken answers 401 unless the request carries the admin token
// ("Authorization: Bearer <token>" or "x-api-key: <token>", compared in
// constant time). An empty token admits nobody.
func RequireToken(token string, next http.Handler) http.Handler {
	return Authenticator(token, nil).Require(next)
}

// Listen serves h on addr until ctx ends, then shuts down gracefully.
func Listen(ctx context.Context, addr string, h http.Handler, log zerolog.Logger) error {
	srv := &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	log.Info().Str("addr", addr).Msg("starter listening")
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
