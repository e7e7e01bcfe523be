package cluster

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// startPostgres starts (or reuses) the PostgreSQL cluster in dir with the
// script the store tests use, and returns its URL (postgres://postgres@host:port/postgres).
func startPostgres(ctx context.Context, root, dir string, log *os.File) (string, error) {
	urlFile := filepath.Join(dir, "postgres.url")
	cmd := exec.CommandContext(ctx, filepath.Join(root, "internal", "devkit", "storetest", "pg-test.sh"), "start")
	cmd.Env = append(os.Environ(), "PGTEST_DIR="+filepath.Join(dir, "postgres"), "URL_FILE="+urlFile)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("starting PostgreSQL in %s (log %s): %w", filepath.Join(dir, "postgres"), log.Name(), err)
	}
	b, err := os.ReadFile(urlFile)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// stopPostgres stops the PostgreSQL cluster in dir.
func stopPostgres(root, dir string, log *os.File) error {
	cmd := exec.Command(filepath.Join(root, "internal", "devkit", "storetest", "pg-test.sh"), "stop")
	cmd.Env = append(os.Environ(), "PGTEST_DIR="+filepath.Join(dir, "postgres"), "URL_FILE="+filepath.Join(dir, "postgres.url"))
	cmd.Stdout, cmd.Stderr = log, log
	return cmd.Run()
}

// setupSchemas creates the Temporal databases and brings their schemas to
// the versions the server ships (all three steps are safe to re-run), and
// creates the product's database.
func setupSchemas(ctx context.Context, sqlTool, schemaDir, pgURL, productDB string, log *os.File) error {
	u, err := url.Parse(pgURL)
	if err != nil {
		return fmt.Errorf("PostgreSQL URL %q: %w", pgURL, err)
	}
	base := []string{"--plugin", "postgres12", "--ep", u.Hostname(), "-p", u.Port(), "-u", u.User.Username()}
	run := func(args ...string) error {
		cmd := exec.CommandContext(ctx, sqlTool, append(append([]string{}, base...), args...)...)
		cmd.Stdout, cmd.Stderr = log, log
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("temporal-sql-tool %s: %w (log %s)", strings.Join(args, " "), err, log.Name())
		}
		return nil
	}
	for _, db := range []struct{ name, schema string }{{"temporal", "temporal"}, {"temporal_visibility", "visibility"}} {
		dir := filepath.Join(schemaDir, db.schema, "versioned")
		if _, err := os.Stat(dir); err != nil {
			return fmt.Errorf("schema directory: %w", err)
		}
		if err := run("--db", db.name, "create-database"); err != nil {
			return err
		}
		if err := run("--db", db.name, "setup-schema", "-v", "0.0"); err != nil {
			return err
		}
		if err := run("--db", db.name, "update-schema", "-d", dir); err != nil {
			return err
		}
	}
	return run("--db", productDB, "create-database")
}

// databaseURL is pgURL naming database db.
func databaseURL(pgURL, db string) string {
	u, err := url.Parse(pgURL)
	if err != nil {
		return pgURL
	}
	u.Path = "/" + db
	return u.String()
}

// SchemaDir finds the PostgreSQL schemas of the pinned server module
// (go.temporal.io/server in tools/go.mod) in the module cache.
func SchemaDir(root string) (string, error) {
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "go.temporal.io/server")
	cmd.Dir = filepath.Join(root, "tools")
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("locating go.temporal.io/server in tools/go.mod (make cluster downloads it): %w", err)
	}
	dir := strings.TrimSpace(string(out))
	if dir == "" {
		return "", fmt.Errorf("go.temporal.io/server is not downloaded: run make cluster-bins")
	}
	return filepath.Join(dir, "schema", "postgresql", "v12"), nil
}
