// Package store is the starter's durable store: automation versions, the
// event ids already applied and CRM integrations. The embedded default is a
// SQLite file (pure Go, no cgo) in the data directory; a postgres:// URL
// selects PostgreSQL, so several starters can share one store. Both run the
// same migrations.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
	_ "modernc.org/sqlite"             // registers "sqlite"
)

// Errors callers branch on.
var (
	ErrNotFound = errors.New("not found")
	ErrExists   = errors.New("already exists")
	// ErrConflict: the record changed since it was read.
	ErrConflict = errors.New("changed concurrently")
)

// Dialects.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// Store is safe for concurrent use.
type Store struct {
	db      *sql.DB
	dialect string
	// where names the database for messages, without credentials.
	where string
	now   func() time.Time
	// lease is how long a claimed, unfinished event stays claimed before
	// another delivery may take it over (the first claimant crashed).
	lease time.Duration
	// beforeCommit, when set, runs before each transaction commits; tests
	// use it to fail a write midway.
	beforeCommit func() error
}

// Options configure Open.
type Options struct {
	// DatabaseURL is a postgres:// or postgresql:// URL, a sqlite:PATH or
	// file:PATH, or empty for DataDir/starter.db.
	DatabaseURL string
	DataDir     string
	// ConnectTimeout bounds the first ping; default 5s.
	ConnectTimeout time.Duration
}

// DefaultFile is the SQLite file's name in the data directory.
const DefaultFile = "starter.db"

// Open connects, checks the database answers and applies the migrations.
func Open(ctx context.Context, o Options) (*Store, error) {
	s := &Store{now: time.Now, lease: 30 * time.Second}
	u := strings.TrimSpace(o.DatabaseURL)
	switch {
	case strings.HasPrefix(u, "postgres://"), strings.HasPrefix(u, "postgresql://"):
		s.dialect = Postgres
		s.where = redact(u)
		db, err := sql.Open("pgx", u)
		if err != nil {
			return nil, fmt.Errorf("database %s: %w", s.where, err)
		}
		db.SetMaxOpenConns(32)
		db.SetMaxIdleConns(32)
		db.SetConnMaxIdleTime(5 * time.Minute)
		s.db = db
	default:
		path := strings.TrimPrefix(strings.TrimPrefix(u, "sqlite:"), "file:")
		if path == "" {
			dir := o.DataDir
			if dir == "" {
				dir = "data"
			}
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return nil, fmt.Errorf("data directory %s: %w", dir, err)
			}
			path = filepath.Join(dir, DefaultFile)
		} else if i := strings.IndexByte(path, '?'); i >= 0 {
			path = path[:i]
		}
		s.dialect = SQLite
		s.where = path
		dsn := "file:" + path + "?_txlock=immediate&_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(ON)"
		db, err := sql.Open("sqlite", dsn)
		if err != nil {
			return nil, fmt.Errorf("database %s: %w", path, err)
		}
		// SQLite allows one writer at a time, and a writer that finds the
		// lock taken sleeps in the busy handler for milliseconds. One
		// connection queues statements in Go instead, which under
		// concurrent events is several times faster; WAL keeps each short.
		db.SetMaxOpenConns(1)
		s.db = db
	}
	timeout := o.ConnectTimeout
	if timeout == 0 {
		timeout = 5 * time.Second
	}
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := s.db.PingContext(pctx); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("database %s (%s) is unavailable: %w", s.where, s.dialect, err)
	}
	if err := s.migrate(ctx); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("database %s (%s): migrating: %w", s.where, s.dialect, err)
	}
	return s, nil
}

func redact(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "postgres"
	}
	p.User = nil
	p.RawQuery = ""
	return p.String()
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Dialect is SQLite or Postgres.
func (s *Store) Dialect() string { return s.dialect }

// Where names the database (a file or a URL without credentials).
func (s *Store) Where() string { return s.where }

// Ping checks the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// q rewrites ? placeholders into PostgreSQL's $n. No query here has a ?
// inside a string literal.
func (s *Store) q(query string) string {
	if s.dialect != Postgres {
		return query
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(query[i])
	}
	return b.String()
}

func (s *Store) exec(ctx context.Context, ex execer, query string, args ...any) (sql.Result, error) {
	return ex.ExecContext(ctx, s.q(query), args...)
}

type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// inTx runs fn in a transaction; any error rolls everything back.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if s.beforeCommit != nil {
		if err := s.beforeCommit(); err != nil {
			_ = tx.Rollback()
			return err
		}
	}
	return tx.Commit()
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
