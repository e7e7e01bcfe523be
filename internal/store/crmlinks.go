package store

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"time"
)

// LinkRow is one CRM integration link as stored.
type LinkRow struct {
	IntegrationID      string
	EndUserID          string
	ItemID             string
	EndUserName        string
	Type               string
	Sealed             []byte
	Version            int64
	Status             string
	StatusMessage      string
	LastSuccessfulSync *time.Time
	CreatedAt          time.Time
	UpdatedAt          time.Time
}

const selectLink = `SELECT integration_id, end_user_id, item_id, end_user_name, type, sealed_credentials, version, status, status_message, last_successful_sync, created_at, updated_at FROM crm_links`

func scanLink(sc interface{ Scan(...any) error }) (LinkRow, error) {
	var (
		r        LinkRow
		sealed   sql.NullString
		synced   sql.NullInt64
		cre, upd int64
	)
	if err := sc.Scan(&r.IntegrationID, &r.EndUserID, &r.ItemID, &r.EndUserName, &r.Type, &sealed, &r.Version, &r.Status, &r.StatusMessage, &synced, &cre, &upd); err != nil {
		return r, err
	}
	if sealed.Valid {
		b, err := base64.StdEncoding.DecodeString(sealed.String)
		if err != nil {
			return r, err
		}
		r.Sealed = b
	}
	if synced.Valid {
		t := fromMS(synced.Int64)
		r.LastSuccessfulSync = &t
	}
	r.CreatedAt, r.UpdatedAt = fromMS(cre), fromMS(upd)
	return r, nil
}

// PutLink creates the end user's link of an integration, or replaces its
// item, name, type and credentials and sets it active again (version + 1).
// ErrExists: the item id belongs to another end user's link.
func (s *Store) PutLink(ctx context.Context, r LinkRow, active string) (LinkRow, bool, error) {
	var out LinkRow
	created := false
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if s.dialect == Postgres {
			// Serialise writers of one integration's links, so two first
			// links of a franchise cannot both insert.
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext($1))`, "crm_links/"+r.IntegrationID); err != nil {
				return err
			}
		}
		var other string
		err := tx.QueryRowContext(ctx, s.q(`SELECT end_user_id FROM crm_links WHERE integration_id = ? AND item_id = ?`), r.IntegrationID, r.ItemID).Scan(&other)
		if err == nil && other != r.EndUserID {
			return ErrExists
		}
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		res, err := s.exec(ctx, tx, `UPDATE crm_links SET item_id = ?, end_user_name = ?, type = ?, sealed_credentials = ?, version = version + 1, status = ?, status_message = '', updated_at = ?
			WHERE integration_id = ? AND end_user_id = ?`, r.ItemID, r.EndUserName, r.Type, nullB64(r.Sealed), active, ms(r.UpdatedAt), r.IntegrationID, r.EndUserID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			created = true
			if _, err := s.exec(ctx, tx, `INSERT INTO crm_links (integration_id, end_user_id, item_id, end_user_name, type, sealed_credentials, version, status, status_message, created_at, updated_at)
				VALUES (?, ?, ?, ?, ?, ?, 1, ?, '', ?, ?)`, r.IntegrationID, r.EndUserID, r.ItemID, r.EndUserName, r.Type, nullB64(r.Sealed), active, ms(r.UpdatedAt), ms(r.UpdatedAt)); err != nil {
				return err
			}
		}
		out, err = scanLink(tx.QueryRowContext(ctx, s.q(selectLink+` WHERE integration_id = ? AND end_user_id = ?`), r.IntegrationID, r.EndUserID))
		return err
	})
	return out, created, err
}

// GetLinkByItem returns the link with this item id, or ErrNotFound.
func (s *Store) GetLinkByItem(ctx context.Context, integrationID, itemID string) (LinkRow, error) {
	r, err := scanLink(s.db.QueryRowContext(ctx, s.q(selectLink+` WHERE integration_id = ? AND item_id = ?`), integrationID, itemID))
	if errors.Is(err, sql.ErrNoRows) {
		return r, ErrNotFound
	}
	return r, err
}

// GetLinkFor returns the end user's link, or ErrNotFound.
func (s *Store) GetLinkFor(ctx context.Context, integrationID, endUserID string) (LinkRow, error) {
	r, err := scanLink(s.db.QueryRowContext(ctx, s.q(selectLink+` WHERE integration_id = ? AND end_user_id = ?`), integrationID, endUserID))
	if errors.Is(err, sql.ErrNoRows) {
		return r, ErrNotFound
	}
	return r, err
}

// ListLinks returns an integration's links, oldest first.
func (s *Store) ListLinks(ctx context.Context, integrationID string) ([]LinkRow, error) {
	rows, err := s.db.QueryContext(ctx, s.q(selectLink+` WHERE integration_id = ? ORDER BY created_at, end_user_id`), integrationID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []LinkRow
	for rows.Next() {
		r, err := scanLink(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// SetLinkStatus changes the status when the link still has version and
// another status; it reports whether it did (exactly one of several
// concurrent callers does).
func (s *Store) SetLinkStatus(ctx context.Context, integrationID, endUserID string, version int64, status, message string, now time.Time) (bool, error) {
	res, err := s.exec(ctx, s.db, `UPDATE crm_links SET status = ?, status_message = ?, updated_at = ? WHERE integration_id = ? AND end_user_id = ? AND version = ? AND status <> ?`,
		status, message, ms(now), integrationID, endUserID, version, status)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// MarkLinkSynced records a successful sync.
func (s *Store) MarkLinkSynced(ctx context.Context, integrationID, endUserID string, now time.Time) error {
	_, err := s.exec(ctx, s.db, `UPDATE crm_links SET last_successful_sync = ?, updated_at = ? WHERE integration_id = ? AND end_user_id = ?`, ms(now), ms(now), integrationID, endUserID)
	return err
}

// ReplaceLinkCredentials stores new sealed credentials when the link still
// has version, and returns the new version; ok is false when it had moved.
func (s *Store) ReplaceLinkCredentials(ctx context.Context, integrationID, endUserID string, version int64, sealed []byte, now time.Time) (int64, bool, error) {
	res, err := s.exec(ctx, s.db, `UPDATE crm_links SET sealed_credentials = ?, version = version + 1, updated_at = ? WHERE integration_id = ? AND end_user_id = ? AND version = ?`,
		nullB64(sealed), ms(now), integrationID, endUserID, version)
	if err != nil {
		return 0, false, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return 0, false, nil
	}
	return version + 1, true, nil
}
