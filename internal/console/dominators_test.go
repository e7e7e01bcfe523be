package console

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/conecrm/automation-runtime/internal/automation"
)

func TestDominators(t *testing.T) {
	edges := func(spec string) (out []automation.Edge) {
		for _, e := range strings.Fields(spec) {
			st := strings.Split(e, ">")
			out = append(out, automation.Edge{Source: st[0], Target: st[1]})
		}
		return out
	}
	show := func(d map[string]map[string]bool) string {
		var keys []string
		for k := range d {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var parts []string
		for _, k := range keys {
			var ds []string
			for x := range d[k] {
				ds = append(ds, x)
			}
			sort.Strings(ds)
			parts = append(parts, fmt.Sprintf("%s:%s", k, strings.Join(ds, ",")))
		}
		return strings.Join(parts, " ")
	}
	for _, tc := range []struct {
		name, edges string
		nodes       []string
		want        string
	}{
		{"chain", "t>a a>b", []string{"t", "a", "b"}, "a:t b:a,t t:"},
		{"condition branches", "t>c c>x c>y", []string{"t", "c", "x", "y"}, "c:t t: x:c,t y:c,t"},
		{"converging branches", "t>c c>x c>y x>e y>e", []string{"t", "c", "x", "y", "e"}, "c:t e:c,t t: x:c,t y:c,t"},
		{"unreachable node", "t>a u>a", []string{"t", "a", "u"}, "a:t t:"},
		{"cycle gets nothing", "t>a a>b b>a", []string{"t", "a", "b"}, "t:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := show(dominators("t", tc.nodes, edges(tc.edges))); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}
