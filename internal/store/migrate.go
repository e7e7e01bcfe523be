package store

import (
	"context"
	"database/sql"
	"encoding/json"
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
	// The run log (console, stats, failure notifications): one row per
	// closed run, read once from its close event; the outbox of failure
	// notifications; the positions of background readers.
	2: {
		`CREATE TABLE run_outcomes (
			run_id        TEXT PRIMARY KEY,
			workflow_id   TEXT NOT NULL,
			automation_id TEXT NOT NULL,
			version       TEXT NOT NULL,
			lead_id       TEXT NOT NULL,
			franchise_id  TEXT NOT NULL,
			status        TEXT NOT NULL,
			failed_node   TEXT NOT NULL,
			error         TEXT NOT NULL,
			path          TEXT NOT NULL,
			steps         TEXT NOT NULL,
			started_at    BIGINT NOT NULL,
			closed_at     BIGINT NOT NULL
		)`,
		`CREATE INDEX run_outcomes_automation ON run_outcomes (automation_id, closed_at)`,
		`CREATE INDEX run_outcomes_lead ON run_outcomes (lead_id, closed_at)`,
		`CREATE INDEX run_outcomes_status ON run_outcomes (status, closed_at)`,
		`CREATE TABLE run_nodes (
			run_id        TEXT NOT NULL,
			automation_id TEXT NOT NULL,
			node_id       TEXT NOT NULL,
			outcome       TEXT NOT NULL,
			closed_at     BIGINT NOT NULL,
			PRIMARY KEY (run_id, node_id)
		)`,
		`CREATE INDEX run_nodes_automation ON run_nodes (automation_id, closed_at)`,
		`CREATE TABLE notifications (
			run_id       TEXT PRIMARY KEY,
			url          TEXT NOT NULL,
			body         TEXT NOT NULL,
			attempts     INTEGER NOT NULL,
			next_at      BIGINT NOT NULL,
			delivered_at BIGINT,
			last_error   TEXT,
			created_at   BIGINT NOT NULL
		)`,
		`CREATE INDEX notifications_due ON notifications (next_at)`,
		`CREATE TABLE cursors (
			name  TEXT PRIMARY KEY,
			value BIGINT NOT NULL
		)`,
	},
	// 3: CRM integration links (one per franchise, its own sealed token
	// and status), the leases that make token refreshes single-flight
	// across workers, and the request log of the shared rate limits.
	3: {
		`CREATE TABLE crm_links (
			integration_id       TEXT NOT NULL,
			end_user_id          TEXT NOT NULL,
			item_id              TEXT NOT NULL,
			end_user_name        TEXT NOT NULL DEFAULT '',
			type                 TEXT NOT NULL DEFAULT '',
			sealed_credentials   TEXT,
			version              BIGINT NOT NULL,
			status               TEXT NOT NULL,
			status_message       TEXT NOT NULL DEFAULT '',
			last_successful_sync BIGINT,
			created_at           BIGINT NOT NULL,
			updated_at           BIGINT NOT NULL,
			PRIMARY KEY (integration_id, end_user_id)
		)`,
		`CREATE UNIQUE INDEX crm_links_item ON crm_links (integration_id, item_id)`,
		`CREATE TABLE crm_leases (
			name       TEXT PRIMARY KEY,
			holder     TEXT NOT NULL,
			expires_at BIGINT NOT NULL
		)`,
		`CREATE TABLE crm_rate_log (
			bucket TEXT NOT NULL,
			at     BIGINT NOT NULL,
			holder TEXT NOT NULL DEFAULT ''
		)`,
		`CREATE INDEX crm_rate_log_bucket ON crm_rate_log (bucket, at)`,
	},
	// 4: franchise tenancy. Every automation and CRM integration names its
	// franchise (a column, so listings filter in SQL); automations keep
	// seed 003's record fields; franchise-scoped API tokens are kept as
	// hashes; the enrolment index routes later events to the runs a lead
	// is in without asking Temporal.
	4: {
		`ALTER TABLE automations ADD COLUMN franchise_id TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE automations ADD COLUMN created_by TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE automations ADD COLUMN modified_by TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE automations ADD COLUMN deleted_by TEXT NOT NULL DEFAULT ''`,
		`CREATE INDEX automations_franchise ON automations (franchise_id)`,
		`ALTER TABLE crm_integrations ADD COLUMN franchise_id TEXT NOT NULL DEFAULT ''`,
		`CREATE INDEX crm_integrations_franchise ON crm_integrations (franchise_id)`,
		`CREATE TABLE api_tokens (
			id           TEXT PRIMARY KEY,
			name         TEXT NOT NULL,
			franchise_id TEXT NOT NULL,
			user_id      TEXT NOT NULL DEFAULT '',
			token_hash   TEXT NOT NULL UNIQUE,
			created_at   BIGINT NOT NULL,
			created_by   TEXT NOT NULL DEFAULT '',
			revoked_at   BIGINT
		)`,
		`CREATE TABLE enrolments (
			lead_id       TEXT NOT NULL,
			workflow_id   TEXT NOT NULL,
			automation_id TEXT NOT NULL,
			franchise_id  TEXT NOT NULL,
			running       INTEGER NOT NULL,
			started_at    BIGINT NOT NULL,
			updated_at    BIGINT NOT NULL,
			PRIMARY KEY (lead_id, workflow_id)
		)`,
		`CREATE INDEX enrolments_automation ON enrolments (automation_id, running)`,
		`CREATE INDEX enrolments_updated ON enrolments (running, updated_at)`,
	},
	// 5: franchises' holiday calendars (business-hours delays skip them),
	// one JSON calendar per franchise.
	5: {
		`CREATE TABLE holiday_calendars (
			franchise_id TEXT PRIMARY KEY,
			calendar     TEXT NOT NULL,
			updated_at   BIGINT NOT NULL,
			updated_by   TEXT NOT NULL DEFAULT ''
		)`,
	},
	// 6: the CRM ids of leads without an account: ConeCRM keeps
	// thirdPartyIds only on accounts, so a push for such a lead records
	// them here, by integration, lead and object key.
	6: {
		`CREATE TABLE crm_lead_ids (
			integration_id TEXT NOT NULL,
			lead_id        TEXT NOT NULL,
			object_key     TEXT NOT NULL,
			external_id    TEXT NOT NULL,
			updated_at     BIGINT NOT NULL,
			PRIMARY KEY (integration_id, lead_id, object_key)
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
	return s.backfillFranchises(ctx)
}

// backfillFranchises fills the franchise column of automations stored
// before it existed, from their documents. Rows that name none keep ” and
// enrol nobody (see README, Franchises).
func (s *Store) backfillFranchises(ctx context.Context) error {
	rows, err := s.db.QueryContext(ctx, `SELECT a.id, v.document FROM automations a JOIN automation_versions v ON v.automation_id = a.id AND v.seq = a.current_seq
		WHERE a.franchise_id = '' AND a.deleted = 0`)
	if err != nil {
		return err
	}
	fill := map[string]string{}
	for rows.Next() {
		var id, doc string
		if err := rows.Scan(&id, &doc); err != nil {
			rows.Close()
			return err
		}
		var d struct {
			Franchise *struct {
				ID string `json:"id"`
			} `json:"franchise"`
		}
		if json.Unmarshal([]byte(doc), &d) == nil && d.Franchise != nil && d.Franchise.ID != "" {
			fill[id] = d.Franchise.ID
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for id, f := range fill {
		if _, err := s.exec(ctx, s.db, `UPDATE automations SET franchise_id = ? WHERE id = ? AND franchise_id = ''`, f, id); err != nil {
			return err
		}
	}
	return nil
}
