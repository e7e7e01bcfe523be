package querybuilder

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
)

// eval translates the query in JSON and evaluates it over lead.
func eval(t *testing.T, query string, lead map[string]any) bool {
	t.Helper()
	g, err := Parse([]byte(query))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	expr, err := ToCEL(g)
	if err != nil {
		t.Fatalf("ToCEL: %v", err)
	}
	out, _, err := compile(t, newRuntimeEnv(t), expr).Eval(map[string]any{"lead": lead})
	if err != nil {
		t.Fatalf("eval %s over %v: %v", expr, lead, err)
	}
	return out.Value().(bool)
}

func ruleQuery(op string, value any) string {
	return fmt.Sprintf(`{"combinator":"and","rules":[{"field":"contact.x","operator":%q,"value":%s}]}`, op, mustRaw(value))
}

// TestOperators checks every operator on a value that satisfies it, one that does not, one of
// the wrong type, and on the missing/null cases of the product's null rule.
func TestOperators(t *testing.T) {
	tests := []struct {
		op           string
		value        any
		yes, no      any // field values for which the rule is true / false
		wrong        any // a field value of a type the comparison does not fit
		wrongMatches bool
	}{
		{"=", "3", 3.0, 4.0, "3", false},
		{"=", 3, 3.0, 3.5, true, false},
		{"=", "Ford", "Ford", "ford", 1.0, false},
		{"=", true, true, false, "true", false},
		{"!=", "3", 4.0, 3.0, "3", true},
		{"!=", "Ford", "Fiat", "Ford", 2.0, true},
		{"<", 5, 4.0, 5.0, "4", false},
		{"<", "b", "a", "b", 1.0, false},
		{"<=", "5", 5.0, 6.0, true, false},
		{">", "1,000", 1001.0, 1000.0, "x", false},
		{">", "1/2", 0.75, 0.5, "x", false},
		{">=", "b", "b", "a", 2.0, false},
		{">=", " -2.5 ", -2.5, -3.0, []any{1.0}, false},
		{"contains", "or", "Ford", "Fiat", 3.0, false},
		{"contains", 3, "a3", "a4", 3.0, false},
		{"doesNotContain", "or", "Fiat", "Ford", 3.0, true},
		{"beginsWith", "Fo", "Ford", "Afo", true, false},
		{"doesNotBeginWith", "Fo", "Afo", "Ford", true, true},
		{"endsWith", ".com", "a@b.com", "a@b.org", map[string]any{}, false},
		{"doesNotEndWith", ".com", "a@b.org", "a@b.com", map[string]any{}, true},
		{"in", []any{"a", "b"}, "b", "c", 1.0, false},
		{"in", "a, b\\,c", "b,c", "b", 1.0, false},
		{"in", []any{1, "2", " 3 "}, 3.0, 4.0, "1", false},
		{"notIn", "1,2", 5.0, 2.0, "2", true},
		{"notIn", []any{"a"}, "b", "a", 1.0, true},
		{"between", []any{1, 5}, 5.0, 5.5, "3", false},
		{"between", "5, 1", 1.0, 0.0, "3", false}, // reversed bounds are swapped
		{"between", []any{"b", "d"}, "c", "e", 3.0, false},
		{"notBetween", []any{"1", "5"}, 0.0, 3.0, "0", true},
		{"notBetween", "5,1", 6.0, 1.0, false, true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s %v", tt.op, tt.value), func(t *testing.T) {
			negated := strings.HasPrefix(tt.op, "not") || strings.HasPrefix(tt.op, "doesNot") || tt.op == "!="
			q := ruleQuery(tt.op, tt.value)
			cases := []struct {
				name string
				lead map[string]any
				want bool
			}{
				{"yes", map[string]any{"contact": map[string]any{"x": tt.yes}}, true},
				{"no", map[string]any{"contact": map[string]any{"x": tt.no}}, false},
				{"wrong type", map[string]any{"contact": map[string]any{"x": tt.wrong}}, tt.wrongMatches},
				{"missing", map[string]any{"contact": map[string]any{}}, negated},
				{"null", map[string]any{"contact": map[string]any{"x": nil}}, negated},
				{"parent missing", map[string]any{}, negated},
				{"parent null", map[string]any{"contact": nil}, negated},
				{"parent not a map", map[string]any{"contact": "x"}, negated},
			}
			for _, c := range cases {
				if got := eval(t, q, c.lead); got != c.want {
					t.Errorf("%s: got %v, want %v", c.name, got, c.want)
				}
			}
		})
	}
}

