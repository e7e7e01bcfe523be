package bench

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	goruntime "runtime"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/rs/zerolog"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/conecrm/automation-runtime/activities"
	"github.com/conecrm/automation-runtime/internal/conecrm"
	"github.com/conecrm/automation-runtime/internal/crm"
	"github.com/conecrm/automation-runtime/internal/crm/push"
	"github.com/conecrm/automation-runtime/internal/logging"
	"github.com/conecrm/automation-runtime/internal/workerapp"
)

// WorkerConfig is what a bench or chaos worker process needs; the parent
// passes it in the environment variable EnvWorkerConfig as JSON.
type WorkerConfig struct {
	TemporalAddress string `json:"temporalAddress"`
	TaskQueue       string `json:"taskQueue"`
	SandboxURL      string `json:"sandboxUrl"`
	SandboxToken    string `json:"sandboxToken"`
	// CRMURLs are the fake CRMs' roots by integration id (HubSpot).
	CRMURLs map[string]string `json:"crmUrls"`
	// CRMKey seals the integrations' credentials (32 bytes, base64).
	CRMKey string `json:"crmKey"`
	// StickyCacheSize overrides the SDK's workflow cache size (0: default).
	StickyCacheSize int `json:"stickyCacheSize,omitempty"`
	// ActivityTimeout bounds one ConeCRM or CRM HTTP call.
	ActivityHTTPTimeout time.Duration `json:"activityHttpTimeout,omitempty"`
}

// EnvWorkerConfig names the environment variable holding WorkerConfig.
const EnvWorkerConfig = "BENCH_WORKER_CONFIG"

// RunWorker is the worker process: workerapp.NewWorker (the interpreter and
// every activity, as bin/worker registers them) plus HandwrittenReference,
// with CRM push wired to the fake CRMs. It prints "ready" on stdout once
// polling and runs until SIGTERM/SIGINT.
func RunWorker() error {
	var cfg WorkerConfig
	if err := json.Unmarshal([]byte(os.Getenv(EnvWorkerConfig)), &cfg); err != nil {
		return fmt.Errorf("%s: %w", EnvWorkerConfig, err)
	}
	if cfg.StickyCacheSize > 0 {
		worker.SetStickyWorkflowCacheSize(cfg.StickyCacheSize)
	}
	log := zerolog.New(os.Stderr).Level(zerolog.WarnLevel).With().Timestamp().Str("component", "bench-worker").Logger()
	c, err := client.Dial(client.Options{HostPort: cfg.TemporalAddress, Logger: logging.SDK(log)})
	if err != nil {
		return err
	}
	defer c.Close()
	timeout := cfg.ActivityHTTPTimeout
	if timeout == 0 {
		timeout = 15 * time.Second
	}
	cone := conecrm.New(conecrm.Config{BaseURL: cfg.SandboxURL, Token: cfg.SandboxToken, Timeout: timeout, WriteBackWindow: 2 * time.Second}, &http.Client{Timeout: timeout})
	pusher, err := NewPusher(cfg, cone, log, timeout)
	if err != nil {
		return err
	}
	acts := &activities.Activities{ConeCRM: cone, CRM: pusher, HTTP: &http.Client{Timeout: timeout}, Log: log}
	w := workerapp.NewWorker(c, cfg.TaskQueue, acts, worker.Options{})
	w.RegisterWorkflowWithOptions(HandwrittenReference, workflow.RegisterOptions{Name: HandwrittenName})
	if err := w.Start(); err != nil {
		return err
	}
	fmt.Println("ready")
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	w.Stop()
	return nil
}

// NewPusher builds the CRM pusher over an in-memory store holding one
// integration per fake CRM, credentials sealed with cfg.CRMKey.
func NewPusher(cfg WorkerConfig, cone *conecrm.Client, log zerolog.Logger, timeout time.Duration) (*push.Pusher, error) {
	key, err := base64.StdEncoding.DecodeString(cfg.CRMKey)
	if err != nil {
		return nil, fmt.Errorf("crm key: %w", err)
	}
	cipher, err := crm.NewCipher(key)
	if err != nil {
		return nil, err
	}
	store := crm.NewMemoryStore()
	for id, url := range cfg.CRMURLs {
		integ := HubSpotIntegration(url)
		if err := crm.Validate(&integ); err != nil {
			return nil, fmt.Errorf("integration %s: %w", id, err)
		}
		raw, _ := json.Marshal(integ)
		sealed, err := cipher.Seal(id, crm.Credentials{Secret: "pat-na1-bench"})
		if err != nil {
			return nil, err
		}
		if err := store.Create(context.Background(), crm.Record{HeronID: id, Integration: raw, SealedCredentials: sealed, CreatedAt: time.Now(), UpdatedAt: time.Now()}); err != nil {
			return nil, err
		}
	}
	return push.New(push.Options{Store: store, Cipher: cipher, Writer: push.ConeCRMWriter{Client: cone}, HTTPClient: &http.Client{Timeout: timeout}, Logger: log})
}

// WorkerProc is a running worker process.
type WorkerProc struct {
	Cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// StartWorker starts a worker process (self re-executed with args) and
// waits until it polls.
func StartWorker(ctx context.Context, command []string, cfg WorkerConfig, stderr io.Writer) (*WorkerProc, error) {
	raw, _ := json.Marshal(cfg)
	cmd := exec.Command(command[0], command[1:]...)
	cmd.Env = append(os.Environ(), EnvWorkerConfig+"="+string(raw))
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if stderr == nil {
		stderr = io.Discard
	}
	cmd.Stderr = stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &WorkerProc{Cmd: cmd, done: make(chan struct{})}
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		ok := false
		for sc.Scan() {
			if !ok && strings.TrimSpace(sc.Text()) == "ready" {
				ok = true
				ready <- true
			}
		}
		if !ok {
			ready <- false
		}
	}()
	go func() { p.err = cmd.Wait(); close(p.done) }()
	select {
	case ok := <-ready:
		if !ok {
			<-p.done
			return nil, fmt.Errorf("worker process exited before it was ready: %v", p.err)
		}
	case <-time.After(60 * time.Second):
		p.Kill()
		return nil, errors.New("worker process not ready after 60s")
	case <-ctx.Done():
		p.Kill()
		return nil, ctx.Err()
	}
	return p, nil
}

// Pid returns the process id.
func (p *WorkerProc) Pid() int { return p.Cmd.Process.Pid }

// Stats reads the process's CPU time and memory.
func (p *WorkerProc) Stats() (ProcStats, error) { return ReadProc(p.Pid()) }

// Kill sends SIGKILL and waits for the exit.
func (p *WorkerProc) Kill() {
	_ = p.Cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// Stop asks the worker to stop and waits (SIGKILL after 20 s).
func (p *WorkerProc) Stop() {
	_ = p.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		p.Kill()
	}
}

// SelfCommand is the command line that re-executes this binary as a worker.
func SelfCommand(args ...string) ([]string, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	return append([]string{exe}, args...), nil
}

func numCPU() int { return goruntime.NumCPU() }

func sortStrings(s []string) { sort.Strings(s) }
