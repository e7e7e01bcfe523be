package querybuilder

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/cel-go/cel"
)

// The agreement test is the acceptance test of the translation: for a deterministic corpus of
// random queries it compares our CEL with react-querybuilder's own CEL export
// (formatQuery(q, {format: "cel", parseNumbers: true}), pinned in testdata/rqb) by evaluating
// both over generated leads in which every field is present with the type the rules expect.

const (
	corpusSize  = 400
	recordCount = 24
)

// Fields of the generated leads, by the type of their values.
var (
	numberFields = []string{"priority", "score", "amount", "contact.age"}
	stringFields = []string{"status", "makeStr", "source", "contact.primaryEmail", "contact.firstName"}
	boolFields   = []string{"isHot", "contact.optIn"}
	topLevel     = []string{"priority", "score", "amount", "status", "makeStr", "source", "isHot", "contact"}

	stringPool = []string{"new", "open", "won", "lost", "Ford", "ford", "Toyota", "alice@example.com",
		"bob@test.org", "", "say \"hi\"", "a b", "O'Neil", "zeta", "Émile", "web", "phone"}
	fragmentPool = []string{"o", "e", "new", "Fo", "@example.com", ".org", "a", "\"", "Ém", "", "ta", "x", "web"}
	// Numbers written the ways react-querybuilder's CEL output keeps valid and meaningful.
	numericStrings = []string{"3", "-2", "4.5", " 7 ", "1e1", ".5", "10", "0", "-0.5", "12", "2.50"}
)

func TestAgreementWithReactQueryBuilder(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Node; skipped with -short")
	}
	dir := filepath.Join("testdata", "rqb")
	ensureNodeModules(t, dir)

	rng := rand.New(rand.NewPCG(20240607, 1))
	corpus := make([]RuleGroup, corpusSize)
	for i := range corpus {
		corpus[i] = genGroup(rng, 0)
	}
	records := make([]map[string]any, recordCount)
	for i := range records {
		records[i] = genRecord(rng)
	}

	// Leads with null fields: react-querybuilder's output fails on many of them ("no such
	// overload"); where it does give an answer, ours must be the same.
	nullRecords := make([]map[string]any, recordCount)
	for i := range nullRecords {
		nullRecords[i] = genRecord(rng)
		nullify(rng, nullRecords[i])
	}

	theirs := runReference(t, dir, corpus)

	ours := newRuntimeEnv(t)
	refEnv := newReferenceEnv(t)
	var evaluations, trueCount, mixed, fallback, nullAgree, nullTheirErrors int
	opsSeen := map[string]int{}
	for i, g := range corpus {
		countOperators(g, opsSeen)
		expr, err := ToCEL(g)
		if err != nil {
			t.Fatalf("query %d: ToCEL: %v\n%s", i, err, mustJSON(g))
		}
		ourPrg := compile(t, ours, expr)
		refAst, iss := refEnv.Compile(theirs[i])
		if iss.Err() != nil {
			t.Fatalf("query %d: react-querybuilder output does not compile: %v\n%s\n%s", i, iss.Err(), theirs[i], mustJSON(g))
		}
		refPrg, err := refEnv.Program(refAst)
		if err != nil {
			t.Fatal(err)
		}
		if theirs[i] == "1 == 1" {
			fallback++
		}
		trues := 0
		for j, rec := range records {
			want, _, err := refPrg.Eval(rec)
			if err != nil {
				t.Fatalf("query %d record %d: react-querybuilder output fails: %v\n%s\nrecord %s", i, j, err, theirs[i], mustJSON(rec))
			}
			got, _, err := ourPrg.Eval(map[string]any{"lead": rec})
			if err != nil {
				t.Fatalf("query %d record %d: our output fails: %v\n%s", i, j, err, expr)
			}
			if got.Value() != want.Value() {
				t.Errorf("query %d record %d: ours %v, react-querybuilder %v\nquery: %s\ntheirs: %s\nours: %s\nrecord: %s",
					i, j, got, want, mustJSON(g), theirs[i], expr, mustJSON(rec))
				continue
			}
			evaluations++
			if got.Value() == true {
				trues++
			}
		}
		trueCount += trues
		if trues > 0 && trues < len(records) {
			mixed++
		}
		if comparesNullFields(g) {
			continue // where both sides are null, = is true for them and false by the null rule
		}
		for j, rec := range nullRecords {
			want, _, err := refPrg.Eval(rec)
			if err != nil {
				nullTheirErrors++
				continue
			}
			got, _, err := ourPrg.Eval(map[string]any{"lead": rec})
			if err != nil {
				t.Fatalf("query %d null record %d: our output fails: %v\n%s", i, j, err, expr)
			}
			if got.Value() != want.Value() {
				t.Errorf("query %d null record %d: ours %v, react-querybuilder %v\nquery: %s\ntheirs: %s\nours: %s\nrecord: %s",
					i, j, got, want, mustJSON(g), theirs[i], expr, mustJSON(rec))
				continue
			}
			nullAgree++
		}
	}
	var ops []string
	for op, n := range opsSeen {
		ops = append(ops, fmt.Sprintf("%s:%d", op, n))
	}
	sort.Strings(ops)
	t.Logf("agreement: %d queries x %d records = %d evaluations agree (%d true, %d false); %d queries split the records, %d are react-querybuilder's empty fallback",
		len(corpus), len(records), evaluations, trueCount, evaluations-trueCount, mixed, fallback)
	t.Logf("leads with null fields: %d evaluations agree; react-querybuilder's output failed on %d (ours never fails)",
		nullAgree, nullTheirErrors)
	t.Logf("rules by operator: %s", strings.Join(ops, " "))
	if len(opsSeen) != len(operators) {
		t.Errorf("corpus covers %d operators, want %d", len(opsSeen), len(operators))
	}
}

