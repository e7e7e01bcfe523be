package crm

import (
	"bytes"
	"context"
	"slices"
	"time"
)

// LeaseStore holds short named leases shared by every worker using the
// store: one worker refreshes an integration's token while the others
// wait for the result.
type LeaseStore interface {
	// AcquireLease takes the lease when it is free, expired or already
	// held by holder, until now+ttl; ok reports whether holder has it.
	AcquireLease(ctx context.Context, name, holder string, ttl time.Duration, now time.Time) (ok bool, err error)
	// ReleaseLease frees the lease if holder still has it.
	ReleaseLease(ctx context.Context, name, holder string) error
}

// CredentialStore swaps an integration's sealed credentials atomically:
// the write happens only while the stored value is still old, so a token
// refresh never overwrites credentials a PATCH replaced meanwhile.
type CredentialStore interface {
	ReplaceCredentials(ctx context.Context, heronID string, old, sealed []byte) (ok bool, err error)
}

var (
	_ LeaseStore      = (*MemoryStore)(nil)
	_ CredentialStore = (*MemoryStore)(nil)
)

type memLease struct {
	holder  string
	expires time.Time
}

// AcquireLease implements LeaseStore.
func (m *MemoryStore) AcquireLease(_ context.Context, name, holder string, ttl time.Duration, now time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.leases == nil {
		m.leases = map[string]memLease{}
	}
	if l, ok := m.leases[name]; ok && l.holder != holder && now.Before(l.expires) {
		return false, nil
	}
	m.leases[name] = memLease{holder: holder, expires: now.Add(ttl)}
	return true, nil
}

// ReleaseLease implements LeaseStore.
func (m *MemoryStore) ReleaseLease(_ context.Context, name, holder string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if l, ok := m.leases[name]; ok && l.holder == holder {
		delete(m.leases, name)
	}
	return nil
}

// ReplaceCredentials implements CredentialStore.
func (m *MemoryStore) ReplaceCredentials(_ context.Context, heronID string, old, sealed []byte) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.recs[heronID]
	if !ok {
		return false, ErrNotFound
	}
	if !bytes.Equal(r.SealedCredentials, old) {
		return false, nil
	}
	r.SealedCredentials = slices.Clone(sealed)
	m.recs[heronID] = r
	return true, nil
}
