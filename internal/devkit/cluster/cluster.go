// Package cluster runs the runtime on a real Temporal cluster on one
// machine: Temporal Server (the version the CLI's dev server embeds) on
// PostgreSQL, its frontend, history, matching and worker services as
// separate processes, the Web UI server, the ConeCRM sandbox and the demo
// CRM fakes, and several bin/worker and bin/starter processes sharing one
// task queue and one PostgreSQL store. `make cluster` (cmd/cluster) runs it
// in the foreground; the cluster tests (build tag cluster) start one each.
package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/conecrm/automation-runtime/internal/conecrm"
	"github.com/conecrm/automation-runtime/internal/crm"
	"github.com/conecrm/automation-runtime/internal/devkit/democrm"
	"github.com/conecrm/automation-runtime/internal/devkit/devserver"
	"github.com/conecrm/automation-runtime/internal/devkit/sandbox"
	"github.com/conecrm/automation-runtime/internal/ingest"
	"github.com/conecrm/automation-runtime/internal/store"
	"github.com/conecrm/automation-runtime/starter/server"
)

// Options configure a cluster.
type Options struct {
	// Dir holds everything the cluster writes: PostgreSQL's files,
	// configuration, one log per process (logs/), the product's data.
	Dir string
	// BasePort, when set, fixes every port from it (see Ports); zero takes
	// free ports.
	BasePort int
	// Workers and Starters are how many bin/worker and bin/starter
	// processes run (default 2 each; negative: none, for a harness that
	// brings its own).
	Workers, Starters int
	// BinDir holds temporal-server, temporal-sql-tool, temporal-ui-server,
	// worker and starter (default the repository's bin/).
	BinDir string
	// SchemaDir is the server's schema/postgresql/v12 (default: found with
	// go list in tools/).
	SchemaDir string
	// AutomationsDir is imported by the starters (default automations/).
	AutomationsDir string
	// Shards is the history shard count, fixed for the cluster's life
	// (default 4).
	Shards int
	// NoUI leaves the Web UI server out.
	NoUI bool
	// Sandbox is the ConeCRM sandbox to serve (default sandbox.NewFromEnv:
	// SANDBOX_FAULTS, SANDBOX_IGNORE_IDEMPOTENCY).
	Sandbox http.Handler
	// NoDemoCRM leaves the fake Salesforce and HubSpot and their stored
	// integrations out.
	NoDemoCRM bool
	// Env is added to the workers' and starters' environment.
	Env []string
	// ServerLogLevel is the Temporal services' log level (default warn).
	ServerLogLevel string
	// Log receives progress lines; nil discards them.
	Log io.Writer
}

// Credentials the cluster gives its starters and sandbox.
const (
	APIToken      = "cluster-token"
	SigningSecret = "cluster-signing-secret"
	SandboxToken  = "sandbox-token"
	productDB     = "conecrm"
)

// Cluster is a running cluster.
type Cluster struct {
	opts Options
	root string
	log  zerolog.Logger

	// Frontend is the frontend's gRPC address (host:port).
	Frontend string
	// FrontendHTTP is the frontend's HTTP API root.
	FrontendHTTP string
	// UIURL is the Web UI's root ("" with NoUI).
	UIURL string
	// SandboxURL is the ConeCRM sandbox's root.
	SandboxURL string
	// StarterURLs are the starters' roots, in order.
	StarterURLs []string
	// WorkerMetrics are the workers' /metrics addresses, in order.
	WorkerMetrics []string
	// PostgresURL is the PostgreSQL server; DatabaseURL the product's
	// database on it (DATABASE_URL of the starters and workers).
	PostgresURL, DatabaseURL string
	// ServerPorts are each Temporal service's ports.
	ServerPorts map[string]ServerPorts

	mu      sync.Mutex
	procs   map[string]*Proc
	order   []string
	sandbox *http.Server
	stopCRM func()
	pgLog   *os.File
	next    map[string]int
	ports   ports
	// readyURL is what answers when a process is up (UI, workers,
	// starters); the Temporal services are probed through the frontend.
	readyURL map[string]string
}

// Proc returns a process by name: history, matching, frontend, worker (the
// Temporal services), ui, worker-1..N, starter-1..N.
func (c *Cluster) Proc(name string) *Proc {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.procs[name]
}

