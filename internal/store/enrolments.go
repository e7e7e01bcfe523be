package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// Enrolment is one row of the enrolment index: a lead's run (its workflow
// id, which continue-as-new keeps) in an automation. Rows are never deleted
// by the runtime: an ended row is what keeps `reenrollment: never` after
// Temporal's retention has purged the closed run.
type Enrolment struct {
	LeadID       string
	WorkflowID   string
	AutomationID string
	Franchise    string
	// Running: the run was running when last seen. A stale true is
	// harmless: signalling it answers NotFound and the row is ended.
	Running   bool
	StartedAt time.Time
	UpdatedAt time.Time
}

// RecordEnrolment records that the lead's run under e.WorkflowID is
// running (it was just started, or found running). Idempotent; the first
// enrolment's start time is kept.
func (s *Store) RecordEnrolment(ctx context.Context, e Enrolment) error {
	now := ms(s.now())
	started := now
	if !e.StartedAt.IsZero() {
		started = ms(e.StartedAt)
	}
	_, err := s.exec(ctx, s.db, `INSERT INTO enrolments (lead_id, workflow_id, automation_id, franchise_id, running, started_at, updated_at)
		VALUES (?, ?, ?, ?, 1, ?, ?)
		ON CONFLICT (lead_id, workflow_id) DO UPDATE SET running = 1, automation_id = excluded.automation_id, updated_at = excluded.updated_at`,
		e.LeadID, e.WorkflowID, e.AutomationID, e.Franchise, started, now)
	return err
}

// EndEnrolment records that the run under workflowID was no longer running
// at closed. The row stays (the lead was enrolled); a row recorded after
// closed (a newer run under the same id, after_finished) stays running.
func (s *Store) EndEnrolment(ctx context.Context, leadID, workflowID string, closed time.Time) error {
	_, err := s.exec(ctx, s.db, `UPDATE enrolments SET running = 0, updated_at = ? WHERE lead_id = ? AND workflow_id = ? AND running = 1 AND updated_at <= ?`,
		ms(s.now()), leadID, workflowID, ms(closed))
	return err
}

// GetEnrolment returns the row of the lead's run under workflowID;
// ErrNotFound when the lead never had one.
func (s *Store) GetEnrolment(ctx context.Context, leadID, workflowID string) (Enrolment, error) {
	row := s.db.QueryRowContext(ctx, s.q(`SELECT lead_id, workflow_id, automation_id, franchise_id, running, started_at, updated_at
		FROM enrolments WHERE lead_id = ? AND workflow_id = ?`), leadID, workflowID)
	e, err := scanEnrolment(row)
	if errors.Is(err, sql.ErrNoRows) {
		return Enrolment{}, ErrNotFound
	}
	return e, err
}

// RunningEnrolments lists the lead's running runs, in every automation, by
// workflow id: one indexed read (the primary key's prefix).
func (s *Store) RunningEnrolments(ctx context.Context, leadID string) ([]Enrolment, error) {
	return s.enrolments(ctx, `WHERE lead_id = ? AND running = 1 ORDER BY workflow_id`, leadID)
}

// AutomationEnrolments lists the running runs of an automation.
func (s *Store) AutomationEnrolments(ctx context.Context, automationID string) ([]Enrolment, error) {
	return s.enrolments(ctx, `WHERE automation_id = ? AND running = 1 ORDER BY lead_id, workflow_id`, automationID)
}

func (s *Store) enrolments(ctx context.Context, where string, args ...any) ([]Enrolment, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT lead_id, workflow_id, automation_id, franchise_id, running, started_at, updated_at
		FROM enrolments `+where), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Enrolment
	for rows.Next() {
		e, err := scanEnrolment(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

func scanEnrolment(r interface{ Scan(...any) error }) (Enrolment, error) {
	var (
		e                 Enrolment
		running           int
		started, modified int64
	)
	if err := r.Scan(&e.LeadID, &e.WorkflowID, &e.AutomationID, &e.Franchise, &running, &started, &modified); err != nil {
		return Enrolment{}, err
	}
	e.Running, e.StartedAt, e.UpdatedAt = running == 1, fromMS(started), fromMS(modified)
	return e, nil
}
