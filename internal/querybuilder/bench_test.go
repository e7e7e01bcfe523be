package querybuilder

import (
	"fmt"
	"testing"
)

// BenchmarkToCEL50Rules translates a 50-rule query: five nested groups of ten rules cycling
// through the operators.
func BenchmarkToCEL50Rules(b *testing.B) {
	ops := []struct {
		op    string
		value any
	}{
		{"=", "3"}, {"!=", "won"}, {"<", 5}, {">=", "2.5"}, {"contains", "@example"},
		{"doesNotBeginWith", "test"}, {"null", nil}, {"in", "a, b, c"}, {"notIn", []any{1, 2, 3}},
		{"between", "10, 1"}, {"endsWith", ".com"}, {"notBetween", []any{"a", "m"}}, {"notNull", nil},
	}
	root := RuleGroup{Combinator: "and"}
	n := 0
	for i := range 5 {
		sub := RuleGroup{Combinator: []string{"and", "or"}[i%2], Not: i == 3}
		for range 10 {
			o := ops[n%len(ops)]
			sub.Rules = append(sub.Rules, Item{Rule: &Rule{
				Field:    fmt.Sprintf("contact.field%d", n),
				Operator: o.op,
				Value:    mustRaw(o.value),
			}})
			n++
		}
		root.Rules = append(root.Rules, Item{Group: &sub})
	}
	if _, err := ToCEL(root); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ToCEL(root); err != nil {
			b.Fatal(err)
		}
	}
}
