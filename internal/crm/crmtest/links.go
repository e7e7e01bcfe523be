// Package crmtest holds the contract tests every crm.LinkStore passes (the
// in-memory store and the SQL store on SQLite and PostgreSQL).
package crmtest

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/conecrm/automation-runtime/internal/crm"
)

// LinkStoreContract checks creation, replacement, lookups, the status
// compare-and-set under concurrency and credential replacement.
func LinkStoreContract(t *testing.T, s crm.LinkStore) {
	ctx := context.Background()
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	l, created, err := s.PutLink(ctx, crm.Link{IntegrationID: "crm_a", ItemID: "item-1", EndUserID: "fr-1", EndUserName: "Montréal", Type: "salesforce", SealedCredentials: []byte{1, 2}, LastUpdated: t0})
	if err != nil || !created || l.Status != crm.LinkActive || l.Version != 1 || !l.Created.Equal(t0) || l.LastSuccessfulSync != nil {
		t.Fatalf("create: %+v created=%v err=%v", l, created, err)
	}
	if _, _, err := s.PutLink(ctx, crm.Link{IntegrationID: "crm_a", ItemID: "item-1", EndUserID: "fr-2", LastUpdated: t0}); !errors.Is(err, crm.ErrLinkItemTaken) {
		t.Fatalf("item of another franchise: %v", err)
	}
	if _, _, err := s.PutLink(ctx, crm.Link{IntegrationID: "crm_b", ItemID: "item-1", EndUserID: "fr-2", LastUpdated: t0}); err != nil {
		t.Fatalf("same item id on another integration: %v", err)
	}
	got, err := s.GetLink(ctx, "crm_a", "item-1")
	if err != nil || got.EndUserID != "fr-1" || string(got.SealedCredentials) != "\x01\x02" {
		t.Fatalf("get: %+v %v", got, err)
	}
	if _, err := s.GetLink(ctx, "crm_a", "nope"); !errors.Is(err, crm.ErrNotFound) {
		t.Fatalf("get unknown: %v", err)
	}
	if _, err := s.LinkFor(ctx, "crm_a", "fr-9"); !errors.Is(err, crm.ErrNotFound) {
		t.Fatalf("link for unknown: %v", err)
	}

	// Many workers see the same auth failure: exactly one changes the status.
	t1 := t0.Add(time.Minute)
	var changed atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := s.SetLinkStatus(ctx, "crm_a", "fr-1", 1, crm.LinkLoginRequired, crm.LoginRequiredPrefix+" x", t1)
			if err != nil {
				t.Error(err)
			}
			if ok {
				changed.Add(1)
			}
		}()
	}
	wg.Wait()
	if changed.Load() != 1 {
		t.Fatalf("status changed by %d callers, want 1", changed.Load())
	}
	got, _ = s.LinkFor(ctx, "crm_a", "fr-1")
	if got.Status != crm.LinkLoginRequired || got.StatusMessage != crm.LoginRequiredPrefix+" x" || !got.LastUpdated.Equal(t1) {
		t.Fatalf("after status change: %+v", got)
	}

	// Updating the link (new token) makes it active again; a status write
	// judged on the old version no longer applies.
	t2 := t1.Add(time.Minute)
	l, created, err = s.PutLink(ctx, crm.Link{IntegrationID: "crm_a", ItemID: "item-1b", EndUserID: "fr-1", EndUserName: "Montréal", Type: "salesforce", SealedCredentials: []byte{3}, LastUpdated: t2})
	if err != nil || created || l.Status != crm.LinkActive || l.StatusMessage != "" || l.Version != 2 || !l.Created.Equal(t0) || l.ItemID != "item-1b" {
		t.Fatalf("update: %+v created=%v err=%v", l, created, err)
	}
	if ok, err := s.SetLinkStatus(ctx, "crm_a", "fr-1", 1, crm.LinkLoginRequired, "stale", t2); ok || err != nil {
		t.Fatalf("stale status write applied: %v %v", ok, err)
	}
	if err := s.MarkLinkSynced(ctx, "crm_a", "fr-1", t2); err != nil {
		t.Fatal(err)
	}
	got, _ = s.LinkFor(ctx, "crm_a", "fr-1")
	if got.LastSuccessfulSync == nil || !got.LastSuccessfulSync.Equal(t2) {
		t.Fatalf("last_successful_sync: %+v", got)
	}

	v, ok, err := s.ReplaceLinkCredentials(ctx, "crm_a", "fr-1", 2, []byte{9}, t2)
	if err != nil || !ok || v != 3 {
		t.Fatalf("replace: %d %v %v", v, ok, err)
	}
	if _, ok, _ := s.ReplaceLinkCredentials(ctx, "crm_a", "fr-1", 2, []byte{8}, t2); ok {
		t.Fatal("replace on a stale version applied")
	}
	got, _ = s.LinkFor(ctx, "crm_a", "fr-1")
	if string(got.SealedCredentials) != "\x09" || got.Version != 3 {
		t.Fatalf("after replace: %+v", got)
	}
	list, err := s.ListLinks(ctx, "crm_a")
	if err != nil || len(list) != 1 || list[0].EndUserID != "fr-1" {
		t.Fatalf("list: %+v %v", list, err)
	}
	if list, _ := s.ListLinks(ctx, "crm_z"); len(list) != 0 {
		t.Fatalf("list of another integration: %+v", list)
	}
}
