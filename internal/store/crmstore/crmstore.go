// Package crmstore is the SQL implementation of crm.Store over the
// starter's durable store.
package crmstore

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/conecrm/automation-runtime/internal/crm"
	"github.com/conecrm/automation-runtime/internal/store"
)

// Store implements crm.Store.
type Store struct{ s *store.Store }

var _ crm.Store = (*Store)(nil)

// New returns the crm.Store over s.
func New(s *store.Store) *Store { return &Store{s: s} }

func toRow(r crm.Record) store.CRMRow {
	var head struct {
		FranchiseID string `json:"franchise_id"`
	}
	_ = json.Unmarshal(r.Integration, &head)
	return store.CRMRow{HeronID: r.HeronID, Integration: r.Integration, Sealed: r.SealedCredentials, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, Franchise: head.FranchiseID}
}

func fromRow(r store.CRMRow) crm.Record {
	return crm.Record{HeronID: r.HeronID, Integration: r.Integration, SealedCredentials: r.Sealed, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

func mapErr(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return crm.ErrNotFound
	}
	if errors.Is(err, store.ErrExists) {
		return errors.New("crm integration already exists")
	}
	return err
}

// Create implements crm.Store.
func (c *Store) Create(ctx context.Context, rec crm.Record) error {
	return mapErr(c.s.CreateCRM(ctx, toRow(rec)))
}

// Get implements crm.Store.
func (c *Store) Get(ctx context.Context, id string) (crm.Record, error) {
	r, err := c.s.GetCRM(ctx, id)
	if err != nil {
		return crm.Record{}, mapErr(err)
	}
	return fromRow(r), nil
}

// List implements crm.Store.
func (c *Store) List(ctx context.Context) ([]crm.Record, error) {
	rows, err := c.s.ListCRM(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]crm.Record, 0, len(rows))
	for _, r := range rows {
		out = append(out, fromRow(r))
	}
	return out, nil
}

// Update implements crm.Store.
func (c *Store) Update(ctx context.Context, rec crm.Record) error {
	return mapErr(c.s.UpdateCRM(ctx, toRow(rec)))
}

var _ crm.LinkStore = (*Store)(nil)

func linkFromRow(r store.LinkRow) crm.Link {
	return crm.Link{
		IntegrationID: r.IntegrationID, EndUserID: r.EndUserID, ItemID: r.ItemID, EndUserName: r.EndUserName, Type: r.Type,
		SealedCredentials: r.Sealed, Version: r.Version, Status: r.Status, StatusMessage: r.StatusMessage,
		LastSuccessfulSync: r.LastSuccessfulSync, Created: r.CreatedAt, LastUpdated: r.UpdatedAt,
	}
}

func linkErr(err error) error {
	if errors.Is(err, store.ErrExists) {
		return crm.ErrLinkItemTaken
	}
	return mapErr(err)
}

// PutLink implements crm.LinkStore.
func (c *Store) PutLink(ctx context.Context, l crm.Link) (crm.Link, bool, error) {
	r, created, err := c.s.PutLink(ctx, store.LinkRow{
		IntegrationID: l.IntegrationID, EndUserID: l.EndUserID, ItemID: l.ItemID, EndUserName: l.EndUserName, Type: l.Type,
		Sealed: l.SealedCredentials, UpdatedAt: l.LastUpdated,
	}, crm.LinkActive)
	if err != nil {
		return crm.Link{}, false, linkErr(err)
	}
	return linkFromRow(r), created, nil
}

// GetLink implements crm.LinkStore.
func (c *Store) GetLink(ctx context.Context, integrationID, itemID string) (crm.Link, error) {
	r, err := c.s.GetLinkByItem(ctx, integrationID, itemID)
	if err != nil {
		return crm.Link{}, linkErr(err)
	}
	return linkFromRow(r), nil
}

// LinkFor implements crm.LinkStore.
func (c *Store) LinkFor(ctx context.Context, integrationID, endUserID string) (crm.Link, error) {
	r, err := c.s.GetLinkFor(ctx, integrationID, endUserID)
	if err != nil {
		return crm.Link{}, linkErr(err)
	}
	return linkFromRow(r), nil
}

// ListLinks implements crm.LinkStore.
func (c *Store) ListLinks(ctx context.Context, integrationID string) ([]crm.Link, error) {
	rows, err := c.s.ListLinks(ctx, integrationID)
	if err != nil {
		return nil, err
	}
	out := make([]crm.Link, 0, len(rows))
	for _, r := range rows {
		out = append(out, linkFromRow(r))
	}
	return out, nil
}

// SetLinkStatus implements crm.LinkStore.
func (c *Store) SetLinkStatus(ctx context.Context, integrationID, endUserID string, version int64, status, message string, now time.Time) (bool, error) {
	return c.s.SetLinkStatus(ctx, integrationID, endUserID, version, status, message, now)
}

// MarkLinkSynced implements crm.LinkStore.
func (c *Store) MarkLinkSynced(ctx context.Context, integrationID, endUserID string, now time.Time) error {
	return c.s.MarkLinkSynced(ctx, integrationID, endUserID, now)
}

// ReplaceLinkCredentials implements crm.LinkStore.
func (c *Store) ReplaceLinkCredentials(ctx context.Context, integrationID, endUserID string, version int64, sealed []byte, now time.Time) (int64, bool, error) {
	return c.s.ReplaceLinkCredentials(ctx, integrationID, endUserID, version, sealed, now)
}

var (
	_ crm.LeaseStore      = (*Store)(nil)
	_ crm.CredentialStore = (*Store)(nil)
)

// AcquireLease implements crm.LeaseStore.
func (c *Store) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration, now time.Time) (bool, error) {
	return c.s.AcquireLease(ctx, name, holder, ttl, now)
}

// ReleaseLease implements crm.LeaseStore.
func (c *Store) ReleaseLease(ctx context.Context, name, holder string) error {
	return c.s.ReleaseLease(ctx, name, holder)
}

// ReplaceCredentials implements crm.CredentialStore.
func (c *Store) ReplaceCredentials(ctx context.Context, heronID string, old, sealed []byte) (bool, error) {
	ok, err := c.s.ReplaceCRMCredentials(ctx, heronID, old, sealed)
	return ok, mapErr(err)
}

var _ crm.RateStore = (*Store)(nil)

// TakeRate implements crm.RateStore.
func (c *Store) TakeRate(ctx context.Context, claims []crm.RateClaim, now time.Time, holder string) (time.Duration, error) {
	conv := make([]store.RateClaim, len(claims))
	for i, cl := range claims {
		conv[i] = store.RateClaim(cl)
	}
	return c.s.TakeRate(ctx, conv, now, holder)
}

var _ crm.LeadIDStore = (*Store)(nil)

// LeadIDs implements crm.LeadIDStore.
func (c *Store) LeadIDs(ctx context.Context, integrationID, leadID string) (map[string]string, error) {
	return c.s.LeadCRMIDs(ctx, integrationID, leadID)
}

// PutLeadIDs implements crm.LeadIDStore.
func (c *Store) PutLeadIDs(ctx context.Context, integrationID, leadID string, ids map[string]string, now time.Time) error {
	return c.s.PutLeadCRMIDs(ctx, integrationID, leadID, ids, now)
}
