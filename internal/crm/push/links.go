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

// link finds the link of the lead's franchise and puts its credentials in
// creds: its access token replaces the integration's secret, its auth keys
// (a refresh token) override the integration's. No link: nil, and the
// integration's own credentials are used. A link that needs a login fails
// the push at once, without calling the vendor.
func (p *Pusher) link(ctx context.Context, integrationID string, in *crm.Integration, record map[string]any, creds *crm.Credentials) (*crm.Link, error) {
	franchise := FranchiseOf(record)
	if p.opts.Links == nil || franchise == "" {
		return nil, nil
	}
	l, err := p.opts.Links.LinkFor(ctx, integrationID, franchise)
	if errors.Is(err, crm.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load the franchise's link: %w", err)
	}
	if l.Status == crm.LinkLoginRequired {
		return nil, &crm.Error{Provider: in.Provider, Message: l.StatusMessage}
	}
	lc, err := p.opts.Cipher.Open(crm.LinkSealID(integrationID, franchise), l.SealedCredentials)
	if err != nil {
		return nil, rejected("link " + l.ItemID + ": " + err.Error())
	}
	creds.Secret = lc.Secret
	if len(lc.Auth) > 0 {
		merged := make(map[string]any, len(creds.Auth)+len(lc.Auth))
		for k, v := range creds.Auth {
			merged[k] = v
		}
		for k, v := range lc.Auth {
			merged[k] = v
		}
		creds.Auth = merged
	}
	return &l, nil
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
