// Package storetest opens fresh stores for tests: a SQLite file in the
// test's temporary directory, or a new database on the test PostgreSQL
// (TEST_DATABASE_URL, else the cluster `make postgres-test` started, else
// one this package starts with the same script).
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/conecrm/automation-runtime/internal/devkit/devserver"
	"github.com/conecrm/automation-runtime/internal/store"
)

// SQLite opens a store on a new SQLite file.
func SQLite(t testing.TB) *store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), store.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

var (
	pgOnce sync.Once
	pgURL  string
	pgErr  string
)

// PostgresURL returns the URL of a fresh, empty database, dropped when the
// test ends. It skips the test, saying why, only when no PostgreSQL can run.
func PostgresURL(t testing.TB) string {
	t.Helper()
	pgOnce.Do(func() { pgURL, pgErr = serverURL() })
	if pgURL == "" {
		t.Skipf("PostgreSQL unavailable, skipping: %s", pgErr)
	}
	admin, err := sql.Open("pgx", pgURL)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "t_" + hex.EncodeToString(b)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("creating test database: %v", err)
	}
	t.Cleanup(func() {
		a, err := sql.Open("pgx", pgURL)
		if err != nil {
			return
		}
		defer a.Close()
		_, _ = a.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
	})
	u, _ := url.Parse(pgURL)
	u.Path = "/" + name
	return u.String()
}

// Postgres opens a store on a fresh PostgreSQL database.
func Postgres(t testing.TB) *store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), store.Options{DatabaseURL: PostgresURL(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Each runs f once per dialect, as subtests named sqlite and postgres.
func Each(t *testing.T, f func(t *testing.T, open func(testing.TB) *store.Store)) {
	t.Run(store.SQLite, func(t *testing.T) { f(t, SQLite) })
	t.Run(store.Postgres, func(t *testing.T) { f(t, Postgres) })
}

func serverURL() (string, string) {
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		return u, ""
	}
	root, err := devserver.RepoRoot()
	if err != nil {
		return "", err.Error()
	}
	file := filepath.Join(root, "data", "postgres-test.url")
	if u := readURL(file); u != "" && reachable(u) {
		return u, ""
	}
	script := filepath.Join(root, "internal", "devkit", "storetest", "pg-test.sh")
	out, err := exec.Command(script, "start").CombinedOutput()
	if err != nil {
		return "", "starting it with " + script + ": " + err.Error() + ": " + strings.TrimSpace(string(out))
	}
	if u := readURL(file); u != "" && reachable(u) {
		return u, ""
	}
	return "", "started by " + script + " but not reachable: " + strings.TrimSpace(string(out))
}

func readURL(file string) string {
	b, err := os.ReadFile(file)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

func reachable(u string) bool {
	db, err := sql.Open("pgx", u)
	if err != nil {
		return false
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	return db.PingContext(ctx) == nil
}
