package expr

import (
	"fmt"
	"reflect"
	"strings"
)

var stringType = reflect.TypeOf("")

// Template is a string with embedded {{ expression }} parts.
type Template struct {
	Source string
	parts  []templatePart
}

type templatePart struct {
	text string
	prog *Program
}

// IsTemplate reports whether s embeds any {{ ... }} expression.
func IsTemplate(s string) bool { return strings.Contains(s, "{{") }

// CompileTemplate compiles every {{ ... }} part of s under the default
// limits. A string without expressions compiles to a template that renders
// itself.
func CompileTemplate(s string) (*Template, error) {
	return CompileTemplateWith(s, DefaultLimits, CostLimit)
}

// CompileTemplateWith compiles every part as CompileWith does.
func CompileTemplateWith(s string, lim Limits, evalCost uint64) (*Template, error) {
	t := &Template{Source: s}
	rest := s
	for {
		i := strings.Index(rest, "{{")
		if i < 0 {
			if rest != "" {
				t.parts = append(t.parts, templatePart{text: rest})
			}
			return t, nil
		}
		j := strings.Index(rest[i+2:], "}}")
		if j < 0 {
			return nil, fmt.Errorf("template %q: \"{{\" at offset %d is never closed with \"}}\"", s, len(s)-len(rest)+i)
		}
		if i > 0 {
			t.parts = append(t.parts, templatePart{text: rest[:i]})
		}
		src := strings.TrimSpace(rest[i+2 : i+2+j])
		p, err := CompileWith(src, KindText, lim, evalCost)
		if err != nil {
			return nil, fmt.Errorf("{{ %s }} %w", src, err)
		}
		t.parts = append(t.parts, templatePart{prog: p})
		rest = rest[i+2+j+2:]
	}
}

// Render evaluates the template. A missing field renders as an error naming
// the expression, so an action never runs with a silently empty field.
func (t *Template) Render(v Vars) (string, error) {
	if t == nil {
		return "", nil
	}
	var b strings.Builder
	for _, p := range t.parts {
		if p.prog == nil {
			b.WriteString(p.text)
			continue
		}
		out, err := p.prog.Eval(v)
		if err != nil {
			return "", err
		}
		b.WriteString(ToString(out))
	}
	return b.String(), nil
}
