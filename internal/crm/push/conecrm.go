package push

import (
	"context"
	"crypto/sha256"
	"encoding/hex"

	"github.com/conecrm/automation-runtime/internal/conecrm"
)

// ConeCRMWriter writes external ids back to ConeCRM accounts through the
// ConeCRM client, merging them by systemName.
type ConeCRMWriter struct {
	Client *conecrm.Client
}

var _ ThirdPartyIDWriter = ConeCRMWriter{}

// WriteThirdPartyIDs implements ThirdPartyIDWriter. The idempotency key is
// derived from the account and the merged ids, so a retried write of the
// same ids is replayed rather than applied twice.
func (w ConeCRMWriter) WriteThirdPartyIDs(ctx context.Context, accountID string, ids []ThirdPartyID) error {
	conv := make([]conecrm.ThirdPartyID, len(ids))
	h := sha256.New()
	h.Write([]byte(accountID))
	for i, id := range ids {
		conv[i] = conecrm.ThirdPartyID{SystemName: id.SystemName, ThirdPartyID: id.ThirdPartyID}
		if id.Metadata != "" {
			m := id.Metadata
			conv[i].Metadata = &m
		}
		h.Write([]byte("|" + id.SystemName + "=" + id.ThirdPartyID))
	}
	_, _, err := w.Client.WriteThirdPartyIDs(ctx, accountID, nil, conv, "thirdparty-"+hex.EncodeToString(h.Sum(nil))[:32])
	return err
}
