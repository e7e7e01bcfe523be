package store

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"time"
)

// CRMRow is one CRM integration as stored: its JSON and its sealed
// credentials (kept as base64 text, portable across both databases).
type CRMRow struct {
	HeronID     string
	Integration []byte
	Sealed      []byte
	// Franchise mirrors the integration's franchise_id ('' when shared).
	Franchise string
	CreatedAt time.Time
	UpdatedAt time.Time
}

func nullB64(b []byte) any {
	if b == nil {
		return nil
	}
	return base64.StdEncoding.EncodeToString(b)
}

// CreateCRM stores a new integration; ErrExists if the id is taken.
func (s *Store) CreateCRM(ctx context.Context, r CRMRow) error {
	res, err := s.exec(ctx, s.db, `INSERT INTO crm_integrations (heron_id, integration, sealed_credentials, created_at, updated_at, franchise_id) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (heron_id) DO NOTHING`, r.HeronID, string(r.Integration), nullB64(r.Sealed), ms(r.CreatedAt), ms(r.UpdatedAt), r.Franchise)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrExists
	}
	return nil
}

// UpdateCRM replaces an integration; ErrNotFound if unknown.
func (s *Store) UpdateCRM(ctx context.Context, r CRMRow) error {
	res, err := s.exec(ctx, s.db, `UPDATE crm_integrations SET integration = ?, sealed_credentials = ?, created_at = ?, updated_at = ?, franchise_id = ? WHERE heron_id = ?`,
		string(r.Integration), nullB64(r.Sealed), ms(r.CreatedAt), ms(r.UpdatedAt), r.Franchise, r.HeronID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

const selectCRM = `SELECT heron_id, integration, sealed_credentials, created_at, updated_at, franchise_id FROM crm_integrations`

func scanCRM(sc interface{ Scan(...any) error }) (CRMRow, error) {
	var (
		r        CRMRow
		integ    string
		sealed   sql.NullString
		cre, upd int64
	)
	if err := sc.Scan(&r.HeronID, &integ, &sealed, &cre, &upd, &r.Franchise); err != nil {
		return r, err
	}
	r.Integration = []byte(integ)
	if sealed.Valid {
		b, err := base64.StdEncoding.DecodeString(sealed.String)
		if err != nil {
			return r, err
		}
		r.Sealed = b
	}
	r.CreatedAt, r.UpdatedAt = fromMS(cre), fromMS(upd)
	return r, nil
}

// GetCRM returns an integration or ErrNotFound.
func (s *Store) GetCRM(ctx context.Context, id string) (CRMRow, error) {
	r, err := scanCRM(s.db.QueryRowContext(ctx, s.q(selectCRM+` WHERE heron_id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, ErrNotFound
	}
	return r, err
}

// ListCRM returns every integration, oldest first.
func (s *Store) ListCRM(ctx context.Context) ([]CRMRow, error) {
	rows, err := s.db.QueryContext(ctx, selectCRM+` ORDER BY created_at, heron_id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []CRMRow
	for rows.Next() {
		r, err := scanCRM(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