// Procs lists the processes' names in start order.
func (c *Cluster) Procs() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.order...)
}

// Ports derive from a base port (make cluster's is 17000, which puts each
// at make run's port plus 10000): frontend base+233 (HTTP +243), history +234, matching +235,
// worker service +239, membership +933..+939, server metrics +2000..+2003,
// Web UI +1233, starters +1080.., sandbox +1090, fake Salesforce +1091,
// fake HubSpot +1092, worker metrics +2464...
type ports struct {
	base int
	// taken are the free ports handed out already: none is bound until
	// its process starts, so the same one could be drawn twice.
	taken map[int]bool
}

func (p ports) at(off int) (int, error) {
	if p.base != 0 {
		return p.base + off, nil
	}
	for range 50 {
		port, err := devserver.FreePort()
		if err != nil {
			return 0, err
		}
		if !p.taken[port] {
			p.taken[port] = true
			return port, nil
		}
	}
	return 0, errors.New("no free port not handed out already")
}

// membership is a membership port: the server stores it in a smallint
// column (cluster_membership.rpc_port), so it must stay below 32768, under
// the kernel's range of free ports.
func (p ports) membership(off int) (int, error) {
	if p.base != 0 {
		return p.base + off, nil
	}
	for range 200 {
		port := 20000 + rand.IntN(12000)
		if p.taken[port] {
			continue
		}
		if l, err := net.Listen("tcp", addr(port)); err == nil {
			p.taken[port] = true
			l.Close()
			return port, nil
		}
	}
	return 0, errors.New("no free membership port below 32768")
}

