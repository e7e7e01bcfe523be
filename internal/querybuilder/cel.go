package querybuilder

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Limits that keep the generated expression inside cel-go's default parser limits.
const (
	maxDepth       = 16  // nested groups below the root
	maxFieldLength = 256 // characters in a field path
)

// Option adjusts the translation.
type Option func(*config)

type config struct {
	variable string
}

// WithVariable sets the CEL variable the fields are read from (default "lead"), for example
// "previous" to test the lead as it was before a change.
func WithVariable(name string) Option {
	return func(c *config) { c.variable = name }
}

// Validate reports every problem that stops g from being translated, each naming its JSON
// path, joined with errors.Join.
func Validate(g RuleGroup, opts ...Option) error {
	_, err := ToCEL(g, opts...)
	return err
}

// ToCEL translates g into a boolean CEL expression over the variable "lead" (a dyn map
// holding the lead as JSON), so the field "contact.primaryEmail" reads
// lead.contact.primaryEmail.
//
// The result means what formatQuery(g, {format: "cel", parseNumbers: true}) of
// react-querybuilder means, except that it never fails at evaluation time:
//   - a missing or null field satisfies "null", fails "notNull", makes the negated operators
//     (!=, doesNotContain, doesNotBeginWith, doesNotEndWith, notIn, notBetween) true and
//     every other operator false; the same holds for a field named by a "field" value source;
//   - a field whose runtime type does not fit the comparison (a string compared with a
//     number, contains on a number) behaves like a missing one instead of raising
//     "no such overload".
//
// Where react-querybuilder's output is not valid CEL or changes meaning (numbers written
// "1,000", "1/2" or "+5", string values holding backslashes or new lines), the translation
// keeps the evident intent: numbers are read as numeric-quantity reads them and strings are
// escaped. A rule value that is absent or null is an error for operators that need a value.
func ToCEL(g RuleGroup, opts ...Option) (string, error) {
	c := config{variable: "lead"}
	for _, o := range opts {
		o(&c)
	}
	if !identRE.MatchString(c.variable) || celKeywords[c.variable] {
		return "", &Error{Msg: fmt.Sprintf("invalid variable name %q", c.variable)}
	}
	t := &translator{root: c.variable}
	out := t.group(&g, "", 0)
	if len(t.errs) > 0 {
		return "", errors.Join(t.errs...)
	}
	return out, nil
}

type translator struct {
	root string
	errs []error
}

func (t *translator) fail(path, format string, args ...any) {
	t.errs = append(t.errs, &Error{Path: path, Msg: fmt.Sprintf(format, args...)})
}

func join(path, elem string) string {
	if path == "" {
		return elem
	}
	return path + "." + elem
}

var celCombinators = map[string]string{"and": "&&", "or": "||"}

// group mirrors react-querybuilder's defaultRuleGroupProcessorCEL: muted elements and rules
// it would render as "" are left out, and a group left with nothing is true ("1 == 1"),
// whether or not it is negated. An empty return means "leave this group out".
func (t *translator) group(g *RuleGroup, path string, depth int) string {
	outermost := depth == 0
	if depth > maxDepth {
		t.fail(path, "groups are nested more than %d deep", maxDepth)
		return ""
	}
	if g.Muted {
		if outermost {
			return "true"
		}
		return ""
	}
	independent := g.Combinator == ""
	op := ""
	if !independent {
		var ok bool
		if op, ok = celCombinators[strings.ToLower(g.Combinator)]; !ok {
			t.fail(join(path, "combinator"), "unknown combinator %q (want \"and\" or \"or\")", g.Combinator)
		}
	}

	var parts []string
	pending := "" // combinator string waiting for the next rendered element (independent groups)
	for i := range g.Rules {
		item := &g.Rules[i]
		ipath := join(path, fmt.Sprintf("rules[%d]", i))
		var expr string
		switch {
		case item.Rule != nil:
			expr = t.rule(item.Rule, ipath)
		case item.Group != nil:
			expr = t.group(item.Group, ipath, depth+1)
		default:
			c, ok := celCombinators[strings.ToLower(item.Combinator)]
			switch {
			case !ok:
				t.fail(ipath, "unknown combinator %q (want \"and\" or \"or\")", item.Combinator)
			case !independent:
				t.fail(ipath, "combinator strings between rules need a group without \"combinator\"")
			default:
				pending = c
			}
			continue
		}
		if expr == "" {
			continue
		}
		if len(parts) > 0 {
			switch {
			case !independent:
				parts = append(parts, op)
			case pending != "":
				parts = append(parts, pending)
				pending = ""
			default:
				t.fail(ipath, "no combinator before this rule (the group has no \"combinator\")")
			}
		}
		parts = append(parts, expr)
	}
	if len(parts) == 0 {
		return "true"
	}
	expr := strings.Join(parts, " ")
	switch {
	case g.Not:
		return "!(" + expr + ")"
	case outermost:
		return expr
	default:
		return "(" + expr + ")"
	}
}