func TestNullOperators(t *testing.T) {
	leads := []struct {
		name    string
		lead    map[string]any
		present bool
	}{
		{"present", map[string]any{"contact": map[string]any{"x": "a"}}, true},
		{"present zero", map[string]any{"contact": map[string]any{"x": 0.0}}, true},
		{"present empty string", map[string]any{"contact": map[string]any{"x": ""}}, true},
		{"missing", map[string]any{"contact": map[string]any{}}, false},
		{"null", map[string]any{"contact": map[string]any{"x": nil}}, false},
		{"parent missing", map[string]any{}, false},
		{"parent not a map", map[string]any{"contact": []any{1.0}}, false},
	}
	for _, l := range leads {
		if got := eval(t, ruleQuery("null", ""), l.lead); got != !l.present {
			t.Errorf("null on %s: got %v", l.name, got)
		}
		if got := eval(t, ruleQuery("notNull", nil), l.lead); got != l.present {
			t.Errorf("notNull on %s: got %v", l.name, got)
		}
	}
}

func TestValueSourceField(t *testing.T) {
	rule := func(op, value string) string {
		return fmt.Sprintf(`{"combinator":"and","rules":[{"field":"a","operator":%q,"valueSource":"field","value":%s}]}`, op, value)
	}
	tests := []struct {
		op, value string
		lead      map[string]any
		want      bool
	}{
		{"=", `"b"`, map[string]any{"a": 1.0, "b": 1.0}, true},
		{"=", `" c.d "`, map[string]any{"a": "x", "c": map[string]any{"d": "x"}}, true},
		{"=", `"b"`, map[string]any{"a": 1.0}, false},
		{"=", `"b"`, map[string]any{"a": nil, "b": nil}, false}, // null never equals
		{"!=", `"b"`, map[string]any{"a": 1.0}, true},
		{"<", `"b"`, map[string]any{"a": 1.0, "b": 2.0}, true},
		{"<", `"b"`, map[string]any{"a": "1", "b": 2.0}, false},
		{"<", `"b"`, map[string]any{"a": "a", "b": "b"}, true},
		{">=", `"b"`, map[string]any{"a": true, "b": false}, true},
		{"contains", `"b"`, map[string]any{"a": "Ford", "b": "or"}, true},
		{"contains", `"b"`, map[string]any{"a": "Ford", "b": 1.0}, false},
		{"doesNotEndWith", `"b"`, map[string]any{"a": "Ford"}, true},
		{"in", `"b, c"`, map[string]any{"a": 2.0, "b": 1.0, "c": 2.0}, true},
		{"in", `["b","c"]`, map[string]any{"a": 2.0, "c": 2.0}, true},
		{"in", `["b","c"]`, map[string]any{"a": 2.0}, false},
		{"notIn", `["b","c"]`, map[string]any{"a": 2.0, "b": 3.0}, true},
		{"between", `["b","c"]`, map[string]any{"a": 2.0, "b": 1.0, "c": 3.0}, true},
		{"between", `["b","c"]`, map[string]any{"a": 2.0, "b": 3.0, "c": 1.0}, false}, // fields are not swapped
		{"between", `["b","c"]`, map[string]any{"a": 2.0, "b": 1.0}, false},
		{"notBetween", `["b","c"]`, map[string]any{"a": 2.0, "b": "1", "c": 3.0}, true},
	}
	for _, tt := range tests {
		if got := eval(t, rule(tt.op, tt.value), tt.lead); got != tt.want {
			t.Errorf("%s %s over %v: got %v, want %v", tt.op, tt.value, tt.lead, got, tt.want)
		}
	}
}

