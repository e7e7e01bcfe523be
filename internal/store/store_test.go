package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/conecrm/automation-runtime/internal/devkit/storetest"
	"github.com/conecrm/automation-runtime/internal/store"
)

var ctx = context.Background()

func nv(id, version, doc string, active bool) store.NewVersion {
	return store.NewVersion{ID: id, Version: version, ContentHash: "c-" + version, Document: json.RawMessage(doc), Active: active}
}

func TestAutomations(t *testing.T) {
	storetest.Each(t, func(t *testing.T, open func(testing.TB) *store.Store) {
		s := open(t)
		a, err := s.Create(ctx, nv("a1", "v1", `{"name":"one"}`, true))
		if err != nil {
			t.Fatal(err)
		}
		if a.Seq != 1 || a.Version != "v1" || !a.Active || string(a.Document) != `{"name":"one"}` {
			t.Fatalf("created %+v", a)
		}
		if _, err := s.Create(ctx, nv("a1", "v9", `{}`, true)); !errors.Is(err, store.ErrExists) {
			t.Fatalf("second create: %v, want ErrExists", err)
		}
		b, err := s.Update(ctx, 1, nv("a1", "v2", `{"name":"two"}`, false))
		if err != nil {
			t.Fatal(err)
		}
		if b.Seq != 2 || b.Version != "v2" || b.Active || !b.CreatedAt.Equal(a.CreatedAt) {
			t.Fatalf("updated %+v", b)
		}
		if _, err := s.Update(ctx, 1, nv("a1", "v3", `{}`, true)); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("stale update: %v, want ErrConflict", err)
		}
		if cur, _ := s.Get(ctx, "a1"); cur.Seq != 2 {
			t.Fatalf("a conflicting update changed the current version: %+v", cur)
		}
		old, err := s.GetVersion(ctx, "a1", 1)
		if err != nil || old.Version != "v1" || string(old.Document) != `{"name":"one"}` || !old.Active {
			t.Fatalf("version 1 is not immutable: %+v %v", old, err)
		}
		if _, err := s.Create(ctx, nv("a2", "w1", `{}`, true)); err != nil {
			t.Fatal(err)
		}
		list, err := s.List(ctx)
		if err != nil || len(list) != 2 || list[0].ID != "a1" || list[1].ID != "a2" {
			t.Fatalf("list %+v %v", list, err)
		}
		if err := s.Delete(ctx, "a1", ""); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get(ctx, "a1"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("get deleted: %v", err)
		}
		if err := s.Delete(ctx, "a1", ""); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("delete twice: %v", err)
		}
		if _, err := s.Update(ctx, 0, nv("nope", "x", `{}`, true)); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("update unknown: %v", err)
		}
		if _, err := s.GetVersion(ctx, "a1", 2); err != nil {
			t.Fatalf("versions of a deleted automation stay for pinned runs: %v", err)
		}
		if list, _ := s.List(ctx); len(list) != 1 {
			t.Fatalf("deleted automation still listed: %+v", list)
		}
	})
}

func TestImportIsIdempotent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, open func(testing.TB) *store.Store) {
		s := open(t)
		file := nv("a", "v1", `{"n":1}`, true)
		file.SourceHash = "f1"
		for i, want := range []string{store.ImportCreated, store.ImportUnchanged, store.ImportUnchanged} {
			got, err := s.Import(ctx, file)
			if err != nil || got != want {
				t.Fatalf("import %d: %q %v, want %q", i, got, err, want)
			}
		}
		// An edit through the API survives a restart that imports the same file.
		if _, err := s.Update(ctx, 0, nv("a", "v2", `{"n":2}`, true)); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Import(ctx, file); got != store.ImportUnchanged {
			t.Fatalf("re-import after API edit: %q", got)
		}
		if cur, _ := s.Get(ctx, "a"); cur.Version != "v2" {
			t.Fatalf("re-import overwrote the API edit: %+v", cur)
		}
		// A changed file is a new version.
		changed := nv("a", "v3", `{"n":3}`, true)
		changed.SourceHash = "f3"
		if got, _ := s.Import(ctx, changed); got != store.ImportUpdated {
			t.Fatalf("changed file: %q", got)
		}
		if cur, _ := s.Get(ctx, "a"); cur.Version != "v3" || cur.Seq != 3 {
			t.Fatalf("after changed file %+v", cur)
		}
		_ = s.Delete(ctx, "a", "")
		if got, _ := s.Import(ctx, changed); got != store.ImportDeleted {
			t.Fatalf("deleted automation re-imported: %q", got)
		}
	})
}

