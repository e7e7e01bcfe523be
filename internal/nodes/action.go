package nodes

import (
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/conecrm/automation-runtime/internal/expr"
)

// HandleError is the handle an action leaves by when it fails and its
// onError is "error".
const HandleError = "error"

// InvalidError marks a node failure that no retry can fix (a rendered field
// that breaks the API's schema); it is reported before any call is made.
type InvalidError struct{ Err error }

func (e *InvalidError) Error() string { return e.Err.Error() }
func (e *InvalidError) Unwrap() error { return e.Err }

// Invalid wraps err as an InvalidError.
func Invalid(err error) error { return &InvalidError{Err: err} }

// IsInvalid reports whether err is an InvalidError.
func IsInvalid(err error) bool {
	var ie *InvalidError
	return errors.As(err, &ie)
}

// uuidTemplate compiles a field that is a UUID or a template rendering one.
func uuidTemplate(c *Compiler, field, s string) *expr.Template {
	if s == "" {
		return nil
	}
	if !expr.IsTemplate(s) {
		if _, err := uuid.Parse(s); err != nil {
			c.Problemf(field, "must be a UUID or a {{ }} expression, got %q", s)
			return nil
		}
	}
	return c.Template(field, s)
}

// timeTemplate compiles a field that is an RFC 3339 timestamp or a template.
func timeTemplate(c *Compiler, field, s string) *expr.Template {
	if s == "" {
		return nil
	}
	if !expr.IsTemplate(s) {
		if _, err := time.Parse(time.RFC3339, s); err != nil {
			c.Problemf(field, "must be a date and time such as 2026-03-02T09:00:00-05:00 or a {{ }} expression, got %q", s)
			return nil
		}
	}
	return c.Template(field, s)
}

func orDefault(s, def string) string {
	if s != "" {
		return s
	}
	return def
}

func stringAt(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}

// leadRef returns lead.<key>.id.
func leadRef(lead map[string]any, key string) string {
	if obj, ok := lead[key].(map[string]any); ok {
		return strings.TrimSpace(stringAt(obj, "id"))
	}
	return ""
}
