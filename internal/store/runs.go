package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// RunOutcome is how one closed run ended, as the run log records it once
// from the run's close event: the figures of the console and of
// /api/automation/{id}/stats come from these rows, never from histories.
type RunOutcome struct {
	WorkflowID   string
	RunID        string
	AutomationID string
	Version      string
	LeadID       string
	FranchiseID  string
	// Status: completed, goal_reached, cancelled, failed, terminated,
	// timed_out.
	Status string
	// FailedNode is the node whose failure failed the run ("" when unknown
	// or not failed); Error the failure's message.
	FailedNode string
	Error      string
	// Path is the node ids the run entered, in order.
	Path []string
	// Nodes says, per node the run entered, whether it passed it or failed
	// at it (NodePassed, NodeFailed); it is written with the run for the
	// per-node counts and not read back.
	Nodes map[string]string
	// Steps is the run's []workflows.StepResult as JSON.
	Steps     json.RawMessage
	StartedAt time.Time
	ClosedAt  time.Time
}

// Per-node outcomes.
const (
	NodePassed = "passed"
	NodeFailed = "failed"
)

// Notification is a failure notification waiting in the outbox.
type Notification struct {
	RunID string
	URL   string
	// Body is the JSON posted (signed at each attempt).
	Body     json.RawMessage
	Attempts int
}

// runColumns are the run_outcomes columns scanRun reads, in its order.
const runColumns = `workflow_id, run_id, automation_id, version, lead_id, franchise_id, status, failed_node, error, path, steps, started_at, closed_at`

const selectRun = `SELECT ` + runColumns + ` FROM run_outcomes`

func scanRun(sc interface{ Scan(...any) error }) (RunOutcome, error) {
	var (
		o               RunOutcome
		path, steps     string
		started, closed int64
	)
	if err := sc.Scan(&o.WorkflowID, &o.RunID, &o.AutomationID, &o.Version, &o.LeadID, &o.FranchiseID, &o.Status, &o.FailedNode, &o.Error, &path, &steps, &started, &closed); err != nil {
		return o, err
	}
	if err := json.Unmarshal([]byte(path), &o.Path); err != nil {
		return o, fmt.Errorf("run %s: stored path: %w", o.RunID, err)
	}
	o.Steps = json.RawMessage(steps)
	o.StartedAt, o.ClosedAt = fromMS(started), fromMS(closed)
	return o, nil
}

// runColumnsOf is runColumns qualified by a table alias.
func runColumnsOf(alias string) string {
	return alias + "." + strings.ReplaceAll(runColumns, ", ", ", "+alias+".")
}

