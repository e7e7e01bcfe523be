package docbuild_test

import (
	"strings"
	"testing"

	"github.com/conecrm/automation-runtime/internal/automation"
	"github.com/conecrm/automation-runtime/internal/devkit/docbuild"
	"github.com/conecrm/automation-runtime/internal/nodes"
	"github.com/conecrm/automation-runtime/internal/plan"
)

// A built document parses and compiles, with the nodes, edges and handles
// it was given.
func TestBuiltDocumentCompiles(t *testing.T) {
	raw := docbuild.New("doc-1").Name("Wait then end").Trigger("LEAD_CREATED").Reenrollment("never").Timezone("America/Toronto").
		Node("start", "trigger", nil).
		Node("wait", "wait_for_event", docbuild.Data{"event": "LEAD_UPDATED", "timeout": "1h"}).
		Node("updated", "end", docbuild.Data{"reason": "updated"}).
		Node("timeout", "end", docbuild.Data{"reason": "timed out"}).
		Edge("start", "wait").EdgeFrom("wait", "event", "updated").EdgeFrom("wait", "timeout", "timeout").
		JSON()
	d, err := automation.Parse(raw)
	if err != nil {
		t.Fatalf("%v in %s", err, raw)
	}
	if d.ID != "doc-1" || d.Name != "Wait then end" || len(d.Nodes) != 4 || len(d.Edges) != 3 {
		t.Fatalf("parsed %+v from %s", d, raw)
	}
	if e := d.Edges[1]; e.ID != "wait-updated" || e.Source != "wait" || e.Target != "updated" || e.SourceHandle != "event" {
		t.Fatalf("edge %+v", e)
	}
	if _, problems := plan.Compile(d, nodes.Builtin()); len(problems) > 0 {
		t.Fatalf("does not compile: %v", problems)
	}
}

// Set overrides a field and Unset removes one, so tests can build broken
// documents.
func TestSetAndUnset(t *testing.T) {
	m := docbuild.New("x").Trigger("LEAD_CREATED").Unset("automationTrigger").Set("name", "").Set("franchise", nil).Map()
	if _, ok := m["automationTrigger"]; ok {
		t.Fatalf("automationTrigger not removed: %v", m)
	}
	if v, ok := m["franchise"]; !ok || v != nil {
		t.Fatalf("franchise not null: %v", m)
	}
	if m["name"] != "" || m["id"] != "x" {
		t.Fatalf("fields %v", m)
	}
	if _, problems := plan.Compile(mustParse(t, docbuild.New("x").JSON()), nodes.Builtin()); len(problems) == 0 {
		t.Fatal("a document without trigger or nodes compiled")
	}
}

func mustParse(t *testing.T, raw []byte) *automation.Document {
	t.Helper()
	d, err := automation.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// Chain links its nodes in order, numbering the edges from its first
// number as the builder does.
func TestChain(t *testing.T) {
	d := mustParse(t, []byte(docbuild.New("c").Trigger("LEAD_CREATED").
		Node("start", "trigger", nil).Node("pause", "delay", docbuild.Data{"duration": "1s"}).Node("done", "end", nil).
		Chain(4, "start", "pause", "done").String()))
	var got []string
	for _, e := range d.Edges {
		got = append(got, e.ID+":"+e.Source+">"+e.Target+"/"+e.SourceHandle)
	}
	if want := "e4:start>pause/ e5:pause>done/"; strings.Join(got, " ") != want {
		t.Fatalf("edges %q, want %q", strings.Join(got, " "), want)
	}
}
