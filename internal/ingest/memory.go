package ingest

import (
	"context"
	"encoding/json"
	"sync"

	"github.com/conecrm/automation-runtime/internal/store"
)

// MemoryEvents is an EventLog in memory, for tests: it forgets everything
// when the process ends, and forgets the oldest half beyond its limit.
type MemoryEvents struct {
	mu     sync.Mutex
	claims map[[2]string]json.RawMessage // nil value: pending
	order  [][2]string
}

var _ EventLog = (*MemoryEvents)(nil)

const maxMemoryEvents = 100_000

// NewMemoryEvents returns an empty log.
func NewMemoryEvents() *MemoryEvents { return &MemoryEvents{claims: map[[2]string]json.RawMessage{}} }

// ClaimEvent implements EventLog.
func (m *MemoryEvents) ClaimEvent(_ context.Context, automationID, eventID string) (store.Claim, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := [2]string{automationID, eventID}
	if out, ok := m.claims[k]; ok {
		return store.Claim{Done: out != nil, Outcome: out}, nil
	}
	if len(m.order) >= maxMemoryEvents {
		for _, old := range m.order[:maxMemoryEvents/2] {
			delete(m.claims, old)
		}
		m.order = append([][2]string(nil), m.order[maxMemoryEvents/2:]...)
	}
	m.claims[k] = nil
	m.order = append(m.order, k)
	return store.Claim{Claimed: true}, nil
}

// CompleteEvent implements EventLog.
func (m *MemoryEvents) CompleteEvent(_ context.Context, automationID, eventID string, outcome json.RawMessage) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.claims[[2]string{automationID, eventID}] = append(json.RawMessage{}, outcome...)
	return nil
}

// ReleaseEvent implements EventLog.
func (m *MemoryEvents) ReleaseEvent(_ context.Context, automationID, eventID string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := [2]string{automationID, eventID}
	if m.claims[k] == nil {
		delete(m.claims, k)
	}
	return nil
}
