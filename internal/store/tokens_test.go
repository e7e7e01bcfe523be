package store_test

import (
	"errors"
	"testing"
	"time"

	"github.com/conecrm/automation-runtime/internal/auth"
	"github.com/conecrm/automation-runtime/internal/devkit/storetest"
	"github.com/conecrm/automation-runtime/internal/store"
)

func TestTokensStoredHashed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, open func(testing.TB) *store.Store) {
		s := open(t)
		const f1, f2 = "0192f0a0-0007-7000-8000-000000000001", "0192f0a0-0007-7000-8000-000000000002"
		c1, err := auth.Issue(ctx, s, auth.NewToken{Name: "dealer one", Franchise: f1}, "admin", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := auth.Issue(ctx, s, auth.NewToken{Name: "dealer two", Franchise: f2}, "admin", time.Now()); err != nil {
			t.Fatal(err)
		}
		a := &auth.Authenticator{AdminToken: "admin-secret", Tokens: s}
		id, err := a.Authenticate(ctx, c1.Secret)
		if err != nil || id.Franchise != f1 || id.TokenID != c1.Token.ID || id.Admin() {
			t.Fatalf("authenticate scoped: %+v %v", id, err)
		}
		if id, err := a.Authenticate(ctx, "admin-secret"); err != nil || !id.Admin() {
			t.Fatalf("authenticate admin: %+v %v", id, err)
		}
		// The store holds the hash, never the secret: looking the secret
		// itself up as a hash finds nothing.
		if _, err := s.TokenByHash(ctx, c1.Secret); !errors.Is(err, auth.ErrUnknownToken) {
			t.Fatalf("secret found as a hash: %v", err)
		}
		if l, err := s.ListTokens(ctx, f2); err != nil || len(l) != 1 || l[0].Franchise != f2 {
			t.Fatalf("list f2: %+v %v", l, err)
		}
		if l, err := s.ListTokens(ctx, ""); err != nil || len(l) != 2 {
			t.Fatalf("list all: %+v %v", l, err)
		}
		if err := s.RevokeToken(ctx, c1.Token.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Authenticate(ctx, c1.Secret); !errors.Is(err, auth.ErrUnknownToken) {
			t.Fatalf("revoked token still works: %v", err)
		}
		if err := s.RevokeToken(ctx, c1.Token.ID); !errors.Is(err, auth.ErrUnknownToken) {
			t.Fatalf("second revoke: %v", err)
		}
	})
}

func TestAutomationFranchiseAndRecordFields(t *testing.T) {
	storetest.Each(t, func(t *testing.T, open func(testing.TB) *store.Store) {
		s := open(t)
		a := nv("a1", "v1", `{"name":"one"}`, true)
		a.Franchise, a.By = "f1", "u-create"
		if _, err := s.Create(ctx, a); err != nil {
			t.Fatal(err)
		}
		b := nv("b1", "v1", `{"name":"two"}`, true)
		b.Franchise = "f2"
		if _, err := s.Create(ctx, b); err != nil {
			t.Fatal(err)
		}
		a2 := nv("a1", "v2", `{"name":"one!"}`, true)
		a2.Franchise, a2.By = "f1", "u-edit"
		got, err := s.Update(ctx, 0, a2)
		if err != nil || got.Franchise != "f1" || got.CreatedBy != "u-create" || got.ModifiedBy != "u-edit" || !got.DeletedAt.IsZero() {
			t.Fatalf("updated %+v %v", got, err)
		}
		if l, err := s.ListFranchise(ctx, "f1"); err != nil || len(l) != 1 || l[0].ID != "a1" {
			t.Fatalf("list f1: %+v %v", l, err)
		}
		if l, err := s.ListFranchise(ctx, ""); err != nil || len(l) != 2 {
			t.Fatalf("list all: %+v %v", l, err)
		}
		if err := s.Delete(ctx, "a1", "u-del"); err != nil {
			t.Fatal(err)
		}
		old, err := s.GetVersion(ctx, "a1", 2)
		if err != nil || old.DeletedBy != "u-del" || old.DeletedAt.IsZero() || !old.Deleted {
			t.Fatalf("deleted %+v %v", old, err)
		}
	})
}
