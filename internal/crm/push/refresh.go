package push

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"maps"
	"time"

	"github.com/conecrm/automation-runtime/internal/crm"
)

// Token refresh timing. The lease outlives one token request (the vendor
// HTTP timeout is 30 s), so a holder that is still working keeps it; a
// holder that died frees it when it expires.
const (
	refreshLeaseTTL = 45 * time.Second
	// refreshWait bounds how long a push waits for another worker's
	// refresh before failing retryably.
	refreshWait = 60 * time.Second
	// expiryMargin refreshes a token with a recorded expiry this long
	// before it, rather than sending a request it would fail.
	expiryMargin = time.Minute
)

// credSource is where a push's access token lives: the franchise's link,
// or the integration itself. A refresh writes the new token back there.
type credSource struct {
	integrationID string
	provider      string
	instanceURL   string
	// base is the integration's own credentials (client id and secret).
	base crm.Credentials
	// baseSealed is base as stored: the compare-and-set's old value.
	baseSealed []byte
	// link is nil when the push uses the integration's credentials.
	link    *crm.Link
	linkOwn crm.Credentials
}

// effective returns the credentials a push uses.
func (s *credSource) effective() crm.Credentials {
	if s.link != nil {
		return withLink(s.base, s.linkOwn)
	}
	return s.base
}

func (s *credSource) leaseName() string {
	if s.link != nil {
		return "token-refresh/" + crm.LinkSealID(s.integrationID, s.link.EndUserID)
	}
	return "token-refresh/" + s.integrationID
}

// reload reads the source's current credentials from the store.
func (p *Pusher) reload(ctx context.Context, s *credSource) error {
	if s.link != nil {
		l, err := p.opts.Links.LinkFor(ctx, s.integrationID, s.link.EndUserID)
		if err != nil {
			return fmt.Errorf("reload the franchise's link: %w", err)
		}
		if l.Status == crm.LinkLoginRequired {
			return &crm.Error{Provider: s.provider, Message: l.StatusMessage}
		}
		own, err := p.opts.Cipher.Open(crm.LinkSealID(s.integrationID, l.EndUserID), l.SealedCredentials)
		if err != nil {
			return rejected("link " + l.ItemID + ": " + err.Error())
		}
		s.link, s.linkOwn = &l, own
		return nil
	}
	rec, err := p.opts.Store.Get(ctx, s.integrationID)
	if err != nil {
		return fmt.Errorf("reload the integration: %w", err)
	}
	base, err := p.opts.Cipher.Open(rec.HeronID, rec.SealedCredentials)
	if err != nil {
		return rejected(err.Error())
	}
	s.base, s.baseSealed = base, rec.SealedCredentials
	return nil
}

// refresh replaces the access token stale, which the vendor refused or
// which has expired, and returns the credentials to push with. Workers
// sharing the store refresh a token once: the one holding the store's
// lease asks the vendor and stores the new token sealed; the others wait
// until the stored token is no longer stale and use the new one.
func (p *Pusher) refresh(ctx context.Context, s *credSource, stale string) (crm.Credentials, error) {
	holder := newHolder()
	deadline := time.Now().Add(refreshWait)
	for poll := 20 * time.Millisecond; ; poll = min(poll*2, 250*time.Millisecond) {
		if err := p.reload(ctx, s); err != nil {
			return crm.Credentials{}, err
		}
		if cur := s.effective(); cur.Secret != stale {
			return cur, nil // another worker refreshed it
		}
		ok := true
		if p.opts.Leases != nil {
			var err error
			if ok, err = p.opts.Leases.AcquireLease(ctx, s.leaseName(), holder, refreshLeaseTTL, time.Now()); err != nil {
				return crm.Credentials{}, fmt.Errorf("token refresh lease: %w", err)
			}
		}
		if ok {
			return p.refreshHolding(ctx, s, stale, holder)
		}
		if time.Now().After(deadline) {
			return crm.Credentials{}, &crm.Error{Provider: s.provider, Retryable: true, Message: "another worker's token refresh did not finish in time"}
		}
		t := time.NewTimer(poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return crm.Credentials{}, ctx.Err()
		case <-t.C:
		}
	}
}

