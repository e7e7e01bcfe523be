package catalog_test

import (
	"fmt"
	"testing"

	"github.com/conecrm/automation-runtime/internal/automation"
	"github.com/conecrm/automation-runtime/internal/catalog"
	"github.com/conecrm/automation-runtime/internal/devkit/docbuild"
)

func put(t testing.TB, c *catalog.Catalog, id, franchise, trigger string) {
	t.Helper()
	d := docbuild.New(id).Trigger(trigger).Node("start", "trigger", nil).Node("done", "end", docbuild.Data{"reason": "done"}).Edge("start", "done")
	if franchise == "" {
		d.Unset("franchise")
	} else {
		d.Set("franchise", map[string]any{"id": fr(franchise)})
	}
	doc, err := automation.Parse(d.JSON())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Put(doc); err != nil {
		t.Fatal(err)
	}
}

// fr makes a franchise UUID from a short name.
func fr(name string) string {
	if name == "" {
		return ""
	}
	return fmt.Sprintf("0192f0a0-0007-7000-8000-%012x", []byte(name))
}

func ids(c *catalog.Catalog, franchise, trigger string) string {
	var out []string
	for _, p := range c.Route(fr(franchise), trigger) {
		out = append(out, p.Doc.ID)
	}
	return fmt.Sprint(out)
}

// The route of an event is its franchise's automations with its trigger,
// in insertion order; automations without a franchise are in no route;
// changes show in the next Route.
func TestRoute(t *testing.T) {
	c := catalog.New()
	put(t, c, "a1", "fa", "LEAD_CREATED")
	put(t, c, "a2", "fa", "LEAD_UPDATED")
	put(t, c, "b1", "fb", "LEAD_CREATED")
	put(t, c, "a3", "fa", "LEAD_CREATED")
	put(t, c, "none", "", "LEAD_CREATED")
	for _, tc := range []struct{ franchise, trigger, want string }{
		{"fa", "LEAD_CREATED", "[a1 a3]"},
		{"fa", "LEAD_UPDATED", "[a2]"},
		{"fb", "LEAD_CREATED", "[b1]"},
		{"fb", "LEAD_UPDATED", "[]"},
		{"fc", "LEAD_CREATED", "[]"},
		{"", "LEAD_CREATED", "[]"},
	} {
		if got := ids(c, tc.franchise, tc.trigger); got != tc.want {
			t.Errorf("Route(%q, %q) = %s, want %s", tc.franchise, tc.trigger, got, tc.want)
		}
	}
	// A new version moves a1 to another trigger; a3 is removed.
	put(t, c, "a1", "fa", "LEAD_UPDATED")
	c.Remove("a3")
	if got := ids(c, "fa", "LEAD_CREATED"); got != "[]" {
		t.Errorf("after changes, LEAD_CREATED = %s", got)
	}
	if got := ids(c, "fa", "LEAD_UPDATED"); got != "[a1 a2]" {
		t.Errorf("after changes, LEAD_UPDATED = %s", got)
	}
}

// Routing looks at one franchise's automations: its cost is a map lookup,
// the same with 1 or 10,000 automations in the catalog.
func BenchmarkRoute(b *testing.B) {
	for _, n := range []int{1, 1000, 10000} {
		b.Run(fmt.Sprintf("automations=%d", n), func(b *testing.B) {
			c := catalog.New()
			for i := 0; i < n; i++ {
				put(b, c, fmt.Sprintf("a%d", i), fmt.Sprintf("f%02d", i%100), []string{"LEAD_CREATED", "LEAD_UPDATED"}[i%2])
			}
			c.Route(fr("f00"), "LEAD_CREATED") // build the index
			f7 := fr("f07")
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				_ = c.Route(f7, "LEAD_UPDATED")
			}
		})
	}
}
