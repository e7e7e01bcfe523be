package store

import (
	"context"
	"database/sql"
	"errors"

	"github.com/conecrm/automation-runtime/internal/auth"
)

// CreateToken stores a franchise-scoped API token by the hash of its
// secret (the secret itself is never stored).
func (s *Store) CreateToken(ctx context.Context, t auth.Token, hash string) error {
	res, err := s.exec(ctx, s.db, `INSERT INTO api_tokens (id, name, franchise_id, user_id, token_hash, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT DO NOTHING`, t.ID, t.Name, t.Franchise, t.UserID, hash, ms(t.CreatedAt), t.CreatedBy)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrExists
	}
	return nil
}

const selectToken = `SELECT id, name, franchise_id, user_id, created_at, created_by FROM api_tokens`

func scanToken(sc interface{ Scan(...any) error }) (auth.Token, error) {
	var (
		t  auth.Token
		at int64
	)
	err := sc.Scan(&t.ID, &t.Name, &t.Franchise, &t.UserID, &at, &t.CreatedBy)
	t.CreatedAt = fromMS(at)
	return t, err
}

// TokenByHash implements auth.Tokens: the live (not revoked) token whose
// secret hashes to hash, or auth.ErrUnknownToken.
func (s *Store) TokenByHash(ctx context.Context, hash string) (auth.Token, error) {
	t, err := scanToken(s.db.QueryRowContext(ctx, s.q(selectToken+` WHERE token_hash = ? AND revoked_at IS NULL`), hash))
	if errors.Is(err, sql.ErrNoRows) {
		return t, auth.ErrUnknownToken
	}
	return t, err
}

// ListTokens returns the live tokens of a franchise, or of every franchise
// when franchise is empty, oldest first.
func (s *Store) ListTokens(ctx context.Context, franchise string) ([]auth.Token, error) {
	rows, err := s.db.QueryContext(ctx, s.q(selectToken+` WHERE revoked_at IS NULL AND (? = '' OR franchise_id = ?) ORDER BY created_at, id`), franchise, franchise)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []auth.Token{}
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeToken revokes a live token; auth.ErrUnknownToken if there is none.
func (s *Store) RevokeToken(ctx context.Context, id string) error {
	res, err := s.exec(ctx, s.db, `UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`, ms(s.now()), id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return auth.ErrUnknownToken
	}
	return nil
}

var _ auth.Tokens = (*Store)(nil)
