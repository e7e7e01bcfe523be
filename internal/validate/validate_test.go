package validate

import (
	"reflect"
	"strings"
	"testing"
)

type item struct {
	Handle string `json:"handle" validate:"required,max=10,ne=default"`
}

type sample struct {
	Type     string   `json:"type,omitempty" validate:"omitempty,oneof=CALL SMS"`
	Assignee string   `json:"assignee" validate:"required,uuid"`
	URL      string   `json:"url,omitempty" validate:"omitempty,http_url"`
	Title    string   `json:"title" validate:"required,min=2,max=5"`
	Items    []item   `json:"items" validate:"max=2,dive"`
	Tags     []string `json:"tags,omitempty" validate:"omitempty,min=1"`
	Duration string   `json:"duration,omitempty" validate:"excluded_with=Until"`
	Until    string   `json:"until,omitempty"`
	Start    string   `json:"start,omitempty" validate:"required_without=Until"`
	Hidden   string   `json:"-" validate:"required"`
	NoTag    string   `validate:"email"`
}

func TestFieldsAreJSONPathsWithSentences(t *testing.T) {
	s := sample{
		Type: "FAX", Assignee: "sam", URL: "ftp://x", Title: "abcdefg",
		Items: []item{{Handle: "a"}, {Handle: "default"}, {}}, Tags: []string{}, Duration: "1h", Until: "now", NoTag: "x",
	}
	got := map[string]string{}
	for _, fe := range Fields(&s) {
		got[fe.Path] = fe.Message
	}
	want := map[string]string{
		"type":     `must be one of CALL, SMS, got "FAX"`,
		"assignee": `must be a UUID, got "sam"`,
		"url":      `must be an absolute http(s) URL, got "ftp://x"`,
		"title":    "must be at most 5 characters",
		"items":    "must have at most 2 items",
		"tags":     "must have at least 1 item", // omitempty skips nil, not an empty list
		"duration": "cannot be set together with until",
		"Hidden":   "is required",
		"NoTag":    `fails the "email" rule`,
	}
	// dive stops at max, so items[1] is not checked while the list is too long.
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%v\nwant\n%v", got, want)
	}

	s = sample{Assignee: "0192f0a0-0001-7000-8000-000000000001", Title: "a", Items: []item{{Handle: "default"}, {Handle: ""}}}
	got = map[string]string{}
	for _, fe := range Fields(&s) {
		got[fe.Path] = fe.Message
	}
	want = map[string]string{
		"title":           "must be at least 2 characters",
		"items[0].handle": `must not be "default"`,
		"items[1].handle": "is required",
		"start":           "is required when until is not set",
		"Hidden":          "is required",
		"NoTag":           `fails the "email" rule`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%v\nwant\n%v", got, want)
	}
}

func TestValid(t *testing.T) {
	ok := sample{Type: "CALL", Assignee: "0192f0a0-0001-7000-8000-000000000001", URL: "https://example.com/x", Title: "Call", Items: []item{{Handle: "a"}}, Start: "x", Hidden: "h", NoTag: "a@example.com"}
	if fes := Fields(&ok); fes != nil {
		t.Errorf("%v", fes)
	}
	if err := Struct(&ok); err != nil {
		t.Error(err)
	}
}

func TestStructJoinsEveryProblem(t *testing.T) {
	err := Struct(&sample{Assignee: "x", Hidden: "h", NoTag: "a@b.co", Start: "s"})
	if err == nil || err.Error() != `assignee: must be a UUID, got "x"; title: is required` {
		t.Errorf("%v", err)
	}
	// Not a struct: one problem with the validator's own message.
	fes := Fields("not a struct")
	if len(fes) != 1 || fes[0].Path != "" || !strings.Contains(fes[0].Message, "validator") {
		t.Errorf("%+v", fes)
	}
	first := Validator()
	if second := Validator(); first != second {
		t.Error("one shared instance")
	}
}