var operators = map[string]string{
	"=": "=", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">=",
	"contains": "contains", "doesnotcontain": "doesNotContain",
	"beginswith": "beginsWith", "doesnotbeginwith": "doesNotBeginWith",
	"endswith": "endsWith", "doesnotendwith": "doesNotEndWith",
	"null": "null", "notnull": "notNull",
	"in": "in", "notin": "notIn",
	"between": "between", "notbetween": "notBetween",
}

// stringFunctions maps the string operators to CEL's functions.
var stringFunctions = map[string]string{
	"contains": "contains", "doesNotContain": "contains",
	"beginsWith": "startsWith", "doesNotBeginWith": "startsWith",
	"endsWith": "endsWith", "doesNotEndWith": "endsWith",
}

// kind is the runtime type a comparison needs from the field.
type kind int

const (
	kindAny kind = iota // equality: any type, CEL equality never fails
	kindNumber
	kindString
	kindBool
)

// operand is a rendered right-hand side: a literal or another field.
type operand struct {
	lit   string // CEL literal, when field is nil
	kind  kind
	field *path
	num   float64 // the value, for kindNumber literals
}

func (t *translator) rule(r *Rule, rpath string) string {
	if r.Muted || r.Field == "~" || r.Operator == "~" {
		return "" // react-querybuilder skips muted rules and placeholders
	}
	f, ferr := t.field(r.Field)
	if ferr != "" {
		t.fail(join(rpath, "field"), "%s", ferr)
	}
	op, ok := operators[strings.ToLower(r.Operator)]
	if !ok {
		t.fail(join(rpath, "operator"), "unknown operator %q", r.Operator)
	}
	byField := false
	switch r.ValueSource {
	case "", "value":
	case "field":
		byField = true
	default:
		t.fail(join(rpath, "valueSource"), "unknown value source %q (want \"value\" or \"field\")", r.ValueSource)
	}
	if ferr != "" || !ok {
		return ""
	}
	switch op { // the value does not matter
	case "null":
		return "!" + f.present("")
	case "notNull":
		return f.present("")
	}
	vpath := join(rpath, "value")
	value, verr := decodeValue(r.Value)
	if verr != "" {
		t.fail(vpath, "%s", verr)
		return ""
	}

	switch op {
	case "=", "!=", "<", "<=", ">", ">=":
		rhs, ok := t.scalar(value, byField, vpath)
		if !ok {
			return ""
		}
		cmp := op
		if op == "=" || op == "!=" {
			cmp = "=="
			rhs.kind = kindAny
		}
		pos := compare(f, cmp, rhs)
		if op == "!=" {
			return "!" + pos
		}
		return pos
	case "contains", "doesNotContain", "beginsWith", "doesNotBeginWith", "endsWith", "doesNotEndWith":
		var rhs operand
		if byField {
			var ok bool
			if rhs, ok = t.fieldOperand(value, vpath); !ok {
				return ""
			}
		} else {
			if value == nil {
				t.fail(vpath, "a value is required for operator %q", r.Operator)
				return ""
			}
			rhs = operand{lit: quote(jsString(value))}
		}
		rhs.kind = kindString
		pos := stringCall(f, stringFunctions[op], rhs)
		if strings.HasPrefix(op, "doesNot") {
			return "!" + pos
		}
		return pos
	case "in", "notIn":
		items := toArray(value)
		pos := t.in(f, items, byField, vpath)
		if pos == "" {
			return ""
		}
		if op == "notIn" {
			return "!" + pos
		}
		return pos
	case "between", "notBetween":
		items := toArray(value)
		if len(items) < 2 || emptyValue(items[0]) || emptyValue(items[1]) {
			return "" // react-querybuilder leaves the rule out
		}
		lo, ok1 := t.bound(items[0], byField, vpath+"[0]")
		hi, ok2 := t.bound(items[1], byField, vpath+"[1]")
		if !ok1 || !ok2 {
			return ""
		}
		if lo.field == nil && hi.field == nil && lo.kind == kindNumber && hi.kind == kindNumber && hi.num < lo.num {
			lo, hi = hi, lo
		}
		pos := between(f, lo, hi)
		if op == "notBetween" {
			return "!" + pos
		}
		return pos
	}
	return ""
}