// ensureNodeModules installs the pinned react-querybuilder when node_modules is missing.
func ensureNodeModules(t *testing.T, dir string) {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node is not installed; the agreement test needs Node.js and npm")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "react-querybuilder", "package.json")); err == nil {
		return
	}
	if _, err := exec.LookPath("npm"); err != nil {
		t.Skip("npm is not installed; the agreement test needs Node.js and npm")
	}
	cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm ci in %s: %v\n%s", dir, err, out)
	}
}

// runReference returns react-querybuilder's CEL for every query, from one Node process.
func runReference(t *testing.T, dir string, corpus []RuleGroup) []string {
	t.Helper()
	in, err := json.Marshal(corpus)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("node", "format.cjs")
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node format.cjs: %v\n%s", err, stderr.String())
	}
	var res []string
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("node format.cjs output: %v", err)
	}
	if len(res) != len(corpus) {
		t.Fatalf("node format.cjs returned %d expressions for %d queries", len(res), len(corpus))
	}
	return res
}

// newRuntimeEnv declares what the automation runtime declares.
func newRuntimeEnv(t testing.TB) *cel.Env {
	t.Helper()
	env, err := cel.NewEnv(
		cel.Variable("lead", cel.DynType),
		cel.Variable("event", cel.DynType),
		cel.Variable("previous", cel.DynType),
		cel.Variable("steps", cel.DynType),
		cel.Variable("automation", cel.DynType),
		cel.Variable("now", cel.TimestampType),
	)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// newReferenceEnv binds every top-level lead field as a variable, as react-querybuilder's
// output reads them.
func newReferenceEnv(t *testing.T) *cel.Env {
	t.Helper()
	var opts []cel.EnvOption
	for _, f := range topLevel {
		opts = append(opts, cel.Variable(f, cel.DynType))
	}
	env, err := cel.NewEnv(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

func compile(t testing.TB, env *cel.Env, expr string) cel.Program {
	t.Helper()
	ast, iss := env.Compile(expr)
	if iss.Err() != nil {
		t.Fatalf("compile %s: %v", expr, iss.Err())
	}
	if !ast.OutputType().IsExactType(cel.BoolType) {
		t.Fatalf("%s has type %v, want bool", expr, ast.OutputType())
	}
	prg, err := env.Program(ast)
	if err != nil {
		t.Fatal(err)
	}
	return prg
}

func genRecord(rng *rand.Rand) map[string]any {
	rec := map[string]any{"contact": map[string]any{}}
	set := func(field string, v any) {
		if p, ok := strings.CutPrefix(field, "contact."); ok {
			rec["contact"].(map[string]any)[p] = v
			return
		}
		rec[field] = v
	}
	for _, f := range numberFields {
		set(f, float64(rng.IntN(30)-8)/2) // -4 .. 10.5 in halves
	}
	for _, f := range stringFields {
		set(f, pick(rng, stringPool))
	}
	for _, f := range boolFields {
		set(f, rng.IntN(2) == 0)
	}
	return rec
}

func genGroup(rng *rand.Rand, depth int) RuleGroup {
	g := RuleGroup{ID: fmt.Sprintf("g%d", rng.IntN(1e6)), Combinator: pick(rng, []string{"and", "or"}), Not: rng.IntN(4) == 0}
	n := 1 + rng.IntN(4)
	if rng.IntN(25) == 0 {
		n = 0 // empty group: react-querybuilder's fallback "1 == 1"
	}
	independent := depth > 0 && rng.IntN(8) == 0
	if independent {
		g.Combinator = ""
	}
	for i := range n {
		if independent && i > 0 {
			g.Rules = append(g.Rules, Item{Combinator: pick(rng, []string{"and", "or"})})
		}
		if depth < 3 && rng.IntN(4) == 0 {
			sub := genGroup(rng, depth+1)
			g.Rules = append(g.Rules, Item{Group: &sub})
			continue
		}
		r := genRule(rng)
		g.Rules = append(g.Rules, Item{Rule: &r})
	}
	return g
}

func genRule(rng *rand.Rand) Rule {
	ops := []string{"=", "!=", "<", "<=", ">", ">=", "contains", "doesNotContain", "beginsWith",
		"doesNotBeginWith", "endsWith", "doesNotEndWith", "null", "notNull", "in", "notIn", "between", "notBetween"}
	r := Rule{ID: fmt.Sprintf("r%d", rng.IntN(1e6)), Operator: pick(rng, ops), ValueSource: "value"}
	byField := rng.IntN(5) == 0
	if byField {
		r.ValueSource = "field"
	}
	val := func(v any) json.RawMessage { return mustRaw(v) }
	numberValue := func() any {
		if rng.IntN(2) == 0 {
			return float64(rng.IntN(30)-8) / 2
		}
		return pick(rng, numericStrings)
	}
	switch r.Operator {
	case "null", "notNull":
		r.Field = pick(rng, append(append(append([]string{}, numberFields...), stringFields...), boolFields...))
		r.ValueSource = ""
		if rng.IntN(2) == 0 {
			r.Value = val("")
		}
	case "=", "!=", "<", "<=", ">", ">=":
		switch rng.IntN(5) {
		case 0, 1:
			r.Field = pick(rng, numberFields)
			r.Value = val(numberValue())
			if byField {
				r.Value = val(pick(rng, numberFields))
			}
		case 2, 3:
			r.Field = pick(rng, stringFields)
			r.Value = val(pick(rng, stringPool))
			if byField {
				r.Value = val(pick(rng, stringFields))
			}
		default:
			r.Field = pick(rng, boolFields)
			r.Value = val(rng.IntN(2) == 0)
			if byField {
				r.Value = val(pick(rng, boolFields))
			}
		}
	case "contains", "doesNotContain", "beginsWith", "doesNotBeginWith", "endsWith", "doesNotEndWith":
		r.Field = pick(rng, stringFields)
		r.Value = val(pick(rng, fragmentPool))
		if byField {
			r.Value = val(pick(rng, stringFields))
		}
	case "in", "notIn":
		if rng.IntN(2) == 0 {
			r.Field = pick(rng, numberFields)
			items := make([]any, rng.IntN(4))
			for i := range items {
				items[i] = numberValue()
			}
			if byField {
				items = pickFields(rng, numberFields)
			}
			r.Value = listValue(rng, items)
		} else {
			r.Field = pick(rng, stringFields)
			items := make([]any, rng.IntN(4))
			for i := range items {
				items[i] = pick(rng, stringPool)
			}
			if byField {
				items = pickFields(rng, stringFields)
			}
			r.Value = listValue(rng, items)
		}
	case "between", "notBetween":
		var items []any
		if rng.IntN(3) > 0 {
			r.Field = pick(rng, numberFields)
			items = []any{numberValue(), numberValue()}
			if byField {
				items = []any{pick(rng, numberFields), pick(rng, numberFields)}
			}
		} else {
			r.Field = pick(rng, stringFields)
			items = []any{pick(rng, stringPool), pick(rng, stringPool)}
			if byField {
				items = []any{pick(rng, stringFields), pick(rng, stringFields)}
			}
		}
		if rng.IntN(10) == 0 {
			items = items[:1] // too few bounds: react-querybuilder leaves the rule out
		}
		r.Value = listValue(rng, items)
	}
	return r
}

func pickFields(rng *rand.Rand, fields []string) []any {
	out := make([]any, 1+rng.IntN(2))
	for i := range out {
		out[i] = pick(rng, fields)
	}
	return out
}

// listValue writes items as a JSON array or, when they allow it, as a comma-separated string
// (commas inside items escaped with a backslash).
func listValue(rng *rand.Rand, items []any) json.RawMessage {
	if rng.IntN(2) == 0 {
		return mustRaw(items)
	}
	parts := make([]string, len(items))
	for i, it := range items {
		s := fmt.Sprint(it)
		if strings.ContainsAny(s, `\`) || strings.TrimSpace(s) == "" {
			return mustRaw(items)
		}
		parts[i] = strings.ReplaceAll(s, ",", `\,`)
	}
	return mustRaw(strings.Join(parts, pick(rng, []string{",", ", ", " , "})))
}

// nullify sets about a third of the fields to null.
func nullify(rng *rand.Rand, rec map[string]any) {
	for _, f := range append(append(append([]string{}, numberFields...), stringFields...), boolFields...) {
		if rng.IntN(3) > 0 {
			continue
		}
		if p, ok := strings.CutPrefix(f, "contact."); ok {
			rec["contact"].(map[string]any)[p] = nil
		} else {
			rec[f] = nil
		}
	}
}

// comparesNullFields reports whether g compares two fields for equality, where the null rule
// departs from react-querybuilder when both are null.
func comparesNullFields(g RuleGroup) bool {
	for _, it := range g.Rules {
		switch {
		case it.Rule != nil:
			switch it.Rule.Operator {
			case "=", "!=", "in", "notIn":
				if it.Rule.ValueSource == "field" {
					return true
				}
			}
		case it.Group != nil:
			if comparesNullFields(*it.Group) {
				return true
			}
		}
	}
	return false
}

func countOperators(g RuleGroup, seen map[string]int) {
	for _, it := range g.Rules {
		switch {
		case it.Rule != nil:
			seen[it.Rule.Operator]++
		case it.Group != nil:
			countOperators(*it.Group, seen)
		}
	}
}

func pick[T any](rng *rand.Rand, xs []T) T { return xs[rng.IntN(len(xs))] }

func mustRaw(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
