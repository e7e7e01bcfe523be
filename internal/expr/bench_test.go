package expr

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkEvalCondition evaluates a compiled, typical enrolment condition
// on a realistic lead (the target is well under 10µs).
func BenchmarkEvalCondition(b *testing.B) {
	p, err := Compile("has(lead.makeStr) && lead.makeStr.lowerAscii() in ['toyota', 'lexus'] && lead.priority >= 2 && lead.stage.id != previous.stage.id || 'hybrid' in lead.tags", KindBool)
	if err != nil {
		b.Fatal(err)
	}
	v := vars()
	if ok, err := p.EvalBool(v); err != nil || !ok {
		b.Fatal(ok, err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.EvalBool(v); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEvalSimpleCondition is the most common shape: two field tests.
func BenchmarkEvalSimpleCondition(b *testing.B) {
	p, err := Compile("lead.priority >= 3 && lead.category == 'CAR'", KindBool)
	if err != nil {
		b.Fatal(err)
	}
	v := vars()
	b.ReportAllocs()
	for b.Loop() {
		if ok, err := p.EvalBool(v); err != nil || !ok {
			b.Fatal(ok, err)
		}
	}
}

func BenchmarkRenderTemplate(b *testing.B) {
	t, err := CompileTemplate("Call {{ lead.contact.firstName }} {{ lead.contact.lastName }} about the {{ lead.yearStr }} {{ lead.makeStr }} {{ lead.modelStr }} (priority {{ lead.priority }})")
	if err != nil {
		b.Fatal(err)
	}
	v := vars()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := t.Render(v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCompileCondition(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compile("has(lead.makeStr) && lead.makeStr.lowerAscii() in ['toyota', 'lexus'] && lead.priority >= 2", KindBool); err != nil {
			b.Fatal(err)
		}
	}
}

// Example shows the life of a condition: compiled once, evaluated many times
// with the workflow's clock.
func Example() {
	p, err := Compile("lead.priority >= 3 && now - timestamp(lead.dateCreated) < duration('48h')", KindBool)
	if err != nil {
		panic(err)
	}
	lead := map[string]any{"priority": 3.0, "dateCreated": "2026-03-02T14:00:00Z"}
	for _, now := range []time.Time{time.Date(2026, 3, 3, 9, 0, 0, 0, time.UTC), time.Date(2026, 3, 9, 9, 0, 0, 0, time.UTC)} {
		ok, err := p.EvalBool(Vars{Lead: lead, Now: now})
		fmt.Println(now.Format("Jan 2"), ok, err)
	}
	// Output:
	// Mar 3 true <nil>
	// Mar 9 false <nil>
}

func ExampleCompileTemplate() {
	t, err := CompileTemplate("Call {{ lead.contact.firstName }} about the {{ lead.makeStr }}")
	if err != nil {
		panic(err)
	}
	s, err := t.Render(Vars{Lead: map[string]any{"makeStr": "RAV4", "contact": map[string]any{"firstName": "Alice"}}})
	fmt.Println(s, err)
	// Output: Call Alice about the RAV4 <nil>
}