// scalar renders the value of a comparison: booleans and numbers (or numeric strings) bare,
// anything else as a string, as react-querybuilder does.
func (t *translator) scalar(v any, byField bool, vpath string) (operand, bool) {
	if byField {
		return t.fieldOperand(v, vpath)
	}
	switch x := v.(type) {
	case nil:
		t.fail(vpath, "a value is required")
		return operand{}, false
	case bool:
		if x {
			return operand{lit: "true", kind: kindBool}, true
		}
		return operand{lit: "false", kind: kindBool}, true
	case json.Number:
		return numberOperand(numberValue(x)), true
	case string:
		if n, ok := parseNumeric(x); ok {
			return numberOperand(n), true
		}
		return operand{lit: quote(x), kind: kindString}, true
	default: // arrays read as JavaScript prints them: "a,b"
		return operand{lit: quote(jsString(x)), kind: kindString}, true
	}
}

// bound renders one bound of between/notBetween.
func (t *translator) bound(v any, byField bool, vpath string) (operand, bool) {
	if byField {
		return t.fieldOperand(v, vpath)
	}
	switch x := v.(type) {
	case json.Number:
		return numberOperand(numberValue(x)), true
	case string:
		if n, ok := parseNumeric(x); ok {
			return numberOperand(n), true
		}
	}
	return operand{lit: quote(jsString(v)), kind: kindString}, true
}

func numberOperand(f float64) operand {
	return operand{lit: celDouble(f), kind: kindNumber, num: f}
}

func (t *translator) fieldOperand(v any, vpath string) (operand, bool) {
	s, ok := v.(string)
	if !ok {
		t.fail(vpath, "with valueSource \"field\" the value must name a field")
		return operand{}, false
	}
	p, err := t.field(trimJS(s))
	if err != "" {
		t.fail(vpath, "%s", err)
		return operand{}, false
	}
	return operand{field: p}, true
}

func (t *translator) in(f *path, items []any, byField bool, vpath string) string {
	if len(items) == 0 {
		return "false"
	}
	if byField {
		alts := make([]string, 0, len(items))
		for i, it := range items {
			rhs, ok := t.fieldOperand(it, fmt.Sprintf("%s[%d]", vpath, i))
			if !ok {
				return ""
			}
			alts = append(alts, rhs.field.present("")+" && "+f.expr+" == "+rhs.field.expr)
		}
		return "(" + f.present("") + " && (" + strings.Join(alts, " || ") + "))"
	}
	lits := make([]string, len(items))
	for i, it := range items {
		switch x := it.(type) {
		case json.Number:
			lits[i] = celDouble(numberValue(x))
		case string:
			if n, ok := parseNumeric(x); ok {
				lits[i] = celDouble(n)
			} else {
				lits[i] = quote(x)
			}
		default: // booleans, null and nested arrays are rendered as strings
			lits[i] = quote(jsString(x))
		}
	}
	return "(" + f.present("") + " && " + f.expr + " in [" + strings.Join(lits, ", ") + "])"
}

// compare renders "f op rhs" guarded so that it is false, never an error, when a field is
// missing, null or of a type the comparison does not fit.
func compare(f *path, op string, rhs operand) string {
	if rhs.field != nil {
		guard := ""
		if op != "==" {
			guard = " && " + comparable(f.expr, rhs.field.expr)
		}
		return "(" + f.present("") + " && " + rhs.field.present("") + guard + " && " + f.expr + " " + op + " " + rhs.field.expr + ")"
	}
	return "(" + f.present(typeGuard(f.expr, rhs.kind)) + " && " + f.expr + " " + op + " " + rhs.lit + ")"
}

func stringCall(f *path, fn string, rhs operand) string {
	call := f.expr + "." + fn + "("
	if rhs.field != nil {
		return "(" + f.present(typeGuard(f.expr, kindString)) + " && " +
			rhs.field.present(typeGuard(rhs.field.expr, kindString)) + " && " + call + rhs.field.expr + "))"
	}
	return "(" + f.present(typeGuard(f.expr, kindString)) + " && " + call + rhs.lit + "))"
}

func between(f *path, lo, hi operand) string {
	var b strings.Builder
	b.WriteString("(")
	if lo.field == nil && hi.field == nil && lo.kind == hi.kind {
		b.WriteString(f.present(typeGuard(f.expr, lo.kind)))
		b.WriteString(" && " + f.expr + " >= " + lo.lit + " && " + f.expr + " <= " + hi.lit + ")")
		return b.String()
	}
	b.WriteString(f.present(""))
	for _, c := range []struct {
		op  string
		rhs operand
	}{{">=", lo}, {"<=", hi}} {
		b.WriteString(" && ")
		if c.rhs.field != nil {
			b.WriteString(c.rhs.field.present("") + " && " + comparable(f.expr, c.rhs.field.expr))
		} else {
			b.WriteString(typeGuard(f.expr, c.rhs.kind))
		}
		b.WriteString(" && " + f.expr + " " + c.op + " " + c.rhs.expr())
	}
	b.WriteString(")")
	return b.String()
}

