package store

import (
	"context"
	"database/sql"
	"time"
)

// RateClaim is one request slot asked of a bucket of the shared request
// log: at most Max requests in any Window.
type RateClaim struct {
	Bucket string
	Max    int
	Window time.Duration
}

// TakeRate records a request at now in every bucket when each has room
// (fewer than Max rows in the window ending at now) and returns 0;
// otherwise it records nothing and returns how long until the fullest
// bucket has room. Rows older than their window are deleted on the way.
// Writers of a bucket are serialised (an advisory lock per bucket on
// PostgreSQL, taken in the callers' bucket order; SQLite's write lock), so
// workers sharing the store never overfill a window.
func (s *Store) TakeRate(ctx context.Context, claims []RateClaim, now time.Time, holder string) (time.Duration, error) {
	var wait time.Duration
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		wait = 0
		for _, c := range claims {
			if s.dialect == Postgres {
				if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext($1))`, "crm_rate_log/"+c.Bucket); err != nil {
					return err
				}
			}
			since := ms(now.Add(-c.Window))
			if _, err := s.exec(ctx, tx, `DELETE FROM crm_rate_log WHERE bucket = ? AND at <= ?`, c.Bucket, since); err != nil {
				return err
			}
			var n int
			var oldest sql.NullInt64
			if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*), MIN(at) FROM crm_rate_log WHERE bucket = ? AND at > ?`), c.Bucket, since).Scan(&n, &oldest); err != nil {
				return err
			}
			if n >= c.Max && oldest.Valid {
				wait = max(wait, fromMS(oldest.Int64).Add(c.Window).Sub(now), time.Millisecond)
			}
		}
		if wait > 0 {
			return nil
		}
		for _, c := range claims {
			if _, err := s.exec(ctx, tx, `INSERT INTO crm_rate_log (bucket, at, holder) VALUES (?, ?, ?)`, c.Bucket, ms(now), holder); err != nil {
				return err
			}
		}
		return nil
	})
	return wait, err
}
