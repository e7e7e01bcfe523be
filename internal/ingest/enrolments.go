package ingest

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/conecrm/automation-runtime/internal/store"
)

// Enrolments is the enrolment index: which runs (by workflow id) a lead is
// in. It routes later events to those runs without asking Temporal, and
// remembers ended enrolments for `reenrollment: never` beyond Temporal's
// retention.
type Enrolments interface {
	RecordEnrolment(ctx context.Context, e store.Enrolment) error
	EndEnrolment(ctx context.Context, leadID, workflowID string, closed time.Time) error
	GetEnrolment(ctx context.Context, leadID, workflowID string) (store.Enrolment, error)
	RunningEnrolments(ctx context.Context, leadID string) ([]store.Enrolment, error)
}

var _ Enrolments = (*store.Store)(nil)

// MemoryEnrolments is an Enrolments in memory, for tests and the events
// handler without a store: it forgets everything when the process ends.
type MemoryEnrolments struct {
	mu   sync.Mutex
	rows map[string]map[string]store.Enrolment // lead -> workflow id -> row
}

var _ Enrolments = (*MemoryEnrolments)(nil)

// NewMemoryEnrolments returns an empty index.
func NewMemoryEnrolments() *MemoryEnrolments {
	return &MemoryEnrolments{rows: map[string]map[string]store.Enrolment{}}
}

// RecordEnrolment implements Enrolments.
func (m *MemoryEnrolments) RecordEnrolment(_ context.Context, e store.Enrolment) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	byWF := m.rows[e.LeadID]
	if byWF == nil {
		byWF = map[string]store.Enrolment{}
		m.rows[e.LeadID] = byWF
	}
	if old, ok := byWF[e.WorkflowID]; ok {
		e.StartedAt, e.Franchise = old.StartedAt, old.Franchise
	}
	e.Running, e.UpdatedAt = true, time.Now()
	if e.StartedAt.IsZero() {
		e.StartedAt = e.UpdatedAt
	}
	byWF[e.WorkflowID] = e
	return nil
}

// EndEnrolment implements Enrolments.
func (m *MemoryEnrolments) EndEnrolment(_ context.Context, leadID, workflowID string, closed time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e, ok := m.rows[leadID][workflowID]; ok && !e.UpdatedAt.After(closed) {
		e.Running = false
		m.rows[leadID][workflowID] = e
	}
	return nil
}

// GetEnrolment implements Enrolments.
func (m *MemoryEnrolments) GetEnrolment(_ context.Context, leadID, workflowID string) (store.Enrolment, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e, ok := m.rows[leadID][workflowID]; ok {
		return e, nil
	}
	return store.Enrolment{}, store.ErrNotFound
}

// RunningEnrolments implements Enrolments.
func (m *MemoryEnrolments) RunningEnrolments(_ context.Context, leadID string) ([]store.Enrolment, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.Enrolment
	for _, e := range m.rows[leadID] {
		if e.Running {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b store.Enrolment) int {
		if a.WorkflowID < b.WorkflowID {
			return -1
		}
		if a.WorkflowID > b.WorkflowID {
			return 1
		}
		return 0
	})
	return out, nil
}