func TestGroups(t *testing.T) {
	lead := map[string]any{"a": 1.0, "b": "x"}
	tests := []struct {
		name, query string
		want        bool
	}{
		{"and", `{"combinator":"and","rules":[{"field":"a","operator":"=","value":"1"},{"field":"b","operator":"=","value":"y"}]}`, false},
		{"or", `{"combinator":"or","rules":[{"field":"a","operator":"=","value":"1"},{"field":"b","operator":"=","value":"y"}]}`, true},
		{"upper-case combinator", `{"combinator":"OR","rules":[{"field":"a","operator":"=","value":"1"},{"field":"b","operator":"=","value":"y"}]}`, true},
		{"not", `{"combinator":"or","not":true,"rules":[{"field":"a","operator":"=","value":"1"}]}`, false},
		{"nested not", `{"combinator":"and","rules":[{"combinator":"and","not":true,"rules":[{"field":"b","operator":"=","value":"y"}]}]}`, true},
		{"empty", `{"combinator":"and","rules":[]}`, true},
		{"empty negated", `{"combinator":"and","not":true,"rules":[]}`, true},
		{"empty nested in or", `{"combinator":"or","rules":[{"field":"a","operator":"=","value":"2"},{"combinator":"and","not":true,"rules":[]}]}`, true},
		{"muted rule left out", `{"combinator":"and","rules":[{"field":"a","operator":"=","value":"2","muted":true},{"field":"a","operator":"=","value":"1"}]}`, true},
		{"muted group left out", `{"combinator":"or","rules":[{"combinator":"and","muted":true,"rules":[]},{"field":"a","operator":"=","value":"2"}]}`, false},
		{"placeholder field left out", `{"combinator":"and","rules":[{"field":"~","operator":"=","value":"2"}]}`, true},
		{"between without bounds left out", `{"combinator":"and","rules":[{"field":"a","operator":"between","value":"5"},{"field":"a","operator":"notBetween","value":["", 3]}]}`, true},
		{"independent combinators", `{"rules":[{"field":"a","operator":"=","value":"2"},"and",{"field":"a","operator":"=","value":"3"},"or",{"field":"b","operator":"=","value":"x"}]}`, true},
		{"independent precedence", `{"rules":[{"field":"b","operator":"=","value":"x"},"or",{"field":"a","operator":"=","value":"3"},"and",{"field":"a","operator":"=","value":"2"}]}`, true},
		{"wrapped", `{"query":{"combinator":"and","rules":[{"field":"a","operator":">","value":0}]}}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := eval(t, tt.query, lead); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestEscaping(t *testing.T) {
	for _, s := range []string{`say "hi"`, `back\slash`, "new\nline", `\"); true || ("`, "tab\tand\x00nul", "Émile 😀", `\u0041`} {
		lead := map[string]any{"a": s}
		if !eval(t, ruleQuery("=", s), map[string]any{"contact": map[string]any{"x": s}}) {
			t.Errorf("= %q does not match itself", s)
		}
		q := fmt.Sprintf(`{"combinator":"and","rules":[{"field":"a","operator":"contains","value":%s}]}`, mustRaw(s))
		if !eval(t, q, lead) {
			t.Errorf("contains %q does not match itself", s)
		}
		if eval(t, q, map[string]any{"a": "other"}) {
			t.Errorf("contains %q matches \"other\"", s)
		}
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		query string
		want  []string
	}{
		{`{"combinator":"and","rules":[{"field":"a","operator":"=","value":1},{"combinator":"or","rules":[{"field":"b","operator":"foo","value":1}]}]}`,
			[]string{`rules[1].rules[0].operator: unknown operator "foo"`}},
		{`{"combinator":"xor","rules":[]}`, []string{`combinator: unknown combinator "xor"`}},
		{`{"combinator":"and","rules":[{"field":"a) || true || (b","operator":"=","value":1}]}`, []string{`rules[0].field: invalid field`}},
		{`{"combinator":"and","rules":[{"field":"a.in","operator":"=","value":1}]}`, []string{`rules[0].field: invalid field "a.in": "in" is a CEL keyword`}},
		{`{"combinator":"and","rules":[{"field":"","operator":"=","value":1}]}`, []string{`rules[0].field: a field is required`}},
		{`{"combinator":"and","rules":[{"field":"a","operator":"=","valueSource":"field","value":"b)||(c"}]}`, []string{`rules[0].value: invalid field`}},
		{`{"combinator":"and","rules":[{"field":"a","operator":"in","valueSource":"field","value":["b",2]}]}`, []string{`rules[0].value[1]: with valueSource "field"`}},
		{`{"combinator":"and","rules":[{"field":"a","operator":"=","valueSource":"param","value":"b"}]}`, []string{`rules[0].valueSource: unknown value source "param"`}},
		{`{"combinator":"and","rules":[{"field":"a","operator":"="}]}`, []string{`rules[0].value: a value is required`}},
		{`{"combinator":"and","rules":[{"field":"a","operator":"contains","value":null}]}`, []string{`rules[0].value: a value is required`}},
		{`{"combinator":"and","rules":[{"field":"a","operator":"=","value":{"x":1}}]}`, []string{`rules[0].value: value must be`}},
		{`{"rules":[{"field":"a","operator":"=","value":1},{"field":"b","operator":"=","value":1}]}`, []string{`rules[1]: no combinator before this rule`}},
		{`{"combinator":"and","rules":[{"field":"a","operator":"=","value":1},"or",{"field":"b","operator":"=","value":1}]}`, []string{`rules[1]: combinator strings between rules need a group without "combinator"`}},
		{`{"combinator":"and","rules":[{"field":"x","operator":"bad"},{"field":"1x","operator":"="}]}`,
			[]string{`rules[0].operator: unknown operator "bad"`, `rules[1].field: invalid field "1x"`}},
	}
	for _, tt := range tests {
		g, err := Parse([]byte(tt.query))
		if err != nil {
			t.Fatalf("Parse %s: %v", tt.query, err)
		}
		err = Validate(g)
		if err == nil {
			t.Errorf("%s: no error", tt.query)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s:\nerror %q\nwant it to contain %q", tt.query, err, w)
			}
		}
		var qe *Error
		if !errors.As(err, &qe) || qe.Path == "" {
			t.Errorf("%s: error %v carries no *Error with a path", tt.query, err)
		}
	}
}

func TestDepthLimit(t *testing.T) {
	g := RuleGroup{Combinator: "and"}
	cur := &g
	for range maxDepth + 1 {
		cur.Rules = []Item{{Group: &RuleGroup{Combinator: "or"}}}
		cur = cur.Rules[0].Group
	}
	if err := Validate(g); err == nil || !strings.Contains(err.Error(), "nested more than") {
		t.Fatalf("got %v, want a depth error", err)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"query":{"combinator":"and","rules":[{"field":"a"},{"combinator":"or","rules":[5]}]}}`, `query.rules[1].rules[0]: must be a rule`},
		{`{"combinator":"and","rules":[{"field":3}]}`, `rules[0]: rule: cannot unmarshal number`},
		{`[1]`, `query must be a JSON object`},
	}
	for _, tt := range tests {
		_, err := Parse([]byte(tt.in))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Parse(%s) = %v, want an error containing %q", tt.in, err, tt.want)
		}
	}
}

