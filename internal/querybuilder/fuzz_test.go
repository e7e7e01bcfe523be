package querybuilder

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/cel-go/cel"
)

// fuzzLeads are leads of awkward shapes: every translated expression must evaluate over each
// of them without an error.
var fuzzLeads = []map[string]any{
	{},
	{"a": nil, "b": "x", "c": 1.0, "d": true, "e": []any{1.0, "x"}, "f": map[string]any{"a": "y", "b": nil}},
	{"a": "1", "b": 2.0, "c": "", "d": map[string]any{}, "e": "text", "f": "not a map"},
	{"a": map[string]any{"b": map[string]any{"c": 3.0}}, "b": []any{}, "c": false, "x": int64(3), "y": uint64(4)},
}

func FuzzToCEL(f *testing.F) {
	seeds := []string{
		`{"query":{"combinator":"or","rules":[{"field":"primaryEmail","operator":"endsWith","valueSource":"value","value":".com"}]}}`,
		`{"combinator":"and","not":true,"rules":[{"field":"a.b","operator":"between","value":"5,1"},{"combinator":"or","rules":[]}]}`,
		`{"combinator":"and","rules":[{"field":"a","operator":"in","value":["1","x",true,null,[1,2]]}]}`,
		`{"rules":[{"field":"a","operator":"<","valueSource":"field","value":"b"},"or",{"field":"c","operator":"notNull"}]}`,
		`{"combinator":"and","rules":[{"field":"f.a","operator":"doesNotContain","value":"\"\\\n"}]}`,
		`{"combinator":"and","rules":[{"field":"c","operator":"notBetween","valueSource":"field","value":"a, b"}]}`,
		`{"combinator":"and","rules":[{"field":"x","operator":">=","value":"1 1/2"},{"field":"y","operator":"!=","value":1e400}]}`,
	}
	for _, op := range []string{"=", "!=", "<", "<=", ">", ">=", "contains", "doesNotContain", "beginsWith",
		"doesNotBeginWith", "endsWith", "doesNotEndWith", "null", "notNull", "in", "notIn", "between", "notBetween"} {
		for _, v := range []string{`"3"`, `"b"`, `3`, `true`, `["1","c"]`, `"a,b"`} {
			seeds = append(seeds, fmt.Sprintf(`{"combinator":"and","rules":[{"field":"f.b","operator":%q,"value":%s}]}`, op, v))
		}
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	env := newRuntimeEnv(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := Parse(data)
		if err != nil {
			return
		}
		expr, err := ToCEL(g)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		ast, iss := env.Compile(expr)
		if iss.Err() != nil {
			q, _ := json.Marshal(g)
			t.Fatalf("output does not compile: %v\nquery: %s\nexpr: %s", iss.Err(), q, expr)
		}
		if !ast.OutputType().IsExactType(cel.BoolType) {
			t.Fatalf("output type %v", ast.OutputType())
		}
		prg, err := env.Program(ast)
		if err != nil {
			t.Fatal(err)
		}
		for _, lead := range fuzzLeads {
			if _, _, err := prg.Eval(map[string]any{"lead": lead}); err != nil {
				t.Fatalf("evaluation error %v\nexpr: %s\nlead: %v", err, expr, lead)
			}
		}
		if strings.Contains(expr, "\n") {
			t.Fatalf("output spans lines: %q", expr)
		}
	})
}
