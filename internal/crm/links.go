package crm

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"
)

// Link statuses. A link is active until a push through it is refused for
// its credentials; it then needs a login (a new access token) before any
// push goes through it again.
const (
	LinkActive        = "active"
	LinkLoginRequired = "login_required"
)

// LoginRequiredPrefix starts the status_message of a login-required link,
// as Heron's (Plaid's) item errors do.
const LoginRequiredPrefix = "[ITEM_LOGIN_REQUIRED]"

// Link is one franchise's connection through an integration (seed 002):
// the franchise (end_user_id) pushes with the link's own access token.
type Link struct {
	IntegrationID      string     `json:"data_source_heron_id"`
	ItemID             string     `json:"item_id"`
	EndUserID          string     `json:"end_user_id"`
	EndUserName        string     `json:"end_user_name"`
	Type               string     `json:"type"`
	Status             string     `json:"status"`
	StatusMessage      string     `json:"status_message"`
	LastSuccessfulSync *time.Time `json:"last_successful_sync"`
	LastUpdated        time.Time  `json:"last_updated"`
	Created            time.Time  `json:"created"`
	// SealedCredentials hold the access token (Credentials.Secret) and,
	// when given, its refresh token (Credentials.Auth), sealed for
	// LinkSealID. Never serialised.
	SealedCredentials []byte `json:"-"`
	// Version counts credential changes; status writes name the version
	// they judged, so a push that failed with an old token cannot mark a
	// freshly updated link login-required.
	Version int64 `json:"-"`
}

// LinkSealID is the additional data link credentials are sealed for: a
// token copied onto another link or integration does not open.
func LinkSealID(integrationID, endUserID string) string {
	return integrationID + "/links/" + endUserID
}

// ErrLinkItemTaken is returned when an item_id belongs to another
// franchise's link of the same integration.
var ErrLinkItemTaken = errors.New("item_id is already used by another end user's link of this integration")

// LinkStore persists links. Implementations make PutLink, SetLinkStatus,
// MarkLinkSynced and ReplaceLinkCredentials atomic, since several workers
// update the same link.
type LinkStore interface {
	// PutLink creates the franchise's link, or replaces its item, name and
	// credentials (status back to active, version + 1). created reports
	// which; the stored link is returned.
	PutLink(ctx context.Context, l Link) (stored Link, created bool, err error)
	// GetLink returns the link with this item_id, or ErrNotFound.
	GetLink(ctx context.Context, integrationID, itemID string) (Link, error)
	// LinkFor returns the franchise's link, or ErrNotFound.
	LinkFor(ctx context.Context, integrationID, endUserID string) (Link, error)
	// ListLinks returns the integration's links, oldest first.
	ListLinks(ctx context.Context, integrationID string) ([]Link, error)
	// SetLinkStatus sets status and message when the link still has
	// version and another status; changed reports whether it did.
	SetLinkStatus(ctx context.Context, integrationID, endUserID string, version int64, status, message string, now time.Time) (changed bool, err error)
	// MarkLinkSynced records a successful push at now.
	MarkLinkSynced(ctx context.Context, integrationID, endUserID string, now time.Time) error
	// ReplaceLinkCredentials stores refreshed credentials when the link
	// still has version; it returns the new version, or ok false when
	// another process changed them first.
	ReplaceLinkCredentials(ctx context.Context, integrationID, endUserID string, version int64, sealed []byte, now time.Time) (newVersion int64, ok bool, err error)
}

var _ LinkStore = (*MemoryStore)(nil)

type memLinks struct {
	mu    sync.Mutex
	links map[string]*Link // integration + "\x00" + end user
}

func linkKey(integrationID, endUserID string) string { return integrationID + "\x00" + endUserID }

func (m *MemoryStore) linkStore() *memLinks {
	m.linksOnce.Do(func() { m.links = &memLinks{links: map[string]*Link{}} })
	return m.links
}

