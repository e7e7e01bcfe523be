package plan

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/conecrm/automation-runtime/internal/automation"
	"github.com/conecrm/automation-runtime/internal/event"
	"github.com/conecrm/automation-runtime/internal/expr"
	"github.com/conecrm/automation-runtime/internal/nodes"
	"github.com/conecrm/automation-runtime/internal/validate"
)

const defaultActionTimeout = 30 * time.Second

// Limits are the admission limits of an automation: checked when it is
// validated (catalog, starter validate, dry-run), never by a running
// workflow, which recompiles its pinned document on every replay. They can
// therefore be tuned freely: a tighter limit turns away new documents and
// leaves runs in flight alone.
type Limits struct {
	NameLength  int // the automation's id and name
	LabelLength int // a node's label
	Nodes       int
	Edges       int
	// ActionTimeout bounds an action's timeout.
	ActionTimeout time.Duration
	// Expr bounds each expression's length and estimated cost.
	Expr expr.Limits
	// NodeFields applies the node types' field rules (required fields,
	// lengths, counts, allowed values).
	NodeFields bool
}

// DefaultLimits are the limits automations are validated with.
var DefaultLimits = Limits{
	NameLength:    200,
	LabelLength:   200,
	Nodes:         automation.MaxNodes,
	Edges:         automation.MaxEdges,
	ActionTimeout: 24 * time.Hour,
	Expr:          expr.DefaultLimits,
	NodeFields:    true,
}

// Compile validates a document under DefaultLimits and compiles it. It
// reports every problem at once; the plan is nil when there is any. The plan
// keeps a copy of the document, so later changes to doc do not reach it.
func Compile(doc *automation.Document, reg *nodes.Registry) (*Plan, validate.Problems) {
	lim := DefaultLimits
	return compile(doc, reg, &lim, expr.CostLimit)
}

// compile compiles doc; lim nil checks no admission limit (a run's own
// compilation), evalCost is the expressions' evaluation cost limit.
func compile(doc *automation.Document, reg *nodes.Registry, lim *Limits, evalCost uint64) (*Plan, validate.Problems) {
	doc = doc.Clone()
	c := &compilation{doc: doc, reg: reg, lim: lim, evalCost: evalCost, plan: &Plan{Doc: doc, nodes: map[string]*Node{}}, known: map[string]bool{}, from: map[string][]int{}}
	c.settings()
	if c.withinLimits() {
		c.compileNodes()
		c.compileEdges()
		c.checkHandles()
		c.checkGraph()
	}
	if len(c.problems) > 0 {
		return nil, c.problems
	}
	c.plan.Canonical = doc.CanonicalWith(knownData(reg))
	c.plan.Version = automation.VersionOf(c.plan.Canonical)
	return c.plan, nil
}

type compilation struct {
	doc      *automation.Document
	reg      *nodes.Registry
	lim      *Limits // nil: no admission limits
	evalCost uint64
	plan     *Plan
	problems validate.Problems

	// known holds every node id of the document, compiled or not, and from
	// the indexes of the edges leaving each, in document order: the graph
	// checks use them so that one broken node does not make the nodes after
	// it look unreachable.
	known map[string]bool
	from  map[string][]int
}

func (c *compilation) problem(p validate.Problem) { c.problems = append(c.problems, p) }

