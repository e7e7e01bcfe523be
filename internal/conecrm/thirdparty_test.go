package conecrm_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/conecrm/automation-runtime/internal/conecrm"
	"github.com/conecrm/automation-runtime/internal/devkit/sandbox"
)

// writers returns n clients of one sandbox that share nothing (no account
// lock, no connection), as n workers would.
func writers(t *testing.T, sb *sandbox.Server, n int, window time.Duration) []*conecrm.Client {
	t.Helper()
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	out := make([]*conecrm.Client, n)
	for i := range out {
		out[i] = conecrm.New(conecrm.Config{BaseURL: srv.URL, Token: "jwt", WriteBackWindow: window}, &http.Client{Timeout: 5 * time.Second})
	}
	return out
}

// slowAccounts delays every account call, so concurrent writers read the
// same list before any of them writes it back: the lost-update race.
func slowAccounts(t *testing.T, latency time.Duration) *sandbox.Server {
	t.Helper()
	return sandbox.New("jwt", sandbox.WithFaults(sandbox.FaultConfig{Seed: 3, Faults: []sandbox.Fault{
		{Route: "PATCH /api/account/{account}", Kind: sandbox.FaultLatency, Latency: sandbox.Duration(latency)},
	}}))
}

// concurrently runs fn(i) for i < n at once and returns their errors.
func concurrently(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = fn(i)
		}()
	}
	close(start)
	wg.Wait()
	return errs
}

// addWithRetries retries retryable failures, as the activity's retry
// policy would.
func addWithRetries(ctx context.Context, c *conecrm.Client, account string, ids []conecrm.ThirdPartyID) error {
	var err error
	for range 5 {
		if _, _, err = c.AddThirdPartyIDs(ctx, account, ids); err == nil {
			return nil
		}
		if e, ok := err.(*conecrm.Error); !ok || !e.Retryable() {
			return err
		}
	}
	return err
}

func idsOf(acc conecrm.Account) map[string]string {
	out := map[string]string{}
	for _, t := range acc.ThirdPartyIDs {
		out[t.SystemName] = t.ThirdPartyID
	}
	return out
}

// TestConcurrentWriteBacksKeepEveryID: writers on different workers add
// ids for different systems to one account at the same moment; every id is
// on the account at the end, and the seeded DMS id too.
func TestConcurrentWriteBacksKeepEveryID(t *testing.T) {
	for _, n := range []int{2, 4} {
		t.Run(fmt.Sprintf("%d writers", n), func(t *testing.T) {
			sb := slowAccounts(t, 100*time.Millisecond)
			cs := writers(t, sb, n, time.Second)
			errs := concurrently(n, func(i int) error {
				return addWithRetries(context.Background(), cs[i], sandbox.AccountAlice, []conecrm.ThirdPartyID{{SystemName: fmt.Sprintf("hubspot:crm_%d:contact", i), ThirdPartyID: fmt.Sprint(1000 + i)}})
			})
			for i, err := range errs {
				if err != nil {
					t.Fatalf("writer %d: %v", i, err)
				}
			}
			acc, _ := sb.Account(sandbox.AccountAlice)
			got := idsOf(acc)
			for i := range n {
				if got[fmt.Sprintf("hubspot:crm_%d:contact", i)] != fmt.Sprint(1000+i) {
					t.Errorf("writer %d's id is missing: %v", i, got)
				}
			}
			if got["DMS"] != "CUST-100231" || len(got) != n+1 {
				t.Errorf("account ids %v", got)
			}
			writes := 0
			for _, r := range sb.Requests() {
				if r.Method == http.MethodPatch && r.Body != "{}" {
					writes++
				}
			}
			t.Logf("%d writers: %d PATCH writes (%d beyond one each)", n, writes, writes-n)
		})
	}
}

// TestConcurrentWriteBacksSameSystemConverge: two runs write different ids
// for the same systemName at once; both calls end, and the account keeps
// one of the two rather than flipping between them.
func TestConcurrentWriteBacksSameSystemConverge(t *testing.T) {
	sb := slowAccounts(t, 100*time.Millisecond)
	cs := writers(t, sb, 2, time.Second)
	errs := concurrently(2, func(i int) error {
		return addWithRetries(context.Background(), cs[i], sandbox.AccountBob, []conecrm.ThirdPartyID{{SystemName: "salesforce:crm_1:account", ThirdPartyID: fmt.Sprint("001A", i)}})
	})
	for i, err := range errs {
		if err != nil {
			t.Fatalf("writer %d: %v", i, err)
		}
	}
	acc, _ := sb.Account(sandbox.AccountBob)
	if got := idsOf(acc)["salesforce:crm_1:account"]; got != "001A0" && got != "001A1" {
		t.Fatalf("account ids %v", acc.ThirdPartyIDs)
	}
}

// TestNaiveWriteBackLosesIDs shows the race the test above guards against:
// the plain read-merge-PATCH of two writers under the same latency. It
// logs rather than asserts, since whether the reads overlap depends on
// scheduling.
func TestNaiveWriteBackLosesIDs(t *testing.T) {
	sb := slowAccounts(t, 200*time.Millisecond)
	cs := writers(t, sb, 2, time.Second)
	concurrently(2, func(i int) error {
		_, _, err := cs[i].WriteThirdPartyIDs(context.Background(), sandbox.AccountChloe, nil, []conecrm.ThirdPartyID{{SystemName: fmt.Sprintf("sys-%d", i), ThirdPartyID: "x"}}, "")
		return err
	})
	acc, _ := sb.Account(sandbox.AccountChloe)
	t.Logf("plain read-merge-PATCH by two writers at once kept %d of 2 ids", len(acc.ThirdPartyIDs))
}

// TestWriteBackRestoresErasedID: a stale write erases the id after the
// first write; the verify round puts it back.
func TestWriteBackRestoresErasedID(t *testing.T) {
	sb := sandbox.New("jwt")
	cs := writers(t, sb, 2, 2*time.Second)
	done := make(chan error, 1)
	go func() {
		_, wrote, err := cs[0].AddThirdPartyIDs(context.Background(), sandbox.AccountDavid, []conecrm.ThirdPartyID{{SystemName: "mine", ThirdPartyID: "1"}})
		if err == nil && !wrote {
			err = fmt.Errorf("nothing written")
		}
		done <- err
	}()
	// Wait for the first write, then overwrite the list as a writer that
	// read it before would.
	for {
		if acc, _ := sb.Account(sandbox.AccountDavid); len(acc.ThirdPartyIDs) == 1 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, err := cs[1].UpdateAccountThirdPartyIDs(context.Background(), sandbox.AccountDavid, []conecrm.ThirdPartyID{{SystemName: "theirs", ThirdPartyID: "2"}}, ""); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	acc, _ := sb.Account(sandbox.AccountDavid)
	if got := idsOf(acc); got["mine"] != "1" || got["theirs"] != "2" {
		t.Fatalf("account ids %v", got)
	}
}
