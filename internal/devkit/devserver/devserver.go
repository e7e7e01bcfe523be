// Package devserver starts the pinned Temporal CLI's development server
// (bin/temporal) on free local ports, with the runtime's search attributes
// registered. Tests, the demo and the benchmarks use it.
package devserver

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/conecrm/automation-runtime/internal/searchattr"
)

// Options configures a server.
type Options struct {
	// DBFile makes the server durable; empty keeps state in memory.
	DBFile string
	// Port and UIPort; zero picks free ports. UIPort < 0 disables the UI.
	Port, UIPort int
	// Log receives the server's output; nil discards it.
	Log *os.File
	// ExtraArgs are appended to the command line.
	ExtraArgs []string
}

// Server is a running dev server.
type Server struct {
	Address string
	UIURL   string
	cmd     *exec.Cmd
	done    chan error
}

// Binary returns the path of bin/temporal, searching up from the working
// directory to the repository root (the directory holding go.mod).
func Binary() (string, error) {
	if p := os.Getenv("TEMPORAL_CLI"); p != "" {
		return p, nil
	}
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	p := filepath.Join(root, "bin", "temporal")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("the Temporal CLI is not built at %s: run `make bin/temporal` (make test does)", p)
	}
	return p, nil
}

// RepoRoot returns the nearest ancestor of the working directory with a go.mod
// naming this module.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if data, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && containsModule(data) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("repository root (go.mod of github.com/conecrm/automation-runtime) not found")
		}
		dir = parent
	}
}

func containsModule(gomod []byte) bool {
	const mod = "module github.com/conecrm/automation-runtime\n"
	return len(gomod) >= len(mod) && string(gomod[:len(mod)]) == mod
}

// FreePort returns a TCP port free on 127.0.0.1 at the time of the call,
// for a process started later to bind. It is drawn below Linux's ephemeral
// range (32768–60999 by default): a port from there could be taken, before
// that process binds it, by any outgoing connection or by the ports the
// Temporal dev server picks for its own services, which is how make run's
// smoke test once lost its sandbox port.
func FreePort() (int, error) {
	for range 100 {
		port := freePortLow + rand.IntN(freePortHigh-freePortLow)
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			continue
		}
		_ = l.Close()
		return port, nil
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// The range FreePort draws from: above the well-known development ports
// (make run's 7233, 8080–9464; make cluster's +10000) and below the
// ephemeral range.
const freePortLow, freePortHigh = 20000, 32000

// Start starts a server and waits until it answers.
func Start(ctx context.Context, opts Options) (*Server, error) {
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	if opts.Port == 0 {
		if opts.Port, err = FreePort(); err != nil {
			return nil, err
		}
	}
	args := []string{"server", "start-dev", "--ip", "127.0.0.1", "--port", strconv.Itoa(opts.Port), "--log-level", "warn"}
	s := &Server{Address: "127.0.0.1:" + strconv.Itoa(opts.Port), done: make(chan error, 1)}
	if opts.UIPort < 0 {
		args = append(args, "--headless")
	} else {
		if opts.UIPort == 0 {
			if opts.UIPort, err = FreePort(); err != nil {
				return nil, err
			}
		}
		args = append(args, "--ui-port", strconv.Itoa(opts.UIPort))
		s.UIURL = "http://127.0.0.1:" + strconv.Itoa(opts.UIPort)
	}
	for _, p := range []string{"http-port", "metrics-port"} {
		port, err := FreePort()
		if err != nil {
			return nil, err
		}
		args = append(args, "--"+p, strconv.Itoa(port))
	}
	if opts.DBFile != "" {
		if err := os.MkdirAll(filepath.Dir(opts.DBFile), 0o755); err != nil {
			return nil, err
		}
		args = append(args, "--db-filename", opts.DBFile, "--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal")
	}
	for _, name := range searchattr.Names {
		args = append(args, "--search-attribute", name+"=Keyword")
	}
	args = append(args, opts.ExtraArgs...)
	s.cmd = exec.Command(bin, args...)
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if opts.Log != nil {
		s.cmd.Stdout, s.cmd.Stderr = opts.Log, opts.Log
	}
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	go func() { s.done <- s.cmd.Wait() }()
	if err := s.waitReady(ctx, 90*time.Second); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

func (s *Server) waitReady(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var lastErr error
	for time.Now().Before(deadline) {
		select {
		case err := <-s.done:
			return fmt.Errorf("temporal dev server exited during start-up: %v", err)
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		c, err := client.Dial(client.Options{HostPort: s.Address, Logger: QuietLogger{}})
		if err == nil {
			_, err = c.CheckHealth(ctx, &client.CheckHealthRequest{})
			if err == nil {
				err = s.searchAttributesReady(ctx, c)
			}
			c.Close()
			if err == nil {
				return nil
			}
		}
		lastErr = err
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("temporal dev server at %s not ready after %s: %v", s.Address, timeout, lastErr)
}

func (s *Server) searchAttributesReady(ctx context.Context, c client.Client) error {
	resp, err := c.OperatorService().ListSearchAttributes(ctx, listSearchAttributesRequest())
	if err != nil {
		return err
	}
	for _, name := range searchattr.Names {
		if _, ok := resp.GetCustomAttributes()[name]; !ok {
			return fmt.Errorf("search attribute %s not registered yet", name)
		}
	}
	return nil
}

// Stop terminates the server and waits for it to exit.
func (s *Server) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(15 * time.Second):
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.done
	}
	s.cmd = nil
}

// Kill stops the server abruptly (for chaos tests).
func (s *Server) Kill() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.done
		s.cmd = nil
	}
}