func (c *compilation) problemf(path, format string, args ...any) {
	c.problem(validate.Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

func (c *compilation) nodeProblemf(id, path, format string, args ...any) {
	c.problem(validate.Problem{NodeID: id, Path: path, Message: fmt.Sprintf(format, args...)})
}

// compiler returns a node compiler with the compilation's expression limits.
func (c *compilation) compiler(id, path string) *nodes.Compiler {
	comp := nodes.NewCompiler(id, path)
	comp.Limits, comp.EvalCost = expr.Limits{}, c.evalCost
	if c.lim != nil {
		comp.Limits = c.lim.Expr
	}
	return comp
}

// over reports whether n exceeds an admission limit (none when unlimited).
func (c *compilation) over(n int, limit func(*Limits) int) (int, bool) {
	if c.lim == nil {
		return 0, false
	}
	l := limit(c.lim)
	return l, n > l
}

func (c *compilation) settings() {
	d := c.doc
	nameLength := func(l *Limits) int { return l.NameLength }
	if strings.TrimSpace(d.ID) == "" {
		c.problemf("id", "the automation needs an id")
	} else if l, over := c.over(len(d.ID), nameLength); over {
		c.problemf("id", "the id is %d characters long; the limit is %d", len(d.ID), l)
	}
	if strings.TrimSpace(d.Name) == "" {
		c.problemf("name", "the automation needs a name")
	} else if l, over := c.over(len(d.Name), nameLength); over {
		c.problemf("name", "the name is %d characters long; the limit is %d", len(d.Name), l)
	}
	if !event.IsType(d.AutomationTrigger) {
		if d.AutomationTrigger == "" {
			c.problemf("automationTrigger", "choose the event that starts the automation (one of %s)", strings.Join(event.Types(), ", "))
		} else {
			c.problemf("automationTrigger", "unknown trigger %q (one of %s)", d.AutomationTrigger, strings.Join(event.Types(), ", "))
		}
	}
	if d.Franchise != nil && d.Franchise.ID != "" {
		if _, err := uuid.Parse(d.Franchise.ID); err != nil {
			c.problemf("franchise.id", "the franchise id must be a UUID, got %q", d.Franchise.ID)
		}
	}
	switch d.ReenrollmentMode() {
	case automation.ReenrollNever, automation.ReenrollAfterFinish, automation.ReenrollAlways:
	default:
		c.problemf("reenrollment", "unknown re-enrolment mode %q (never, after_finished or always)", d.Reenrollment)
	}
	c.plan.Location = time.UTC
	if d.Timezone != "" {
		loc, err := time.LoadLocation(d.Timezone)
		if err != nil || strings.EqualFold(d.Timezone, "local") {
			c.problemf("timezone", "unknown time zone %q (use an IANA name such as America/Toronto)", d.Timezone)
		} else {
			c.plan.Location = loc
		}
	}
	if n := d.Notifications; n != nil && n.Webhook != "" {
		if u, err := url.Parse(n.Webhook); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			c.problemf("notifications.webhook", "the failure webhook must be an absolute http or https URL, got %q", n.Webhook)
		}
	}
	if d.Goal != nil {
		gc := c.compiler("", "goal")
		c.plan.Goal = gc.Condition("", d.Goal)
		c.problems = append(c.problems, gc.Problems()...)
	}
}

// withinLimits reports the size limits; past them nothing else is checked.
func (c *compilation) withinLimits() bool {
	ok := true
	if l, over := c.over(len(c.doc.Nodes), func(l *Limits) int { return l.Nodes }); over {
		c.problemf("nodes", "the automation has %d nodes; the limit is %d (split it into several automations)", len(c.doc.Nodes), l)
		ok = false
	}
	if l, over := c.over(len(c.doc.Edges), func(l *Limits) int { return l.Edges }); over {
		c.problemf("edges", "the automation has %d edges; the limit is %d", len(c.doc.Edges), l)
		ok = false
	}
	return ok
}

func (c *compilation) compileNodes() {
	triggers := 0
	for i, n := range c.doc.Nodes {
		path := fmt.Sprintf("nodes[%d]", i)
		if n.ID == "" {
			c.problemf(path+".id", "the node has no id")
			continue
		}
		if c.known[n.ID] {
			c.nodeProblemf(n.ID, path+".id", "id %q is used by another node", n.ID)
			continue
		}
		c.known[n.ID] = true
		if n.Type == "trigger" {
			triggers++
			c.plan.TriggerID = n.ID
		}
		def, ok := c.reg.Lookup(n.Type)
		if !ok {
			if n.Type == "" {
				c.nodeProblemf(n.ID, path+".type", "the node has no type (one of %s)", strings.Join(c.reg.Types(), ", "))
			} else {
				c.nodeProblemf(n.ID, path+".type", "unknown node type %q (one of %s)", n.Type, strings.Join(c.reg.Types(), ", "))
			}
			continue
		}
		impl, err := nodes.Decode(def, n.Data)
		if err != nil {
			c.nodeProblemf(n.ID, joinPath(path+".data", jsonField(err)), "%s", jsonMessage(err))
			continue
		}
		var com common
		if len(n.Data) > 0 {
			if err := json.Unmarshal(n.Data, &com); err != nil {
				c.nodeProblemf(n.ID, joinPath(path+".data", jsonField(err)), "%s", jsonMessage(err))
				continue
			}
		}
		node := &Node{ID: n.ID, Type: n.Type, Label: com.Label, Category: def.Category, Parks: def.Parks, Metric: def.Metric, Impl: impl, out: map[string][]string{}}
		if node.Label == "" {
			node.Label = n.Type
		}
		c.commonFields(node, def, com, path)
		if c.lim != nil && c.lim.NodeFields {
			for _, fe := range validate.Fields(impl) {
				c.nodeProblemf(n.ID, joinPath(path+".data", fe.Path), "%s", fe.Message)
			}
		}
		comp := c.compiler(n.ID, path+".data")
		impl.Compile(comp)
		c.problems = append(c.problems, comp.Problems()...)
		c.plan.nodes[n.ID] = node
		c.plan.order = append(c.plan.order, n.ID)
	}
	switch {
	case triggers == 0:
		c.problemf("nodes", "the automation needs exactly one trigger node; it has none")
	case triggers > 1:
		c.problemf("nodes", "the automation needs exactly one trigger node; it has %d", triggers)
		c.plan.TriggerID = ""
	}
}

func (c *compilation) commonFields(node *Node, def nodes.Definition, com common, path string) {
	node.OnError = OnErrorFail
	if com.OnError != "" {
		if def.Category != nodes.CategoryAction {
			c.nodeProblemf(node.ID, path+".data.onError", "onError applies to action nodes only")
		}
		switch com.OnError {
		case OnErrorFail, OnErrorContinue, OnErrorEdge:
			node.OnError = com.OnError
		default:
			c.nodeProblemf(node.ID, path+".data.onError", "unknown onError %q (fail, continue or error)", com.OnError)
		}
	}
	// timeout is an action's time limit; other node types (wait_for_event)
	// use the field for their own meaning and check it themselves.
	node.Timeout = defaultActionTimeout
	if def.Category == nodes.CategoryAction && com.Timeout != "" {
		comp := c.compiler(node.ID, path+".data")
		if d := comp.Duration("timeout", com.Timeout); c.lim != nil && d > c.lim.ActionTimeout {
			comp.Problemf("timeout", "an action's timeout is at most %s, got %s", strings.TrimSuffix(strings.TrimSuffix(c.lim.ActionTimeout.String(), "0s"), "0m"), com.Timeout)
		} else if d > 0 {
			node.Timeout = d
		}
		c.problems = append(c.problems, comp.Problems()...)
	}
	if l, over := c.over(len(com.Label), func(l *Limits) int { return l.LabelLength }); over {
		c.nodeProblemf(node.ID, path+".data.label", "the label is %d characters long; the limit is %d", len(com.Label), l)
	}
}

func (c *compilation) compileEdges() {
	seen := map[string]bool{}
	for i, e := range c.doc.Edges {
		path := fmt.Sprintf("edges[%d]", i)
		bad := func(field, format string, args ...any) {
			c.problem(validate.Problem{EdgeID: e.ID, Path: path + field, Message: fmt.Sprintf(format, args...)})
		}
		if e.ID == "" {
			bad(".id", "the edge has no id")
		} else if seen[e.ID] {
			bad(".id", "id %q is used by another edge", e.ID)
		}
		seen[e.ID] = true
		if !c.known[e.Source] {
			bad(".source", "source node %q does not exist", e.Source)
		}
		if !c.known[e.Target] {
			bad(".target", "target node %q does not exist", e.Target)
		}
		if !c.known[e.Source] || !c.known[e.Target] {
			continue
		}
		c.from[e.Source] = append(c.from[e.Source], i)
		src, tgt := c.plan.nodes[e.Source], c.plan.nodes[e.Target]
		if tgt != nil && tgt.Type == "trigger" {
			bad(".target", "no edge may lead into the trigger")
		}
		if src == nil {
			continue // the source node's own problems are reported
		}
		def, _ := c.reg.Lookup(src.Type)
		if def.Terminal {
			bad("", "node %s (%s) ends its branch and can have no outgoing edge", src.ID, src.Type)
			continue
		}
		handle := e.SourceHandle
		if !allowsHandle(def, src.Impl, handle) {
			bad(".sourceHandle", "node %s (%s) has no %s exit (allowed: %s)", src.ID, src.Type, handleName(handle), strings.Join(handleNames(def, src.Impl), ", "))
			continue
		}
		src.out[handle] = append(src.out[handle], e.Target)
	}
}

// checkHandles reports required exits that are not connected.
func (c *compilation) checkHandles() {
	for _, id := range c.plan.order {
		n := c.plan.nodes[id]
		path := fmt.Sprintf("nodes[%d]", c.docIndex(id))
		def, _ := c.reg.Lookup(n.Type)
		required := append([]string(nil), def.Required...)
		if hl, ok := n.Impl.(nodes.HandleLister); ok {
			required = append(required, hl.Handles()...)
		}
		done := map[string]bool{}
		for _, h := range required {
			if done[h] {
				continue
			}
			done[h] = true
			if len(n.out[h]) == 0 {
				c.nodeProblemf(id, path, "the %s exit is not connected", handleName(h))
			} else if def.OneTarget && len(n.out[h]) > 1 {
				c.nodeProblemf(id, path, "the %s exit has %d edges; each exit of a %s leads to exactly one node", handleName(h), len(n.out[h]), n.Type)
			}
		}
		if n.OnError == OnErrorEdge && len(n.out[nodes.HandleError]) == 0 {
			c.nodeProblemf(id, path+".data.onError", "onError is \"error\" but the error exit is not connected")
		}
		if len(n.out[nodes.HandleError]) > 0 && n.OnError != OnErrorEdge {
			c.nodeProblemf(id, path+".data.onError", "the error exit is connected; set onError to \"error\" to use it")
		}
	}
}

// checkGraph reports nodes the trigger cannot reach and cycles, by
// depth-first search in document order so that messages are stable. Every
// node is searched, so a cycle is reported even where it is unreachable.
func (c *compilation) checkGraph() {
	const (
		unvisited = iota
		onStack
		done
	)
	state := map[string]int{}
	var visit func(id string)
	visit = func(id string) {
		state[id] = onStack
		for _, i := range c.from[id] {
			e := c.doc.Edges[i]
			switch state[e.Target] {
			case onStack:
				c.problem(validate.Problem{EdgeID: e.ID, Path: fmt.Sprintf("edges[%d]", i),
					Message: fmt.Sprintf("the edge from %s to %s closes a loop; loops are not allowed", e.Source, e.Target)})
			case unvisited:
				visit(e.Target)
			}
		}
		state[id] = done
	}
	if c.plan.TriggerID != "" {
		visit(c.plan.TriggerID)
	}
	reached := make(map[string]bool, len(state))
	for id := range state {
		reached[id] = true
	}
	for i, n := range c.doc.Nodes {
		if n.ID == "" || !c.known[n.ID] || c.docIndex(n.ID) != i {
			continue
		}
		if c.plan.TriggerID != "" && !reached[n.ID] && n.Type != "trigger" {
			c.nodeProblemf(n.ID, fmt.Sprintf("nodes[%d]", i), "the node cannot be reached from the trigger")
		}
		if state[n.ID] == unvisited {
			visit(n.ID)
		}
	}
}

// docIndex returns the index of the first node with the id.
func (c *compilation) docIndex(id string) int {
	for i, n := range c.doc.Nodes {
		if n.ID == id {
			return i
		}
	}
	return -1
}

func allowsHandle(def nodes.Definition, impl nodes.Node, h string) bool {
	for _, x := range handleNames(def, impl) {
		if x == handleName(h) {
			return true
		}
	}
	return false
}

func handleNames(def nodes.Definition, impl nodes.Node) []string {
	var out []string
	for _, h := range def.Handles {
		out = append(out, handleName(h))
	}
	if hl, ok := impl.(nodes.HandleLister); ok {
		for _, h := range hl.Handles() {
			out = append(out, handleName(h))
		}
	}
	return out
}

func handleName(h string) string {
	if h == nodes.Plain {
		return "plain (no sourceHandle)"
	}
	return fmt.Sprintf("%q", h)
}

func joinPath(base, rel string) string {
	if rel == "" {
		return base
	}
	return base + "." + rel
}

// jsonField returns the data field a decoding error is about.
func jsonField(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return te.Field
	}
	return ""
}

// jsonMessage turns a decoding error of node data into a sentence.
func jsonMessage(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field == "" {
			return fmt.Sprintf("the node's data must be an object, got a JSON %s", te.Value)
		}
		return fmt.Sprintf("must be %s, got a JSON %s", kindName(te.Type), te.Value)
	}
	return err.Error()
}

func kindName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Map, reflect.Struct, reflect.Pointer:
		return "an object"
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "a whole number"
	case reflect.Float64, reflect.Float32:
		return "a number"
	}
	return t.String()
}
