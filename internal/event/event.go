// Package event is the lead event: what ConeCRM sends when a lead changes,
// and what the runtime signals to enrolled runs.
package event

import (
	"slices"
	"time"
)

// Lead event types: what ConeCRM sends, what a trigger enrols on and what a
// wait_for_event node waits for. This is the one list of them.
const (
	TypeLeadCreated      = "LEAD_CREATED"
	TypeLeadUpdated      = "LEAD_UPDATED"
	TypeLeadStageChanged = "LEAD_STAGE_CHANGED"
	TypeLeadAssigned     = "LEAD_ASSIGNED"
	TypeLeadClosed       = "LEAD_CLOSED"
)

var types = []string{TypeLeadCreated, TypeLeadUpdated, TypeLeadStageChanged, TypeLeadAssigned, TypeLeadClosed}

// Types lists every lead event type, in the builder's order.
func Types() []string { return slices.Clone(types) }

// IsType reports whether t is a known lead event type.
func IsType(t string) bool { return slices.Contains(types, t) }

// Lead is a lead event. Lead and Previous hold the ConeCRM lead (connection)
// as JSON.
type Lead struct {
	ID         string         `json:"id" validate:"required,max=200"`
	Type       string         `json:"type" validate:"required"`
	OccurredAt time.Time      `json:"occurredAt" validate:"required"`
	Lead       map[string]any `json:"lead" validate:"required"`
	Previous   map[string]any `json:"previous,omitempty"`
}

// LeadID returns lead.id.
func (e *Lead) LeadID() string {
	s, _ := e.Lead["id"].(string)
	return s
}

// FranchiseID returns lead.franchise.id.
func (e *Lead) FranchiseID() string {
	if f, ok := e.Lead["franchise"].(map[string]any); ok {
		s, _ := f["id"].(string)
		return s
	}
	return ""
}

// Map returns the event as CEL sees it (`event`), without the lead bodies.
func (e *Lead) Map() map[string]any {
	return map[string]any{"id": e.ID, "type": e.Type, "occurredAt": e.OccurredAt.UTC().Format(time.RFC3339Nano)}
}