// scanRuns reads every row of a query of runColumns, and closes rows.
func scanRuns(rows *sql.Rows) ([]RunOutcome, error) {
	defer rows.Close()
	var out []RunOutcome
	for rows.Next() {
		o, err := scanRun(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// RecordRun writes a closed run's outcome once, with its failure
// notification when n is not nil, in one transaction: a run is never
// recorded without its notification. It reports whether the row is new
// (another starter may have recorded it first).
func (s *Store) RecordRun(ctx context.Context, o RunOutcome, n *Notification) (bool, error) {
	path, err := json.Marshal(o.Path)
	if err != nil {
		return false, err
	}
	if o.Path == nil {
		path = []byte("[]")
	}
	steps := string(o.Steps)
	if steps == "" {
		steps = "[]"
	}
	var inserted bool
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := s.exec(ctx, tx, `INSERT INTO run_outcomes (workflow_id, run_id, automation_id, version, lead_id, franchise_id, status, failed_node, error, path, steps, started_at, closed_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (run_id) DO NOTHING`,
			o.WorkflowID, o.RunID, o.AutomationID, o.Version, o.LeadID, o.FranchiseID, o.Status, o.FailedNode, o.Error, string(path), steps, ms(o.StartedAt), ms(o.ClosedAt))
		if err != nil {
			return err
		}
		if k, _ := res.RowsAffected(); k == 0 {
			return nil
		}
		inserted = true
		for node, outcome := range o.Nodes {
			if _, err := s.exec(ctx, tx, `INSERT INTO run_nodes (run_id, automation_id, node_id, outcome, closed_at) VALUES (?, ?, ?, ?, ?)`,
				o.RunID, o.AutomationID, node, outcome, ms(o.ClosedAt)); err != nil {
				return err
			}
		}
		if n == nil {
			return nil
		}
		_, err = s.exec(ctx, tx, `INSERT INTO notifications (run_id, url, body, attempts, next_at, created_at) VALUES (?, ?, ?, 0, ?, ?) ON CONFLICT (run_id) DO NOTHING`,
			o.RunID, n.URL, string(n.Body), ms(s.now()), ms(s.now()))
		return err
	})
	return inserted, err
}

// HasRun says whether a run's outcome is recorded.
func (s *Store) HasRun(ctx context.Context, runID string) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM run_outcomes WHERE run_id = ?`), runID).Scan(&n)
	return n > 0, err
}

// RunFilter selects recorded runs; empty fields do not filter.
type RunFilter struct {
	AutomationID string
	LeadID       string
	// Franchises, when not nil, admits only runs of these franchises.
	Franchises []string
	Status     string
	FailedNode string
	// ClosedSince admits runs closed at or after it.
	ClosedSince time.Time
	// Limit caps the rows (newest first); zero means 1000.
	Limit int
}

// Runs lists recorded runs, newest close first.
func (s *Store) Runs(ctx context.Context, f RunFilter) ([]RunOutcome, error) {
	var (
		where []string
		args  []any
	)
	add := func(cond string, v any) { where = append(where, cond); args = append(args, v) }
	if f.AutomationID != "" {
		add("automation_id = ?", f.AutomationID)
	}
	if f.LeadID != "" {
		add("lead_id = ?", f.LeadID)
	}
	if f.Status != "" {
		add("status = ?", f.Status)
	}
	if f.FailedNode != "" {
		add("failed_node = ?", f.FailedNode)
	}
	if !f.ClosedSince.IsZero() {
		add("closed_at >= ?", ms(f.ClosedSince))
	}
	if f.Franchises != nil {
		if len(f.Franchises) == 0 {
			return nil, nil
		}
		marks := make([]string, len(f.Franchises))
		for i, fr := range f.Franchises {
			marks[i] = "?"
			args = append(args, fr)
		}
		where = append(where, "franchise_id IN ("+strings.Join(marks, ", ")+")")
	}
	q := selectRun
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 1000
	}
	q += fmt.Sprintf(" ORDER BY closed_at DESC, run_id LIMIT %d", limit)
	rows, err := s.db.QueryContext(ctx, s.q(q), args...)
	if err != nil {
		return nil, err
	}
	return scanRuns(rows)
}

// NodeCount is how many runs closed in a period passed a node or failed at it.
type NodeCount struct {
	Passed int `json:"passed"`
	Failed int `json:"failed"`
}

// NodeCounts counts, per node of an automation, the recorded runs closed
// at or after since that passed it and that failed at it.
func (s *Store) NodeCounts(ctx context.Context, automationID string, since time.Time) (map[string]NodeCount, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT node_id, outcome, COUNT(*) FROM run_nodes WHERE automation_id = ? AND closed_at >= ? GROUP BY node_id, outcome`), automationID, ms(since))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]NodeCount{}
	for rows.Next() {
		var (
			node, outcome string
			n             int
		)
		if err := rows.Scan(&node, &outcome, &n); err != nil {
			return nil, err
		}
		c := out[node]
		switch outcome {
		case NodePassed:
			c.Passed += n
		case NodeFailed:
			c.Failed += n
		}
		out[node] = c
	}
	return out, rows.Err()
}

// RunsAtNode lists the recorded runs of an automation closed at or after
// since that passed the node or failed at it (outcome), newest first.
func (s *Store) RunsAtNode(ctx context.Context, automationID, node, outcome string, since time.Time, limit int) ([]RunOutcome, error) {
	if limit <= 0 {
		limit = 1000
	}
	rows, err := s.db.QueryContext(ctx, s.q(fmt.Sprintf(`SELECT `+runColumnsOf("r")+`
		FROM run_nodes n JOIN run_outcomes r ON r.run_id = n.run_id
		WHERE n.automation_id = ? AND n.node_id = ? AND n.outcome = ? AND n.closed_at >= ? ORDER BY n.closed_at DESC, n.run_id LIMIT %d`, limit)), automationID, node, outcome, ms(since))
	if err != nil {
		return nil, err
	}
	return scanRuns(rows)
}

