package event

import "testing"

func TestTypes(t *testing.T) {
	for _, tc := range []struct {
		typ  string
		want bool
	}{
		{TypeLeadCreated, true},
		{TypeLeadUpdated, true},
		{TypeLeadStageChanged, true},
		{TypeLeadAssigned, true},
		{TypeLeadClosed, true},
		{"lead_created", false},
		{"", false},
		{"LEAD_DELETED", false},
	} {
		if got := IsType(tc.typ); got != tc.want {
			t.Errorf("IsType(%q) = %v, want %v", tc.typ, got, tc.want)
		}
	}
	// Callers get a copy: changing it does not change the list.
	ts := Types()
	ts[0] = "X"
	if Types()[0] != TypeLeadCreated || len(Types()) != 5 {
		t.Errorf("Types() = %v", Types())
	}
}
