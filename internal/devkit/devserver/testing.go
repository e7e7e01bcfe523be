package devserver

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// StartForTest starts an in-memory server for a test (or a durable one with
// dbFile) and stops it when the test ends. Its log goes to a file in the
// test's temporary directory.
func StartForTest(t testing.TB, opts Options) *Server {
	t.Helper()
	if opts.Log == nil {
		f, err := os.Create(filepath.Join(t.TempDir(), "temporal.log"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		opts.Log = f
	}
	if opts.UIPort == 0 {
		opts.UIPort = -1
	}
	s, err := Start(context.Background(), opts)
	if err != nil {
		t.Fatalf("temporal dev server: %v", err)
	}
	t.Cleanup(s.Stop)
	return s
}
