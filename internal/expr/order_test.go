package expr

import (
	"strings"
	"testing"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
)

// evaluations is how often each expression is evaluated to show that its
// result does not move; with Go's randomised map order, 8 keys and 200
// evaluations, an order-dependent result would repeat by chance with
// probability far below 1e-100.
const evaluations = 200

// orderVars holds maps with enough keys that Go's iteration order varies.
func orderVars() Vars {
	v := vars()
	v.Steps = map[string]any{
		"h": map[string]any{"taskId": "t-8"}, "c": map[string]any{"taskId": "t-3"},
		"a": map[string]any{"taskId": "t-1"}, "g": map[string]any{"taskId": "t-7"},
		"e": map[string]any{"taskId": "t-5"}, "b": map[string]any{"taskId": "t-2"},
		"f": map[string]any{"taskId": "t-6"}, "d": map[string]any{"taskId": "t-4"},
	}
	return v
}

// TestMapIterationIsDeterministic: expressions whose result depended on Go's
// map order give one result, the keys in ascending order, on every
// evaluation, with fresh maps each time.
func TestMapIterationIsDeterministic(t *testing.T) {
	for _, tc := range []struct {
		src  string
		kind Kind
		want string // the result as CEL prints it
	}{
		{"lead.map(k, k)[0]", KindAny, "account"},
		{"lead.contact.map(k, k)", KindAny, `["firstName", "id", "language", "lastName", "mobilePhone", "primaryEmail"]`},
		{"steps.map(k, steps[k].taskId).join(',')", KindText, "t-1,t-2,t-3,t-4,t-5,t-6,t-7,t-8"},
		{"steps.filter(k, k > 'c')[0] == 'd'", KindBool, "true"},
		{"steps.map(k, k > 'e', k)", KindAny, `["f", "g", "h"]`},
		{"{'h': 1, 'g': 2, 'f': 3, 'e': 4, 'd': 5, 'c': 6, 'b': 7, 'a': 8}.map(k, k).join('')", KindText, "abcdefgh"},
		{"{'b': 2, 'a': 1}.map(k, {'y': 1, 'x': 2}.map(j, k + j))", KindAny, `[["ax", "ay"], ["bx", "by"]]`},
		{"{3: 'c', 1: 'a', 2: 'b', 'z': 0, true: 9}.map(k, string(k)).join(' ')", KindText, "true 1 2 3 z"},
		{"lead.filter(k, k.startsWith('utm'))", KindAny, `["utmCampaign", "utmSource"]`},
		// A template reads the same way.
		{"steps.filter(k, k != 'a')[0]", KindText, "b"},
	} {
		t.Run(tc.src, func(t *testing.T) {
			p, err := Compile(tc.src, tc.kind)
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]int{}
			for range evaluations {
				out, err := p.Eval(orderVars())
				if err != nil {
					t.Fatal(err)
				}
				seen[show(out)]++
			}
			if len(seen) != 1 || seen[tc.want] != evaluations {
				t.Errorf("results %v, want %q every time", seen, tc.want)
			}
		})
	}
}

// TestStandardMacrosFollowMapOrder is the control: with CEL's standard
// macros the same kind of expression does give different answers, so the
// test above would catch a return to them.
func TestStandardMacrosFollowMapOrder(t *testing.T) {
	env, err := cel.NewEnv(cel.Variable(VarSteps, cel.DynType), cel.OptionalTypes(), cel.CrossTypeNumericComparisons(true))
	if err != nil {
		t.Fatal(err)
	}
	ast, iss := env.Compile("steps.map(k, k)[0]")
	if iss.Err() != nil {
		t.Fatal(iss.Err())
	}
	prog, err := env.Program(ast)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for range evaluations {
		out, _, err := prog.Eval(map[string]any{VarSteps: orderVars().Steps})
		if err != nil {
			t.Fatal(err)
		}
		seen[show(out)] = true
	}
	if len(seen) < 2 {
		t.Errorf("standard macros gave one first key %v in %d evaluations; the control no longer shows the problem", seen, evaluations)
	}
}

