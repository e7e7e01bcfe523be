package crmstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/conecrm/automation-runtime/internal/crm"
	"github.com/conecrm/automation-runtime/internal/crm/crmtest"
	"github.com/conecrm/automation-runtime/internal/devkit/storetest"
	"github.com/conecrm/automation-runtime/internal/store"
	"github.com/conecrm/automation-runtime/internal/store/crmstore"
)

func TestCRMStore(t *testing.T) {
	ctx := context.Background()
	storetest.Each(t, func(t *testing.T, open func(testing.TB) *store.Store) {
		s := crmstore.New(open(t))
		now := time.Now().UTC().Truncate(time.Millisecond)
		rec := crm.Record{HeronID: "h1", Integration: json.RawMessage(`{"crm":"salesforce"}`), SealedCredentials: []byte{0, 1, 2, 255}, CreatedAt: now, UpdatedAt: now}
		if err := s.Create(ctx, rec); err != nil {
			t.Fatal(err)
		}
		if err := s.Create(ctx, rec); err == nil {
			t.Fatal("duplicate create accepted")
		}
		got, err := s.Get(ctx, "h1")
		if err != nil || string(got.Integration) != `{"crm":"salesforce"}` || string(got.SealedCredentials) != string(rec.SealedCredentials) || !got.CreatedAt.Equal(now) {
			t.Fatalf("get %+v %v", got, err)
		}
		if _, err := s.Get(ctx, "nope"); !errors.Is(err, crm.ErrNotFound) {
			t.Fatalf("unknown: %v", err)
		}
		rec.Integration, rec.SealedCredentials = json.RawMessage(`{"crm":"hubspot"}`), nil
		if err := s.Update(ctx, rec); err != nil {
			t.Fatal(err)
		}
		if err := s.Update(ctx, crm.Record{HeronID: "nope"}); !errors.Is(err, crm.ErrNotFound) {
			t.Fatalf("update unknown: %v", err)
		}
		list, err := s.List(ctx)
		if err != nil || len(list) != 1 || string(list[0].Integration) != `{"crm":"hubspot"}` || list[0].SealedCredentials != nil {
			t.Fatalf("list %+v %v", list, err)
		}
	})
}

func TestLinkStore(t *testing.T) {
	storetest.Each(t, func(t *testing.T, open func(testing.TB) *store.Store) {
		crmtest.LinkStoreContract(t, crmstore.New(open(t)))
	})
}

func TestLeaseStore(t *testing.T) {
	storetest.Each(t, func(t *testing.T, open func(testing.TB) *store.Store) {
		crmtest.LeaseStoreContract(t, crmstore.New(open(t)))
	})
}

func TestCredentialStore(t *testing.T) {
	storetest.Each(t, func(t *testing.T, open func(testing.TB) *store.Store) {
		crmtest.CredentialStoreContract(t, crmstore.New(open(t)))
	})
}

func TestRateStore(t *testing.T) {
	storetest.Each(t, func(t *testing.T, open func(testing.TB) *store.Store) {
		crmtest.RateStoreContract(t, crmstore.New(open(t)))
	})
}
