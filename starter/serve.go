package main

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/rs/zerolog"
	"go.temporal.io/sdk/client"

	"github.com/conecrm/automation-runtime/internal/catalog"
	"github.com/conecrm/automation-runtime/internal/crm"
	crmapi "github.com/conecrm/automation-runtime/internal/crm/api"
	"github.com/conecrm/automation-runtime/internal/ingest"
	"github.com/conecrm/automation-runtime/internal/logging"
	"github.com/conecrm/automation-runtime/internal/runtime"
	"github.com/conecrm/automation-runtime/internal/store"
	"github.com/conecrm/automation-runtime/internal/store/crmstore"
	"github.com/conecrm/automation-runtime/internal/temporalx"
)

// Environment variables of the starter (see README, Configuration).
const (
	envAPIToken     = "STARTER_API_TOKEN"
	envDatabaseURL  = "DATABASE_URL"
	envRefresh      = "CATALOG_REFRESH"
	envStarterURL   = "STARTER_URL"
	defaultAddr     = "127.0.0.1:8080"
	defaultDataDir  = "data"
	defaultAutomDir = "automations"
)

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// config is the starter's configuration, read from the environment.
type config struct {
	Addr           string
	AutomationsDir string
	DataDir        string
	DatabaseURL    string
	APIToken       string
	EventsSecret   string
	Namespace      string
	Refresh        time.Duration
}

func loadConfig() (config, error) {
	c := config{
		Addr:           envOr("STARTER_ADDR", defaultAddr),
		AutomationsDir: envOr("AUTOMATIONS_DIR", defaultAutomDir),
		DataDir:        envOr("DATA_DIR", defaultDataDir),
		DatabaseURL:    os.Getenv(envDatabaseURL),
		APIToken:       os.Getenv(envAPIToken),
		EventsSecret:   os.Getenv(ingest.SecretEnv),
		Namespace:      envOr("TEMPORAL_NAMESPACE", "default"),
		Refresh:        5 * time.Second,
	}
	if v := os.Getenv(envRefresh); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return c, fmt.Errorf("%s=%q is not a positive duration such as 5s", envRefresh, v)
		}
		c.Refresh = d
	}
	var missing []string
	if c.APIToken == "" {
		missing = append(missing, envAPIToken+" (the bearer token of /api/*)")
	}
	if c.EventsSecret == "" {
		missing = append(missing, ingest.SecretEnv+" (the key POST /events signatures are checked with)")
	}
	if len(missing) > 0 {
		return c, fmt.Errorf("set %s", strings.Join(missing, " and "))
	}
	return c, nil
}

func openStore(ctx context.Context, cfg config) (*store.Store, error) {
	return store.Open(ctx, store.Options{DatabaseURL: cfg.DatabaseURL, DataDir: cfg.DataDir})
}

// fatal logs and prints a message a person can act on; it returns exit code 1.
func fatal(log zerolog.Logger, err error, msg string) int {
	log.Error().Err(err).Msg(msg)
	fmt.Fprintf(os.Stderr, "starter: %s: %v\n", msg, err)
	return 1
}

func serve([]string) int {
	log := logging.New("starter")
	cfg, err := loadConfig()
	if err != nil {
		return fatal(log, err, "configuration incomplete")
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	st, err := openStore(ctx, cfg)
	if err != nil {
		return fatal(log, err, "cannot open the database (check DATABASE_URL, or DATA_DIR for the SQLite file)")
	}
	defer st.Close()
	c, err := temporalx.Dial(log)
	if err != nil {
		return fatal(log, err, "cannot connect to Temporal")
	}
	defer c.Close()
	h, err := newApp(ctx, c, st, cfg, log)
	if err != nil {
		return fatal(log, err, "cannot load automations")
	}
	if err := listen(ctx, cfg.Addr, h, log); err != nil {
		return fatal(log, err, "starter stopped with an error")
	}
	return 0
}

// newApp imports the automations directory into the store, loads the
// catalog, keeps it refreshed until ctx ends and returns the HTTP handler.
func newApp(ctx context.Context, c client.Client, st *store.Store, cfg config, log zerolog.Logger) (http.Handler, error) {
	if cfg.AutomationsDir != "" {
		res, err := catalog.ImportDir(ctx, st, cfg.AutomationsDir)
		if err != nil {
			if len(res) == 0 && errors.Is(err, context.Canceled) {
				return nil, err
			}
			// Invalid files are reported; the valid ones are imported.
			log.Error().Err(err).Str("dir", cfg.AutomationsDir).Msg("some automation files were not imported")
		}
		log.Info().Str("dir", cfg.AutomationsDir).Interface("imported", res).Str("database", st.Where()).Msg("automations imported")
	}
	cat := catalog.New()
	if err := cat.Sync(ctx, st); err != nil {
		if len(cat.All()) == 0 {
			if _, lerr := st.List(ctx); lerr != nil {
				return nil, err
			}
		}
		log.Error().Err(err).Msg("some stored automations do not compile; they do not enrol")
	}
	go cat.Refresh(ctx, st, cfg.Refresh, log)
	in := &ingest.Ingester{Temporal: c, Source: cat, TaskQueue: runtime.TaskQueue(), Log: log, Events: st, Secret: []byte(cfg.EventsSecret)}
	api := &catalog.API{Store: st, Catalog: cat, Runs: c, Namespace: cfg.Namespace, Log: log}
	return newHandler(in, api, crmHandler(st, log), cfg.APIToken, st), nil
}

// crmHandler serves /api/crm_integrations over the store, or explains why
// it cannot (no CRM_SECRETS_KEY to seal credentials with).
func crmHandler(st *store.Store, log zerolog.Logger) http.Handler {
	cipher, err := crm.NewCipherFromEnv()
	if err != nil {
		log.Warn().Err(err).Msg("CRM integrations API disabled")
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			ingest.WriteJSON(w, http.StatusServiceUnavailable, ingest.ErrorResponse{Error: "CRM integrations are not configured: " + err.Error()})
		})
	}
	return crmapi.New(crmstore.New(st), cipher, log)
}

// newHandler routes: POST /events (signed), /api/* (bearer token),
// /healthz (open).
func newHandler(in *ingest.Ingester, api *catalog.API, crmH http.Handler, token string, st *store.Store) http.Handler {
	apiMux := http.NewServeMux()
	api.Register(apiMux)
	if crmH != nil {
		apiMux.Handle("/api/crm_integrations", crmH)
		apiMux.Handle("/api/crm_integrations/", crmH)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /events", in.HandleEvents)
	mux.Handle("/api/", requireToken(token, apiMux))
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

// requireToken answers 401 unless the request carries
// "Authorization: Bearer <token>" (compared in constant time).
func requireToken(token string, next http.Handler) http.Handler {
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := []byte(r.Header.Get("Authorization"))
		if token == "" || subtle.ConstantTimeCompare(got, want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="starter"`)
			ingest.WriteJSON(w, http.StatusUnauthorized, ingest.ErrorResponse{Error: "missing or wrong bearer token (Authorization: Bearer $" + envAPIToken + ")"})
			return
		}
		next.ServeHTTP(w, r)
	})
}

func listen(ctx context.Context, addr string, h http.Handler, log zerolog.Logger) error {
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
