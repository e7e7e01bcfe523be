// Package docbuild builds automation documents for tests:
//
//	docbuild.New("id").Trigger("LEAD_CREATED").
//		Node("start", "trigger", nil).Node("done", "end", docbuild.Data{"reason": "done"}).
//		Edge("start", "done").JSON()
//
// It writes what a test asks for, valid or not, so validation tests can
// build broken documents too.
package docbuild

import (
	"encoding/json"
	"fmt"
)

// Data is a node's data (or any JSON object).
type Data = map[string]any

// Doc is a document being built.
type Doc struct {
	fields map[string]any
	nodes  []any
	edges  []any
}

// Franchise is the franchise documents belong to unless Set("franchise",
// ...) says otherwise; the stack's events carry it too (an event enrols a
// lead only in its franchise's automations).
const Franchise = "0192f0a0-0007-7000-8000-000000000001" // the example automations' franchise

// New starts a document with an id, a name and the franchise Franchise.
func New(id string) *Doc {
	return &Doc{fields: map[string]any{"id": id, "name": id, "franchise": map[string]any{"id": Franchise}}}
}

// Name sets the document's name.
func (d *Doc) Name(name string) *Doc { return d.Set("name", name) }

// Trigger sets automationTrigger.
func (d *Doc) Trigger(t string) *Doc { return d.Set("automationTrigger", t) }

// Reenrollment sets the re-enrolment mode.
func (d *Doc) Reenrollment(mode string) *Doc { return d.Set("reenrollment", mode) }

// Timezone sets the document's time zone.
func (d *Doc) Timezone(tz string) *Doc { return d.Set("timezone", tz) }

// Set sets any top-level field (nil writes null).
func (d *Doc) Set(key string, v any) *Doc {
	d.fields[key] = v
	return d
}

// Unset removes a top-level field (to build a document lacking it).
func (d *Doc) Unset(key string) *Doc {
	delete(d.fields, key)
	return d
}

// Node adds a node; nil data is an empty object.
func (d *Doc) Node(id, typ string, data Data) *Doc {
	if data == nil {
		data = Data{}
	}
	d.nodes = append(d.nodes, map[string]any{"id": id, "type": typ, "data": data})
	return d
}

// Edge adds an edge from src's default output to dst, with id "src-dst".
func (d *Doc) Edge(src, dst string) *Doc { return d.EdgeID(src+"-"+dst, src, dst, "") }

// EdgeFrom adds an edge from src's output handle (a condition's "true", a
// wait's "timeout"...) to dst, with id "src-dst".
func (d *Doc) EdgeFrom(src, handle, dst string) *Doc { return d.EdgeID(src+"-"+dst, src, dst, handle) }

// EdgeID adds an edge with its id; an empty handle is the default output.
func (d *Doc) EdgeID(id, src, dst, handle string) *Doc {
	e := map[string]any{"id": id, "source": src, "target": dst}
	if handle != "" {
		e["sourceHandle"] = handle
	}
	d.edges = append(d.edges, e)
	return d
}

// Chain links nodes one after the other by their default outputs, the
// edges numbered from first as the builder numbers them ("e<first>",
// "e<first+1>"...).
func (d *Doc) Chain(first int, nodes ...string) *Doc {
	for i := 1; i < len(nodes); i++ {
		d.EdgeID(fmt.Sprintf("e%d", first+i-1), nodes[i-1], nodes[i], "")
	}
	return d
}

// String returns the document's JSON as a string.
func (d *Doc) String() string { return string(d.JSON()) }

// Nodes returns the nodes built so far (for a PATCH body).
func (d *Doc) Nodes() []any { return append([]any(nil), d.nodes...) }

// Map returns the document as a JSON object.
func (d *Doc) Map() map[string]any {
	m := make(map[string]any, len(d.fields)+2)
	for k, v := range d.fields {
		m[k] = v
	}
	m["nodes"], m["edges"] = d.Nodes(), append([]any(nil), d.edges...)
	return m
}

// JSON returns the document's JSON. A value JSON cannot encode (a func, a
// channel) is a mistake in the test, so it panics naming the document.
func (d *Doc) JSON() []byte {
	b, err := json.Marshal(d.Map())
	if err != nil {
		panic(fmt.Sprintf("docbuild: document %v: %v", d.fields["id"], err))
	}
	return b
}
