// Package automation is the automation document: ConeCRM's Automation JSON
// (name, automationTrigger, nodes, edges, franchise) with React Flow nodes
// and edges, plus the runtime's settings (reenrollment, goal, timezone).
//
// Parsing keeps every field it does not know, so that exporting a document
// writes back what was read, UI fields such as position and viewport included.
package automation

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
)

// Reenrollment modes.
const (
	ReenrollNever       = "never"
	ReenrollAfterFinish = "after_finished"
	ReenrollAlways      = "always"
	defaultReenrollment = ReenrollNever
	MaxDocumentBytes    = 1 << 20
	MaxNodes            = 500
	MaxEdges            = 2000
	MaxExpressionLength = 4096
)

// Ref is a reference to another ConeCRM record by id. The record's other
// fields (a franchise's name, code...) are kept for export and ignored.
type Ref struct {
	ID string `json:"id"`

	extra map[string]json.RawMessage
}

// Document is one automation as the builder and ConeCRM's API exchange it.
type Document struct {
	ID                string `json:"id,omitempty"`
	Name              string `json:"name"`
	AutomationTrigger string `json:"automationTrigger"`
	Nodes             []Node `json:"nodes"`
	Edges             []Edge `json:"edges"`
	Franchise         *Ref   `json:"franchise,omitempty"`
	// IsActive is nil when the document does not say; nil means active.
	IsActive     *bool  `json:"isActive,omitempty"`
	Reenrollment string `json:"reenrollment,omitempty"`
	// Goal ends a run early when a lead update satisfies it.
	Goal     *Condition `json:"goal,omitempty"`
	Timezone string     `json:"timezone,omitempty"`
	// Notifications says where failed runs are reported. It is not part
	// of the canonical document: changing it changes no run.
	Notifications *Notifications `json:"notifications,omitempty"`

	extra     map[string]json.RawMessage
	goalExtra map[string]json.RawMessage
}

// Notifications are an automation's failure notification channel.
type Notifications struct {
	// Webhook receives one signed POST per failed run.
	Webhook string `json:"webhook,omitempty"`
}

// Condition is a CEL expression or a ConeCRM QueryBuilder query.
type Condition struct {
	Expression string          `json:"expression,omitempty"`
	Query      json.RawMessage `json:"query,omitempty"`
}

// Empty reports whether neither an expression nor a query is set.
func (c *Condition) Empty() bool {
	return c == nil || (c.Expression == "" && !c.HasQuery())
}

// HasQuery reports whether a query is set; builders write "query": null
// next to an expression, which is no query.
func (c *Condition) HasQuery() bool {
	if c == nil {
		return false
	}
	q := bytes.TrimSpace(c.Query)
	return len(q) > 0 && string(q) != "null"
}

// Node is a React Flow node: its type selects the registered node type and
// data holds that type's settings.
type Node struct {
	ID   string          `json:"id"`
	Type string          `json:"type"`
	Data json.RawMessage `json:"data,omitempty"`

	extra map[string]json.RawMessage
}

// Edge is a React Flow edge. SourceHandle names the branch it leaves by
// ("true", "false", "error", a switch case...); empty means the plain exit.
type Edge struct {
	ID           string `json:"id"`
	Source       string `json:"source"`
	Target       string `json:"target"`
	SourceHandle string `json:"sourceHandle,omitempty"`
	TargetHandle string `json:"targetHandle,omitempty"`

	extra map[string]json.RawMessage
}

// Active reports whether the automation accepts new enrolments.
func (d *Document) Active() bool { return d.IsActive == nil || *d.IsActive }

// ReenrollmentMode returns the re-enrolment setting with its default applied.
func (d *Document) ReenrollmentMode() string {
	if d.Reenrollment == "" {
		return defaultReenrollment
	}
	return d.Reenrollment
}

// Parse decodes an automation document. It rejects documents over
// MaxDocumentBytes and malformed JSON, naming the byte offset or field.
func Parse(data []byte) (*Document, error) {
	if len(data) > MaxDocumentBytes {
		return nil, fmt.Errorf("document is %d bytes; the limit is %d", len(data), MaxDocumentBytes)
	}
	return Decode(data)
}

// Decode decodes a document without the size limit: a run decodes the
// document it was started with, which was admitted under the limit of its
// day.
func Decode(data []byte) (*Document, error) {
	var d Document
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, describeJSONError(data, err)
	}
	return &d, nil
}