func cloneLink(l *Link) Link {
	out := *l
	out.SealedCredentials = slices.Clone(l.SealedCredentials)
	if l.LastSuccessfulSync != nil {
		t := *l.LastSuccessfulSync
		out.LastSuccessfulSync = &t
	}
	return out
}

// PutLink implements LinkStore.
func (m *MemoryStore) PutLink(_ context.Context, l Link) (Link, bool, error) {
	s := m.linkStore()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range s.links {
		if o.IntegrationID == l.IntegrationID && o.ItemID == l.ItemID && o.EndUserID != l.EndUserID {
			return Link{}, false, ErrLinkItemTaken
		}
	}
	k := linkKey(l.IntegrationID, l.EndUserID)
	cur, ok := s.links[k]
	if !ok {
		l.Status, l.StatusMessage, l.Version = LinkActive, "", 1
		l.Created = l.LastUpdated
		n := cloneLink(&l)
		s.links[k] = &n
		return cloneLink(&n), true, nil
	}
	cur.ItemID, cur.EndUserName, cur.Type = l.ItemID, l.EndUserName, l.Type
	cur.SealedCredentials = slices.Clone(l.SealedCredentials)
	cur.Status, cur.StatusMessage = LinkActive, ""
	cur.LastUpdated = l.LastUpdated
	cur.Version++
	return cloneLink(cur), false, nil
}

// GetLink implements LinkStore.
func (m *MemoryStore) GetLink(_ context.Context, integrationID, itemID string) (Link, error) {
	s := m.linkStore()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.links {
		if l.IntegrationID == integrationID && l.ItemID == itemID {
			return cloneLink(l), nil
		}
	}
	return Link{}, ErrNotFound
}

// LinkFor implements LinkStore.
func (m *MemoryStore) LinkFor(_ context.Context, integrationID, endUserID string) (Link, error) {
	s := m.linkStore()
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.links[linkKey(integrationID, endUserID)]
	if !ok {
		return Link{}, ErrNotFound
	}
	return cloneLink(l), nil
}

// ListLinks implements LinkStore.
func (m *MemoryStore) ListLinks(_ context.Context, integrationID string) ([]Link, error) {
	s := m.linkStore()
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []Link{}
	for _, l := range s.links {
		if l.IntegrationID == integrationID {
			out = append(out, cloneLink(l))
		}
	}
	slices.SortFunc(out, func(a, b Link) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return strings.Compare(a.EndUserID, b.EndUserID)
	})
	return out, nil
}

// SetLinkStatus implements LinkStore.
func (m *MemoryStore) SetLinkStatus(_ context.Context, integrationID, endUserID string, version int64, status, message string, now time.Time) (bool, error) {
	s := m.linkStore()
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.links[linkKey(integrationID, endUserID)]
	if !ok || l.Version != version || l.Status == status {
		return false, nil
	}
	l.Status, l.StatusMessage, l.LastUpdated = status, message, now
	return true, nil
}

// MarkLinkSynced implements LinkStore.
func (m *MemoryStore) MarkLinkSynced(_ context.Context, integrationID, endUserID string, now time.Time) error {
	s := m.linkStore()
	s.mu.Lock()
	defer s.mu.Unlock()
	if l, ok := s.links[linkKey(integrationID, endUserID)]; ok {
		l.LastSuccessfulSync, l.LastUpdated = &now, now
	}
	return nil
}

// ReplaceLinkCredentials implements LinkStore.
func (m *MemoryStore) ReplaceLinkCredentials(_ context.Context, integrationID, endUserID string, version int64, sealed []byte, now time.Time) (int64, bool, error) {
	s := m.linkStore()
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.links[linkKey(integrationID, endUserID)]
	if !ok || l.Version != version {
		return 0, false, nil
	}
	l.SealedCredentials = slices.Clone(sealed)
	l.Version++
	l.LastUpdated = now
	return l.Version, true, nil
}
