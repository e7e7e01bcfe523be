package store

import "time"

// SetBeforeCommit makes every transaction run f before committing.
func (s *Store) SetBeforeCommit(f func() error) { s.beforeCommit = f }

// SetClock replaces the clock and the claim lease.
func (s *Store) SetClock(now func() time.Time, lease time.Duration) { s.now, s.lease = now, lease }
