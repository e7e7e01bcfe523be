package store

import (
	"context"
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
