package push

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/conecrm/automation-runtime/internal/crm"
)

// FranchiseOf returns the lead's franchise id (lead.franchise.id), whose
// link a push goes through.
func FranchiseOf(record map[string]any) string {
	f, _ := record["franchise"].(map[string]any)
	id, _ := f["id"].(string)
	return id
}

// link finds the link of the lead's franchise and opens its own
// credentials. No link: nil, and the integration's own credentials are
// used. A link that needs a login fails the push at once, without calling
// the vendor.
func (p *Pusher) link(ctx context.Context, integrationID string, in *crm.Integration, record map[string]any) (*crm.Link, crm.Credentials, error) {
	franchise := FranchiseOf(record)
	if p.opts.Links == nil || franchise == "" {
		return nil, crm.Credentials{}, nil
	}
	l, err := p.opts.Links.LinkFor(ctx, integrationID, franchise)
	if errors.Is(err, crm.ErrNotFound) {
		return nil, crm.Credentials{}, nil
	}
	if err != nil {
		return nil, crm.Credentials{}, fmt.Errorf("load the franchise's link: %w", err)
	}
	if l.Status == crm.LinkLoginRequired {
		return nil, crm.Credentials{}, &crm.Error{Provider: in.Provider, Message: l.StatusMessage}
	}
	lc, err := p.opts.Cipher.Open(crm.LinkSealID(integrationID, franchise), l.SealedCredentials)
	if err != nil {
		return nil, crm.Credentials{}, rejected("link " + l.ItemID + ": " + err.Error())
	}
	return &l, lc, nil
}

// withLink returns the credentials a push through a link uses: the link's
// access token replaces the integration's secret, its auth keys (a refresh
// token) override the integration's (whose client_id and client_secret
// stay).
func withLink(base, link crm.Credentials) crm.Credentials {
	out := crm.Credentials{Secret: link.Secret, Auth: make(map[string]any, len(base.Auth)+len(link.Auth))}
	for k, v := range base.Auth {
		// The integration's refresh token and expiry belong to its own
		// token, not the link's.
		if k != crm.AuthExpiresAt && k != crm.AuthRefreshToken {
			out.Auth[k] = v
		}
	}
	for k, v := range link.Auth {
		out.Auth[k] = v
	}
	return out
}

// LoginRequiredMessage is the status_message of a link whose credentials
// the vendor refused.
func LoginRequiredMessage(provider string, err error) string {
	reason := "HTTP 401"
	if e, ok := crm.AsError(err); ok && e.Code != "" {
		reason = e.Code
	}
	return fmt.Sprintf("%s %s refused the link's credentials (%s): a user login is required to update them. Update the link (POST /api/integrations/{heron_id}/links with a new access_token) to restore it", crm.LoginRequiredPrefix, provider, reason)
}

// loginRequired marks the link login-required; whichever worker changes
// the status sends the notification.
func (p *Pusher) loginRequired(ctx context.Context, in *crm.Integration, l *crm.Link, cause error) {
	now := time.Now().UTC()
	msg := LoginRequiredMessage(in.Provider, cause)
	changed, err := p.opts.Links.SetLinkStatus(ctx, l.IntegrationID, l.EndUserID, l.Version, crm.LinkLoginRequired, msg, now)
	if err != nil {
		p.opts.Logger.Warn().Err(err).Str("integration", l.IntegrationID).Str("item_id", l.ItemID).Msg("marking the link login-required")
		return
	}
	if !changed {
		return
	}
	p.opts.Logger.Warn().Str("integration", l.IntegrationID).Str("item_id", l.ItemID).Msg("crm link needs a login")
	p.opts.Notifier.Notify(ctx, in.FailureNotificationChannel, crm.LinkNotification{
		Type: crm.LinkStatusChanged, IntegrationID: l.IntegrationID, Provider: in.Provider, ItemID: l.ItemID,
		EndUserID: l.EndUserID, EndUserName: l.EndUserName, Status: crm.LinkLoginRequired,
		PreviousStatus: l.Status, StatusMessage: msg, OccurredAt: now,
	})
}
