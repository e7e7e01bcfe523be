package auth_test

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/conecrm/automation-runtime/internal/auth"
)

func TestIdentityRules(t *testing.T) {
	admin := auth.Identity{TokenID: auth.AdminTokenID}
	a := auth.Identity{TokenID: "t", Franchise: "fa"}
	cases := []struct {
		name string
		id   auth.Identity
		f    string
		want bool
	}{
		{"admin sees a franchise", admin, "fa", true},
		{"admin sees shared objects", admin, "", true},
		{"scoped sees its own", a, "fa", true},
		{"scoped does not see another", a, "fb", false},
		{"scoped does not see shared objects", a, "", false},
		{"no identity sees nothing", auth.FromContext(context.Background()), "", false},
	}
	for _, tc := range cases {
		if got := tc.id.CanAccess(tc.f); got != tc.want {
			t.Errorf("%s: CanAccess(%q) = %v", tc.name, tc.f, got)
		}
	}
	for _, tc := range []struct {
		id        auth.Identity
		requested string
		want      string
		ok        bool
	}{
		{admin, "", "", true}, {admin, "fb", "fb", true},
		{a, "", "fa", true}, {a, "fa", "fa", true}, {a, "fb", "", false},
	} {
		if got, ok := tc.id.Scope(tc.requested); got != tc.want || ok != tc.ok {
			t.Errorf("%+v Scope(%q) = %q %v", tc.id, tc.requested, got, ok)
		}
	}
}

func TestCredential(t *testing.T) {
	for _, tc := range []struct{ header, value, want string }{
		{"Authorization", "Bearer abc", "abc"},
		{"Authorization", "Basic abc", ""},
		{"X-Api-Key", "abc", "abc"},
		{"", "", ""},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		if tc.header != "" {
			r.Header.Set(tc.header, tc.value)
		}
		if got := auth.Credential(r); got != tc.want {
			t.Errorf("%s: %q -> %q, want %q", tc.header, tc.value, got, tc.want)
		}
	}
}
