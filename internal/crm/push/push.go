// Package push is the push_to_crm service: it resolves an integration from
// the Store, decrypts its credentials (only here), maps the record, pushes
// the objects through the integration's provider and writes the external ids
// back to ConeCRM as thirdPartyIds.
package push

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/conecrm/automation-runtime/internal/crm"
	"github.com/conecrm/automation-runtime/internal/crm/hubspot"
	"github.com/conecrm/automation-runtime/internal/crm/mapping"
	"github.com/conecrm/automation-runtime/internal/crm/openint"
	"github.com/conecrm/automation-runtime/internal/crm/salesforce"
	"github.com/conecrm/automation-runtime/internal/crm/webhook"
)

// ThirdPartyID is one entry of a ConeCRM account's thirdPartyIds.
type ThirdPartyID struct {
	SystemName   string `json:"systemName"`
	ThirdPartyID string `json:"thirdPartyId"`
	Metadata     string `json:"metadata,omitempty"`
}

// ThirdPartyIDWriter writes external ids back to ConeCRM
// (PATCH /api/account/{account} with thirdPartyIds). The runtime's ConeCRM
// client implements it; it must merge ids into the account's existing list
// by systemName, replacing entries with the same systemName.
type ThirdPartyIDWriter interface {
	WriteThirdPartyIDs(ctx context.Context, accountID string, ids []ThirdPartyID) error
}

// ProviderFactory builds a provider for one integration's connection.
type ProviderFactory func(crm.Connection) (crm.Provider, error)

// DefaultProviders returns the four built-in providers by name.
func DefaultProviders() map[string]ProviderFactory {
	return map[string]ProviderFactory{
		crm.ProviderSalesforce: func(c crm.Connection) (crm.Provider, error) { return salesforce.New(c) },
		crm.ProviderHubSpot:    func(c crm.Connection) (crm.Provider, error) { return hubspot.New(c) },
		crm.ProviderOpenInt:    func(c crm.Connection) (crm.Provider, error) { return openint.New(c) },
		crm.ProviderWebhook:    func(c crm.Connection) (crm.Provider, error) { return webhook.New(c) },
	}
}

// Options configure a Pusher.
type Options struct {
	Store  crm.Store
	Cipher *crm.Cipher
	// Writer writes ids back; nil skips the write-back.
	Writer ThirdPartyIDWriter
	// HTTPClient is used for every vendor call (default: 30 s timeout).
	HTTPClient *http.Client
	// Providers defaults to DefaultProviders().
	Providers map[string]ProviderFactory
	Logger    zerolog.Logger
	// Links are the integrations' per-franchise links; nil uses Store when
	// it is also a crm.LinkStore.
	Links crm.LinkStore
	// Leases make token refreshes single-flight across workers; nil uses
	// Store when it is also a crm.LeaseStore (else refreshes are not
	// coordinated).
	Leases crm.LeaseStore
	// Rates is the request log behind the shared rate limits; nil uses
	// Store when it is also a crm.RateStore (else there are no limits).
	Rates crm.RateStore
	// LeadIDs records the CRM ids of leads without an account; nil uses
	// Store when it is also a crm.LeadIDStore.
	LeadIDs crm.LeadIDStore
	// RateRules are the limits per provider (default
	// crm.DefaultRateRules()).
	RateRules map[string][]crm.RateRule
	// Notifier posts link status changes to the integration's
	// failure_notification_channel; nil sends none.
	Notifier *crm.Notifier
}

// Pusher is safe for concurrent use; it caches compiled mapping plans per
// integration version.
type Pusher struct {
	opts  Options
	mu    sync.Mutex
	plans map[string]cachedPlan
	// holder names this Pusher in the shared rate log.
	holder string
	// learned are the rate limits vendors stated, by CRM account.
	learned map[string][]crm.RateRule
}

type cachedPlan struct {
	updatedAt time.Time
	plan      *mapping.Plan
}

