// Package searchattr declares the custom search attributes the runtime sets
// on every run, so operators can filter runs in the Temporal Web UI. None of
// them ever holds personal data.
package searchattr

import "go.temporal.io/sdk/temporal"

var (
	AutomationID      = temporal.NewSearchAttributeKeyKeyword("AutomationId")
	AutomationVersion = temporal.NewSearchAttributeKeyKeyword("AutomationVersion")
	LeadID            = temporal.NewSearchAttributeKeyKeyword("LeadId")
	FranchiseID       = temporal.NewSearchAttributeKeyKeyword("FranchiseId")
	Trigger           = temporal.NewSearchAttributeKeyKeyword("Trigger")
	CurrentNode       = temporal.NewSearchAttributeKeyKeyword("CurrentNode")
	CurrentNodeType   = temporal.NewSearchAttributeKeyKeyword("CurrentNodeType")
)

// Names lists every custom search attribute; all are Keyword.
var Names = []string{"AutomationId", "AutomationVersion", "LeadId", "FranchiseId", "Trigger", "CurrentNode", "CurrentNodeType"}
