package plan

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/conecrm/automation-runtime/internal/automation"
	"github.com/conecrm/automation-runtime/internal/nodes"
	"github.com/conecrm/automation-runtime/internal/validate"
)

const defaultActionTimeout = 30 * time.Second

// Compile validates a document and compiles it. It reports every problem
// at once; the plan is nil when there is any.
func Compile(doc *automation.Document, reg *nodes.Registry) (*Plan, automation.Problems) {
	c := &compilation{doc: doc, reg: reg, plan: &Plan{Doc: doc, nodes: map[string]*Node{}}}
	c.settings()
	c.compileNodes()
	c.compileEdges()
	c.checkGraph()
	if len(c.problems) > 0 {
		return nil, c.problems
	}
	c.plan.Canonical = doc.Canonical()
	c.plan.Version = doc.Version()
	return c.plan, nil
}

type compilation struct {
	doc      *automation.Document
	reg      *nodes.Registry
	plan     *Plan
	problems automation.Problems
}

func (c *compilation) problem(p automation.Problem) { c.problems = append(c.problems, p) }

func (c *compilation) problemf(path, format string, args ...any) {
	c.problem(automation.Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

func (c *compilation) settings() {
	d := c.doc
	if strings.TrimSpace(d.Name) == "" {
		c.problemf("name", "the automation needs a name")
	} else if len(d.Name) > 200 {
		c.problemf("name", "name is %d characters; the limit is 200", len(d.Name))
	}
	if !nodes.IsTriggerType(d.AutomationTrigger) {
		c.problemf("automationTrigger", "unknown trigger %q (one of %s)", d.AutomationTrigger, strings.Join(nodes.TriggerTypes, ", "))
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
	if !d.Goal.Empty() {
		gc := nodes.NewCompiler("", "goal")
		c.plan.Goal = gc.Condition("", d.Goal)
		c.problems = append(c.problems, gc.Problems()...)
	}
	if len(d.Nodes) > automation.MaxNodes {
		c.problemf("nodes", "%d nodes; the limit is %d", len(d.Nodes), automation.MaxNodes)
	}
	if len(d.Edges) > automation.MaxEdges {
		c.problemf("edges", "%d edges; the limit is %d", len(d.Edges), automation.MaxEdges)
	}
}

func (c *compilation) compileNodes() {
	triggers := 0
	for i, n := range c.doc.Nodes {
		path := fmt.Sprintf("nodes[%d]", i)
		if n.ID == "" {
			c.problemf(path+".id", "node has no id")
			continue
		}
		if _, dup := c.plan.nodes[n.ID]; dup {
			c.problem(automation.Problem{NodeID: n.ID, Path: path + ".id", Message: fmt.Sprintf("id %q is used by another node", n.ID)})
			continue
		}
		def, ok := c.reg.Lookup(n.Type)
		if !ok {
			c.problem(automation.Problem{NodeID: n.ID, Path: path + ".type", Message: fmt.Sprintf("unknown node type %q (one of %s)", n.Type, strings.Join(c.reg.Types(), ", "))})
			continue
		}
		if n.Type == "trigger" {
			triggers++
			c.plan.TriggerID = n.ID
		}
		impl, err := nodes.Decode(def, n.Data)
		if err != nil {
			c.problem(automation.Problem{NodeID: n.ID, Path: path + ".data", Message: jsonMessage(err)})
			continue
		}
		var com common
		if len(n.Data) > 0 {
			_ = json.Unmarshal(n.Data, &com) // the same bytes decoded above
		}
		node := &Node{ID: n.ID, Type: n.Type, Label: com.Label, Category: def.Category, Impl: impl, out: map[string][]string{}}
		if node.Label == "" {
			node.Label = n.Type
		}
		c.commonFields(node, def, com, path)
		for _, fe := range validate.Fields(impl) {
			c.problem(automation.Problem{NodeID: n.ID, Path: joinPath(path+".data", fe.Path), Message: fe.Message})
		}
		comp := nodes.NewCompiler(n.ID, path+".data")
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
	}
}

func (c *compilation) commonFields(node *Node, def nodes.Definition, com common, path string) {
	node.OnError = OnErrorFail
	if com.OnError != "" {
		if def.Category != nodes.CategoryAction {
			c.problem(automation.Problem{NodeID: node.ID, Path: path + ".data.onError", Message: "onError applies to action nodes only"})
		}
		switch com.OnError {
		case OnErrorFail, OnErrorContinue, OnErrorEdge:
			node.OnError = com.OnError
		default:
			c.problem(automation.Problem{NodeID: node.ID, Path: path + ".data.onError", Message: fmt.Sprintf("unknown onError %q (fail, continue or error)", com.OnError)})
		}
	}
	node.Timeout = defaultActionTimeout
	if com.Timeout != "" {
		comp := nodes.NewCompiler(node.ID, path+".data")
		if d := comp.Duration("timeout", com.Timeout); d > 0 {
			node.Timeout = d
		}
		c.problems = append(c.problems, comp.Problems()...)
	}
	if len(com.Label) > 200 {
		c.problem(automation.Problem{NodeID: node.ID, Path: path + ".data.label", Message: "label must be at most 200 characters"})
	}
}

func (c *compilation) compileEdges() {
	seen := map[string]bool{}
	for i, e := range c.doc.Edges {
		path := fmt.Sprintf("edges[%d]", i)
		bad := func(field, format string, args ...any) {
			c.problem(automation.Problem{EdgeID: e.ID, Path: path + field, Message: fmt.Sprintf(format, args...)})
		}
		if e.ID == "" {
			bad(".id", "edge has no id")
		} else if seen[e.ID] {
			bad(".id", "id %q is used by another edge", e.ID)
		}
		seen[e.ID] = true
		src, tgt := c.plan.nodes[e.Source], c.plan.nodes[e.Target]
		if src == nil {
			bad(".source", "source node %q does not exist", e.Source)
		}
		if tgt == nil {
			bad(".target", "target node %q does not exist", e.Target)
		}
		if src == nil || tgt == nil {
			continue
		}
		if tgt.Type == "trigger" {
			bad(".target", "no edge may lead into the trigger")
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

func (c *compilation) checkGraph() {
	// Required handles connected.
	for i, id := range c.plan.order {
		n := c.plan.nodes[id]
		def, _ := c.reg.Lookup(n.Type)
		required := append([]string(nil), def.Required...)
		if hl, ok := n.Impl.(nodes.HandleLister); ok {
			required = append(required, hl.Handles()...)
		}
		for _, h := range required {
			if len(n.out[h]) == 0 {
				c.problem(automation.Problem{NodeID: id, Path: fmt.Sprintf("nodes[%d]", c.docIndex(id, i)), Message: fmt.Sprintf("the %s exit is not connected", handleName(h))})
			}
		}
		if n.OnError == OnErrorEdge && len(n.out[nodes.HandleError]) == 0 {
			c.problem(automation.Problem{NodeID: id, Path: fmt.Sprintf("nodes[%d].data.onError", c.docIndex(id, i)), Message: "onError is \"error\" but the error exit is not connected"})
		}
		if len(n.out[nodes.HandleError]) > 0 && n.OnError != OnErrorEdge {
			c.problem(automation.Problem{NodeID: id, Path: fmt.Sprintf("nodes[%d].data.onError", c.docIndex(id, i)), Message: "the error exit is connected; set onError to \"error\" to use it"})
		}
	}
	if c.plan.TriggerID == "" {
		return
	}
	// Reachability and cycles by depth-first search from the trigger, in
	// document order so messages are stable.
	const (
		unvisited = iota
		onStack
		done
	)
	state := map[string]int{}
	var visit func(id string)
	visit = func(id string) {
		state[id] = onStack
		n := c.plan.nodes[id]
		for _, h := range n.handles() {
			for _, t := range n.out[h] {
				switch state[t] {
				case onStack:
					c.problem(automation.Problem{NodeID: t, Path: "edges", Message: fmt.Sprintf("the edge from %s to %s closes a cycle; loops are not allowed", id, t)})
				case unvisited:
					visit(t)
				}
			}
		}
		state[id] = done
	}
	visit(c.plan.TriggerID)
	for i, id := range c.plan.order {
		if state[id] == unvisited {
			c.problem(automation.Problem{NodeID: id, Path: fmt.Sprintf("nodes[%d]", c.docIndex(id, i)), Message: "the node cannot be reached from the trigger"})
		}
	}
}

// handles returns the node's used handles in a fixed order.
func (n *Node) handles() []string {
	hs := make([]string, 0, len(n.out))
	for h := range n.out {
		hs = append(hs, h)
	}
	sortStrings(hs)
	return hs
}

func (c *compilation) docIndex(id string, fallback int) int {
	for i, n := range c.doc.Nodes {
		if n.ID == id {
			return i
		}
	}
	return fallback
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

func jsonMessage(err error) string {
	if te, ok := err.(*json.UnmarshalTypeError); ok {
		return fmt.Sprintf("%s: expected %s, got JSON %s", te.Field, te.Type, te.Value)
	}
	return err.Error()
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}