// Cursor reads a named position of a background reader (0 when unset).
func (s *Store) Cursor(ctx context.Context, name string) (int64, error) {
	var v int64
	err := s.db.QueryRowContext(ctx, s.q(`SELECT value FROM cursors WHERE name = ?`), name).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return v, err
}

// SetCursor writes a named position; it never moves a cursor backwards
// (several starters may share the database).
func (s *Store) SetCursor(ctx context.Context, name string, v int64) error {
	_, err := s.exec(ctx, s.db, `INSERT INTO cursors (name, value) VALUES (?, ?)
		ON CONFLICT (name) DO UPDATE SET value = excluded.value WHERE cursors.value < excluded.value`, name, v)
	return err
}

// ClaimNotifications returns up to limit notifications due now, each
// leased for lease so that another starter does not send it at the same
// time; an unanswered lease expires and the notification is due again.
func (s *Store) ClaimNotifications(ctx context.Context, limit int, lease time.Duration) ([]Notification, error) {
	now := s.now()
	rows, err := s.db.QueryContext(ctx, s.q(fmt.Sprintf(`SELECT run_id, url, body, attempts, next_at FROM notifications
		WHERE delivered_at IS NULL AND next_at <= ? ORDER BY next_at LIMIT %d`, limit)), ms(now))
	if err != nil {
		return nil, err
	}
	type due struct {
		n  Notification
		at int64
	}
	var cands []due
	for rows.Next() {
		var (
			d    due
			body string
		)
		if err := rows.Scan(&d.n.RunID, &d.n.URL, &body, &d.n.Attempts, &d.at); err != nil {
			rows.Close()
			return nil, err
		}
		d.n.Body = json.RawMessage(body)
		cands = append(cands, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var out []Notification
	for _, d := range cands {
		res, err := s.exec(ctx, s.db, `UPDATE notifications SET next_at = ? WHERE run_id = ? AND next_at = ? AND delivered_at IS NULL`, ms(now.Add(lease)), d.n.RunID, d.at)
		if err != nil {
			return out, err
		}
		if k, _ := res.RowsAffected(); k == 1 {
			out = append(out, d.n)
		}
	}
	return out, nil
}

// NotificationDelivered marks a notification sent.
func (s *Store) NotificationDelivered(ctx context.Context, runID string) error {
	_, err := s.exec(ctx, s.db, `UPDATE notifications SET delivered_at = ?, attempts = attempts + 1, last_error = NULL WHERE run_id = ?`, ms(s.now()), runID)
	return err
}

// NotificationFailed records a failed attempt and when to try again.
func (s *Store) NotificationFailed(ctx context.Context, runID string, next time.Time, reason string) error {
	_, err := s.exec(ctx, s.db, `UPDATE notifications SET attempts = attempts + 1, next_at = ?, last_error = ? WHERE run_id = ? AND delivered_at IS NULL`, ms(next), reason, runID)
	return err
}

// NotificationStatus is a notification's delivery state, for tests and
// operators.
type NotificationStatus struct {
	Attempts  int
	Delivered bool
	LastError string
}

// NotificationState returns the state of a run's notification, or
// ErrNotFound.
func (s *Store) NotificationState(ctx context.Context, runID string) (NotificationStatus, error) {
	var (
		st        NotificationStatus
		delivered sql.NullInt64
		lastErr   sql.NullString
	)
	err := s.db.QueryRowContext(ctx, s.q(`SELECT attempts, delivered_at, last_error FROM notifications WHERE run_id = ?`), runID).Scan(&st.Attempts, &delivered, &lastErr)
	if errors.Is(err, sql.ErrNoRows) {
		return st, ErrNotFound
	}
	st.Delivered, st.LastError = delivered.Valid, lastErr.String
	return st, err
}
