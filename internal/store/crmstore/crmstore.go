// Package crmstore is the SQL implementation of crm.Store over the
// starter's durable store.
package crmstore

import (
	"context"
	"errors"

	"github.com/conecrm/automation-runtime/internal/crm"
	"github.com/conecrm/automation-runtime/internal/store"
)

// Store implements crm.Store.
type Store struct{ s *store.Store }

var _ crm.Store = (*Store)(nil)

// New returns the crm.Store over s.
func New(s *store.Store) *Store { return &Store{s: s} }

func toRow(r crm.Record) store.CRMRow {
	return store.CRMRow{HeronID: r.HeronID, Integration: r.Integration, Sealed: r.SealedCredentials, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
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
