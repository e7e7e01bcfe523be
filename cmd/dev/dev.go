package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"

	"github.com/conecrm/automation-runtime/internal/codec"
	"github.com/conecrm/automation-runtime/internal/conecrm"
	"github.com/conecrm/automation-runtime/internal/devkit/democrm"
	"github.com/conecrm/automation-runtime/internal/devkit/devserver"
	"github.com/conecrm/automation-runtime/internal/devkit/sandbox"
	"github.com/conecrm/automation-runtime/internal/ingest"
	"github.com/conecrm/automation-runtime/internal/logging"
	"github.com/conecrm/automation-runtime/internal/temporalclient"
	"github.com/conecrm/automation-runtime/internal/workerapp"
	"github.com/conecrm/automation-runtime/starter/server"
)

// dev runs the whole stack in the foreground: the Temporal dev server on its
// SQLite file, the ConeCRM sandbox (unless CONECRM_BASE_URL is set), a worker
// process and the starter; then it posts a demo lead event and prints where
// to look. Ctrl-C stops every child.
func dev([]string) int {
	log := logging.New("dev")
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	dataDir := envOr("DATA_DIR", "data")
	tlog, err := os.OpenFile(filepath.Join(mustMkdir(dataDir), "temporal.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		log.Error().Err(err).Msg("cannot open the server log")
		return 1
	}
	defer tlog.Close()
	port, uiPort, err := devServerPorts()
	if err != nil {
		return fatal(log, err, "configuration incomplete")
	}
	log.Info().Msg("starting the Temporal dev server (first start takes a few seconds)")
	devOpts := devserver.Options{DBFile: filepath.Join(dataDir, "temporal.db"), Port: port, UIPort: uiPort, Log: tlog}
	// Payloads hold leads' names, e-mails and phones: encrypted by default,
	// with a key made on the first start and kept in data/ (like the CRM
	// secrets key). PAYLOAD_CODEC_KEYS=off runs without.
	switch os.Getenv(codec.EnvKeys) {
	case "off":
		os.Unsetenv(codec.EnvKeys)
	case "":
		key, err := democrm.LoadOrCreateKey(filepath.Join(dataDir, "payload-codec.key"))
		if err != nil {
			return fatal(log, err, "payload encryption key")
		}
		os.Setenv(codec.EnvKeys, "dev:"+key)
	}
	if os.Getenv(codec.EnvKeys) != "" {
		// Operators read decoded payloads in the UI through the starter's codec endpoint.
		devOpts.ExtraArgs = []string{"--ui-codec-endpoint", "http://" + envOr("STARTER_ADDR", "127.0.0.1:8080") + "/codec"}
	}
	srv, err := devserver.Start(ctx, devOpts)
	if err != nil {
		log.Error().Err(err).Msgf("cannot start the Temporal dev server (is another one running on %d?)", port)
		return 1
	}
	defer srv.Stop()
	os.Setenv("TEMPORAL_ADDRESS", srv.Address)
	// The console and failure notifications link runs to this UI, which
	// may call the codec endpoint.
	setDefaultEnv(server.EnvUIURL, srv.UIURL)
	setDefaultEnv(codec.EnvOrigins, srv.UIURL+","+strings.Replace(srv.UIURL, "127.0.0.1", "localhost", 1))

	sandboxRunning := os.Getenv("CONECRM_BASE_URL") == ""
	if sandboxRunning {
		token := envOr("CONECRM_TOKEN", "sandbox-token")
		os.Setenv("CONECRM_TOKEN", token)
		// SANDBOX_FAULTS and SANDBOX_IGNORE_IDEMPOTENCY configure it.
		sb, url, err := startSandbox(envOr("SANDBOX_ADDR", "127.0.0.1:8090"), token)
		if err != nil {
			return fatal(log, err, "cannot start the ConeCRM sandbox")
		}
		defer sb.Close()
		os.Setenv("CONECRM_BASE_URL", url)
		sbx := sb.Handler.(*sandbox.Server)
		ev := log.Info().Str("url", url).Bool("ignores_idempotency_key", sbx.IgnoresIdempotency())
		if faults := sbx.Faults(); len(faults.Faults) > 0 {
			ev = ev.Interface("faults", faults)
		}
		ev.Msg("ConeCRM sandbox started (requests at /sandbox/requests, faults at /sandbox/faults)")
	}

	// Demo credentials, unless the environment sets real ones.
	setDefaultEnv(server.EnvAPIToken, demoAPIToken)
	setDefaultEnv(ingest.SecretEnv, demoSigningSecret)
	cfg, err := server.ConfigFromEnv()
	if err != nil {
		return fatal(log, err, "configuration incomplete")
	}
	cfg.TaskQueue = workerapp.TaskQueue()
	st, err := server.OpenStore(ctx, cfg)
	if err != nil {
		return fatal(log, err, dbHint)
	}
	defer st.Close()
	stopCRM, err := democrm.Setup(ctx, st, dataDir, filepath.Join(envOr("AUTOMATIONS_DIR", "automations"), "integrations"), nil, log)
	if err != nil {
		return fatal(log, err, "demo CRM integrations")
	}
	defer stopCRM()

	workerBin := filepath.Join(filepath.Dir(must(os.Executable())), "worker")
	wk := exec.Command(workerBin)
	wk.Stdout, wk.Stderr = os.Stdout, os.Stderr
	wk.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := wk.Start(); err != nil {
		log.Error().Err(err).Str("path", workerBin).Msg("cannot start the worker (make run builds it)")
		return 1
	}
	defer func() {
		_ = wk.Process.Signal(syscall.SIGTERM)
		_, _ = wk.Process.Wait()
	}()

	c, err := temporalclient.Dial(log)
	if err != nil {
		log.Error().Err(err).Msg("cannot connect to Temporal")
		return 1
	}
	defer c.Close()
	app, err := server.New(ctx, c, st, cfg, log)
	if err != nil {
		return fatal(log, err, "cannot load automations")
	}
	addr := cfg.Addr
	go func() {
		if err := server.Listen(ctx, addr, app.Handler, log); err != nil {
			log.Error().Err(err).Msg("starter stopped")
			stop()
		}
	}()
	if err := waitHTTP(ctx, "http://"+addr+"/healthz"); err != nil {
		log.Error().Err(err).Msg("starter did not come up")
		return 1
	}
	if err := demo(ctx, c, addr, srv.UIURL, sandboxRunning); err != nil {
		log.Error().Err(err).Msg("demo event failed")
	}
	<-ctx.Done()
	log.Info().Msg("stopping")
	return 0
}

// startSandbox serves the ConeCRM sandbox on addr with the faults of
// SANDBOX_FAULTS, when set; it returns the server and its base URL.
func startSandbox(addr, token string) (*http.Server, string, error) {
	h, err := sandbox.NewFromEnv(token)
	if err != nil {
		return nil, "", err
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	return srv, "http://" + l.Addr().String(), nil
}

// demo posts a fresh copy of automations/events/demo-lead-created.json and
// prints the run's Web UI link once it completes.
func demo(ctx context.Context, c client.Client, addr, uiURL string, sandboxRunning bool) error {
	path := filepath.Join(envOr("AUTOMATIONS_DIR", "automations"), "events", "demo-lead-created.json")
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var ev map[string]any
	if err := json.Unmarshal(raw, &ev); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	// A new event each time for the sandbox's seeded lead, so every
	// `make run` adds a run (the demo automation re-enrols after a run ends).
	ev["id"] = uuid.Must(uuid.NewV7()).String()
	ev["occurredAt"] = time.Now().UTC().Format(time.RFC3339)
	body, _ := json.Marshal(ev)
	status, out, err := ingest.PostSigned(ctx, "http://"+addr+"/events", []byte(os.Getenv(ingest.SecretEnv)), body)
	if err != nil {
		return err
	}
	var er ingest.EventsResponse
	if status != 200 || json.Unmarshal(out, &er) != nil {
		return fmt.Errorf("POST /events: HTTP %d: %s", status, out)
	}
	fmt.Println()
	fmt.Println("Demo lead event posted; automations:")
	for _, o := range er.Automations {
		fmt.Printf("  %-40s %-9s %s\n", o.AutomationID, o.Result, o.Reason)
	}
	for _, o := range er.Automations {
		if o.Result != ingest.Enrolled {
			continue
		}
		wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		err := c.GetWorkflow(wctx, o.WorkflowID, o.RunID).Get(wctx, nil)
		cancel()
		state := "completed"
		if err != nil {
			state = "still running or failed: " + err.Error()
		}
		fmt.Printf("\nRun %s %s\n  Web UI: %s/namespaces/default/workflows/%s/%s/history\n", o.WorkflowID, state, uiURL, url.PathEscape(o.WorkflowID), o.RunID)
	}
	fmt.Printf("\nWeb UI: %s   starter: http://%s   logs: stdout, server log in %s/temporal.log\n", uiURL, addr, envOr("DATA_DIR", server.DefaultDataDir))
	fmt.Printf("\nAPI token (%s): %s\n", server.EnvAPIToken, os.Getenv(server.EnvAPIToken))
	fmt.Printf("Console: http://%s/console (sign in with the API token)\n", addr)
	fmt.Printf("  curl -sS -H 'Authorization: Bearer %s' http://%s/api/automation\n", os.Getenv(server.EnvAPIToken), addr)
	fmt.Printf("\nSend another event for the same lead (a fresh event id each time), signed with %s=%s:\n", ingest.SecretEnv, os.Getenv(ingest.SecretEnv))
	fmt.Printf("  %s=%s bin/starter trigger --event %s --new-ids\n", ingest.SecretEnv, os.Getenv(ingest.SecretEnv), path)
	fmt.Println("or create a new lead in ConeCRM and send its LEAD_CREATED event:")
	fmt.Printf("  %s\n", newLeadCommand(path, sandboxRunning))
	fmt.Println("or with curl (edit the file's id to make it a new delivery):")
	fmt.Printf("  body=$(cat %s); ts=$(date +%%s)\n", path)
	fmt.Printf("  sig=$(printf '%%s.%%s' \"$ts\" \"$body\" | openssl dgst -sha256 -hmac '%s' | sed 's/^.* //')\n", os.Getenv(ingest.SecretEnv))
	fmt.Printf("  curl -sS -X POST http://%s/events -H 'Content-Type: application/json' \\\n    -H \"X-Timestamp: $ts\" -H \"X-Signature: sha256=$sig\" --data-binary \"$body\"\n", addr)
	fmt.Println("Ctrl-C stops everything.")
	return nil
}

// newLeadCommand is the printed command that creates a new lead in ConeCRM
// (the sandbox, or CONECRM_BASE_URL) and sends its event. A real ConeCRM's
// token is not printed: the command reads it from the environment.
func newLeadCommand(eventFile string, sandboxToken bool) string {
	token := "\"$" + conecrm.EnvToken + "\""
	if sandboxToken {
		token = os.Getenv(conecrm.EnvToken)
	}
	return fmt.Sprintf("%s=%s %s=%s %s=%s bin/starter trigger --event %s --new-lead",
		conecrm.EnvBaseURL, os.Getenv(conecrm.EnvBaseURL), conecrm.EnvToken, token,
		ingest.SecretEnv, os.Getenv(ingest.SecretEnv), eventFile)
}

// Demo credentials `make run` uses when the environment sets none.
const (
	demoAPIToken      = "demo-token"
	demoSigningSecret = "demo-signing-secret"
)

func setDefaultEnv(key, value string) {
	if os.Getenv(key) == "" {
		os.Setenv(key, value)
	}
}

func waitHTTP(ctx context.Context, u string) error {
	for i := 0; i < 100; i++ {
		resp, err := http.Get(u)
		if err == nil {
			resp.Body.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s not answering", u)
}

// Environment variables choosing the dev server's ports (make run's are
// fixed so that the printed links stay the same; tests pick free ones).
const (
	envDevPort   = "TEMPORAL_DEV_PORT"
	envDevUIPort = "TEMPORAL_DEV_UI_PORT"
)

func devServerPorts() (port, uiPort int, err error) {
	read := func(key string, def int) (int, error) {
		v := os.Getenv(key)
		if v == "" {
			return def, nil
		}
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 || n > 65535 {
			return 0, fmt.Errorf("%s=%q is not a TCP port", key, v)
		}
		return n, nil
	}
	if port, err = read(envDevPort, 7233); err != nil {
		return 0, 0, err
	}
	uiPort, err = read(envDevUIPort, 8233)
	return port, uiPort, err
}

func mustMkdir(dir string) string {
	_ = os.MkdirAll(dir, 0o755)
	return dir
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
