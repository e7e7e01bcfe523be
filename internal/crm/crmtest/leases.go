package crmtest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/conecrm/automation-runtime/internal/crm"
)

// LeaseStoreContract checks that a lease has one holder at a time, even
// when many race for it, until it is released or expires.
func LeaseStoreContract(t *testing.T, s crm.LeaseStore) {
	ctx := context.Background()
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	steps := []struct {
		name, holder string
		at           time.Time
		want         bool
	}{
		{"free", "h1", t0, true},
		{"held by another", "h2", t0.Add(time.Second), false},
		{"renewed by its holder", "h1", t0.Add(2 * time.Second), true},
		{"still held after the first expiry, renewed", "h2", t0.Add(31 * time.Second), false},
		{"expired", "h2", t0.Add(33 * time.Second), true},
	}
	for _, st := range steps {
		ok, err := s.AcquireLease(ctx, "lease-a", st.holder, 30*time.Second, st.at)
		if err != nil || ok != st.want {
			t.Fatalf("%s: acquire by %s = %v, %v; want %v", st.name, st.holder, ok, err, st.want)
		}
	}
	if err := s.ReleaseLease(ctx, "lease-a", "h1"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.AcquireLease(ctx, "lease-a", "h3", 30*time.Second, t0.Add(34*time.Second)); ok {
		t.Fatal("a release by a former holder freed the current holder's lease")
	}
	if err := s.ReleaseLease(ctx, "lease-a", "h2"); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.AcquireLease(ctx, "lease-a", "h3", 30*time.Second, t0.Add(35*time.Second)); !ok || err != nil {
		t.Fatalf("after release: %v %v", ok, err)
	}

	var won atomic.Int32
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := s.AcquireLease(ctx, "lease-race", fmt.Sprintf("w%d", i), time.Minute, t0)
			if err != nil {
				t.Error(err)
			}
			if ok {
				won.Add(1)
			}
		}()
	}
	wg.Wait()
	if n := won.Load(); n != 1 {
		t.Fatalf("%d of 16 racing workers got the lease, want 1", n)
	}
}

// CredentialStoreContract checks the compare-and-set of an integration's
// sealed credentials; s must be empty.
func CredentialStoreContract(t *testing.T, s interface {
	crm.Store
	crm.CredentialStore
}) {
	ctx := context.Background()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := s.Create(ctx, crm.Record{HeronID: "crm_c", Integration: []byte(`{}`), SealedCredentials: []byte{1, 2}, CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.ReplaceCredentials(ctx, "crm_c", []byte{9}, []byte{3}); ok || err != nil {
		t.Fatalf("stale old value: %v %v", ok, err)
	}
	if ok, err := s.ReplaceCredentials(ctx, "crm_c", []byte{1, 2}, []byte{3, 4}); !ok || err != nil {
		t.Fatalf("current old value: %v %v", ok, err)
	}
	if r, _ := s.Get(ctx, "crm_c"); string(r.SealedCredentials) != "\x03\x04" || !r.UpdatedAt.Equal(now) {
		t.Fatalf("after replace: %+v", r)
	}
	if _, err := s.ReplaceCredentials(ctx, "crm_nope", nil, []byte{1}); !errors.Is(err, crm.ErrNotFound) {
		t.Fatalf("unknown integration: %v", err)
	}
}

// RateStoreContract checks the shared request log: a window admits Max
// requests, says how long until the next fits, admits again once the
// oldest left, takes several buckets all or nothing, and admits exactly
// Max of many racing requests.
func RateStoreContract(t *testing.T, s crm.RateStore) {
	ctx := context.Background()
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	win := []crm.RateClaim{{Bucket: "hubspot:crm_a:10s", Max: 3, Window: 10 * time.Second}}
	steps := []struct {
		at   time.Duration
		wait time.Duration
	}{{0, 0}, {time.Second, 0}, {2 * time.Second, 0}, {3 * time.Second, 7 * time.Second}, {9 * time.Second, time.Second}, {10*time.Second + time.Millisecond, 0}, {10*time.Second + 2*time.Millisecond, 1*time.Second - 2*time.Millisecond}}
	for i, st := range steps {
		wait, err := s.TakeRate(ctx, win, t0.Add(st.at), "w1")
		if err != nil || wait != st.wait {
			t.Fatalf("step %d at +%v: wait %v, %v; want %v", i, st.at, wait, err, st.wait)
		}
	}

	both := []crm.RateClaim{{Bucket: "x:a", Max: 1, Window: time.Minute}, {Bucket: "x:b", Max: 5, Window: time.Minute}}
	if w, err := s.TakeRate(ctx, both, t0, "w1"); w != 0 || err != nil {
		t.Fatalf("first of both: %v %v", w, err)
	}
	if w, _ := s.TakeRate(ctx, both, t0, "w1"); w <= 0 {
		t.Fatal("a full bucket admitted a request")
	}
	for i := range 4 { // b holds 1: the refused request above took nothing
		if w, _ := s.TakeRate(ctx, both[1:], t0, "w1"); w != 0 {
			t.Fatalf("b request %d refused: a refused claim recorded a request", i+2)
		}
	}
	if w, _ := s.TakeRate(ctx, both[1:], t0, "w1"); w <= 0 {
		t.Fatal("b admitted a sixth request")
	}

	var admitted atomic.Int32
	var wg sync.WaitGroup
	race := []crm.RateClaim{{Bucket: "race", Max: 7, Window: time.Minute}}
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w, err := s.TakeRate(ctx, race, t0, fmt.Sprintf("w%d", i))
			if err != nil {
				t.Error(err)
			}
			if w == 0 {
				admitted.Add(1)
			}
		}()
	}
	wg.Wait()
	if n := admitted.Load(); n != 7 {
		t.Fatalf("%d of 20 racing requests admitted, want 7", n)
	}
}
