package querybuilder_test

import (
	"fmt"

	"github.com/google/cel-go/cel"

	"github.com/conecrm/automation-runtime/internal/querybuilder"
)

func Example() {
	g, err := querybuilder.Parse([]byte(`{"query": {
		"combinator": "and",
		"rules": [
			{"field": "contact.primaryEmail", "operator": "endsWith", "value": ".com"},
			{"field": "priority", "operator": ">=", "value": "3"}
		]}}`))
	if err != nil {
		panic(err)
	}
	expr, err := querybuilder.ToCEL(g)
	if err != nil {
		panic(err)
	}
	fmt.Println(expr)

	env, _ := cel.NewEnv(cel.Variable("lead", cel.DynType))
	ast, iss := env.Compile(expr)
	if iss.Err() != nil {
		panic(iss.Err())
	}
	prg, _ := env.Program(ast)
	for _, lead := range []map[string]any{
		{"contact": map[string]any{"primaryEmail": "ann@example.com"}, "priority": 4.0},
		{"contact": map[string]any{"primaryEmail": "ann@example.com"}, "priority": "high"},
		{"priority": 5.0}, // no contact: false, not an error
	} {
		out, _, err := prg.Eval(map[string]any{"lead": lead})
		fmt.Println(out, err)
	}
	// Output:
	// ((has(lead.contact) && type(lead.contact) == map && has(lead.contact.primaryEmail) && type(lead.contact.primaryEmail) == string) && lead.contact.primaryEmail.endsWith(".com")) && ((has(lead.priority) && type(lead.priority) in [int, uint, double]) && lead.priority >= 3.0)
	// true <nil>
	// false <nil>
	// false <nil>
}

func ExampleValidate() {
	g, _ := querybuilder.Parse([]byte(`{"combinator": "and", "rules": [
		{"field": "status", "operator": "=", "value": "won"},
		{"combinator": "or", "rules": [{"field": "score", "operator": "foo", "value": 1}]}
	]}`))
	fmt.Println(querybuilder.Validate(g))
	// Output:
	// rules[1].rules[0].operator: unknown operator "foo"
}
