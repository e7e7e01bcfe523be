package crm

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"
)

// Record is an integration as stored: plain data so a SQL store can map it
// to one row (heron_id primary key, config JSON, sealed secret bytes).
type Record struct {
	HeronID string
	// Integration is the JSON of Integration (without heron_id, secret, auth).
	Integration json.RawMessage
	// SealedCredentials is Cipher.Seal's output; nil when none were given.
	SealedCredentials []byte
	CreatedAt         time.Time
	UpdatedAt         time.Time
}

// ErrNotFound is returned by a Store for an unknown heron_id.
var ErrNotFound = errors.New("crm integration not found")

// Store persists integrations.
type Store interface {
	Create(ctx context.Context, rec Record) error
	Get(ctx context.Context, heronID string) (Record, error)
	List(ctx context.Context) ([]Record, error)
	Update(ctx context.Context, rec Record) error
}

// MemoryStore is a Store for tests and the demo.
type MemoryStore struct {
	mu   sync.RWMutex
	recs map[string]Record

	linksOnce sync.Once
	links     *memLinks

	leases map[string]memLease // guarded by mu
	rates  map[string][]time.Time
	// leadIDs: integration + "\x00" + lead → object key → id.
	leadIDs map[string]map[string]string
}

var _ Store = (*MemoryStore)(nil)

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore { return &MemoryStore{recs: map[string]Record{}} }

func clone(r Record) Record {
	r.Integration = slices.Clone(r.Integration)
	r.SealedCredentials = slices.Clone(r.SealedCredentials)
	return r
}

// Create stores a new record; an existing heron_id is an error.
func (m *MemoryStore) Create(_ context.Context, rec Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.recs[rec.HeronID]; ok {
		return errors.New("crm integration already exists")
	}
	m.recs[rec.HeronID] = clone(rec)
	return nil
}

// Get returns the record or ErrNotFound.
func (m *MemoryStore) Get(_ context.Context, id string) (Record, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	r, ok := m.recs[id]
	if !ok {
		return Record{}, ErrNotFound
	}
	return clone(r), nil
}

// List returns every record, oldest first.
func (m *MemoryStore) List(_ context.Context) ([]Record, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]Record, 0, len(m.recs))
	for _, r := range m.recs {
		out = append(out, clone(r))
	}
	slices.SortFunc(out, func(a, b Record) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.HeronID, b.HeronID)
	})
	return out, nil
}

// Update replaces an existing record or returns ErrNotFound.
func (m *MemoryStore) Update(_ context.Context, rec Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.recs[rec.HeronID]; !ok {
		return ErrNotFound
	}
	m.recs[rec.HeronID] = clone(rec)
	return nil
}