func (o operand) expr() string {
	if o.field != nil {
		return o.field.expr
	}
	return o.lit
}

func typeGuard(x string, k kind) string {
	switch k {
	case kindNumber:
		return "type(" + x + ") in [int, uint, double]"
	case kindString:
		return "type(" + x + ") == string"
	case kindBool:
		return "type(" + x + ") == bool"
	}
	return ""
}

// comparable is true when CEL can order a and b: both numbers, or both strings, booleans or
// bytes.
func comparable(a, b string) string {
	return "(type(" + a + ") in [int, uint, double] && type(" + b + ") in [int, uint, double] || " +
		"type(" + a + ") == type(" + b + ") && type(" + a + ") in [string, bool, bytes])"
}

// path is a validated field path rendered against the root variable.
type path struct {
	segments []string
	root     string
	expr     string
}

var (
	identRE     = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	celKeywords = map[string]bool{"true": true, "false": true, "null": true, "in": true}
)

// field validates a dotted field path; it returns a message when the path is not made of
// CEL identifiers (so nothing can be injected into the expression).
func (t *translator) field(name string) (*path, string) {
	switch {
	case name == "":
		return nil, "a field is required"
	case len(name) > maxFieldLength:
		return nil, fmt.Sprintf("field is longer than %d characters", maxFieldLength)
	}
	segs := strings.Split(name, ".")
	for _, s := range segs {
		if !identRE.MatchString(s) {
			return nil, fmt.Sprintf("invalid field %q: want identifiers joined by dots", name)
		}
		if celKeywords[s] {
			return nil, fmt.Sprintf("invalid field %q: %q is a CEL keyword", name, s)
		}
	}
	return &path{segments: segs, root: t.root, expr: t.root + "." + name}, ""
}

// present is true when every segment of the path exists, each parent is a map, and the
// field is not null; last replaces the final "!= null" test with a stricter type test.
func (p *path) present(last string) string {
	var b strings.Builder
	b.WriteString("(")
	x := p.root
	for i, s := range p.segments {
		if i > 0 {
			b.WriteString(" && type(" + x + ") == map && ")
		}
		x += "." + s
		b.WriteString("has(" + x + ")")
	}
	if last == "" {
		last = x + " != null"
	}
	b.WriteString(" && " + last + ")")
	return b.String()
}

// decodeValue reads a rule value: nil (absent or null), string, json.Number, bool or []any.
func decodeValue(raw json.RawMessage) (any, string) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, ""
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, "invalid value: " + jsonMessage(err)
	}
	if hasObject(v) {
		return nil, "value must be a string, number, boolean or array"
	}
	return v, ""
}

func hasObject(v any) bool {
	switch x := v.(type) {
	case map[string]any:
		return true
	case []any:
		for _, e := range x {
			if hasObject(e) {
				return true
			}
		}
	}
	return false
}

func numberValue(n json.Number) float64 {
	return parseDecimal(string(n))
}

// toArray is react-querybuilder's toArray: arrays with strings trimmed, strings split on
// unescaped commas (empty items dropped), a number as a one-element list, anything else empty.
func toArray(v any) []any {
	switch x := v.(type) {
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			if s, ok := e.(string); ok {
				e = trimJS(s)
			}
			out[i] = e
		}
		return out
	case string:
		var out []any
		for _, s := range splitBy(x, ",") {
			if s = trimJS(s); s != "" {
				out = append(out, s)
			}
		}
		return out
	case json.Number:
		return []any{x}
	}
	return nil
}

// splitBy splits on sep except where it is escaped with a backslash (which is dropped).
func splitBy(s, sep string) []string {
	var out []string
	for i, chunk := range strings.Split(s, `\`+sep) {
		parts := strings.Split(chunk, sep)
		if i == 0 {
			out = parts
			continue
		}
		out[len(out)-1] += sep + parts[0]
		out = append(out, parts[1:]...)
	}
	return out
}

func emptyValue(v any) bool {
	s, ok := v.(string)
	return v == nil || ok && s == ""
}

// jsString is JavaScript's String(value) for JSON values.
func jsString(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return x
	case bool:
		if x {
			return "true"
		}
		return "false"
	case json.Number:
		return jsNumber(numberValue(x))
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			if e != nil { // Array.prototype.join writes null as ""
				parts[i] = jsString(e)
			}
		}
		return strings.Join(parts, ",")
	}
	return fmt.Sprint(v)
}

// quote writes s as a CEL string literal.
func quote(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case r == '"':
			b.WriteString(`\"`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		default: // invalid UTF-8 decodes to U+FFFD, written as such
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
