// Package nodes is the registry of automation node types. Each node type is
// one file: its data struct with validator tags, the outgoing handles it
// allows, its compile step and its execution step, registered with one line in
// Builtin. The registry also yields the automation builder's lists.
package nodes

import (
	"encoding/json"
	"fmt"
	"sort"

	"go.temporal.io/sdk/workflow"

	"github.com/conecrm/automation-runtime/internal/event"
)

// Category groups node types in the automation builder.
type Category string

const (
	CategoryTrigger   Category = "trigger"
	CategoryAction    Category = "action"
	CategoryCondition Category = "condition"
	CategoryFlow      Category = "flow"
)

// Plain is the handle of an edge without sourceHandle.
const Plain = ""

// Definition describes one node type.
type Definition struct {
	Type     string
	Category Category
	// Description says what the node does, for the builder and docs.
	Description string
	// Handles are the sourceHandles outgoing edges may use; Plain is the
	// unnamed exit. Nodes implementing HandleLister add their own.
	Handles []string
	// Required handles must each have at least one outgoing edge.
	Required []string
	// Terminal nodes have no outgoing edge.
	Terminal bool
	// OneTarget nodes send a lead down exactly one exit, so each exit has
	// exactly one edge (a split's branch forks no parallel branches).
	OneTarget bool
	// New returns a pointer to a zero data struct implementing Node.
	New func() Node
	// Activity is the activity an action node runs (required for actions,
	// none for other nodes). The worker's metrics and the dry run derive
	// from it.
	Activity Activity
	// Parks says the node parks its branch (a durable timer or a wait), so
	// the run shows it in its details and counts the time spent there.
	Parks bool
	// Metric is the node_type label of the node's executions; Register
	// defaults it to Type.
	Metric string
}

// Node is a node type's data. Every Node compiles; the workflow runs it.
type Node interface {
	// Compile validates semantics beyond the validator tags and compiles
	// expressions, reporting problems through c.
	Compile(c *Compiler)
	// Run executes the node inside the workflow and says which handle to leave by.
	Run(ctx workflow.Context, x Exec) (Outcome, error)
}

// HandleLister is implemented by nodes whose handles depend on their data
// (a switch's cases).
type HandleLister interface {
	Handles() []string
}

// Outcome is the result of running a node.
type Outcome struct {
	// Handle to follow; Plain for the unnamed exit.
	Handle string
	// Output is stored under steps.<nodeId> for later expressions.
	Output any
	// Summary says in words what the node did, for the run's result.
	Summary string
	// End stops this branch (the end node).
	End bool
}

// Registry holds node definitions by type name.
type Registry struct {
	defs map[string]Definition
}

// NewRegistry returns an empty registry; tests build isolated ones.
func NewRegistry() *Registry { return &Registry{defs: map[string]Definition{}} }

// Register adds a definition. A duplicate or incomplete definition is a
// programming error reported at start-up.
func (r *Registry) Register(d Definition) error {
	if d.Type == "" || d.New == nil {
		return fmt.Errorf("node type %q: type name and constructor are required", d.Type)
	}
	if _, dup := r.defs[d.Type]; dup {
		return fmt.Errorf("node type %q is registered twice", d.Type)
	}
	if (d.Category == CategoryAction) != (d.Activity != nil) {
		return fmt.Errorf("node type %q: action nodes, and only they, name an activity", d.Type)
	}
	if d.Activity != nil {
		// The worker's metrics label an activity with its node's type.
		for _, o := range r.defs {
			if o.Activity != nil && o.Activity.Name() == d.Activity.Name() {
				return fmt.Errorf("node type %q: activity %s already runs node type %q", d.Type, d.Activity.Name(), o.Type)
			}
		}
	}
	if d.Metric == "" {
		d.Metric = d.Type
	}
	r.defs[d.Type] = d
	return nil
}

// MustRegister is Register that panics, for start-up registration.
func (r *Registry) MustRegister(d Definition) {
	if err := r.Register(d); err != nil {
		panic(err)
	}
}

// Lookup returns the definition of a node type.
func (r *Registry) Lookup(typ string) (Definition, bool) {
	d, ok := r.defs[typ]
	return d, ok
}

// Types returns the registered type names, sorted.
func (r *Registry) Types() []string {
	out := make([]string, 0, len(r.defs))
	for t := range r.defs {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// Definitions returns the registered definitions, sorted by type.
func (r *Registry) Definitions() []Definition {
	out := make([]Definition, 0, len(r.defs))
	for _, t := range r.Types() {
		out = append(out, r.defs[t])
	}
	return out
}

// BuilderData is the body of GET /api/automation/builder/data.
type BuilderData struct {
	Triggers   []string `json:"triggers"`
	Actions    []string `json:"actions"`
	Conditions []string `json:"conditions"`
	// Flow lists the control nodes (delay, wait, end...), which the seed's
	// three lists have no place for.
	Flow []string `json:"flow"`
}

// BuilderData lists trigger types (events that enrol a lead), action node
// types and condition node types.
func (r *Registry) BuilderData() BuilderData {
	b := BuilderData{Triggers: event.Types(), Actions: []string{}, Conditions: []string{}, Flow: []string{}}
	for _, t := range r.Types() {
		switch r.defs[t].Category {
		case CategoryAction:
			b.Actions = append(b.Actions, t)
		case CategoryCondition:
			b.Conditions = append(b.Conditions, t)
		case CategoryFlow:
			b.Flow = append(b.Flow, t)
		}
	}
	return b
}

// Decode decodes a node's data into its type's struct. Fields it does not
// know (what the builder stores for itself) are ignored; the document keeps
// them for export and the plan's version leaves them out.
func Decode(def Definition, data json.RawMessage) (Node, error) {
	n := def.New()
	if len(data) == 0 || string(data) == "null" {
		return n, nil
	}
	if err := json.Unmarshal(data, n); err != nil {
		return nil, err
	}
	return n, nil
}

var builtin = func() *Registry {
	r := NewRegistry()
	for _, d := range []Definition{
		triggerDef,
		conditionDef,
		switchDef,
		splitDef,
		delayDef,
		waitForEventDef,
		createTaskDef,
		updateTaskDef,
		copyLeadDef,
		moveStageDef,
		pushToCRMDef,
		webhookDef,
		endDef,
	} {
		r.MustRegister(d)
	}
	return r
}()

// Builtin returns the registry of every node type the runtime ships.
func Builtin() *Registry { return builtin }
