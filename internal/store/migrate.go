package store

import (
	"context"
	"database/sql"
	"fmt"
)

// migrations are applied in order, each once, in one transaction each. The
// SQL is the common subset of SQLite and PostgreSQL: TEXT, INTEGER, BIGINT;
// booleans are 0/1 and times are Unix milliseconds.
var migrations = [][]string{
	1: {
		`CREATE TABLE automations (
			id          TEXT PRIMARY KEY,
			current_seq INTEGER NOT NULL,
			active      INTEGER NOT NULL,
			deleted     INTEGER NOT NULL DEFAULT 0,
			source_hash TEXT NOT NULL DEFAULT '',
			created_at  BIGINT NOT NULL,
			updated_at  BIGINT NOT NULL,
			deleted_at  BIGINT
		)`,
		`CREATE TABLE automation_versions (
			automation_id TEXT NOT NULL REFERENCES automations(id),
			seq           INTEGER NOT NULL,
			version       TEXT NOT NULL,
			content_hash  TEXT NOT NULL,
			document      TEXT NOT NULL,
			active        INTEGER NOT NULL,
			created_at    BIGINT NOT NULL,
			PRIMARY KEY (automation_id, seq)
		)`,
		`CREATE TABLE event_claims (
			automation_id TEXT NOT NULL,
			event_id      TEXT NOT NULL,
			state         TEXT NOT NULL,
			outcome       TEXT,
			claimed_at    BIGINT NOT NULL,
			PRIMARY KEY (automation_id, event_id)
		)`,
		`CREATE INDEX event_claims_claimed_at ON event_claims (claimed_at)`,
		`CREATE TABLE crm_integrations (
			heron_id           TEXT PRIMARY KEY,
			integration        TEXT NOT NULL,
			sealed_credentials TEXT,
			created_at         BIGINT NOT NULL,
			updated_at         BIGINT NOT NULL
		)`,
	},
}

// SchemaVersion is the newest migration.
func SchemaVersion() int { return len(migrations) - 1 }

func (s *Store) migrate(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
		return err
	}
	for v := 1; v < len(migrations); v++ {
		err := s.inTx(ctx, func(tx *sql.Tx) error {
			if s.dialect == Postgres {
				// Starters sharing the database migrate one at a time.
				if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7431902)`); err != nil {
					return err
				}
			}
			var n int
			if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM schema_migrations WHERE version = ?`), v).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			for _, stmt := range migrations[v] {
				if _, err := tx.ExecContext(ctx, stmt); err != nil {
					return fmt.Errorf("migration %d: %w", v, err)
				}
			}
			_, err := s.exec(ctx, tx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`, v, ms(s.now()))
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}
