package expr

import (
	"testing"
	"time"
)

// FuzzCompileEval: any source either fails to compile with a message or
// evaluates, on a realistic lead, to a value or an error; never a panic.
func FuzzCompileEval(f *testing.F) {
	for _, s := range []string{
		"lead.priority > 2", "lead.makeStr.lowerAscii() in ['toyota']", "timestamp(lead.dueDate) - duration('24h')",
		"lead.tags.exists(t, t == 'suv')", "now.getDayOfWeek('America/Toronto') == 1", "lead.?x.orValue(1) == 1",
		"int(lead.yearStr) / 0", "lead.budget * 1e308 * 10.0 > 0.0", "Call {{ lead.subject }}", "'a'.repeat(1000000)",
	} {
		f.Add(s, uint8(0))
	}
	v := vars()
	v.Now = time.Date(2026, 3, 3, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, src string, kind uint8) {
		k := Kind(kind % 4)
		p, err := Compile(src, k)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("error without a message")
			}
			return
		}
		_, _ = p.Eval(v)
		_, _ = p.EvalBool(v)
		_, _ = p.EvalTimestamp(v)
		if tpl, err := CompileTemplate(src); err == nil {
			_, _ = tpl.Render(v)
		}
	})
}
