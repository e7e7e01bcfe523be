package expr

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/checker"
	"github.com/google/cel-go/common"
	"github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/common/types/traits"
	"github.com/google/cel-go/parser"
)

// Map iteration order.
//
// A CEL comprehension over a map visits its keys in Go's map order, which
// changes from one evaluation to the next: `lead.map(k, k)[0]` or
// `{'a': 1, 'b': 2}.filter(k, true)` would give a different answer on replay
// and send a run down another branch. Because `lead`, `event` and `steps` are
// dyn, no static check can tell a map range from a list range, so the order is
// fixed where it arises instead: every comprehension macro (all, exists,
// exists_one/existsOne, map, filter) iterates `@in_order(range)`, which leaves
// a list as it is and turns a map into the list of its keys in ascending order
// (what a comprehension over a map visits). Results, errors and runtime cost
// are then the same on every evaluation.

// inOrder is the function the comprehension macros wrap their range in. The
// leading '@' keeps it out of reach of expression authors (the parser
// accepts no such identifier).
const inOrder = "@in_order"

// orderedMacros replace the standard comprehension macros (same names and
// arities, so they take the standard ones' place in the parser).
var orderedMacros = []cel.Macro{
	orderedMacro(parser.AllMacro, parser.MakeAll),
	orderedMacro(parser.ExistsMacro, parser.MakeExists),
	orderedMacro(parser.ExistsOneMacro, parser.MakeExistsOne),
	orderedMacro(parser.ExistsOneMacroNew, parser.MakeExistsOne),
	orderedMacro(parser.MapMacro, parser.MakeMap),
	orderedMacro(parser.MapFilterMacro, parser.MakeMap),
	orderedMacro(parser.FilterMacro, parser.MakeFilter),
}

func orderedMacro(std parser.Macro, expand parser.MacroExpander) cel.Macro {
	return cel.ReceiverMacro(std.Function(), std.ArgCount(),
		func(eh parser.ExprHelper, target ast.Expr, args []ast.Expr) (ast.Expr, *common.Error) {
			return expand(eh, eh.NewCall(inOrder, target), args)
		})
}

// inOrderFunction declares @in_order with types that keep the checker's view
// of the iteration variable: list(T) -> list(T), map(K, V) -> list(K). A dyn
// range matches both and stays dyn.
func inOrderFunction() cel.EnvOption {
	t, k, v := cel.TypeParamType("T"), cel.TypeParamType("K"), cel.TypeParamType("V")
	return cel.Function(inOrder,
		cel.Overload("in_order_list", []*cel.Type{cel.ListType(t)}, cel.ListType(t)),
		cel.Overload("in_order_map", []*cel.Type{cel.MapType(k, v)}, cel.ListType(k)),
		cel.SingletonUnaryBinding(orderRange),
	)
}

// orderRange returns a list unchanged and a map's keys, sorted.
func orderRange(val ref.Val) ref.Val {
	m, ok := val.(traits.Mapper)
	if !ok {
		return val // a list, or a value the comprehension itself rejects
	}
	keys := make([]ref.Val, 0, 8)
	for it := m.Iterator(); it.HasNext() == types.True; {
		keys = append(keys, it.Next())
	}
	slices.SortFunc(keys, compareKeys)
	return types.DefaultTypeAdapter.NativeToValue(keys)
}

// compareKeys is a total order over map keys (bool, int, uint, string, and
// anything else by its printed form): by type first, then by value.
func compareKeys(a, b ref.Val) int {
	if c := cmp.Compare(keyRank(a), keyRank(b)); c != 0 {
		return c
	}
	switch x := a.(type) {
	case types.Bool:
		return cmp.Compare(boolInt(bool(x)), boolInt(bool(b.(types.Bool))))
	case types.Int:
		return cmp.Compare(x, b.(types.Int))
	case types.Uint:
		return cmp.Compare(x, b.(types.Uint))
	case types.Double:
		return cmp.Compare(x, b.(types.Double))
	case types.String:
		return strings.Compare(string(x), string(b.(types.String)))
	}
	return strings.Compare(fmt.Sprint(a.Value()), fmt.Sprint(b.Value()))
}

func keyRank(v ref.Val) string {
	switch v.(type) {
	case types.Bool:
		return "0bool"
	case types.Int:
		return "1int"
	case types.Uint:
		return "2uint"
	case types.Double:
		return "3double"
	case types.String:
		return "4string"
	}
	return "5" + v.Type().TypeName()
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// inOrderCost: the wrapper costs one call and keeps its argument's size, so
// a comprehension over a literal list is estimated as before.
func inOrderCost(args []checker.AstNode) *checker.CallEstimate {
	size := checker.SizeEstimate{Min: 0, Max: maxCollectionSize}
	if len(args) == 1 {
		if s := args[0].ComputedSize(); s != nil {
			size = *s
		}
	}
	return &checker.CallEstimate{CostEstimate: checker.CostEstimate{Min: 1, Max: 1}, ResultSize: &size}
}

// badRange is the checker's complaint about a range that is neither a list
// nor a map, as it reads with the wrapper in place.
var badRange = regexp.MustCompile(`found no matching overload for '` + inOrder + `' applied to '\((.*?)\)'`)

// rangeError words that complaint as the standard macros do.
func rangeError(msg string) string {
	return badRange.ReplaceAllString(msg, "expression of type '$1' cannot be the range of a comprehension (it must be a list or a map)")
}
