package nodes

import (
	"errors"
	"strings"

	"github.com/google/uuid"

	"github.com/conecrm/automation-runtime/internal/expr"
)

// renderer renders several template fields, collecting every failure.
type renderer struct {
	v    expr.Vars
	errs []string
}

func (r *renderer) render(field string, t *expr.Template) string {
	s, err := t.Render(r.v)
	if err != nil {
		r.fail(field, err.Error())
	}
	return strings.TrimSpace(s)
}

// uuid renders a UUID field, falling back to def when empty.
func (r *renderer) uuid(field string, t *expr.Template, def string) string {
	s := orDefault(r.render(field, t), def)
	if s != "" {
		if _, err := uuid.Parse(s); err != nil {
			r.fail(field, "rendered to "+quote(s)+", which is not a UUID")
		}
	}
	return s
}

func (r *renderer) fail(field, msg string) { r.errs = append(r.errs, field+": "+msg) }

func (r *renderer) err() error {
	if len(r.errs) == 0 {
		return nil
	}
	return errors.New(strings.Join(r.errs, "; "))
}

func quote(s string) string {
	if len(s) > 60 {
		s = s[:60] + "…"
	}
	return `"` + s + `"`
}

func suffix(cond bool, s string) string {
	if cond {
		return s
	}
	return ""
}
