package conecrm

import "time"

// Task types from the seed's TaskRequest enumeration.
var TaskTypes = []string{"CALL", "MEETING", "OTHER", "SMS", "FOLLOW_UP", "REMINDER", "LINKEDIN_MESSAGE", "DM"}

// Field limits. The seed gives none; these are the limits the runtime
// enforces so an oversized rendered field fails the node instead of being
// truncated somewhere downstream.
const (
	MaxTitleLength        = 255
	MaxNoteLength         = 10000
	MaxSubjectLength      = 1000
	MaxSystemNameLength   = 255
	MaxThirdPartyIDLength = 255
	MaxMetadataLength     = 10000
)

// TaskRequest is the seed's TaskRequest: the body of POST /api/task.
type TaskRequest struct {
	Type       string     `json:"type,omitempty" validate:"omitempty,oneof=CALL MEETING OTHER SMS FOLLOW_UP REMINDER LINKEDIN_MESSAGE DM"`
	Assignee   string     `json:"assignee" validate:"required,uuid"`
	Start      *time.Time `json:"start,omitempty"`
	End        *time.Time `json:"end,omitempty"`
	Title      string     `json:"title" validate:"required,max=255"`
	Note       string     `json:"note,omitempty" validate:"max=10000"`
	Contact    string     `json:"contact,omitempty" validate:"omitempty,uuid"`
	Account    string     `json:"account,omitempty" validate:"omitempty,uuid"`
	Connection string     `json:"connection,omitempty" validate:"omitempty,uuid"`
}

// IDRef is a reference by id, as the seed nests them ({"id": ...}).
type IDRef struct {
	ID string `json:"id"`
}

// Ref returns a reference to id, or nil for an empty id (so omitempty drops it).
func Ref(id string) *IDRef {
	if id == "" {
		return nil
	}
	return &IDRef{ID: id}
}

// RefID returns r's id, or "" for nil.
func RefID(r *IDRef) string {
	if r == nil {
		return ""
	}
	return r.ID
}

// Task is the part of the seed's Task the runtime reads back.
type Task struct {
	ID          string     `json:"id"`
	DateCreated *time.Time `json:"dateCreated,omitempty"`
	Type        string     `json:"type,omitempty"`
	Title       string     `json:"title,omitempty"`
	Note        string     `json:"note,omitempty"`
	Start       *time.Time `json:"start,omitempty"`
	End         *time.Time `json:"end,omitempty"`
	Assignee    *IDRef     `json:"assignee,omitempty"`
	Connection  *IDRef     `json:"connection,omitempty"`
	Contact     *IDRef     `json:"contact,omitempty"`
	Account     *IDRef     `json:"account,omitempty"`
}

// CopyLeadData is the seed's CopyLeadData, the body of
// POST /api/lead/{lead}/copy. The seed types contact, account, department
// and franchise as whole objects; ConeCRM resolves them by id, so the runtime
// sends {"id": ...} references.
type CopyLeadData struct {
	Contact    *IDRef `json:"contact" validate:"required"`
	Account    *IDRef `json:"account,omitempty"`
	Subject    string `json:"subject,omitempty" validate:"max=1000"`
	Department *IDRef `json:"department,omitempty"`
	Franchise  *IDRef `json:"franchise,omitempty"`
}

// LeadRequest is the body of POST /api/lead: a new lead. ConeCRM resolves
// the references by id.
type LeadRequest struct {
	Subject     string  `json:"subject,omitempty" validate:"max=1000"`
	Description *string `json:"description,omitempty"`
	Category    *string `json:"category,omitempty"`
	Contact     *IDRef  `json:"contact,omitempty"`
	Account     *IDRef  `json:"account,omitempty"`
	Department  *IDRef  `json:"department,omitempty"`
	Franchise   *IDRef  `json:"franchise,omitempty"`
}

// Lead is the part of the seed's Lead (a Connection) the runtime reads.
type Lead struct {
	ID                   string         `json:"id"`
	DateCreated          *time.Time     `json:"dateCreated,omitempty"`
	DateModified         *time.Time     `json:"dateModified,omitempty"`
	Subject              string         `json:"subject,omitempty"`
	Description          *string        `json:"description,omitempty"`
	Status               *IDRef         `json:"status,omitempty"`
	Source               *IDRef         `json:"source,omitempty"`
	Contact              *IDRef         `json:"contact,omitempty"`
	Account              *IDRef         `json:"account,omitempty"`
	Franchise            *IDRef         `json:"franchise,omitempty"`
	Stage                *IDRef         `json:"stage,omitempty"`
	Direction            string         `json:"direction,omitempty"`
	ConnectionClosedDate *time.Time     `json:"connectionClosedDate,omitempty"`
	Category             *string        `json:"category,omitempty"`
	ThirdPartyIDs        []ThirdPartyID `json:"thirdPartyIds,omitempty"`
	// Department is not in the seed's Lead schema, but CopyLeadData sets it;
	// ConeCRM returns it when present.
	Department *IDRef `json:"department,omitempty"`
}

// Stage is the seed's ConnectionStage.
type Stage struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// ThirdPartyID is an entry of a customer's thirdPartyIds (the seed's
// BaseCustomerThirdPartyId / ThirdPartyId).
type ThirdPartyID struct {
	ID           string     `json:"id,omitempty"`
	DateCreated  *time.Time `json:"dateCreated,omitempty"`
	SystemName   string     `json:"systemName" validate:"required,max=255"`
	ThirdPartyID string     `json:"thirdPartyId" validate:"required,max=255"`
	Metadata     *string    `json:"metadata,omitempty" validate:"omitempty,max=10000"`
}

// Account is the part of the seed's Account the runtime reads.
type Account struct {
	ID            string         `json:"id"`
	Name          string         `json:"name,omitempty"`
	PrimaryEmail  string         `json:"primaryEmail,omitempty"`
	City          string         `json:"city,omitempty"`
	Province      string         `json:"province,omitempty"`
	Country       string         `json:"country,omitempty"`
	Language      string         `json:"language,omitempty"`
	IsActive      *bool          `json:"isActive,omitempty"`
	ThirdPartyIDs []ThirdPartyID `json:"thirdPartyIds"`
}

// AccountPatch is the body of PATCH /api/account/{account} as the runtime
// sends it: only thirdPartyIds, each by systemName and id (never the
// server's record ids, so a retried write sends the same body).
type AccountPatch struct {
	ThirdPartyIDs []ThirdPartyID `json:"thirdPartyIds"`
}
