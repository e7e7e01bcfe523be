package expr

import (
	"strings"
	"testing"
)

func TestTemplates(t *testing.T) {
	v := vars()
	for _, tc := range []struct{ src, want string }{
		{"Call {{ lead.contact.firstName }} about the {{ lead.makeStr }}", "Call Alice about the Toyota"},
		{"{{lead.subject}}", "2025 RAV4 Hybrid XLE — online inquiry"},
		{"Priority {{ lead.priority }}, budget {{ lead.budget }}", "Priority 3, budget 42000.5"},
		{"{{ lead.priority + 1.0 }} / {{ 7 }} / {{ 2u }} / {{ true }}", "4 / 7 / 2 / true"},
		{"Due {{ now + duration('2h') }}", "Due 2026-03-03T17:04:05Z"},
		{"Trade-in: {{ lead.tradeInValue }}.", "Trade-in: ."},
		{"{{ duration('90m') }}", "5400s"},
		{"{{ has(lead.formName) ? lead.formName : 'an unknown form' }}", "an unknown form"},
		{"no expressions at all", "no expressions at all"},
		{"", ""},
		{"{{ 'a' }}{{ 'b' }}", "ab"},
		{"{ not a template }", "{ not a template }"},
	} {
		tpl, err := CompileTemplate(tc.src)
		if err != nil {
			t.Errorf("%q: %v", tc.src, err)
			continue
		}
		got, err := tpl.Render(v)
		if err != nil || got != tc.want {
			t.Errorf("%q rendered %q, %v; want %q", tc.src, got, err, tc.want)
		}
	}
	var nilTemplate *Template
	if s, err := nilTemplate.Render(v); s != "" || err != nil {
		t.Errorf("nil template: %q %v", s, err)
	}
}

func TestTemplateErrors(t *testing.T) {
	for src, want := range map[string]string{
		"Call {{ lead.contact.firstName ":     `"{{" at offset 5 is never closed with "}}"`,
		"Call {{ lead.contact.firstName + }}": "{{ lead.contact.firstName + }} does not compile",
		"{{ }}":                               "{{  }} is empty",
		"{{ lead.tags }} fine":                "", // dyn: rendered when evaluated
		"{{ ['a'] }}":                         "{{ ['a'] }} must give a value that can be shown as text",
		"{{ lead.x.map(y, lead.x.map(z, lead.x.map(w, w))).size() }}": "is too expensive",
		"{{ " + strings.Repeat("1+", 2100) + "1 }}":                   "characters long; the limit is 4096",
	} {
		_, err := CompileTemplate(src)
		if want == "" {
			if err != nil {
				t.Errorf("%q: %v", src, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%.40q: error %v, want %q", src, err, want)
		}
	}
	// A missing field is an error naming the expression, never an empty string.
	tpl, _ := CompileTemplate("Call {{ lead.contact.nickname }}")
	if s, err := tpl.Render(vars()); err == nil || !strings.Contains(err.Error(), "lead.contact.nickname") {
		t.Errorf("rendered %q, %v", s, err)
	}
	if !IsTemplate("a {{ b }}") || IsTemplate("a { b }") {
		t.Error("IsTemplate")
	}
}

func TestToString(t *testing.T) {
	for src, want := range map[string]string{
		"1.5":                                    "1.5",
		"1e20":                                   "1e+20",
		"-0.0":                                   "0",
		"timestamp('2026-03-03T10:00:00-05:00')": "2026-03-03T15:00:00Z",
		"b'abc'":                                 "abc",
		"null":                                   "",
	} {
		p, err := Compile(src, KindText)
		if err != nil {
			t.Fatal(err)
		}
		v, err := p.Eval(Vars{})
		if err != nil {
			t.Fatal(err)
		}
		if got := ToString(v); got != want {
			t.Errorf("%s renders %q, want %q", src, got, want)
		}
	}
}