// New builds a Pusher.
func New(opts Options) (*Pusher, error) {
	if opts.Store == nil || opts.Cipher == nil {
		return nil, errors.New("push: Store and Cipher are required")
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if opts.Providers == nil {
		opts.Providers = DefaultProviders()
	}
	if opts.Links == nil {
		opts.Links, _ = opts.Store.(crm.LinkStore)
	}
	if opts.Leases == nil {
		opts.Leases, _ = opts.Store.(crm.LeaseStore)
	}
	if opts.Rates == nil {
		opts.Rates, _ = opts.Store.(crm.RateStore)
	}
	if opts.LeadIDs == nil {
		opts.LeadIDs, _ = opts.Store.(crm.LeadIDStore)
	}
	if opts.RateRules == nil {
		opts.RateRules = crm.DefaultRateRules()
	}
	return &Pusher{opts: opts, plans: map[string]cachedPlan{}, holder: newHolder()}, nil
}

// Request is one push of one record.
type Request struct {
	IntegrationID  string
	IdempotencyKey string
	// Objects restricts the sync to these object keys; empty means all.
	Objects []string
	// Record is the lead JSON with its contact and account objects.
	Record map[string]any
	// Today is the workflow's date (YYYY-MM-DD) in the automation's zone.
	Today string
	// KnownIDs are ids from an earlier attempt, by object key.
	KnownIDs map[string]string
	// OnPushed is called after each object is written.
	OnPushed func(crm.ObjectResult)
}

// Result is what the node exposes to later steps.
type Result struct {
	IntegrationID string             `json:"integrationId"`
	Provider      string             `json:"provider"`
	Objects       []crm.ObjectResult `json:"objects"`
	ThirdPartyIDs []ThirdPartyID     `json:"thirdPartyIds"`
	// PrimaryID is the id of config.default_id's object.
	PrimaryID string   `json:"primaryId,omitempty"`
	Warnings  []string `json:"warnings,omitempty"`
	// DryRun is set for integrations with is_live false: the record was
	// mapped, nothing was sent.
	DryRun      bool `json:"dryRun,omitempty"`
	WrittenBack bool `json:"writtenBack"`
	// RecordedForLead is set when the lead has no account to write the
	// ids back to and they were recorded by lead in the runtime's store.
	RecordedForLead bool `json:"recordedForLead,omitempty"`
}

// SystemName is the thirdPartyIds systemName of an object of an integration.
func SystemName(provider, integrationID, objectKey string) string {
	return provider + ":" + integrationID + ":" + objectKey
}

func rejected(msg string) error { return &crm.Error{Provider: "crm", Message: msg} }

// Push runs one sync. Errors are *crm.Error values when they are the
// vendor's or the configuration's; anything else is transient.
func (p *Pusher) Push(ctx context.Context, req Request) (Result, error) {
	res := Result{IntegrationID: req.IntegrationID}
	rec, err := p.opts.Store.Get(ctx, req.IntegrationID)
	if errors.Is(err, crm.ErrNotFound) {
		return res, rejected(fmt.Sprintf("integration %q does not exist", req.IntegrationID))
	}
	if err != nil {
		return res, fmt.Errorf("load integration: %w", err)
	}
	var in crm.Integration
	if err := json.Unmarshal(rec.Integration, &in); err != nil {
		return res, rejected("stored integration is unreadable")
	}
	res.Provider = in.Provider
	if !in.IsEnabled {
		return res, rejected(fmt.Sprintf("integration %q is disabled", req.IntegrationID))
	}
	if err := checkFranchise(&in, req.IntegrationID, req.Record); err != nil {
		return res, err
	}
	plan, err := p.plan(rec, &in)
	if err != nil {
		return res, rejected("integration config does not compile: " + err.Error())
	}
	// fromRecord are the ids ConeCRM already holds; req.KnownIDs adds the
	// ids an earlier attempt created (heartbeated), which are updated, not
	// created again, but still need writing back.
	fromRecord := KnownIDs(req.Record, in.Provider, req.IntegrationID)
	known := maps.Clone(fromRecord)
	leadID, byLead := p.leadWithoutAccount(req.Record)
	var leadIDs map[string]string
	if byLead {
		if leadIDs, err = p.opts.LeadIDs.LeadIDs(ctx, rec.HeronID, leadID); err != nil {
			return res, fmt.Errorf("load the lead's recorded CRM ids: %w", err)
		}
		maps.Copy(known, leadIDs)
	}
	maps.Copy(known, req.KnownIDs)
	mapped, err := plan.Map(req.Record, mapping.Options{Today: req.Today, Objects: req.Objects, KnownIDs: known})
	if err != nil {
		return res, err
	}
	res.Warnings = mapped.Warnings
	if !in.IsLive {
		res.DryRun = true
		for _, o := range mapped.Objects {
			res.Objects = append(res.Objects, crm.ObjectResult{Key: o.Key, ExternalName: o.ExternalName, ID: o.KnownID})
		}
		res.Objects = append(res.Objects, mapped.Skipped...)
		return res, nil
	}
	factory, ok := p.opts.Providers[in.Provider]
	if !ok {
		return res, rejected(fmt.Sprintf("no provider %q", in.Provider))
	}
	creds, err := p.opts.Cipher.Open(rec.HeronID, rec.SealedCredentials)
	if err != nil {
		return res, rejected(err.Error())
	}
	link, linkOwn, err := p.link(ctx, rec.HeronID, &in, req.Record)
	if err != nil {
		return res, err
	}
	src := &credSource{integrationID: rec.HeronID, provider: in.Provider, instanceURL: in.InstanceURL,
		base: creds, baseSealed: rec.SealedCredentials, link: link, linkOwn: linkOwn}
	log := p.opts.Logger.With().Str("integration", rec.HeronID).Str("provider", in.Provider).Logger()
	// A franchise's link may be another CRM account than the
	// integration's: each has its own limits.
	account := rec.HeronID
	if link != nil {
		account = crm.LinkSealID(rec.HeronID, link.EndUserID)
	}
	client := p.limitedClient(p.opts.HTTPClient, in.Provider, account)
	pushWith := func(creds crm.Credentials, objs []crm.Object) ([]crm.ObjectResult, error) {
		prov, err := factory(crm.Connection{
			IntegrationID: rec.HeronID, Provider: in.Provider, InstanceURL: in.InstanceURL,
			APIBasePath: in.Config.APIBasePath, Credentials: creds, HTTPClient: client,
		})
		if err != nil {
			return nil, err
		}
		return prov.Push(ctx, objs, crm.PushOptions{IdempotencyKey: req.IdempotencyKey, OnPushed: req.OnPushed})
	}
	eff := src.effective()
	refreshed := false
	var pushed []crm.ObjectResult
	var pushErr error
	if crm.CanRefresh(in.Provider, eff) && crm.ExpiresSoon(eff, time.Now(), expiryMargin) {
		eff, pushErr = p.refresh(ctx, src, eff.Secret)
		refreshed = true
	}
	if pushErr == nil {
		pushed, pushErr = pushWith(eff, mapped.Objects)
	}
	if pushErr != nil && !refreshed && crm.IsAuthFailure(pushErr) && crm.CanRefresh(in.Provider, eff) {
		// The vendor refused the token: refresh it once and push again,
		// updating what the first try wrote.
		log.Info().Err(pushErr).Msg("crm access token refused; refreshing it")
		var fresh crm.Credentials
		if fresh, pushErr = p.refresh(ctx, src, eff.Secret); pushErr == nil {
			first := pushed
			pushed, pushErr = pushWith(fresh, withKnownIDs(mapped.Objects, first))
			pushed = mergeTries(first, pushed)
		}
	}
	link = src.link
	res.Objects = mergeResults(plan.Keys(), pushed, mapped.Skipped)
	for _, o := range res.Objects {
		if o.ID == "" {
			continue
		}
		meta, _ := json.Marshal(map[string]string{"integration": rec.HeronID, "object": o.ExternalName})
		res.ThirdPartyIDs = append(res.ThirdPartyIDs, ThirdPartyID{SystemName: SystemName(in.Provider, rec.HeronID, o.Key), ThirdPartyID: o.ID, Metadata: string(meta)})
		if d := in.Config.DefaultID; d != nil && (d.ExternalName == o.Key || d.ExternalName == o.ExternalName) {
			res.PrimaryID = o.ID
		}
	}
	if pushErr != nil {
		log.Warn().Err(pushErr).Int("pushed", len(pushed)).Msg("crm push failed")
		if link != nil && crm.IsAuthFailure(pushErr) {
			p.loginRequired(ctx, &in, link, pushErr)
		}
		return res, pushErr
	}
	if link != nil {
		if err := p.opts.Links.MarkLinkSynced(ctx, link.IntegrationID, link.EndUserID, time.Now().UTC()); err != nil {
			log.Warn().Err(err).Msg("recording the link's successful sync")
		}
	}
	for _, o := range res.Objects {
		ev := log.Info()
		if o.Error != "" {
			ev = log.Warn().Str("error", o.Error)
		}
		ev.Str("object", o.Key).Bool("created", o.Created).Msg("crm object pushed")
	}
	if byLead {
		return res, p.recordForLead(ctx, rec.HeronID, leadID, leadIDs, &res)
	}
	if err := p.writeBack(ctx, req.Record, fromRecord, &res); err != nil {
		return res, err
	}
	return res, nil
}

// leadWithoutAccount returns the lead's id when the lead has no account:
// seed 003 keeps thirdPartyIds only on accounts, so its ids are recorded
// by lead in the store instead (and written to the account by the first
// push after the lead has one).
func (p *Pusher) leadWithoutAccount(record map[string]any) (string, bool) {
	if p.opts.LeadIDs == nil {
		return "", false
	}
	account, _ := record["account"].(map[string]any)
	if id, _ := account["id"].(string); id != "" {
		return "", false
	}
	id, _ := record["id"].(string)
	return id, id != ""
}

// recordForLead records the ids the lead's record did not hold yet.
func (p *Pusher) recordForLead(ctx context.Context, integrationID, leadID string, had map[string]string, res *Result) error {
	changed := map[string]string{}
	for _, o := range res.Objects {
		if o.ID != "" && had[o.Key] != o.ID {
			changed[o.Key] = o.ID
		}
	}
	if len(changed) == 0 {
		return nil
	}
	if err := p.opts.LeadIDs.PutLeadIDs(ctx, integrationID, leadID, changed, time.Now().UTC()); err != nil {
		return fmt.Errorf("record the lead's CRM ids: %w", err)
	}
	res.RecordedForLead = true
	return nil
}

// checkFranchise refuses an integration of another franchise than the
// run's (its lead's franchise.id): the starter scopes integrations by
// franchise, and an automation naming another franchise's integration id
// must not push through it. Shared integrations (no franchise_id) serve
// every franchise.
func checkFranchise(in *crm.Integration, integrationID string, record map[string]any) error {
	if in.FranchiseID == "" {
		return nil
	}
	run := FranchiseOf(record)
	if run == "" {
		return rejected(fmt.Sprintf("integration %q belongs to franchise %s and this run's lead names no franchise (lead.franchise.id): use a shared integration", integrationID, in.FranchiseID))
	}
	if run != in.FranchiseID {
		return rejected(fmt.Sprintf("integration %q belongs to franchise %s, not to this run's franchise %s: use an integration of franchise %s or a shared one", integrationID, in.FranchiseID, run, run))
	}
	return nil
}

// writeBack writes the ids the account does not hold yet (known are the
// ids read from the record).
func (p *Pusher) writeBack(ctx context.Context, record map[string]any, known map[string]string, res *Result) error {
	if p.opts.Writer == nil || len(res.ThirdPartyIDs) == 0 {
		return nil
	}
	account, _ := record["account"].(map[string]any)
	accountID, _ := account["id"].(string)
	if accountID == "" {
		return nil
	}
	var changed []ThirdPartyID
	for _, o := range res.Objects {
		if o.ID != "" && known[o.Key] != o.ID {
			changed = append(changed, findID(res.ThirdPartyIDs, o.Key))
		}
	}
	if len(changed) == 0 {
		return nil // the account already holds these ids
	}
	if err := p.opts.Writer.WriteThirdPartyIDs(ctx, accountID, changed); err != nil {
		return fmt.Errorf("write thirdPartyIds back to ConeCRM: %w", err)
	}
	res.WrittenBack = true
	return nil
}

// withKnownIDs returns objs with the ids of the objects already written
// as known ids, so a second try updates them.
func withKnownIDs(objs []crm.Object, written []crm.ObjectResult) []crm.Object {
	out := slices.Clone(objs)
	for _, r := range written {
		for i := range out {
			if out[i].Key == r.Key && r.ID != "" {
				out[i].KnownID = r.ID
			}
		}
	}
	return out
}

// mergeTries combines the results of a push tried twice: the second try's
// result of an object wins, created if either try created it.
func mergeTries(first, second []crm.ObjectResult) []crm.ObjectResult {
	out := slices.Clone(second)
	for _, f := range first {
		i := slices.IndexFunc(out, func(r crm.ObjectResult) bool { return r.Key == f.Key })
		switch {
		case i < 0:
			out = append(out, f)
		case f.Created:
			out[i].Created = true
		}
	}
	return out
}

func findID(ids []ThirdPartyID, key string) ThirdPartyID {
	for _, t := range ids {
		if strings.HasSuffix(t.SystemName, ":"+key) {
			return t
		}
	}
	return ThirdPartyID{}
}

// mergeResults orders pushed and skipped results by config order.
func mergeResults(order []string, pushed, skipped []crm.ObjectResult) []crm.ObjectResult {
	by := map[string]crm.ObjectResult{}
	for _, r := range append(append([]crm.ObjectResult{}, skipped...), pushed...) {
		by[r.Key] = r
	}
	out := make([]crm.ObjectResult, 0, len(by))
	for _, k := range order {
		if r, ok := by[k]; ok {
			out = append(out, r)
		}
	}
	return out
}

func (p *Pusher) plan(rec crm.Record, in *crm.Integration) (*mapping.Plan, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c, ok := p.plans[rec.HeronID]; ok && c.updatedAt.Equal(rec.UpdatedAt) {
		return c.plan, nil
	}
	plan, err := mapping.Compile(&in.Config)
	if err != nil {
		return nil, err
	}
	p.plans[rec.HeronID] = cachedPlan{updatedAt: rec.UpdatedAt, plan: plan}
	return plan, nil
}

// KnownIDs reads the ids of this integration's objects from the record's
// thirdPartyIds (on the account, the contact or the lead itself).
func KnownIDs(record map[string]any, provider, integrationID string) map[string]string {
	out := map[string]string{}
	prefix := SystemName(provider, integrationID, "")
	scan := func(v any) {
		list, _ := v.([]any)
		for _, e := range list {
			m, _ := e.(map[string]any)
			sys, _ := m["systemName"].(string)
			id, _ := m["thirdPartyId"].(string)
			if key, ok := strings.CutPrefix(sys, prefix); ok && key != "" && id != "" {
				if del, _ := m["isDeleted"].(bool); !del {
					out[key] = id
				}
			}
		}
	}
	scan(record["thirdPartyIds"])
	for _, k := range []string{"contact", "account"} {
		if m, ok := record[k].(map[string]any); ok {
			scan(m["thirdPartyIds"])
		}
	}
	return out
}
