package plan

import (
	"reflect"

	"github.com/conecrm/automation-runtime/internal/automation"
	"github.com/conecrm/automation-runtime/internal/event"
	"github.com/conecrm/automation-runtime/internal/nodes"
	"github.com/conecrm/automation-runtime/internal/validate"
)

// SchemaID names the automation document's JSON Schema.
const SchemaID = "https://conecrm.example/schemas/automation.json"

// Schema is the JSON Schema (draft 2020-12) of the automation document,
// derived from reg: each node type's data struct (its JSON names and
// validator tags) selected by the node's type, the fields every node
// shares, and the document's own fields. Editors and ConeCRM's builder
// validate and autocomplete with it. What only compiling can tell (graph
// rules, expressions, cross-field rules) Compile still reports: a document
// the schema accepts may not compile, one it rejects never does.
func Schema(reg *nodes.Registry) validate.Schema {
	defs := validate.Schema{}
	var branches []any
	for _, typ := range reg.Types() {
		def, _ := reg.Lookup(typ)
		data := validate.SchemaOf(reflect.TypeOf(def.New()))
		if data["type"] != "object" {
			// A pointer type's schema admits null; a node's data is an object.
			data = validate.SchemaOf(reflect.TypeOf(def.New()).Elem())
		}
		props, _ := data["properties"].(validate.Schema)
		props["label"] = validate.Schema{"type": "string", "maxLength": DefaultLimits.LabelLength, "description": "the node's name in the builder"}
		if def.Category == nodes.CategoryAction {
			props["onError"] = validate.Schema{"enum": []any{"", OnErrorFail, OnErrorContinue, OnErrorEdge}, "description": "when the action fails: fail the run (default), continue, or leave by the error exit"}
			props["timeout"] = validate.Schema{"type": "string", "description": "the action's timeout, a duration such as 30s (at most 24h)"}
		}
		data["title"] = typ
		data["description"] = def.Description
		defs[typ] = data

		then := validate.Schema{"properties": validate.Schema{"data": validate.Schema{"$ref": "#/$defs/" + typ}}}
		if req, _ := data["required"].([]any); len(req) > 0 {
			then["required"] = []any{"data"}
		}
		branches = append(branches, validate.Schema{
			"if":   validate.Schema{"properties": validate.Schema{"type": validate.Schema{"const": typ}}, "required": []any{"type"}},
			"then": then,
		})
	}

	node := validate.SchemaOf(reflect.TypeFor[automation.Node]())
	nodeProps := node["properties"].(validate.Schema)
	nodeProps["id"] = validate.Schema{"type": "string", "minLength": 1}
	nodeProps["type"] = validate.Schema{"enum": toAny(reg.Types())}
	nodeProps["data"] = validate.Schema{"type": []any{"object", "null"}}
	node["required"] = []any{"id", "type"}
	node["allOf"] = branches

	edge := validate.SchemaOf(reflect.TypeFor[automation.Edge]())
	edgeProps := edge["properties"].(validate.Schema)
	for _, f := range []string{"id", "source", "target"} {
		edgeProps[f] = validate.Schema{"type": "string", "minLength": 1}
	}
	edge["required"] = []any{"id", "source", "target"}

	doc := validate.SchemaOf(reflect.TypeFor[automation.Document]())
	props := doc["properties"].(validate.Schema)
	props["id"] = validate.Schema{"type": "string", "maxLength": DefaultLimits.NameLength, "description": "set by the API from the URL or generated when absent"}
	props["name"] = validate.Schema{"type": "string", "minLength": 1, "maxLength": DefaultLimits.NameLength, "pattern": `\S`}
	props["automationTrigger"] = validate.Schema{"enum": toAny(event.Types()), "description": "the lead event that enrols leads"}
	props["nodes"] = validate.Schema{
		"type": "array", "maxItems": automation.MaxNodes, "items": validate.Schema{"$ref": "#/$defs/Node"},
		// Exactly one trigger node.
		"contains":    validate.Schema{"properties": validate.Schema{"type": validate.Schema{"const": "trigger"}}, "required": []any{"type"}},
		"minContains": 1, "maxContains": 1,
	}
	props["edges"] = validate.Schema{"type": "array", "maxItems": automation.MaxEdges, "items": validate.Schema{"$ref": "#/$defs/Edge"}}
	props["franchise"] = validate.Schema{"type": []any{"object", "null"}, "properties": validate.Schema{"id": validate.Schema{"type": "string", "format": "uuid"}}}
	props["reenrollment"] = validate.Schema{"enum": []any{"", automation.ReenrollNever, automation.ReenrollAfterFinish, automation.ReenrollAlways}}
	props["timezone"] = validate.Schema{"type": "string", "description": "an IANA time zone such as America/Toronto; UTC when absent"}
	doc["required"] = []any{"name", "automationTrigger", "nodes", "edges"}
	defs["Node"] = node
	defs["Edge"] = edge

	doc["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	doc["$id"] = SchemaID
	doc["title"] = "ConeCRM automation"
	doc["$defs"] = defs
	return doc
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