// Start brings the cluster up; on error it stops what it started.
func Start(ctx context.Context, opts Options) (c *Cluster, err error) {
	if opts.Workers == 0 {
		opts.Workers = 2
	}
	if opts.Starters == 0 {
		opts.Starters = 2
	}
	if opts.Shards == 0 {
		opts.Shards = 4
	}
	if opts.ServerLogLevel == "" {
		opts.ServerLogLevel = "warn"
	}
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	root, err := devserver.RepoRoot()
	if err != nil {
		return nil, err
	}
	if opts.BinDir == "" {
		opts.BinDir = filepath.Join(root, "bin")
	}
	if opts.AutomationsDir == "" {
		opts.AutomationsDir = filepath.Join(root, "automations")
	}
	if opts.Dir, err = filepath.Abs(opts.Dir); err != nil {
		return nil, err
	}
	for _, b := range []string{"temporal-server", "temporal-sql-tool", "temporal-ui-server", "worker", "starter"} {
		if _, err := os.Stat(filepath.Join(opts.BinDir, b)); err != nil {
			return nil, fmt.Errorf("%s is not built (make cluster-bins builds it): %w", b, err)
		}
	}
	if opts.SchemaDir == "" {
		if opts.SchemaDir, err = SchemaDir(root); err != nil {
			return nil, err
		}
	}
	logs := filepath.Join(opts.Dir, "logs")
	if err := os.MkdirAll(logs, 0o755); err != nil {
		return nil, err
	}
	// PostgreSQL runs as the postgres user when this runs as root: it must
	// be able to reach its directory.
	_ = os.Chmod(opts.Dir, 0o755)
	c = &Cluster{opts: opts, root: root, procs: map[string]*Proc{}, ServerPorts: map[string]ServerPorts{}, next: map[string]int{}, readyURL: map[string]string{},
		log: zerolog.New(zerolog.ConsoleWriter{Out: opts.Log, TimeFormat: "15:04:05.000"}).With().Timestamp().Logger()}
	defer func() {
		if err != nil {
			c.Stop()
			c = nil
		}
	}()
	p := ports{base: opts.BasePort, taken: map[int]bool{}}
	c.ports = p

	t0 := time.Now()
	c.pgLog, err = os.OpenFile(filepath.Join(logs, "postgres-setup.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return c, err
	}
	if c.PostgresURL, err = startPostgres(ctx, root, opts.Dir, c.pgLog); err != nil {
		return c, err
	}
	c.DatabaseURL = databaseURL(c.PostgresURL, productDB)
	if err := setupSchemas(ctx, filepath.Join(opts.BinDir, "temporal-sql-tool"), opts.SchemaDir, c.PostgresURL, productDB, c.pgLog); err != nil {
		return c, err
	}
	c.log.Info().Str("url", c.PostgresURL).Str("took", time.Since(t0).Round(time.Millisecond).String()).Msg("PostgreSQL up, Temporal schemas applied")

	offsets := map[string][4]int{ // gRPC, membership, metrics, HTTP
		"frontend": {233, 933, 2000, 243}, "history": {234, 934, 2001, 0},
		"matching": {235, 935, 2002, 0}, "worker": {239, 939, 2003, 0},
	}
	for _, s := range Services {
		o := offsets[s]
		var sp ServerPorts
		for i, dst := range []*int{&sp.GRPC, &sp.Membership, &sp.Metrics, &sp.HTTP} {
			if i == 3 && o[3] == 0 {
				continue
			}
			at := p.at
			if i == 1 {
				at = p.membership
			}
			if *dst, err = at(o[i]); err != nil {
				return c, err
			}
		}
		c.ServerPorts[s] = sp
	}
	c.Frontend = addr(c.ServerPorts["frontend"].GRPC)
	c.FrontendHTTP = "http://" + addr(c.ServerPorts["frontend"].HTTP)
	uiPort, err := p.at(1233)
	if err != nil {
		return c, err
	}
	pgAddr := c.PostgresURL
	if u, perr := parseHostPort(c.PostgresURL); perr == nil {
		pgAddr = u
	}
	if err := writeConfigs(opts.Dir, pgAddr, opts.ServerLogLevel, opts.Shards, c.ServerPorts, uiPort, os.Getenv("CLUSTER_UI_CODEC_ENDPOINT")); err != nil {
		return c, err
	}

	t1 := time.Now()
	for _, s := range Services {
		pr := c.add(s, filepath.Join(opts.BinDir, "temporal-server"), nil,
			"--root", opts.Dir, "--config", "config", "--env", s, "--allow-no-auth", "start", "--service", s)
		if err := pr.Start(); err != nil {
			return c, err
		}
		if s == "history" {
			if err := waitTCP(ctx, pr, addr(c.ServerPorts[s].GRPC), 60*time.Second); err != nil {
				return c, err
			}
		}
	}
	if err := c.WaitReady(ctx, 90*time.Second); err != nil {
		return c, err
	}
	if err := c.setupNamespace(ctx); err != nil {
		return c, err
	}
	c.log.Info().Str("frontend", c.Frontend).Str("took", time.Since(t1).Round(time.Millisecond).String()).Msg("Temporal services up (history, matching, frontend, worker), namespace default and search attributes ready")

	if !opts.NoUI {
		pr := c.add("ui", filepath.Join(opts.BinDir, "temporal-ui-server"), nil,
			"--root", filepath.Join(opts.Dir, "ui"), "--config", "config", "--env", "cluster", "start")
		if err := pr.Start(); err != nil {
			return c, err
		}
		c.UIURL = "http://" + addr(uiPort)
		c.setReady("ui", c.UIURL)
		if err := waitHTTP(ctx, pr, c.UIURL, 30*time.Second); err != nil {
			return c, err
		}
	}

	if err := c.startSandbox(p); err != nil {
		return c, err
	}
	if !opts.NoDemoCRM {
		if err := c.setupCRM(ctx, p); err != nil {
			return c, err
		}
	}
	for i := 1; i <= max(opts.Workers, 0); i++ {
		if _, err := c.StartWorker(ctx, "", nil); err != nil {
			return c, err
		}
	}
	for i := 1; i <= max(opts.Starters, 0); i++ {
		port, err := p.at(1080 + i - 1)
		if err != nil {
			return c, err
		}
		name := fmt.Sprintf("starter-%d", i)
		u := "http://" + addr(port)
		pr := c.add(name, filepath.Join(opts.BinDir, "starter"), c.productEnv(name,
			server.EnvAddr+"="+addr(port)), "serve")
		if err := pr.Start(); err != nil {
			return c, err
		}
		c.setReady(name, u+"/healthz")
		// One at a time: each imports the automations directory.
		if err := waitHTTP(ctx, pr, u+"/healthz", 60*time.Second); err != nil {
			return c, err
		}
		c.StarterURLs = append(c.StarterURLs, u)
	}
	c.log.Info().Str("took", time.Since(t0).Round(time.Millisecond).String()).Int("workers", opts.Workers).Int("starters", opts.Starters).Msg("cluster up")
	return c, nil
}

func (c *Cluster) add(name, path string, env []string, args ...string) *Proc {
	c.mu.Lock()
	defer c.mu.Unlock()
	if env == nil {
		env = os.Environ()
	}
	pr := &Proc{Name: name, Path: path, Args: args, Env: env, Dir: c.root, LogPath: filepath.Join(c.opts.Dir, "logs", name+".log")}
	if _, ok := c.procs[name]; !ok {
		c.order = append(c.order, name)
	}
	c.procs[name] = pr
	return pr
}

// productEnv is a worker's or starter's environment.
func (c *Cluster) productEnv(name string, extra ...string) []string {
	env := append(os.Environ(),
		"TEMPORAL_ADDRESS="+c.Frontend,
		"TEMPORAL_NAMESPACE=default",
		"DATABASE_URL="+c.DatabaseURL,
		"DATA_DIR="+filepath.Join(c.opts.Dir, "data", name),
		conecrm.EnvBaseURL+"="+c.SandboxURL,
		conecrm.EnvToken+"="+SandboxToken,
		server.EnvAPIToken+"="+APIToken,
		ingest.SecretEnv+"="+SigningSecret,
		server.EnvAutomationsDir+"="+c.opts.AutomationsDir,
		server.EnvRefresh+"=1s",
	)
	if c.UIURL != "" {
		env = append(env, server.EnvUIURL+"="+c.UIURL)
	}
	env = append(env, c.opts.Env...)
	return append(env, extra...)
}

// StartWorker starts one more bin/worker (named worker-N unless name is
// set) with extra environment, and waits for its metrics endpoint.
func (c *Cluster) StartWorker(ctx context.Context, name string, extra []string) (*Proc, error) {
	return c.StartWorkerFrom(ctx, name, filepath.Join(c.opts.BinDir, "worker"), extra)
}

// StartWorkerFrom is StartWorker with another worker binary (a new release
// in a rolling upgrade).
func (c *Cluster) StartWorkerFrom(ctx context.Context, name, bin string, extra []string) (*Proc, error) {
	c.mu.Lock()
	c.next["worker"]++
	n := c.next["worker"]
	c.mu.Unlock()
	if name == "" {
		name = fmt.Sprintf("worker-%d", n)
	}
	c.mu.Lock()
	port, err := c.ports.at(2464 + n - 1)
	c.mu.Unlock()
	if err != nil {
		return nil, err
	}
	metricsAddr := addr(port)
	env := c.productEnv(name, append([]string{"WORKER_METRICS_ADDR=" + metricsAddr}, extra...)...)
	pr := c.add(name, bin, env)
	c.setReady(name, "http://"+metricsAddr+"/metrics")
	if err := pr.Start(); err != nil {
		return nil, err
	}
	if err := waitHTTP(ctx, pr, "http://"+metricsAddr+"/metrics", 60*time.Second); err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.WorkerMetrics = append(c.WorkerMetrics, metricsAddr)
	c.mu.Unlock()
	return pr, nil
}

func (c *Cluster) setReady(name, u string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.readyURL[name] = u
}

// Kill SIGKILLs a process (chaos); Restart brings it back.
func (c *Cluster) Kill(name string) error {
	p := c.Proc(name)
	if p == nil {
		return fmt.Errorf("no process %q", name)
	}
	return p.Kill()
}

// Restart starts a process again (stopping it first with SIGTERM when it
// runs) and waits until it answers: a Temporal service until the frontend
// reaches history and matching again, the others on their HTTP endpoint.
func (c *Cluster) Restart(ctx context.Context, name string) error {
	p := c.Proc(name)
	if p == nil {
		return fmt.Errorf("no process %q", name)
	}
	p.Stop(30 * time.Second)
	if err := p.Start(); err != nil {
		return err
	}
	if isService(name) {
		return c.WaitReady(ctx, 90*time.Second)
	}
	c.mu.Lock()
	u := c.readyURL[name]
	c.mu.Unlock()
	if u == "" {
		return nil
	}
	return waitHTTP(ctx, p, u, 60*time.Second)
}

func (c *Cluster) startSandbox(p ports) error {
	h := c.opts.Sandbox
	if h == nil {
		sb, err := sandbox.NewFromEnv(SandboxToken)
		if err != nil {
			return err
		}
		h = sb
	}
	port, err := p.at(1090)
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", addr(port))
	if err != nil {
		return fmt.Errorf("ConeCRM sandbox: %w", err)
	}
	c.sandbox = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = c.sandbox.Serve(l) }()
	c.SandboxURL = "http://" + l.Addr().String()
	return nil
}

