package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"
)

// Claim is the answer to a claim on (automation, event id).
type Claim struct {
	// Claimed: the caller owns the event for this automation and must
	// Complete or Release it.
	Claimed bool
	// Done: an earlier delivery completed; Outcome is what it recorded.
	Done    bool
	Outcome json.RawMessage
}

// ClaimEvent records that an event is being applied to an automation, once:
// of any number of concurrent or later deliveries of the same event id, one
// gets Claimed. A claim that is neither completed nor released within the
// lease (its holder crashed) can be taken over.
func (s *Store) ClaimEvent(ctx context.Context, automationID, eventID string) (Claim, error) {
	now := s.now()
	res, err := s.exec(ctx, s.db, `INSERT INTO event_claims (automation_id, event_id, state, claimed_at) VALUES (?, ?, 'pending', ?)
		ON CONFLICT (automation_id, event_id) DO NOTHING`, automationID, eventID, ms(now))
	if err != nil {
		return Claim{}, err
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return Claim{Claimed: true}, nil
	}
	var (
		state   string
		outcome sql.NullString
		at      int64
	)
	err = s.db.QueryRowContext(ctx, s.q(`SELECT state, outcome, claimed_at FROM event_claims WHERE automation_id = ? AND event_id = ?`), automationID, eventID).
		Scan(&state, &outcome, &at)
	if errors.Is(err, sql.ErrNoRows) {
		// Released between our insert and select: try once more.
		return s.ClaimEvent(ctx, automationID, eventID)
	}
	if err != nil {
		return Claim{}, err
	}
	if state == "done" {
		return Claim{Done: true, Outcome: json.RawMessage(outcome.String)}, nil
	}
	if now.Sub(fromMS(at)) < s.lease {
		return Claim{}, nil
	}
	res, err = s.exec(ctx, s.db, `UPDATE event_claims SET claimed_at = ? WHERE automation_id = ? AND event_id = ? AND state = 'pending' AND claimed_at = ?`,
		ms(now), automationID, eventID, at)
	if err != nil {
		return Claim{}, err
	}
	n, _ := res.RowsAffected()
	return Claim{Claimed: n == 1}, nil
}

// CompleteEvent records the outcome of a claimed event.
func (s *Store) CompleteEvent(ctx context.Context, automationID, eventID string, outcome json.RawMessage) error {
	_, err := s.exec(ctx, s.db, `UPDATE event_claims SET state = 'done', outcome = ? WHERE automation_id = ? AND event_id = ?`, string(outcome), automationID, eventID)
	return err
}

// ReleaseEvent gives up a claim whose event could not be applied, so a
// retried delivery applies it.
func (s *Store) ReleaseEvent(ctx context.Context, automationID, eventID string) error {
	_, err := s.exec(ctx, s.db, `DELETE FROM event_claims WHERE automation_id = ? AND event_id = ? AND state = 'pending'`, automationID, eventID)
	return err
}

// PruneEvents forgets event ids claimed before the cutoff; it returns how many.
func (s *Store) PruneEvents(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.exec(ctx, s.db, `DELETE FROM event_claims WHERE claimed_at < ?`, ms(before))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
