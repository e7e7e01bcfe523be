package push_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/conecrm/automation-runtime/internal/crm"
	"github.com/conecrm/automation-runtime/internal/crm/push"
	"github.com/conecrm/automation-runtime/internal/devkit/crmfake"
)

// A push refuses, non-retryably and before calling the vendor, an
// integration of another franchise than the run's lead; shared
// integrations and the franchise's own go through.
func TestPushFranchiseCheck(t *testing.T) {
	const (
		montreal = "8adccb95-17cd-461f-b68f-360e765b8df8"
		quebec   = "3f1c1e2a-5b0d-4c8e-9d7a-2b6f0e4a9c11"
	)
	cases := []struct {
		name, owner, lead, wantErr string
	}{
		{name: "shared integration", owner: "", lead: quebec},
		{name: "shared integration, lead without franchise", owner: "", lead: ""},
		{name: "the franchise's own", owner: montreal, lead: montreal},
		{name: "another franchise's", owner: montreal, lead: quebec, wantErr: "belongs to franchise " + montreal + ", not to this run's franchise " + quebec},
		{name: "franchise integration, lead without franchise", owner: montreal, lead: "", wantErr: "this run's lead names no franchise (lead.franchise.id)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sf := crmfake.NewSalesforce()
			srv := httptest.NewServer(sf)
			defer srv.Close()
			in := salesforceIntegration(t, srv.URL)
			in.FranchiseID = c.owner
			p := newPusher(t, in, crm.Credentials{Secret: "token"}, nil)
			rec := leadRecord()
			if c.lead != "" {
				rec["franchise"] = map[string]any{"id": c.lead}
			}
			_, err := p.Push(context.Background(), push.Request{IntegrationID: "crm_test", Record: rec, Today: "2026-11-29"})
			if c.wantErr == "" {
				if err != nil || len(sf.Records("Account")) != 1 {
					t.Fatalf("push: %v", err)
				}
				return
			}
			if err == nil || crm.IsRetryable(err) || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("error %v, want a non-retryable one containing %q", err, c.wantErr)
			}
			if n := len(sf.Requests()); n != 0 {
				t.Fatalf("%d requests sent through another franchise's integration", n)
			}
		})
	}
}
