package crm

import (
	"bytes"
	"context"
	"maps"
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

// LeadIDStore keeps the CRM ids of leads that have no ConeCRM account to
// hold them as thirdPartyIds (seed 003 writes thirdPartyIds only through
// the account endpoints).
type LeadIDStore interface {
	// LeadIDs returns the lead's recorded ids by object key.
	LeadIDs(ctx context.Context, integrationID, leadID string) (map[string]string, error)
	// PutLeadIDs records ids, replacing those of the same object keys.
	PutLeadIDs(ctx context.Context, integrationID, leadID string, ids map[string]string, now time.Time) error
}

var _ LeadIDStore = (*MemoryStore)(nil)

// LeadIDs implements LeadIDStore.
func (m *MemoryStore) LeadIDs(_ context.Context, integrationID, leadID string) (map[string]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return maps.Clone(m.leadIDs[integrationID+"\x00"+leadID]), nil
}

// PutLeadIDs implements LeadIDStore.
func (m *MemoryStore) PutLeadIDs(_ context.Context, integrationID, leadID string, ids map[string]string, _ time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.leadIDs == nil {
		m.leadIDs = map[string]map[string]string{}
	}
	k := integrationID + "\x00" + leadID
	if m.leadIDs[k] == nil {
		m.leadIDs[k] = map[string]string{}
	}
	maps.Copy(m.leadIDs[k], ids)
	return nil
}
