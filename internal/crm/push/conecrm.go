package push

import (
	"context"

	"github.com/conecrm/automation-runtime/internal/conecrm"
)

// ConeCRMWriter writes external ids back to ConeCRM accounts through the
// ConeCRM client, merging them by systemName.
type ConeCRMWriter struct {
	Client *conecrm.Client
}

var _ ThirdPartyIDWriter = ConeCRMWriter{}

// WriteThirdPartyIDs implements ThirdPartyIDWriter with the client's
// converging write-back (conecrm.Client.AddThirdPartyIDs): two pushes
// writing the same account at once both keep their ids.
func (w ConeCRMWriter) WriteThirdPartyIDs(ctx context.Context, accountID string, ids []ThirdPartyID) error {
	conv := make([]conecrm.ThirdPartyID, len(ids))
	for i, id := range ids {
		conv[i] = conecrm.ThirdPartyID{SystemName: id.SystemName, ThirdPartyID: id.ThirdPartyID}
		if id.Metadata != "" {
			m := id.Metadata
			conv[i].Metadata = &m
		}
	}
	_, _, err := w.Client.AddThirdPartyIDs(ctx, accountID, conv)
	return err
}