// TestListComprehensionsKeepListOrder: only maps are ordered; a list is
// iterated in its own order, and order-independent macros keep their results.
func TestListComprehensionsKeepListOrder(t *testing.T) {
	for _, tc := range []struct {
		src  string
		want string
	}{
		{"[3, 1, 2].map(x, x * 2)", "[6, 2, 4]"},
		{"lead.tags.filter(t, t != 'suv')", `["hybrid", "trade-in"]`},
		{"lead.tags.map(t, t.size() > 4, t)", `["hybrid", "trade-in"]`},
		{"lead.customFieldValues.map(c, c.value)", `["yes"]`},
		{"lead.exists(k, k == 'budget')", "true"},
		{"lead.all(k, k.size() > 1)", "true"},
		{"lead.exists_one(k, k == 'id')", "true"},
		{"lead.contact.existsOne(k, k.endsWith('Name'))", "false"},
		{"lead.tags.all(t, t.size() > 2)", "true"},
		{"[[1, 2], [3]].map(l, l.map(x, x * 10))", "[[10, 20], [30]]"},
		{"has(lead.stage.name)", "true"},
		{"[].map(x, x)", "[]"},
		{"{}.filter(k, true)", "[]"},
	} {
		t.Run(tc.src, func(t *testing.T) {
			p, err := Compile(tc.src, KindAny)
			if err != nil {
				t.Fatal(err)
			}
			for range 20 {
				out, err := p.Eval(orderVars())
				if err != nil {
					t.Fatal(err)
				}
				if got := show(out); got != tc.want {
					t.Fatalf("got %q, want %q", got, tc.want)
				}
			}
		})
	}
}

// TestComprehensionRangeErrors: ranges that are neither a list nor a map are
// rejected when compiled, worded as before the wrapper existed; a dyn that
// turns out not to be iterable fails when evaluated.
func TestComprehensionRangeErrors(t *testing.T) {
	for _, tc := range []struct {
		src  string
		want string
	}{
		{"1.map(x, x)", "expression of type 'int' cannot be the range of a comprehension (it must be a list or a map)"},
		{"'abc'.all(c, true)", "expression of type 'string' cannot be the range of a comprehension"},
		{"now.exists(x, true)", "expression of type 'timestamp' cannot be the range of a comprehension"},
		{"[1, 2].all(x, x)", "expected type 'bool' but found 'int'"},
		{"lead.map(1, 1)", "argument is not an identifier"},
	} {
		_, err := Compile(tc.src, KindAny)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), inOrder) {
			t.Errorf("%s: error %v, want %q", tc.src, err, tc.want)
		}
	}
	p, err := Compile("lead.priority.map(x, x)", KindAny)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Eval(vars()); err == nil {
		t.Error("a number as a range evaluated without error")
	}
}

// TestOrderingKeepsCostEstimates: wrapping a range keeps its size, so a
// comprehension over a literal is estimated on the literal's size, not on the
// size assumed for unknown collections.
func TestOrderingKeepsCostEstimates(t *testing.T) {
	if _, err := Compile("[1, 2, 3].all(a, [1, 2, 3].all(b, [1, 2, 3].all(c, a + b + c > 0)))", KindBool); err != nil {
		t.Error(err)
	}
	_, err := Compile("lead.tags.all(a, lead.tags.all(b, lead.tags.all(c, a + b + c != '')))", KindBool)
	if err == nil || !strings.Contains(err.Error(), "is too expensive") {
		t.Errorf("nested unknown ranges: %v", err)
	}
}

// show prints a value as CEL does (strings unquoted at the top level).
func show(v ref.Val) string {
	if s, ok := v.(types.String); ok {
		return string(s)
	}
	return types.Format(v)
}
