package stack

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"go.temporal.io/sdk/client"

	"github.com/conecrm/automation-runtime/internal/devkit/devserver"
)

// namespaces is how many namespaces the shared dev server creates at launch,
// one per stack that runs on it: a namespace keeps a test's runs out of
// another's visibility queries, and creating them at launch avoids waiting
// for the server's namespace cache after a registration.
const namespaces = 24

// shared is the test binary's one dev server: starting one costs seconds of
// a 2-core machine, so the tests of a package share it.
var shared struct {
	once   sync.Once
	srv    *devserver.Server
	err    error
	logDir string

	mu     sync.Mutex
	next   int
	client client.Client
}

func namespaceName(i int) string { return fmt.Sprintf("stack-%02d", i+1) }

// SkipShort skips t in -short mode: the stack needs the Temporal dev server.
func SkipShort(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("needs the Temporal dev server (skipped with -short)")
	}
}

// Shared returns the dev server the package's tests share, started on first
// use. Main stops it; without Main it dies with the test binary.
func Shared(t testing.TB) *devserver.Server {
	t.Helper()
	SkipShort(t)
	shared.once.Do(func() {
		shared.logDir, shared.err = os.MkdirTemp("", "stack-temporal-*")
		if shared.err != nil {
			return
		}
		f, err := os.Create(filepath.Join(shared.logDir, "temporal.log"))
		if err != nil {
			shared.err = err
			return
		}
		args := make([]string, 0, 2*namespaces)
		for i := range namespaces {
			args = append(args, "--namespace", namespaceName(i))
		}
		shared.srv, shared.err = devserver.Start(context.Background(), devserver.Options{UIPort: -1, Log: f, ExtraArgs: args})
	})
	if shared.err != nil {
		t.Fatalf("temporal dev server: %v (log in %s)", shared.err, shared.logDir)
	}
	return shared.srv
}

// Client returns a client of the shared dev server's default namespace, for
// tests that run their own workers on their own task queues.
func Client(t testing.TB) client.Client {
	t.Helper()
	srv := Shared(t)
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.client == nil {
		c, err := client.Dial(client.Options{HostPort: srv.Address, Logger: devserver.QuietLogger{}})
		if err != nil {
			t.Fatalf("dialling %s: %v", srv.Address, err)
		}
		shared.client = c
	}
	return shared.client
}

// Namespace hands out one of the shared server's namespaces, for a test
// that runs the commands against it (TEMPORAL_NAMESPACE) in isolation.
func Namespace(t testing.TB) string {
	t.Helper()
	Shared(t)
	return takeNamespace(t)
}

// takeNamespace hands out one of the shared server's namespaces.
func takeNamespace(t testing.TB) string {
	t.Helper()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.next == namespaces {
		t.Fatalf("the shared dev server has %d namespaces, all taken: raise stack.namespaces", namespaces)
	}
	shared.next++
	return namespaceName(shared.next - 1)
}

// Main runs the package's tests, then stops the shared dev server:
//
//	func TestMain(m *testing.M) { stack.Main(m) }
func Main(m *testing.M) {
	code := m.Run()
	if shared.client != nil {
		shared.client.Close()
	}
	if shared.srv != nil {
		shared.srv.Stop()
	}
	if shared.logDir != "" && code == 0 {
		_ = os.RemoveAll(shared.logDir)
	}
	os.Exit(code)
}