// setupCRM stores the demo CRM integrations in the product's database,
// their fakes on the cluster's ports, and sets CRM_SECRETS_KEY (kept in
// Dir) for the workers.
func (c *Cluster) setupCRM(ctx context.Context, p ports) error {
	st, err := store.Open(ctx, store.Options{DatabaseURL: c.DatabaseURL})
	if err != nil {
		return fmt.Errorf("product database: %w", err)
	}
	defer st.Close()
	addrs := map[string]string{}
	for prov, off := range map[string]int{"salesforce": 1091, "hubspot": 1092} {
		port, err := p.at(off)
		if err != nil {
			return err
		}
		addrs[prov] = addr(port)
	}
	stop, err := democrm.Setup(ctx, st, c.opts.Dir, filepath.Join(c.opts.AutomationsDir, "integrations"), addrs, c.log)
	if err != nil {
		return fmt.Errorf("demo CRM integrations: %w", err)
	}
	c.stopCRM = stop
	if os.Getenv(crm.SecretsKeyEnv) == "" {
		return errors.New("demo CRM: " + crm.SecretsKeyEnv + " not set")
	}
	return nil
}

// Stop stops everything in reverse order of dependence: starters, workers,
// the UI, the Temporal services (together: each drains for about ten
// seconds), the fakes and PostgreSQL. It returns how long it took.
func (c *Cluster) Stop() time.Duration {
	t0 := time.Now()
	var product, services []*Proc
	c.mu.Lock()
	for _, name := range c.order {
		pr := c.procs[name]
		switch {
		case name == "ui" || isService(name):
			services = append(services, pr)
		default:
			product = append(product, pr)
		}
	}
	c.mu.Unlock()
	stopAll(product, 30*time.Second)
	stopAll(services, 30*time.Second)
	if c.sandbox != nil {
		_ = c.sandbox.Close()
	}
	if c.stopCRM != nil {
		c.stopCRM()
	}
	if c.pgLog != nil {
		if err := stopPostgres(c.root, c.opts.Dir, c.pgLog); err != nil {
			c.log.Error().Err(err).Msg("stopping PostgreSQL")
		}
		c.pgLog.Close()
		c.pgLog = nil
	}
	return time.Since(t0)
}