func TestEventClaims(t *testing.T) {
	storetest.Each(t, func(t *testing.T, open func(testing.TB) *store.Store) {
		s := open(t)
		var claimed, done atomic.Int32
		var wg sync.WaitGroup
		for range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, err := s.ClaimEvent(ctx, "a", "e1")
				if err != nil {
					t.Error(err)
					return
				}
				if c.Claimed {
					claimed.Add(1)
				}
				if c.Done {
					done.Add(1)
				}
			}()
		}
		wg.Wait()
		if claimed.Load() != 1 {
			t.Fatalf("%d of 50 concurrent claims won, want 1", claimed.Load())
		}
		if err := s.CompleteEvent(ctx, "a", "e1", json.RawMessage(`{"result":"enrolled"}`)); err != nil {
			t.Fatal(err)
		}
		c, err := s.ClaimEvent(ctx, "a", "e1")
		if err != nil || c.Claimed || !c.Done || string(c.Outcome) != `{"result":"enrolled"}` {
			t.Fatalf("claim after completion: %+v %v", c, err)
		}
		if c, _ := s.ClaimEvent(ctx, "b", "e1"); !c.Claimed {
			t.Fatal("the same event id is a separate claim for another automation")
		}
		// A released claim (the start failed) can be claimed again.
		if c, _ := s.ClaimEvent(ctx, "a", "e2"); !c.Claimed {
			t.Fatal("first claim of e2")
		}
		if err := s.ReleaseEvent(ctx, "a", "e2"); err != nil {
			t.Fatal(err)
		}
		if c, _ := s.ClaimEvent(ctx, "a", "e2"); !c.Claimed {
			t.Fatal("claim after release")
		}
		// A claim whose holder vanished is taken over after the lease.
		now := time.Now()
		s.SetClock(func() time.Time { return now }, time.Minute)
		if c, _ := s.ClaimEvent(ctx, "a", "e3"); !c.Claimed {
			t.Fatal("first claim of e3")
		}
		if c, _ := s.ClaimEvent(ctx, "a", "e3"); c.Claimed || c.Done {
			t.Fatalf("claim within the lease: %+v", c)
		}
		now = now.Add(2 * time.Minute)
		if c, _ := s.ClaimEvent(ctx, "a", "e3"); !c.Claimed {
			t.Fatal("claim after the lease expired")
		}
		n, err := s.PruneEvents(ctx, now.Add(-90*time.Second))
		if err != nil || n == 0 {
			t.Fatalf("prune: %d %v", n, err)
		}
	})
}

func TestFailedWriteLeavesNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, open func(testing.TB) *store.Store) {
		s := open(t)
		if _, err := s.Create(ctx, nv("a", "v1", `{"n":1}`, true)); err != nil {
			t.Fatal(err)
		}
		boom := errors.New("connection lost")
		s.SetBeforeCommit(func() error { return boom })
		if _, err := s.Update(ctx, 0, nv("a", "v2", `{"n":2}`, false)); !errors.Is(err, boom) {
			t.Fatalf("update: %v", err)
		}
		if _, err := s.Create(ctx, nv("b", "v1", `{}`, true)); !errors.Is(err, boom) {
			t.Fatalf("create: %v", err)
		}
		s.SetBeforeCommit(nil)
		cur, err := s.Get(ctx, "a")
		if err != nil || cur.Seq != 1 || cur.Version != "v1" || !cur.Active {
			t.Fatalf("half-written update: %+v %v", cur, err)
		}
		if _, err := s.GetVersion(ctx, "a", 2); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("version 2 exists after a failed update: %v", err)
		}
		if _, err := s.Get(ctx, "b"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("half-written create: %v", err)
		}
		// The failed create did not burn the id.
		if _, err := s.Create(ctx, nv("b", "v1", `{}`, true)); err != nil {
			t.Fatal(err)
		}
	})
}

func TestReopenKeepsDataAndMigratesOnce(t *testing.T) {
	dir := t.TempDir()
	s, err := store.Open(ctx, store.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(ctx, nv("a", "v1", `{}`, true)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = store.Open(ctx, store.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Get(ctx, "a"); err != nil {
		t.Fatalf("after reopening: %v", err)
	}

	u := storetest.PostgresURL(t)
	for range 2 {
		p, err := store.Open(ctx, store.Options{DatabaseURL: u})
		if err != nil {
			t.Fatal(err)
		}
		if p.Dialect() != store.Postgres || strings.Contains(p.Where(), "@") {
			t.Fatalf("dialect %s, where %s", p.Dialect(), p.Where())
		}
		p.Close()
	}
}

func TestUnavailableDatabase(t *testing.T) {
	start := time.Now()
	_, err := store.Open(ctx, store.Options{DatabaseURL: "postgres://nobody:secret@127.0.0.1:1/none?sslmode=disable", ConnectTimeout: 2 * time.Second})
	if err == nil || !strings.Contains(err.Error(), "unavailable") || strings.Contains(err.Error(), "secret") {
		t.Fatalf("error %v: want a clear 'unavailable' message without the password", err)
	}
	if time.Since(start) > 10*time.Second {
		t.Fatal("took too long to give up")
	}
	if _, err := store.Open(ctx, store.Options{DatabaseURL: "sqlite:/nonexistent-dir/x/starter.db"}); err == nil {
		t.Fatal("opened a SQLite file in a missing directory")
	}
	// A closed store fails requests (the HTTP layer answers 503).
	s := storetest.SQLite(t)
	s.Close()
	if _, err := s.List(ctx); err == nil {
		t.Fatal("closed store answered")
	}
}
