// Package expr compiles and evaluates the CEL expressions of automations:
// conditions, delay deadlines and the {{ ... }} templates of action fields.
//
// Everything is compiled and type-checked once per automation version; a
// Program is immutable and safe to share between workflows. Evaluation is
// bounded by a cost limit and never reads the wall clock: `now` is supplied by
// the caller (the workflow's deterministic clock).
package expr

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/checker"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/ext"
	"github.com/google/cel-go/interpreter"
)

const (
	// MaxLength bounds the source text of one expression.
	MaxLength = 4096
	// CostLimit bounds the estimated worst-case cost of an expression, and
	// the runtime cost of one evaluation in runs that start now.
	CostLimit = 100_000
	// maxCollectionSize is the size assumed for lead fields when estimating cost.
	maxCollectionSize = 1000
)

// Variable names available to every expression.
const (
	VarLead       = "lead"
	VarEvent      = "event"
	VarPrevious   = "previous"
	VarSteps      = "steps"
	VarNow        = "now"
	VarAutomation = "automation"
)

// Vars are the values an expression sees. Maps hold decoded JSON.
type Vars struct {
	Lead       map[string]any
	Event      map[string]any
	Previous   map[string]any
	Steps      map[string]any
	Automation map[string]any
	Now        time.Time
}

// emptyVar stands for a variable the caller left nil; it is never modified.
var emptyVar = map[string]any{}

// activation resolves the variables straight from Vars, so that an
// evaluation allocates no map of its own.
type activation struct{ v *Vars }

func (a activation) ResolveName(name string) (any, bool) {
	orEmpty := func(m map[string]any) any {
		if m == nil {
			return emptyVar
		}
		return m
	}
	switch name {
	case VarLead:
		return orEmpty(a.v.Lead), true
	case VarEvent:
		return orEmpty(a.v.Event), true
	case VarPrevious:
		return orEmpty(a.v.Previous), true
	case VarSteps:
		return orEmpty(a.v.Steps), true
	case VarAutomation:
		return orEmpty(a.v.Automation), true
	case VarNow:
		return a.v.Now, true
	}
	return nil, false
}

func (a activation) Parent() interpreter.Activation { return nil }

var (
	envOnce sync.Once
	env     *cel.Env
	envErr  error
)

// Env returns the one CEL environment shared by all automations.
func Env() (*cel.Env, error) {
	envOnce.Do(func() {
		env, envErr = cel.NewEnv(
			cel.Variable(VarLead, cel.DynType),
			cel.Variable(VarEvent, cel.DynType),
			cel.Variable(VarPrevious, cel.DynType),
			cel.Variable(VarSteps, cel.DynType),
			cel.Variable(VarAutomation, cel.DynType),
			cel.Variable(VarNow, cel.TimestampType),
			cel.CrossTypeNumericComparisons(true),
			cel.OptionalTypes(),
			ext.Strings(),
			// Length is an admission limit (Limits.Length), checked in
			// bytes before parsing, never when a run recompiles.
			cel.ParserExpressionSizeLimit(-1),
			// Comprehensions visit map keys in sorted order (order.go).
			cel.Macros(orderedMacros...),
			inOrderFunction(),
		)
	})
	return env, envErr
}

// Kind is the result type an expression must have.
type Kind int

const (
	KindBool Kind = iota
	KindTimestamp
	KindAny
	// KindText is a template part: any value that renders as text (a
	// scalar, a timestamp, a duration, null or dyn), not a list or map.
	KindText
)

func (k Kind) String() string {
	switch k {
	case KindBool:
		return "bool"
	case KindTimestamp:
		return "timestamp"
	case KindText:
		return "text"
	default:
		return "any"
	}
}

// Program is a compiled, type-checked expression.
type Program struct {
	Source string
	Kind   Kind
	prog   cel.Program
}

// Limits are the admission limits of an expression, checked when an
// automation is validated. A zero field is not checked: a run recompiling
// its pinned automation checks none, so tightening a limit never fails a
// run in flight.
type Limits struct {
	// Length bounds the source text, in bytes.
	Length int
	// EstimatedCost bounds the estimated worst-case cost.
	EstimatedCost uint64
}

// DefaultLimits are the limits automations are validated with.
var DefaultLimits = Limits{Length: MaxLength, EstimatedCost: CostLimit}

// Compile parses and type-checks src, requiring the result kind, under the
// default limits, with CostLimit as the evaluation cost limit. Error
// messages are predicates ("is empty", "does not compile: ...") that read
// well after the name of what was compiled.
func Compile(src string, kind Kind) (*Program, error) {
	return CompileWith(src, kind, DefaultLimits, CostLimit)
}