func isService(name string) bool {
	for _, s := range Services {
		if s == name {
			return true
		}
	}
	return false
}

func stopAll(ps []*Proc, grace time.Duration) {
	var wg sync.WaitGroup
	for _, p := range ps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.Stop(grace)
		}()
	}
	wg.Wait()
}

func addr(port int) string { return "127.0.0.1:" + strconv.Itoa(port) }

func waitTCP(ctx context.Context, p *Proc, address string, timeout time.Duration) error {
	return waitFor(ctx, p, timeout, func() error {
		conn, err := net.DialTimeout("tcp", address, time.Second)
		if err == nil {
			conn.Close()
		}
		return err
	})
}

func waitHTTP(ctx context.Context, p *Proc, u string, timeout time.Duration) error {
	hc := &http.Client{Timeout: 2 * time.Second}
	return waitFor(ctx, p, timeout, func() error {
		resp, err := hc.Get(u)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			return fmt.Errorf("%s: HTTP %d", u, resp.StatusCode)
		}
		return nil
	})
}

// waitFor polls ready until it succeeds, the process exits (nil p: never)
// or timeout passes.
func waitFor(ctx context.Context, p *Proc, timeout time.Duration, ready func() error) error {
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		if last = ready(); last == nil {
			return nil
		}
		if p != nil {
			if exited, err := p.Exited(); exited {
				return fmt.Errorf("%s exited during start-up (%v); see %s", p.Name, err, p.LogPath)
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(150 * time.Millisecond):
		}
	}
	name := "cluster"
	if p != nil {
		name = p.Name + " (log " + p.LogPath + ")"
	}
	return fmt.Errorf("%s not ready after %s: %v", name, timeout, last)
}