func describeJSONError(data []byte, err error) error {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		off := syn.Offset - 1 // Offset is just past the bad byte
		if syn.Offset >= int64(len(data)) {
			off = int64(len(data)) // the input ended: point just after it
		}
		line, col := position(data, off)
		return fmt.Errorf("malformed JSON at line %d, column %d: %w", line, col, err)
	}
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) {
		return fmt.Errorf("%s: expected %s, got JSON %s", typ.Field, typ.Type, typ.Value)
	}
	return fmt.Errorf("invalid document: %w", err)
}

func position(data []byte, offset int64) (line, col int) {
	line, col = 1, 1
	for i := int64(0); i < offset && i < int64(len(data)); i++ {
		if data[i] == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return line, col
}

// Version is the content address of the document: a hash of its canonical
// JSON form, which ignores UI-only fields (position, viewport...) and key order.
// plan.Compile's version also ignores node data fields no node type knows.
func (d *Document) Version() string { return VersionOf(d.Canonical()) }

// VersionOf is the version of a canonical document.
func VersionOf(canonical []byte) string {
	sum := sha256.Sum256(canonical)
	return hex.EncodeToString(sum[:])[:16]
}

// Canonical returns the document's semantic content as JSON with sorted keys
// and without UI fields. Two documents that execute the same way share it.
func (d *Document) Canonical() []byte { return d.CanonicalWith(nil) }

// DataFilter rewrites a node's data for the canonical form, for example to
// drop fields its node type does not know; nil keeps the data as it is.
type DataFilter func(nodeType string, data json.RawMessage) json.RawMessage

// CanonicalWith is Canonical with each node's data passed through filter.
// What it drops is UI-only: edge target handles, positions, the viewport,
// unknown top-level, node and edge fields, isActive and record metadata.
func (d *Document) CanonicalWith(filter DataFilter) []byte {
	type node struct {
		ID   string          `json:"id"`
		Type string          `json:"type"`
		Data json.RawMessage `json:"data,omitempty"`
	}
	type edge struct {
		ID           string `json:"id"`
		Source       string `json:"source"`
		Target       string `json:"target"`
		SourceHandle string `json:"sourceHandle,omitempty"`
	}
	type ref struct {
		ID string `json:"id"`
	}
	type condition struct {
		Expression string          `json:"expression,omitempty"`
		Query      json.RawMessage `json:"query,omitempty"`
	}
	c := struct {
		ID                string     `json:"id"`
		Name              string     `json:"name"`
		AutomationTrigger string     `json:"automationTrigger"`
		Franchise         *ref       `json:"franchise,omitempty"`
		Reenrollment      string     `json:"reenrollment"`
		Goal              *condition `json:"goal,omitempty"`
		Timezone          string     `json:"timezone,omitempty"`
		Nodes             []node     `json:"nodes"`
		Edges             []edge     `json:"edges"`
	}{ID: d.ID, Name: d.Name, AutomationTrigger: d.AutomationTrigger, Reenrollment: d.ReenrollmentMode(), Timezone: d.Timezone,
		Nodes: make([]node, 0, len(d.Nodes)), Edges: make([]edge, 0, len(d.Edges))}
	if d.Franchise != nil {
		c.Franchise = &ref{ID: d.Franchise.ID}
	}
	if !d.Goal.Empty() {
		c.Goal = &condition{Expression: d.Goal.Expression}
		if d.Goal.HasQuery() {
			c.Goal.Query = canonicalJSON(d.Goal.Query)
		}
	}
	for _, n := range d.Nodes {
		data := n.Data
		if filter != nil {
			data = filter(n.Type, data)
		}
		if data = canonicalJSON(data); string(data) == "null" {
			data = nil
		}
		c.Nodes = append(c.Nodes, node{n.ID, n.Type, data})
	}
	for _, e := range d.Edges {
		c.Edges = append(c.Edges, edge{e.ID, e.Source, e.Target, e.SourceHandle})
	}
	out, _ := marshalNoEscape(c) // plain structs and re-encoded JSON cannot fail
	return canonicalJSON(out)
}

// canonicalJSON re-encodes JSON with object keys sorted (encoding/json sorts
// map keys) so that key order does not change a version hash.
func canonicalJSON(raw json.RawMessage) json.RawMessage {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return raw
	}
	out, err := marshalNoEscape(v)
	if err != nil {
		return raw
	}
	return out
}

