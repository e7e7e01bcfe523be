package plan

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/conecrm/automation-runtime/internal/automation"
	"github.com/conecrm/automation-runtime/internal/nodes"
)

// compiledSchema compiles Schema(nodes.Builtin()) with a JSON Schema
// validator, as an editor would after fetching GET /api/automation/schema.
func compiledSchema(t testing.TB) *jsonschema.Schema {
	t.Helper()
	raw, err := json.Marshal(Schema(nodes.Builtin()))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource(SchemaID, doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(SchemaID)
	if err != nil {
		t.Fatalf("the schema does not compile: %v", err)
	}
	return s
}

func schemaCheck(t testing.TB, s *jsonschema.Schema, data []byte) error {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return s.Validate(v)
}

func TestSchemaAcceptsTheExamples(t *testing.T) {
	s := compiledSchema(t)
	for _, f := range exampleFiles(t) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := schemaCheck(t, s, data); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

// The schema accepts a superset of what compiles: every document of the
// validation rules' good side passes it, and a document it rejects does
// not compile either.
func TestSchemaAgreesWithCompile(t *testing.T) {
	s := compiledSchema(t)
	for _, r := range validationRules() {
		good := mustJSON(t, r.good)
		if err := schemaCheck(t, s, good); err != nil {
			t.Errorf("%s: the good document fails the schema: %v", r.name, err)
		}
		bad := mustJSON(t, r.bad)
		if schemaCheck(t, s, bad) != nil {
			doc, err := automation.Parse(bad)
			if err == nil {
				if _, problems := Compile(doc, nodes.Builtin()); len(problems) == 0 {
					t.Errorf("%s: the schema rejects a document that compiles", r.name)
				}
			}
		}
	}
}

func TestSchemaRejects(t *testing.T) {
	s := compiledSchema(t)
	ok := chain(task(nil))
	tests := []struct {
		name string
		doc  obj
		want string // in the validator's message
	}{
		{"no name", ok.with("name", nil), "name"},
		{"blank name", ok.with("name", "  "), "name"},
		{"name too long", ok.with("name", strings.Repeat("n", 201)), "name"},
		{"unknown trigger", ok.with("automationTrigger", "LEAD_DELETED"), "automationTrigger"},
		{"no nodes", ok.with("nodes", nil), "nodes"},
		{"nodes not a list", ok.with("nodes", obj{}), "nodes"},
		{"no trigger node", document([]obj{node("end", "end", nil)}, nil), "nodes"},
		{"two trigger nodes", document([]obj{node("a", "trigger", nil), node("b", "trigger", nil)}, nil), "nodes"},
		{"unknown node type", chain(node("x", "send_fax", obj{})), "/nodes/1/type"},
		{"node without id", chain(task(nil).with("id", "")), "/nodes/1/id"},
		{"task without assignee", chain(task(obj{"assignee": nil})), "assignee"},
		{"task with unknown type", chain(task(obj{"type": "FAX"})), "/nodes/1/data/type"},
		{"task title too long", chain(task(obj{"title": strings.Repeat("t", 1001)})), "/nodes/1/data/title"},
		{"task without data", chain(node("task", "create_task", nil)), "data"},
		{"label too long", chain(task(obj{"label": strings.Repeat("l", 201)})), "/nodes/1/data/label"},
		{"unknown onError", chain(task(obj{"onError": "explode"})), "/nodes/1/data/onError"},
		{"data not an object", chain(node("task", "create_task", nil).with("data", "call")), "/nodes/1/data"},
		{"delay on a funday", chain(node("d", "delay", obj{"duration": "1h", "days": []string{"FUNDAY"}})), "/nodes/1/data/days/0"},
		{"empty switch", branch(node("route", "switch", obj{"cases": []obj{}}), "default"), "/nodes/1/data/cases"},
		{"switch case named default", branch(node("route", "switch", obj{"cases": []obj{{"handle": "default", "expression": "true"}}}), "default"), "/nodes/1/data/cases/0/handle"},
		{"webhook TRACE", chain(node("hook", "webhook", obj{"url": "https://example.com", "method": "TRACE"})), "/nodes/1/data/method"},
		{"wait without timeout", chain(node("w", "wait_for_event", obj{"event": "LEAD_UPDATED"})), "timeout"},
		{"edge without target", document([]obj{node("start", "trigger", nil)}, []obj{{"id": "e1", "source": "start"}}), "target"},
		{"franchise id not a uuid", ok.with("franchise", obj{"id": "montreal"}), "/franchise/id"},
		{"unknown reenrollment", ok.with("reenrollment", "sometimes"), "reenrollment"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := mustJSON(t, tc.doc)
			err := schemaCheck(t, s, data)
			if err == nil {
				t.Fatalf("the schema accepts %s", data)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error does not mention %q:\n%v", tc.want, err)
			}
			// What the schema rejects never compiles.
			if doc, err := automation.Parse(data); err == nil {
				if _, problems := Compile(doc, nodes.Builtin()); len(problems) == 0 {
					t.Errorf("the document compiles")
				}
			}
		})
	}
}

// Every registered node type has its data schema, selected by type.
func TestSchemaCoversTheRegistry(t *testing.T) {
	sch := Schema(nodes.Builtin())
	defs := sch["$defs"].(map[string]any)
	node := defs["Node"].(map[string]any)
	branches := node["allOf"].([]any)
	if len(branches) != len(nodes.Builtin().Types()) {
		t.Errorf("%d type branches for %d node types", len(branches), len(nodes.Builtin().Types()))
	}
	for _, typ := range nodes.Builtin().Types() {
		d, ok := defs[typ].(map[string]any)
		if !ok {
			t.Errorf("no data schema for %s", typ)
			continue
		}
		if d["description"] == "" || d["properties"].(map[string]any)["label"] == nil {
			t.Errorf("%s: data schema without description or label: %v", typ, d)
		}
	}
	// An isolated registry yields only its own types.
	reg := nodes.NewRegistry()
	def, _ := nodes.Builtin().Lookup("end")
	reg.MustRegister(def)
	if defs := Schema(reg)["$defs"].(map[string]any); defs["create_task"] != nil || defs["end"] == nil {
		t.Errorf("isolated registry: %v", defs)
	}
}
