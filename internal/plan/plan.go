// Package plan compiles an automation document into an immutable,
// content-addressed plan: every node's data decoded, validated and its
// expressions compiled, the graph checked and indexed. A plan is compiled
// once per automation version and shared by every run of that version.
package plan

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/conecrm/automation-runtime/internal/automation"
	"github.com/conecrm/automation-runtime/internal/expr"
	"github.com/conecrm/automation-runtime/internal/nodes"
)

// OnError modes of action nodes.
const (
	OnErrorFail     = "fail"
	OnErrorContinue = "continue"
	OnErrorEdge     = "error"
)

// Plan is a compiled automation version. It is immutable: it is shared by
// every run of the version, so nothing may modify it or what it points to.
type Plan struct {
	// Doc is the plan's own copy of the document.
	Doc *automation.Document
	// Version is the content hash of the canonical document: UI-only
	// changes (positions, viewport, unknown fields, key order) keep it, any
	// change to what runs changes it.
	Version string
	// Canonical is the canonical document: what a workflow carries as input.
	// Load(Canonical) compiles to a plan with the same Version.
	Canonical json.RawMessage
	TriggerID string
	Goal      *expr.Program
	Location  *time.Location

	nodes map[string]*Node
	order []string
}

// Node is a compiled node.
type Node struct {
	ID       string
	Type     string
	Label    string
	Category nodes.Category
	// Parks and Metric are the definition's.
	Parks   bool
	Metric  string
	OnError string
	// Timeout is an action's start-to-close timeout.
	Timeout time.Duration
	Impl    nodes.Node

	// out maps a handle to its targets, in edge order.
	out map[string][]string
}

// Next returns the targets of the edges leaving by handle, in document
// order. The slice is the caller's.
func (n *Node) Next(handle string) []string { return append([]string(nil), n.out[handle]...) }

// Node returns a node by id, or nil.
func (p *Plan) Node(id string) *Node { return p.nodes[id] }

// NodeIDs returns node ids in document order.
func (p *Plan) NodeIDs() []string { return append([]string(nil), p.order...) }

// Trigger returns the trigger node's data.
func (p *Plan) Trigger() *nodes.Trigger {
	t, _ := p.nodes[p.TriggerID].Impl.(*nodes.Trigger)
	return t
}

// common are the data fields every node may carry.
type common struct {
	Label   string `json:"label,omitempty"`
	OnError string `json:"onError,omitempty"`
	Timeout string `json:"timeout,omitempty"`
}

var (
	cacheMu sync.Mutex
	cache   = map[string]*Plan{}
)

// Load compiles a canonical document for a run, reusing an earlier
// compilation of the same bytes and cost limit. The result depends only on
// them: no admission limit (Limits) is checked, since the document passed
// them when it was admitted and a run replays under whatever limits the
// worker has today; evalCost (0: expr.CostLimit) is the expressions'
// evaluation cost limit, which a run freezes in its input.
func Load(canonical []byte, evalCost uint64) (*Plan, error) {
	if evalCost == 0 {
		evalCost = expr.CostLimit
	}
	sum := sha256.Sum256(canonical)
	key := hex.EncodeToString(sum[:]) + "/" + strconv.FormatUint(evalCost, 10)
	cacheMu.Lock()
	p, ok := cache[key]
	cacheMu.Unlock()
	if ok {
		return p, nil
	}
	doc, err := automation.Decode(canonical)
	if err != nil {
		return nil, err
	}
	p, problems := compile(doc, nodes.Builtin(), nil, evalCost)
	if len(problems) > 0 {
		return nil, fmt.Errorf("automation %s does not compile: %w", doc.ID, problems)
	}
	cacheMu.Lock()
	if len(cache) > 1000 {
		cache = map[string]*Plan{}
	}
	cache[key] = p
	cacheMu.Unlock()
	return p, nil
}
