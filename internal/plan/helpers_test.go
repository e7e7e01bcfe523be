package plan

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/conecrm/automation-runtime/internal/automation"
	"github.com/conecrm/automation-runtime/internal/nodes"
	"github.com/conecrm/automation-runtime/internal/validate"
)

// obj is a JSON object under construction.
type obj map[string]any

// with returns a copy of o with key set to v, or removed when v is nil.
func (o obj) with(key string, v any) obj {
	c := obj{}
	for k, x := range o {
		c[k] = x
	}
	if v == nil {
		delete(c, key)
	} else {
		c[key] = v
	}
	return c
}

func idf(prefix string, i int) string { return fmt.Sprintf("%s%d", prefix, i) }

// Fixed ids used by the tests (the sandbox's seeded dealership data).
const (
	userSam        = "0192f0a0-0001-7000-8000-000000000001"
	stageContacted = "0192f0a0-0002-7000-8000-000000000002"
	deptUsed       = "0192f0a0-0006-7000-8000-000000000002"
	franchiseMTL   = "0192f0a0-0007-7000-8000-000000000001"
)

func node(id, typ string, data obj) obj {
	n := obj{"id": id, "type": typ, "position": obj{"x": 0, "y": 0}}
	if data != nil {
		n["data"] = data
	}
	return n
}

func edge(id, src, tgt, handle string) obj {
	e := obj{"id": id, "source": src, "target": tgt}
	if handle != "" {
		e["sourceHandle"] = handle
	}
	return e
}

// document wraps nodes and edges in valid automation settings.
func document(ns []obj, es []obj) obj {
	if ns == nil {
		ns = []obj{}
	}
	if es == nil {
		es = []obj{}
	}
	return obj{
		"id": "0193a4c2-7a10-7c5e-9d1a-2f6b8c1e0a99", "name": "Test automation", "automationTrigger": "LEAD_CREATED",
		"franchise": obj{"id": franchiseMTL}, "timezone": "America/Toronto", "reenrollment": "never",
		"nodes": ns, "edges": es,
	}
}

// chain is trigger → n → end with plain edges: the smallest valid home for
// a one-exit node.
func chain(n obj) obj {
	return document(
		[]obj{node("start", "trigger", obj{"label": "Lead created"}), n, node("end", "end", nil)},
		[]obj{edge("e1", "start", n["id"].(string), ""), edge("e2", n["id"].(string), "end", "")},
	)
}

// branch is trigger → n with each handle leading to its own end node.
func branch(n obj, handles ...string) obj {
	ns := []obj{node("start", "trigger", nil), n}
	es := []obj{edge("e0", "start", n["id"].(string), "")}
	for _, h := range handles {
		ns = append(ns, node("end-"+h, "end", nil))
		es = append(es, edge("e-"+h, n["id"].(string), "end-"+h, h))
	}
	return document(ns, es)
}

func task(extra obj) obj {
	d := obj{"label": "Call", "type": "CALL", "assignee": userSam, "title": "Call {{ lead.subject }}"}
	for k, v := range extra {
		if v == nil {
			delete(d, k)
		} else {
			d[k] = v
		}
	}
	return node("task", "create_task", d)
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func compileJSON(t testing.TB, v any) (*Plan, validate.Problems) {
	t.Helper()
	var data []byte
	switch x := v.(type) {
	case []byte:
		data = x
	case string:
		data = []byte(x)
	default:
		data = mustJSON(t, v)
	}
	doc, err := automation.Parse(data)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return Compile(doc, nodes.Builtin())
}

func parseObj(t testing.TB, d obj) (*automation.Document, error) {
	t.Helper()
	doc, err := automation.Parse(mustJSON(t, d))
	if err != nil {
		t.Fatal(err)
	}
	return doc, nil
}