// refreshHolding asks the vendor for a new token while holding the lease.
func (p *Pusher) refreshHolding(ctx context.Context, s *credSource, stale, holder string) (crm.Credentials, error) {
	if p.opts.Leases != nil {
		defer func() {
			// The lease must go even when ctx is done, or waiters sit out
			// its TTL.
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if err := p.opts.Leases.ReleaseLease(rctx, s.leaseName(), holder); err != nil {
				p.opts.Logger.Warn().Err(err).Str("integration", s.integrationID).Msg("releasing the token refresh lease")
			}
		}()
		// The token may have changed between the last read and the lease.
		if err := p.reload(ctx, s); err != nil {
			return crm.Credentials{}, err
		}
		if cur := s.effective(); cur.Secret != stale {
			return cur, nil
		}
	}
	cur := s.effective()
	now := time.Now()
	tok, err := crm.RefreshAccessToken(ctx, p.opts.HTTPClient, s.provider, crm.TokenURL(s.provider, s.instanceURL), cur, now)
	if err != nil {
		return crm.Credentials{}, err
	}
	own := s.base
	if s.link != nil {
		own = s.linkOwn
	}
	own = updated(own, tok)
	if s.link != nil {
		sealed, err := p.opts.Cipher.Seal(crm.LinkSealID(s.integrationID, s.link.EndUserID), own)
		if err != nil {
			return crm.Credentials{}, err
		}
		v, ok, err := p.opts.Links.ReplaceLinkCredentials(ctx, s.integrationID, s.link.EndUserID, s.link.Version, sealed, now.UTC())
		if err != nil {
			return crm.Credentials{}, fmt.Errorf("store the refreshed token: %w", err)
		}
		if ok {
			l := *s.link
			l.Version, l.SealedCredentials = v, sealed
			s.link, s.linkOwn = &l, own
		}
	} else {
		cs, _ := p.opts.Store.(crm.CredentialStore)
		if cs == nil {
			return crm.Credentials{}, rejected("the integration store cannot keep refreshed tokens")
		}
		sealed, err := p.opts.Cipher.Seal(s.integrationID, own)
		if err != nil {
			return crm.Credentials{}, err
		}
		ok, err := cs.ReplaceCredentials(ctx, s.integrationID, s.baseSealed, sealed)
		if err != nil {
			return crm.Credentials{}, fmt.Errorf("store the refreshed token: %w", err)
		}
		if ok {
			s.base, s.baseSealed = own, sealed
		}
	}
	// Not stored (a PATCH or a link update replaced the credentials
	// meanwhile): the new token is still good for this push.
	p.opts.Logger.Info().Str("integration", s.integrationID).Str("provider", s.provider).Bool("link", s.link != nil).Msg("crm access token refreshed")
	out := s.effective()
	if out.Secret == stale {
		out = withToken(out, own)
	}
	return out, nil
}

// updated returns own with the new token (and rotated refresh token and
// expiry, when the vendor gave them).
func updated(own crm.Credentials, tok crm.Token) crm.Credentials {
	out := crm.Credentials{Secret: tok.AccessToken, Auth: maps.Clone(own.Auth)}
	if out.Auth == nil {
		out.Auth = map[string]any{}
	}
	if tok.RefreshToken != "" {
		out.Auth[crm.AuthRefreshToken] = tok.RefreshToken
	}
	delete(out.Auth, crm.AuthExpiresAt)
	if !tok.ExpiresAt.IsZero() {
		out.Auth[crm.AuthExpiresAt] = float64(tok.ExpiresAt.UnixMilli())
	}
	return out
}

func withToken(c, own crm.Credentials) crm.Credentials {
	out := crm.Credentials{Secret: own.Secret, Auth: maps.Clone(c.Auth)}
	if out.Auth == nil {
		out.Auth = map[string]any{}
	}
	maps.Copy(out.Auth, own.Auth)
	return out
}

func newHolder() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
