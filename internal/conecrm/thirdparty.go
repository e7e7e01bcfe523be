package conecrm

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// DefaultWriteBackWindow bounds one read-merge-write of an account's
// thirdPartyIds and is how long AddThirdPartyIDs waits before checking that
// its write stuck (see AddThirdPartyIDs).
const DefaultWriteBackWindow = 5 * time.Second

// maxWriteBackRounds bounds the read-merge-write rounds of one call; every
// round after the first means another writer overwrote the account
// meanwhile, so reaching the bound takes a storm of concurrent writers.
const maxWriteBackRounds = 10

// lockAccount serialises the read-merge-write of one account among the
// users of this client (a worker shares one), so runs on one worker never
// race each other; writers on other workers are handled by the verify round
// of AddThirdPartyIDs.
func (c *Client) lockAccount(id string) func() {
	m, _ := c.accountLocks.LoadOrStore(id, &sync.Mutex{})
	mu := m.(*sync.Mutex)
	mu.Lock()
	return mu.Unlock
}

// AddThirdPartyIDs merges ids into the account's thirdPartyIds so that they
// survive concurrent writers, and returns the account as last read and
// whether this call wrote anything.
//
// ConeCRM has no atomic append (seed 003: PATCH /api/account/{account}
// replaces the whole list), so two writers that read the same list each
// write it back with only their own ids, and the second erases the first's.
// AddThirdPartyIDs converges instead:
//
//  1. read the account, merge ids by systemName, PATCH the merged list; the
//     read and the PATCH must both finish within the window (a context
//     deadline), so any writer's stale PATCH lands at most one window after
//     the read it was based on;
//  2. wait one window (plus jitter), then read again: every PATCH based on a read made
//     before ours landed has now landed too, and every later PATCH was
//     based on a list holding our ids (merging keeps the others' entries);
//  3. if an id of ours is missing, or its systemName is back to the value
//     we replaced, a stale writer erased it: merge and write again (go to 1).
//     If the systemName holds a third value, another run wrote a newer id
//     for the same object; that write wins and is not fought over, so two
//     runs never flip one entry back and forth.
//
// Within one process the read-merge-write of an account is also serialised,
// so runs on the same worker never need a second round. No Idempotency-Key
// is sent: writing a whole list is idempotent by itself, and a server that
// replayed an earlier answer for the same body would hide that a stale
// writer erased our ids in between.
//
// The guarantee assumes ConeCRM applies a PATCH within the window of the
// client that sent it (DefaultWriteBackWindow, 5 s: three times ConeCRM's
// usual answer time even under load); a PATCH the server applies later
// than that is not covered by any client-side scheme without a
// compare-and-set on the server.
func (c *Client) AddThirdPartyIDs(ctx context.Context, accountID string, ids []ThirdPartyID) (*Account, bool, error) {
	window := c.cfg.WriteBackWindow
	if window <= 0 {
		window = DefaultWriteBackWindow
	}
	var (
		before = map[string]*string{} // systemName → id before our first write (nil: absent)
		wrote  bool
	)
	for round := 1; round <= maxWriteBackRounds; round++ {
		acc, changed, err := c.writeBackRound(ctx, accountID, ids, window, round == 1, before)
		if err != nil {
			return nil, wrote, err
		}
		if !changed {
			return acc, wrote, nil
		}
		wrote = true
		select {
		case <-ctx.Done():
			return nil, wrote, &Error{Operation: "write thirdPartyIds", Object: "account " + accountID, Err: ctx.Err()}
		case <-time.After(window + jitter(window)):
		}
	}
	return nil, wrote, &Error{Operation: "write thirdPartyIds", Object: "account " + accountID,
		Err: fmt.Errorf("other writers kept overwriting the account's thirdPartyIds for %d rounds", maxWriteBackRounds)}
}

// jitter is up to half a window, so writers that collided once do not
// collide again in lockstep.
func jitter(window time.Duration) time.Duration {
	return time.Duration(rand.Int64N(int64(window)/2 + 1))
}

// writeBackRound reads the account, merges ids in and writes the result
// when it differs, all within one window. The first round records what each
// systemName held; later rounds leave alone an id another run replaced with
// a third value.
func (c *Client) writeBackRound(ctx context.Context, accountID string, ids []ThirdPartyID, window time.Duration, first bool, before map[string]*string) (*Account, bool, error) {
	unlock := c.lockAccount(accountID)
	defer unlock()
	rctx, cancel := context.WithTimeout(ctx, window)
	defer cancel()
	acc, err := c.ReadAccount(rctx, accountID)
	if err != nil {
		return nil, false, c.windowError(ctx, accountID, window, err)
	}
	current := map[string]string{}
	for _, t := range acc.ThirdPartyIDs {
		current[t.SystemName] = t.ThirdPartyID
	}
	want := make([]ThirdPartyID, 0, len(ids))
	for _, t := range ids {
		cur, ok := current[t.SystemName]
		if first {
			if ok {
				before[t.SystemName] = &cur
			} else {
				before[t.SystemName] = nil
			}
			want = append(want, t)
			continue
		}
		// Missing, or back to the value we replaced: a stale writer erased
		// it. Equal to ours: no change. A third value: a newer write wins.
		if prev := before[t.SystemName]; !ok || (prev != nil && cur == *prev) || cur == t.ThirdPartyID {
			want = append(want, t)
		}
	}
	merged, changed := MergeThirdPartyIDs(acc.ThirdPartyIDs, want)
	if !changed {
		return acc, false, nil
	}
	written, err := c.UpdateAccountThirdPartyIDs(rctx, accountID, merged, "")
	if err != nil {
		return nil, false, c.windowError(ctx, accountID, window, err)
	}
	return written, true, nil
}

// windowError names the write-back window when it, not the caller's
// context, ended a call.
func (c *Client) windowError(ctx context.Context, accountID string, window time.Duration, err error) error {
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
		return &Error{Operation: "write thirdPartyIds", Object: "account " + accountID, Err: fmt.Errorf("no answer within the write-back window (%s)", window)}
	}
	return err
}