// marshalNoEscape is json.Marshal without HTML escaping, so that exported
// expressions keep "&&" and "<" as written.
func marshalNoEscape(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// Known fields per object, used to split off the fields we keep verbatim.
var (
	documentFields  = []string{"id", "name", "automationTrigger", "nodes", "edges", "franchise", "isActive", "reenrollment", "timezone", "notifications"} // goal: kept to split off its own extras
	conditionFields = []string{"expression", "query"}
	nodeFields      = []string{"id", "type", "data"}
	edgeFields      = []string{"id", "source", "target", "sourceHandle", "targetHandle"}
	refFields       = []string{"id"}
)

func (r *Ref) UnmarshalJSON(b []byte) error {
	type plain Ref
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	extra, err := extraFields(b, refFields)
	if err != nil {
		return err
	}
	*r = Ref(p)
	r.extra = extra
	return nil
}

func (r Ref) MarshalJSON() ([]byte, error) {
	type plain Ref
	return mergeExtra(plain(r), r.extra)
}

func (d *Document) UnmarshalJSON(b []byte) error {
	type plain Document
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	extra, err := extraFields(b, documentFields)
	if err != nil {
		return err
	}
	*d = Document(p)
	d.extra = extra
	if raw, ok := extra["goal"]; ok {
		delete(extra, "goal")
		if d.goalExtra, err = extraFields(raw, conditionFields); err != nil {
			return err
		}
	}
	return nil
}

func (d Document) MarshalJSON() ([]byte, error) {
	type plain Document
	p := plain(d)
	extra := d.extra
	if d.Goal != nil && len(d.goalExtra) > 0 {
		goal, err := mergeExtra(d.Goal, d.goalExtra)
		if err != nil {
			return nil, err
		}
		p.Goal = nil
		extra = cloneRaw(d.extra)
		if extra == nil {
			extra = map[string]json.RawMessage{}
		}
		extra["goal"] = goal
	}
	return mergeExtra(p, extra)
}

// Export encodes the document as it was read, UI fields included, without
// the HTML escaping of json.Marshal, so that "&&" and "<" stay as written.
func (d *Document) Export() ([]byte, error) {
	b, err := d.MarshalJSON()
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, b, "", "  "); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func (n *Node) UnmarshalJSON(b []byte) error {
	type plain Node
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	extra, err := extraFields(b, nodeFields)
	if err != nil {
		return err
	}
	*n = Node(p)
	n.extra = extra
	return nil
}

func (n Node) MarshalJSON() ([]byte, error) {
	type plain Node
	return mergeExtra(plain(n), n.extra)
}

func (e *Edge) UnmarshalJSON(b []byte) error {
	type plain Edge
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	extra, err := extraFields(b, edgeFields)
	if err != nil {
		return err
	}
	*e = Edge(p)
	e.extra = extra
	return nil
}

func (e Edge) MarshalJSON() ([]byte, error) {
	type plain Edge
	return mergeExtra(plain(e), e.extra)
}

func extraFields(b []byte, known []string) (map[string]json.RawMessage, error) {
	var all map[string]json.RawMessage
	if err := json.Unmarshal(b, &all); err != nil {
		return nil, err
	}
	for _, k := range known {
		delete(all, k)
	}
	if len(all) == 0 {
		return nil, nil
	}
	return all, nil
}

func mergeExtra(v any, extra map[string]json.RawMessage) ([]byte, error) {
	known, err := marshalNoEscape(v)
	if err != nil || len(extra) == 0 {
		return known, err
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(known, &all); err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(extra))
	for k := range extra {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if _, ok := all[k]; !ok {
			all[k] = extra[k]
		}
	}
	return marshalNoEscape(all)
}

// Clone returns a deep copy, so that a compiled plan cannot be changed
// through the document it was compiled from.
func (d *Document) Clone() *Document {
	if d == nil {
		return nil
	}
	c := *d
	c.extra = cloneRaw(d.extra)
	c.goalExtra = cloneRaw(d.goalExtra)
	if d.Franchise != nil {
		f := *d.Franchise
		f.extra = cloneRaw(f.extra)
		c.Franchise = &f
	}
	if d.IsActive != nil {
		a := *d.IsActive
		c.IsActive = &a
	}
	if d.Goal != nil {
		g := *d.Goal
		g.Query = bytes.Clone(g.Query)
		c.Goal = &g
	}
	if d.Nodes != nil {
		c.Nodes = make([]Node, len(d.Nodes))
		for i, n := range d.Nodes {
			n.Data = bytes.Clone(n.Data)
			n.extra = cloneRaw(n.extra)
			c.Nodes[i] = n
		}
	}
	if d.Edges != nil {
		c.Edges = make([]Edge, len(d.Edges))
		for i, e := range d.Edges {
			e.extra = cloneRaw(e.extra)
			c.Edges[i] = e
		}
	}
	return &c
}

func cloneRaw(m map[string]json.RawMessage) map[string]json.RawMessage {
	if m == nil {
		return nil
	}
	out := make(map[string]json.RawMessage, len(m))
	for k, v := range m {
		out[k] = bytes.Clone(v)
	}
	return out
}
