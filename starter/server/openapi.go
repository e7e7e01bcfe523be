package server

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"sync"

	"github.com/conecrm/automation-runtime/internal/crm"
	"github.com/conecrm/automation-runtime/internal/event"
	"github.com/conecrm/automation-runtime/internal/nodes"
	"github.com/conecrm/automation-runtime/internal/plan"
	"github.com/conecrm/automation-runtime/internal/validate"
)

// openapiBase is the hand-written part of the API description: paths,
// responses and the schemas no struct describes.
//
//go:embed openapi.json
var openapiBase []byte

// automationSchemaPrefix names the automation document's parts among the
// OpenAPI components (automation.Node, automation.create_task...).
const automationSchemaPrefix = "automation."

// generatedSchemas are the components derived from the code, so the API
// description cannot drift from what the handlers accept and answer.
func generatedSchemas() map[string]validate.Schema {
	out := map[string]validate.Schema{
		"Problem":             validate.SchemaOf(reflect.TypeFor[validate.Problem]()),
		"LeadEvent":           validate.SchemaOf(reflect.TypeFor[event.Lead]()),
		"CRMIntegration":      validate.SchemaOf(reflect.TypeFor[crm.Integration]()),
		"CRMIntegrationInput": validate.SchemaOf(reflect.TypeFor[crm.IntegrationInput]()),
	}
	// The automation document, its $defs moved to the components.
	doc := plan.Schema(nodes.Builtin())
	defs, _ := doc["$defs"].(validate.Schema)
	for _, k := range []string{"$defs", "$schema", "$id"} {
		delete(doc, k)
	}
	for name, d := range defs {
		out[automationSchemaPrefix+name] = d.(validate.Schema)
	}
	out["Automation"] = doc
	for _, s := range out {
		rewriteRefs(s)
	}
	return out
}

// rewriteRefs points the automation schema's "#/$defs/x" at the components.
func rewriteRefs(v any) {
	switch v := v.(type) {
	case validate.Schema:
		for k, x := range v {
			if s, ok := x.(string); ok && k == "$ref" {
				v[k] = strings.Replace(s, "#/$defs/", "#/components/schemas/"+automationSchemaPrefix, 1)
				continue
			}
			rewriteRefs(x)
		}
	case []any:
		for _, x := range v {
			rewriteRefs(x)
		}
	}
}

// OpenAPI returns the starter's OpenAPI 3.1 document (GET /api/openapi.json):
// openapi.json with the generated schemas among its components.
var OpenAPI = sync.OnceValues(func() ([]byte, error) {
	var doc map[string]any
	if err := json.Unmarshal(openapiBase, &doc); err != nil {
		return nil, fmt.Errorf("openapi.json: %w", err)
	}
	comps, _ := doc["components"].(map[string]any)
	schemas, _ := comps["schemas"].(map[string]any)
	if schemas == nil {
		return nil, fmt.Errorf("openapi.json: no components.schemas")
	}
	for name, s := range generatedSchemas() {
		if _, dup := schemas[name]; dup {
			return nil, fmt.Errorf("openapi.json: components.schemas.%s is generated from the code; remove it", name)
		}
		schemas[name] = s
	}
	return json.MarshalIndent(doc, "", "  ")
})

// AutomationSchema returns the automation document's JSON Schema
// (GET /api/automation/schema).
var AutomationSchema = sync.OnceValues(func() ([]byte, error) {
	return json.MarshalIndent(plan.Schema(nodes.Builtin()), "", "  ")
})

// serveJSON serves a generated document; its error is a programming error
// the tests catch.
func serveJSON(contentType string, doc func() ([]byte, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		b, err := doc()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", contentType)
		_, _ = w.Write(b)
	}
}
