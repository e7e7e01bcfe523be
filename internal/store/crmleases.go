package store

import (
	"context"
	"database/sql"
	"time"
)

// AcquireLease takes the named lease for holder until now+ttl when it is
// free, expired or already holder's, in one statement, so of several
// workers racing for it exactly one gets it.
func (s *Store) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration, now time.Time) (bool, error) {
	res, err := s.exec(ctx, s.db, `INSERT INTO crm_leases (name, holder, expires_at) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
		WHERE crm_leases.expires_at <= ? OR crm_leases.holder = excluded.holder`,
		name, holder, ms(now.Add(ttl)), ms(now))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// ReleaseLease frees the lease if holder still has it.
func (s *Store) ReleaseLease(ctx context.Context, name, holder string) error {
	_, err := s.exec(ctx, s.db, `DELETE FROM crm_leases WHERE name = ? AND holder = ?`, name, holder)
	return err
}

// ReplaceCRMCredentials stores new sealed credentials for an integration
// while the stored ones are still old; ok is false when they changed.
// ErrNotFound: no such integration.
func (s *Store) ReplaceCRMCredentials(ctx context.Context, heronID string, old, sealed []byte) (bool, error) {
	q := `UPDATE crm_integrations SET sealed_credentials = ? WHERE heron_id = ? AND sealed_credentials = ?`
	args := []any{nullB64(sealed), heronID, nullB64(old)}
	if old == nil {
		q = `UPDATE crm_integrations SET sealed_credentials = ? WHERE heron_id = ? AND sealed_credentials IS NULL`
		args = args[:2]
	}
	res, err := s.exec(ctx, s.db, q, args...)
	if err != nil {
		return false, err
	}
	if n, _ := res.RowsAffected(); n > 0 {
		return true, nil
	}
	if _, err := s.GetCRM(ctx, heronID); err != nil {
		return false, err
	}
	return false, nil
}

// LeadCRMIDs returns the CRM ids recorded for a lead without an account,
// by object key.
func (s *Store) LeadCRMIDs(ctx context.Context, integrationID, leadID string) (map[string]string, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT object_key, external_id FROM crm_lead_ids WHERE integration_id = ? AND lead_id = ?`), integrationID, leadID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var k, id string
		if err := rows.Scan(&k, &id); err != nil {
			return nil, err
		}
		out[k] = id
	}
	return out, rows.Err()
}

// PutLeadCRMIDs records a lead's CRM ids, replacing those of the same
// object keys.
func (s *Store) PutLeadCRMIDs(ctx context.Context, integrationID, leadID string, ids map[string]string, now time.Time) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		for k, id := range ids {
			if _, err := s.exec(ctx, tx, `INSERT INTO crm_lead_ids (integration_id, lead_id, object_key, external_id, updated_at) VALUES (?, ?, ?, ?, ?)
				ON CONFLICT (integration_id, lead_id, object_key) DO UPDATE SET external_id = excluded.external_id, updated_at = excluded.updated_at`,
				integrationID, leadID, k, id, ms(now)); err != nil {
				return err
			}
		}
		return nil
	})
}
