package plan

import (
	"os"
	"strings"
	"testing"

	"github.com/conecrm/automation-runtime/internal/automation"
	"github.com/conecrm/automation-runtime/internal/nodes"
)

// FuzzParseAndCompile: parsing and validating any bytes never panics; every
// rejection is an error or a problem with a message; whatever compiles
// reloads from its canonical form to the same version.
func FuzzParseAndCompile(f *testing.F) {
	for _, file := range exampleFiles(f) {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, r := range validationRules() {
		if r.name == "node count" || r.name == "edge count" {
			continue // large; the fuzzer gains nothing from it
		}
		f.Add(mustJSON(f, r.bad))
	}
	// The seed's Automation example: record metadata and empty nodes and edges.
	f.Add([]byte(`{"id":"497f6eca-6276-4993-bfeb-53cbbbba6f08","dateCreated":"2019-08-24T14:15:22Z","createdBy":{"id":"497f6eca-6276-4993-bfeb-53cbbbba6f08"},` +
		`"isDeleted":false,"dtype":"string","name":"string","automationTrigger":"string","nodes":[{}],"edges":[{}],` +
		`"franchise":{"id":"497f6eca-6276-4993-bfeb-53cbbbba6f08","name":"string","code":"string","isActive":true},"delayedAutomationsCount":0}`))
	for _, s := range []string{``, `null`, `[]`, `{}`, `{"nodes":null}`, `{"nodes":[null]}`, `{"nodes":[{"data":[]}]}`, `{"goal":{"query":{}}}`, `{"edges":[{"source":"a","target":"a"}]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := automation.Parse(data)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("rejection without a message")
			}
			return
		}
		exported, err := doc.Export()
		if err != nil {
			t.Fatalf("export: %v", err)
		}
		if len(exported) <= automation.MaxDocumentBytes {
			again, err := automation.Parse(exported)
			if err != nil {
				t.Fatalf("export does not parse: %v\n%s", err, exported)
			}
			if string(again.Canonical()) != string(doc.Canonical()) {
				t.Fatalf("export changed the document:\n%s\n%s", doc.Canonical(), again.Canonical())
			}
		}
		p, problems := Compile(doc, nodes.Builtin())
		if p == nil && len(problems) == 0 {
			t.Fatal("no plan and no problems")
		}
		for _, pr := range problems {
			if strings.TrimSpace(pr.Message) == "" {
				t.Fatalf("problem without a message: %+v", pr)
			}
		}
		if p != nil {
			q, err := Load(p.Canonical, 0)
			if err != nil {
				t.Fatalf("canonical form does not reload: %v\n%s", err, p.Canonical)
			}
			if q.Version != p.Version {
				t.Fatalf("reloaded version %s, want %s", q.Version, p.Version)
			}
		}
	})
}