// CompileWith compiles under the given admission limits; evalCost bounds the
// runtime cost of each evaluation (0: CostLimit). It decides what an
// evaluation returns, so a run passes the value frozen in its input.
func CompileWith(src string, kind Kind, lim Limits, evalCost uint64) (*Program, error) {
	if evalCost == 0 {
		evalCost = CostLimit
	}
	if strings.TrimSpace(src) == "" {
		return nil, errors.New("is empty")
	}
	if lim.Length > 0 && len(src) > lim.Length {
		return nil, fmt.Errorf("is %d characters long; the limit is %d", len(src), lim.Length)
	}
	e, err := Env()
	if err != nil {
		return nil, fmt.Errorf("cel environment: %w", err)
	}
	ast, iss := e.Compile(src)
	if iss.Err() != nil {
		return nil, fmt.Errorf("does not compile: %s", rangeError(oneLine(iss.Err().Error())))
	}
	out := ast.OutputType()
	switch kind {
	case KindBool:
		if !out.IsExactType(types.BoolType) && !out.IsExactType(types.DynType) {
			return nil, fmt.Errorf("must be a bool condition, but its type is %s", out)
		}
	case KindTimestamp:
		if !out.IsExactType(types.TimestampType) && !out.IsExactType(types.DynType) {
			return nil, fmt.Errorf("must be a timestamp, but its type is %s", out)
		}
	case KindText:
		switch out.Kind() {
		case types.ListKind, types.MapKind, types.StructKind, types.OpaqueKind, types.TypeKind:
			return nil, fmt.Errorf("must give a value that can be shown as text, but its type is %s", out)
		}
	}
	if lim.EstimatedCost > 0 {
		est, err := e.EstimateCost(ast, sizeEstimator{})
		if err != nil {
			return nil, fmt.Errorf("cost estimate: %w", err)
		}
		if est.Max > lim.EstimatedCost {
			return nil, fmt.Errorf("is too expensive: estimated worst-case cost %d exceeds the limit %d", est.Max, lim.EstimatedCost)
		}
	}
	prog, err := e.Program(ast, cel.CostLimit(evalCost), cel.EvalOptions(cel.OptOptimize))
	if err != nil {
		return nil, fmt.Errorf("does not compile: %w", err) // constant folding found an error
	}
	return &Program{Source: src, Kind: kind, prog: prog}, nil
}

// Eval evaluates the program. It never panics: a panic inside CEL is
// returned as an error.
func (p *Program) Eval(v Vars) (val ref.Val, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("evaluating %q: internal error: %v", p.Source, r)
		}
	}()
	out, _, err := p.prog.Eval(activation{&v})
	if err != nil {
		return nil, fmt.Errorf("evaluating %q: %w", p.Source, err)
	}
	return out, nil
}

// EvalBool evaluates a condition.
func (p *Program) EvalBool(v Vars) (bool, error) {
	out, err := p.Eval(v)
	if err != nil {
		return false, err
	}
	b, ok := out.Value().(bool)
	if !ok {
		return false, fmt.Errorf("evaluating %q: result is %s, not bool", p.Source, out.Type().TypeName())
	}
	return b, nil
}

// EvalTimestamp evaluates a timestamp expression.
func (p *Program) EvalTimestamp(v Vars) (time.Time, error) {
	out, err := p.Eval(v)
	if err != nil {
		return time.Time{}, err
	}
	if ts, ok := out.(types.Timestamp); ok {
		return ts.Time, nil
	}
	if s, ok := out.Value().(string); ok {
		if t, perr := time.Parse(time.RFC3339Nano, s); perr == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("evaluating %q: result is %s, not a timestamp", p.Source, out.Type().TypeName())
}

// sizeEstimator assumes every unknown collection or string holds at most
// maxCollectionSize elements, so estimates are finite for dyn variables.
type sizeEstimator struct{}

func (sizeEstimator) EstimateSize(checker.AstNode) *checker.SizeEstimate {
	return &checker.SizeEstimate{Min: 0, Max: maxCollectionSize}
}

func (sizeEstimator) EstimateCallCost(function, _ string, _ *checker.AstNode, args []checker.AstNode) *checker.CallEstimate {
	if function == inOrder {
		return inOrderCost(args)
	}
	return nil
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	return strings.Join(strings.Fields(s), " ")
}

// ToString renders a CEL value for a template: strings as they are, null as
// the empty string, integral numbers without a decimal point.
func ToString(v ref.Val) string {
	switch x := v.Value().(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1e15 {
			return fmt.Sprintf("%d", int64(x))
		}
		return fmt.Sprintf("%g", x)
	case time.Time:
		return x.UTC().Format(time.RFC3339)
	}
	if v.Type() == types.NullType {
		return ""
	}
	if s, err := v.ConvertToNative(stringType); err == nil {
		if str, ok := s.(string); ok {
			return str
		}
	}
	if sv := v.ConvertToType(types.StringType); !types.IsError(sv) {
		return fmt.Sprint(sv.Value())
	}
	return fmt.Sprint(v.Value())
}
