package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/conecrm/automation-runtime/internal/auth"
	"github.com/conecrm/automation-runtime/internal/crm"
	"github.com/conecrm/automation-runtime/internal/validate"
)

// linkIntegration returns the integration whose links the caller may use:
// its own franchise's or a shared one (links are per franchise, so a
// franchise token works with its own link of a shared integration).
// Another franchise's integration is crm.ErrNotFound.
func (h *Handler) linkIntegration(r *http.Request, id string) (crm.Integration, error) {
	rec, err := h.store.Get(r.Context(), id)
	if err != nil {
		return crm.Integration{}, err
	}
	integ, err := decodeStored(rec)
	if err != nil {
		return integ, err
	}
	if integ.FranchiseID != "" && !auth.FromContext(r.Context()).CanAccess(integ.FranchiseID) {
		return crm.Integration{}, crm.ErrNotFound
	}
	return integ, nil
}

// LinkInput is the body of POST /api/integrations/{heron_id}/links (seed
// 002). access_token and refresh_token are write-only.
type LinkInput struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token,omitempty"`
	EndUserID    string `json:"end_user_id"`
	EndUserName  string `json:"end_user_name"`
	ItemID       string `json:"item_id"`
}

type linkBody struct {
	Link crm.Link `json:"link"`
}

// createLink creates the franchise's link (201) or updates it (200): a new
// access token replaces the sealed one and the link is active again.
func (h *Handler) createLink(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("heron_id")
	integ, err := h.linkIntegration(r, id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	data, err := readBody(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var in LinkInput
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		msg := strings.TrimPrefix(err.Error(), "json: ")
		h.fail(w, r, &crm.ValidationError{Problems: validate.Problems{{Path: "$", Message: msg}}})
		return
	}
	in.EndUserID, in.ItemID = strings.TrimSpace(in.EndUserID), strings.TrimSpace(in.ItemID)
	caller := auth.FromContext(r.Context())
	if in.EndUserID == "" && !caller.Admin() {
		in.EndUserID = caller.Franchise
	}
	if in.EndUserID != "" && !caller.CanAccess(in.EndUserID) {
		auth.Forbidden(w, "end_user_id")
		return
	}
	if err := validateLink(&in); err != nil {
		h.fail(w, r, err)
		return
	}
	if integ.FranchiseID != "" && in.EndUserID != integ.FranchiseID {
		h.fail(w, r, &crm.ValidationError{Problems: validate.Problems{{Path: "$.end_user_id", Message: "must be the integration's franchise_id " + integ.FranchiseID}}})
		return
	}
	creds := crm.Credentials{Secret: in.AccessToken}
	if in.RefreshToken != "" {
		creds.Auth = map[string]any{"refresh_token": in.RefreshToken}
	}
	sealed, err := h.cipher.Seal(crm.LinkSealID(id, in.EndUserID), creds)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	prev, prevErr := h.links.LinkFor(r.Context(), id, in.EndUserID)
	stored, created, err := h.links.PutLink(r.Context(), crm.Link{
		IntegrationID: id, ItemID: in.ItemID, EndUserID: in.EndUserID, EndUserName: in.EndUserName,
		Type: integ.Provider, SealedCredentials: sealed, LastUpdated: h.now().UTC(),
	})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.log.Info().Str("heron_id", id).Str("item_id", stored.ItemID).Bool("created", created).Msg("crm link saved")
	if prevErr == nil && prev.Status != stored.Status {
		h.notifier.Notify(r.Context(), integ.FailureNotificationChannel, crm.LinkNotification{
			Type: crm.LinkStatusChanged, IntegrationID: id, Provider: integ.Provider, ItemID: stored.ItemID,
			EndUserID: stored.EndUserID, EndUserName: stored.EndUserName, Status: stored.Status,
			PreviousStatus: prev.Status, StatusMessage: stored.StatusMessage, OccurredAt: stored.LastUpdated,
		})
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, linkBody{Link: stored})
}

func validateLink(in *LinkInput) error {
	var ps validate.Problems
	for _, f := range []struct {
		name, val string
		max       int
		required  bool
	}{
		{"access_token", in.AccessToken, 8192, true},
		{"refresh_token", in.RefreshToken, 8192, false},
		{"end_user_id", in.EndUserID, 200, true},
		{"end_user_name", in.EndUserName, 500, false},
		{"item_id", in.ItemID, 200, true},
	} {
		switch {
		case f.required && f.val == "":
			ps = append(ps, validate.Problem{Path: "$." + f.name, Message: "is required"})
		case len(f.val) > f.max:
			ps = append(ps, validate.Problem{Path: "$." + f.name, Message: fmt.Sprintf("must be at most %d characters", f.max)})
		}
	}
	if len(ps) > 0 {
		return &crm.ValidationError{Problems: ps}
	}
	return nil
}

func (h *Handler) listLinks(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("heron_id")
	if _, err := h.linkIntegration(r, id); err != nil {
		h.fail(w, r, err)
		return
	}
	links, err := h.links.ListLinks(r.Context(), id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	caller := auth.FromContext(r.Context())
	visible := []crm.Link{} // an empty list, never null
	for _, l := range links {
		if caller.CanAccess(l.EndUserID) {
			visible = append(visible, l)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"links": visible})
}

func (h *Handler) getLink(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("heron_id")
	if _, err := h.linkIntegration(r, id); err != nil {
		h.fail(w, r, err)
		return
	}
	l, err := h.links.GetLink(r.Context(), id, r.PathValue("item_id"))
	if err == nil && !auth.FromContext(r.Context()).CanAccess(l.EndUserID) {
		err = crm.ErrNotFound // another franchise's link: as if absent
	}
	if errors.Is(err, crm.ErrNotFound) {
		writeJSON(w, http.StatusNotFound, errorBody{Error: "link not found"})
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, linkBody{Link: l})
}
