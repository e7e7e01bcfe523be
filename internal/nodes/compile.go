package nodes

import (
	"fmt"
	"strings"
	"time"

	"github.com/conecrm/automation-runtime/internal/automation"
	"github.com/conecrm/automation-runtime/internal/duration"
	"github.com/conecrm/automation-runtime/internal/expr"
	"github.com/conecrm/automation-runtime/internal/querybuilder"
	"github.com/conecrm/automation-runtime/internal/validate"
)

// Compiler collects the problems of one node while its type compiles it.
// Paths are JSON paths inside the document (nodes[3].data.title).
type Compiler struct {
	NodeID   string
	BasePath string
	// Limits are the expressions' admission limits (zero: none checked) and
	// EvalCost their evaluation cost limit; NewCompiler sets the defaults.
	Limits   expr.Limits
	EvalCost uint64
	problems []validate.Problem
}

// NewCompiler returns a compiler for the node with the given id whose data
// lives at basePath, with the default expression limits.
func NewCompiler(nodeID, basePath string) *Compiler {
	return &Compiler{NodeID: nodeID, BasePath: basePath, Limits: expr.DefaultLimits, EvalCost: expr.CostLimit}
}

// Problems returns what was reported.
func (c *Compiler) Problems() []validate.Problem { return c.problems }

// Problemf reports a problem at a field path relative to the node's data.
func (c *Compiler) Problemf(field, format string, args ...any) {
	c.problems = append(c.problems, validate.Problem{NodeID: c.NodeID, Path: c.path(field), Message: fmt.Sprintf(format, args...)})
}

func (c *Compiler) path(field string) string {
	if field == "" {
		return c.BasePath
	}
	if strings.HasPrefix(field, "[") {
		return c.BasePath + field
	}
	return c.BasePath + "." + field
}

// Expr compiles an expression of the given kind; nil when it fails.
func (c *Compiler) Expr(field, src string, kind expr.Kind) *expr.Program {
	p, err := expr.CompileWith(src, kind, c.Limits, c.EvalCost)
	if err != nil {
		c.Problemf(field, "expression %s", err)
		return nil
	}
	return p
}

// Condition compiles a CEL expression or a QueryBuilder query to a bool program.
func (c *Compiler) Condition(field string, cond *automation.Condition) *expr.Program {
	if cond.Empty() {
		c.Problemf(field, "a condition needs an expression or a query")
		return nil
	}
	if cond.Expression != "" && cond.HasQuery() {
		c.Problemf(field, "set either expression or query, not both")
		return nil
	}
	if cond.Expression != "" {
		return c.Expr(joinField(field, "expression"), cond.Expression, expr.KindBool)
	}
	src, err := QueryToCEL(cond.Query)
	if err != nil {
		c.Problemf(joinField(field, "query"), "%s", err)
		return nil
	}
	p, err := expr.CompileWith(src, expr.KindBool, c.Limits, c.EvalCost)
	if err != nil {
		c.Problemf(joinField(field, "query"), "translated query %s", err)
		return nil
	}
	return p
}

// Template compiles a string field that may embed {{ ... }} expressions.
func (c *Compiler) Template(field, s string) *expr.Template {
	t, err := expr.CompileTemplateWith(s, c.Limits, c.EvalCost)
	if err != nil {
		c.Problemf(field, "%s", err)
		return nil
	}
	return t
}

// Duration parses a positive duration ("90m", "2d").
func (c *Compiler) Duration(field, s string) time.Duration {
	d, err := duration.Parse(s)
	if err != nil {
		c.Problemf(field, "%s", err)
		return 0
	}
	return d
}

// Location loads an IANA time zone.
func (c *Compiler) Location(field, tz string) *time.Location {
	loc, err := time.LoadLocation(tz)
	if err != nil || tz == "" || strings.EqualFold(tz, "local") {
		c.Problemf(field, "unknown time zone %q (use an IANA name such as America/Toronto)", tz)
		return nil
	}
	return loc
}

func joinField(a, b string) string {
	if a == "" {
		return b
	}
	return a + "." + b
}

// QueryToCEL translates a ConeCRM QueryBuilder query (wrapped in
// {"query": ...} or a bare rule group) to a CEL condition over lead.
func QueryToCEL(raw []byte) (string, error) {
	g, err := querybuilder.Parse(raw)
	if err != nil {
		return "", err
	}
	return querybuilder.ToCEL(g)
}