func TestParseRoundTrip(t *testing.T) {
	in := `{"id":"g","combinator":"or","not":true,"rules":[{"id":"r","field":"primaryEmail","operator":"endsWith","valueSource":"value","value":".com"},{"combinator":"and","rules":[]},"and"]}`
	g, err := Parse([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(g)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != in {
		t.Errorf("round trip:\n got %s\nwant %s", out, in)
	}
	wrapped, err := Parse([]byte(`{"query":` + in + `}`))
	if err != nil {
		t.Fatal(err)
	}
	if out2, _ := json.Marshal(wrapped); string(out2) != in {
		t.Errorf("wrapped: got %s", out2)
	}
}

func TestWithVariable(t *testing.T) {
	g, _ := Parse([]byte(`{"combinator":"and","rules":[{"field":"a","operator":"=","value":1}]}`))
	expr, err := ToCEL(g, WithVariable("previous"))
	if err != nil || !strings.Contains(expr, "previous.a == 1.0") || strings.Contains(expr, "lead") {
		t.Errorf("got %q, %v", expr, err)
	}
	if _, err := ToCEL(g, WithVariable("x) || (y")); err == nil {
		t.Error("an invalid variable name is accepted")
	}
}

func TestParseNumeric(t *testing.T) {
	tests := []struct {
		in   string
		want float64
		ok   bool
	}{
		{"3", 3, true}, {" 7 ", 7, true}, {"-2", -2, true}, {"+2", 2, true}, {"- 2", -2, true},
		{"4.5", 4.5, true}, {".5", 0.5, true}, {"-.5", -0.5, true}, {"1e3", 1000, true}, {"1.5E-1", 0.15, true},
		{"1,000", 1000, true}, {"1_000.5", 1000.5, true}, {"1/2", 0.5, true}, {"1 1/2", 1.5, true},
		{"-1 1/2", -1.5, true}, {"3 / 4", 0.75, true}, {"007", 7, true}, {"\u00a05\u00a0", 5, true},
		{"", 0, false}, {"abc", 0, false}, {"1.", 0, false}, {"1,,0", 0, false}, {"1e", 0, false},
		{"0x10", 0, false}, {"1 2", 0, false}, {"0/0", 0, false}, {"--1", 0, false}, {"NaN", 0, false}, {"Infinity", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseNumeric(tt.in)
		if ok != tt.ok || ok && got != tt.want {
			t.Errorf("parseNumeric(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
	if f, ok := parseNumeric("1/0"); !ok || !math.IsInf(f, 1) {
		t.Errorf("parseNumeric(1/0) = %v, %v", f, ok)
	}
}

func TestJSNumber(t *testing.T) {
	tests := map[float64]string{3: "3", 0.5: "0.5", -2.25: "-2.25", 1e21: "1e+21", 1e20: "100000000000000000000",
		1e-7: "1e-7", 1e-6: "0.000001", 1.5e300: "1.5e+300", math.Inf(1): "Infinity"}
	for in, want := range tests {
		if got := jsNumber(in); got != want {
			t.Errorf("jsNumber(%v) = %q, want %q", in, got, want)
		}
	}
}

func TestSplitBy(t *testing.T) {
	got := splitBy(`this\,\,that,,the other,,,\,`, ",")
	want := []string{"this,,that", "", "the other", "", "", ","}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %q, want %q", got, want)
	}
}
