package crmfake

import (
	"crypto/hmac"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/conecrm/automation-runtime/internal/crm/webhook"
)

// Webhook is a receiver for the generic webhook provider: it checks the
// signature, stores payloads and answers {"id","created"}, giving the same
// id to the same object key and upsert value.
type Webhook struct {
	common
	Secret   []byte
	ids      map[string]string
	Payloads []webhook.Payload
}

// NewWebhook returns a receiver verifying signatures with secret.
func NewWebhook(secret string) *Webhook {
	return &Webhook{Secret: []byte(secret), ids: map[string]string{}}
}

func (h *Webhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body := readBody(r)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.stats.Requests++
	ts := r.Header.Get(webhook.HeaderTimestamp)
	want := webhook.Sign(h.Secret, ts, body)
	if ts == "" || !hmac.Equal([]byte(want), []byte(r.Header.Get(webhook.HeaderSignature))) {
		h.violate("bad signature")
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	if f := h.takeFault(r.URL.Path); f != nil {
		writeFault(w, f)
		return
	}
	var p webhook.Payload
	if err := json.Unmarshal(body, &p); err != nil {
		h.violate("payload is not JSON")
		http.Error(w, "bad payload", http.StatusBadRequest)
		return
	}
	h.Payloads = append(h.Payloads, p)
	key := p.Object + "|" + p.UpsertValue
	id, ok := h.ids[key]
	if p.ID != "" {
		id, ok = p.ID, true
	}
	if !ok {
		h.seq++
		id = fmt.Sprintf("wh_%d", h.seq)
		h.ids[key] = id
		h.stats.Creates++
	} else {
		h.stats.Updates++
	}
	writeJSONStatus(w, http.StatusOK, map[string]any{"id": id, "created": !ok})
}
