package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/conecrm/automation-runtime/internal/holidays"
)

// StoredCalendar is a franchise's holiday calendar with who changed it last.
type StoredCalendar struct {
	holidays.Calendar
	Franchise string    `json:"franchise"`
	UpdatedAt time.Time `json:"updatedAt,omitzero"`
	// UpdatedBy is the credential (token id) that set it.
	UpdatedBy string `json:"updatedBy,omitempty"`
}

// HolidayCalendar returns a franchise's calendar; ok is false when it has
// none.
func (s *Store) HolidayCalendar(ctx context.Context, franchise string) (c StoredCalendar, ok bool, err error) {
	var (
		raw string
		at  int64
	)
	err = s.db.QueryRowContext(ctx, s.q(`SELECT calendar, updated_at, updated_by FROM holiday_calendars WHERE franchise_id = ?`), franchise).Scan(&raw, &at, &c.UpdatedBy)
	if errors.Is(err, sql.ErrNoRows) {
		return c, false, nil
	}
	if err != nil {
		return c, false, err
	}
	if err := json.Unmarshal([]byte(raw), &c.Calendar); err != nil {
		return c, false, fmt.Errorf("holiday calendar of franchise %s: %w", franchise, err)
	}
	c.Franchise, c.UpdatedAt = franchise, fromMS(at)
	return c, true, nil
}

// PutHolidayCalendar replaces a franchise's calendar.
func (s *Store) PutHolidayCalendar(ctx context.Context, franchise string, cal holidays.Calendar, by string) (StoredCalendar, error) {
	raw, err := json.Marshal(cal)
	if err != nil {
		return StoredCalendar{}, err
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	_, err = s.exec(ctx, s.db, `INSERT INTO holiday_calendars (franchise_id, calendar, updated_at, updated_by) VALUES (?, ?, ?, ?)
		ON CONFLICT (franchise_id) DO UPDATE SET calendar = excluded.calendar, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
		franchise, string(raw), ms(now), by)
	if err != nil {
		return StoredCalendar{}, err
	}
	return StoredCalendar{Calendar: cal, Franchise: franchise, UpdatedAt: now, UpdatedBy: by}, nil
}

// DeleteHolidayCalendar removes a franchise's calendar; ok is false when it
// had none.
func (s *Store) DeleteHolidayCalendar(ctx context.Context, franchise string) (ok bool, err error) {
	res, err := s.exec(ctx, s.db, `DELETE FROM holiday_calendars WHERE franchise_id = ?`, franchise)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}
