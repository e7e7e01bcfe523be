package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/conecrm/automation-runtime/internal/devkit/devserver"
	"github.com/conecrm/automation-runtime/internal/devkit/uicheck"
)

// browserCheck drives headless Chromium through the console: the login
// form, the automation page (counts on the right nodes, the runs of a
// clicked node), the lead timeline and the failed runs; screenshots go to
// artifacts/console/.
func browserCheck(t *testing.T, e *env) {
	chromium, err := uicheck.Chromium()
	if err != nil {
		t.Skipf("SKIP browser check: %v", err)
	}
	root, err := devserver.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	artifacts := filepath.Join(root, "artifacts", "console")
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	b, err := uicheck.Open(ctx, chromium, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	shot := func(name string) {
		if err := b.Screenshot(ctx, filepath.Join(artifacts, name+".png")); err != nil {
			t.Errorf("screenshot %s: %v", name, err)
		}
	}
	eval := func(js string, v any) {
		t.Helper()
		out, err := b.Eval(ctx, js)
		if err != nil {
			t.Fatalf("evaluating %s: %v", js, err)
		}
		if err := json.Unmarshal([]byte(out), v); err != nil {
			t.Fatalf("evaluating %s: %v in %s", js, err, out)
		}
	}
	wait := func(page string, texts ...string) {
		t.Helper()
		missing, err := b.WaitText(ctx, time.Minute, texts...)
		if err != nil || len(missing) > 0 {
			txt, _ := b.Text(ctx)
			shot(page + "-failed")
			t.Fatalf("%s: missing %q (err %v); page text: %s", page, missing, err, txt)
		}
	}

	// The login form, then the page it was sent from.
	if err := b.Navigate(ctx, e.url+"/console/automations/console-follow-up?period=24h"); err != nil {
		t.Fatal(err)
	}
	wait("login", "Sign in with an API token")
	shot("login")
	var ok bool
	eval(fmt.Sprintf(`(document.getElementById('token').value = %q, document.getElementById('signin').click(), true)`, token), &ok)
	wait("automation", "New lead: call, then follow up in 2 days", "Push to the dealer DMS", "Wait 2 days", "Goal conversion")

	// The graph: one SVG node per document node, laid out by dagre, with
	// the counts on the right nodes.
	var nodes map[string][3]int
	eval(`Object.fromEntries([...document.querySelectorAll('#graph g.node')].map(n => [n.dataset.node, [+n.dataset.waiting, +n.dataset.passed, +n.dataset.failed]]))`, &nodes)
	want := map[string][3]int{"start": {0, 4, 0}, "hot": {0, 4, 0}, "dms": {0, 0, 1}, "call": {0, 3, 0}, "wait": {3, 0, 0}, "done": {0, 0, 0}}
	if fmt.Sprint(nodes) != fmt.Sprint(want) {
		shot("automation-failed")
		t.Fatalf("graph nodes [waiting passed failed] %v, want %v", nodes, want)
	}
	var badges []string
	eval(`[...document.querySelectorAll('#graph g.node[data-node=wait] .badge text, #graph g.node[data-node=dms] .badge text')].map(t => t.textContent)`, &badges)
	if s := strings.Join(badges, "|"); !strings.Contains(s, "3 waiting") || !strings.Contains(s, "1 failed") {
		t.Fatalf("badges on wait and dms: %s", s)
	}
	// Laid out top to bottom: the delay is below the call, the call below the trigger.
	var ys map[string]float64
	eval(`Object.fromEntries([...document.querySelectorAll('#graph g.node')].map(n => [n.dataset.node, n.querySelector('rect').y.baseVal.value]))`, &ys)
	if !(ys["start"] < ys["hot"] && ys["hot"] < ys["call"] && ys["call"] < ys["wait"] && ys["wait"] < ys["done"]) {
		t.Fatalf("layout is not top to bottom: %v", ys)
	}
	shot("automation")

	// Clicking the delay lists the three waiting runs with Web UI links.
	eval(`(document.querySelector('#graph g.node[data-node=wait]').dispatchEvent(new MouseEvent('click', {bubbles: true})), true)`, &ok)
	wait("node runs", "Runs at Wait 2 days", "Waiting now (3)", "lead "+lead1)
	var links []string
	eval(`[...document.querySelectorAll('#node-runs a.run-link')].map(a => a.href)`, &links)
	if len(links) != 3 || !strings.HasPrefix(links[0], "http://temporal-ui.test:8233/namespaces/"+e.stack.Namespace+"/workflows/") {
		t.Fatalf("Web UI links %v", links)
	}
	shot("automation-node-runs")

	// The lead timeline: both runs of L1, each step with its summary.
	if err := b.Navigate(ctx, e.url+"/console/leads/"+lead1); err != nil {
		t.Fatal(err)
	}
	wait("lead", "Lead "+lead1, "New lead: call, then follow up in 2 days", "New lead: welcome task", "Call the lead", "Welcome call", "running", "completed")
	var runs int
	eval(`document.querySelectorAll('#timeline section.run').length`, &runs)
	if runs != 2 {
		t.Fatalf("timeline lists %d runs, want 2", runs)
	}
	shot("lead")

	// Failed runs, filtered by automation and node.
	if err := b.Navigate(ctx, e.url+"/console/failed?automation=console-follow-up&node=dms"); err != nil {
		t.Fatal(err)
	}
	wait("failed", "Failed runs", "HTTP 422", lead9)
	shot("failed")

	if err := b.Navigate(ctx, e.url+"/console"); err != nil {
		t.Fatal(err)
	}
	wait("automations", "Automations", "New lead: welcome task", "New lead: call, then follow up in 2 days")
	shot("automations")
	t.Logf("screenshots in %s", artifacts)
}
