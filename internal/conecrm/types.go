package conecrm

import "time"

// Task types from the seed's TaskRequest enumeration.
var TaskTypes = []string{"CALL", "MEETING", "OTHER", "SMS", "FOLLOW_UP", "REMINDER", "LINKEDIN_MESSAGE", "DM"}

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
