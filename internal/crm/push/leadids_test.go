package push_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/conecrm/automation-runtime/internal/crm"
	"github.com/conecrm/automation-runtime/internal/crm/push"
	"github.com/conecrm/automation-runtime/internal/devkit/crmfake"
)

// A lead without an account has nowhere in ConeCRM to keep thirdPartyIds
// (seed 003 writes them only on accounts): its ids are recorded by lead in
// the store, a later push of the lead updates instead of creating again,
// and once the lead has an account the ids are written back to it.
func TestLeadWithoutAccountRecordsIDs(t *testing.T) {
	for name, open := range sharedStores() {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			sf := crmfake.NewSalesforce()
			srv := httptest.NewServer(sf)
			defer srv.Close()
			s, other := open(t)
			cipher, _ := crm.NewCipher(make([]byte, 32))
			raw, _ := json.Marshal(salesforceIntegration(t, srv.URL))
			sealed, _ := cipher.Seal("crm_test", crm.Credentials{Secret: "token"})
			if err := s.Create(ctx, crm.Record{HeronID: "crm_test", Integration: raw, SealedCredentials: sealed, CreatedAt: time.Now(), UpdatedAt: time.Now()}); err != nil {
				t.Fatal(err)
			}
			w := &recorder{}
			var pushers []*push.Pusher
			for _, st := range []sharedStore{s, other} {
				p, err := push.New(push.Options{Store: st, Cipher: cipher, Writer: w})
				if err != nil {
					t.Fatal(err)
				}
				pushers = append(pushers, p)
			}
			rec := leadRecord()
			delete(rec["account"].(map[string]any), "id")
			res, err := pushers[0].Push(ctx, push.Request{IntegrationID: "crm_test", Record: rec, Today: "2026-11-29"})
			if err != nil {
				t.Fatal(err)
			}
			if !res.RecordedForLead || res.WrittenBack || w.calls != 0 || sf.Stats().Creates != 3 {
				t.Fatalf("first push: recorded %v, written back %v, stats %+v", res.RecordedForLead, res.WrittenBack, sf.Stats())
			}
			// Another worker, the same lead, still without an account.
			res2, err := pushers[1].Push(ctx, push.Request{IntegrationID: "crm_test", Record: rec, Today: "2026-11-29"})
			if err != nil {
				t.Fatal(err)
			}
			if st := sf.Stats(); st.Creates != 3 || st.Updates != 3 || res2.RecordedForLead {
				t.Fatalf("second push: %+v, recorded again %v", st, res2.RecordedForLead)
			}
			for i, o := range res2.Objects {
				if o.ID != res.Objects[i].ID {
					t.Fatalf("object %s: %s then %s", o.Key, res.Objects[i].ID, o.ID)
				}
			}
			// The lead gets an account: the recorded ids go to it.
			rec["account"].(map[string]any)["id"] = "acc-new"
			res3, err := pushers[0].Push(ctx, push.Request{IntegrationID: "crm_test", Record: rec, Today: "2026-11-29"})
			if err != nil {
				t.Fatal(err)
			}
			if st := sf.Stats(); st.Creates != 3 || !res3.WrittenBack || w.calls != 1 || len(w.ids) != 3 {
				t.Fatalf("push with an account: %+v, written back %v, ids %v", st, res3.WrittenBack, w.ids)
			}
		})
	}
}
