package automation

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// builderExport is what a React Flow builder saves: UI state on nodes,
// edges and the document, unknown data fields, and ConeCRM record metadata.
const builderExport = `{
  "id": "0193a4c2-7a10-7c5e-9d1a-2f6b8c1e0a42",
  "dateCreated": "2026-11-20T14:15:22Z",
  "createdBy": {"id": "0192f0a0-0001-7000-8000-000000000003"},
  "isDeleted": false,
  "dtype": "Automation",
  "name": "Stale lead <follow-up> & reminder",
  "automationTrigger": "LEAD_STAGE_CHANGED",
  "franchise": {"id": "0192f0a0-0007-7000-8000-000000000001", "name": "Montréal", "code": "MTL", "isActive": true},
  "reenrollment": "after_finished",
  "goal": {"expression": "lead.stage.id == 'sold' && lead.priority > 2", "builderNote": "exit when sold"},
  "timezone": "America/Toronto",
  "delayedAutomationsCount": 4,
  "nodes": [
    {"id": "start", "type": "trigger", "data": {"label": "Lead contacted", "icon": "bolt"},
     "position": {"x": 0, "y": 0}, "measured": {"width": 220, "height": 64}, "selected": true, "dragging": false, "zIndex": 2},
    {"id": "remind", "type": "create_task",
     "data": {"label": "Remind", "type": "REMINDER", "assignee": "0192f0a0-0001-7000-8000-000000000002", "title": "Call {{ lead.subject }}",
              "ui": {"collapsed": true, "color": "#ffaa00"}, "priceHint": 12345678901234567890},
     "position": {"x": 10.5, "y": 120}, "width": 220, "height": 88, "parentId": "group-1", "extent": "parent"},
    {"id": "end", "type": "end", "position": {"x": 0, "y": 240}}
  ],
  "edges": [
    {"id": "e1", "source": "start", "target": "remind", "sourceHandle": null, "targetHandle": null, "type": "smoothstep", "animated": true,
     "markerEnd": {"type": "arrowclosed"}, "style": {"stroke": "#999"}},
    {"id": "e2", "source": "remind", "target": "end", "targetHandle": "in", "label": "then", "selected": false}
  ],
  "viewport": {"x": -12.5, "y": 40, "zoom": 0.75}
}`

// equalJSON compares two JSON texts as values, numbers by their text.
func equalJSON(t *testing.T, a, b []byte) bool {
	t.Helper()
	decode := func(data []byte) any {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("%v\n%s", err, data)
		}
		return v
	}
	return reflect.DeepEqual(decode(a), decode(b))
}

// withoutNulls drops the null sourceHandle/targetHandle React Flow writes:
// they mean the same as the absent field, which export writes.
func withoutNulls(s string) string {
	s = strings.ReplaceAll(s, `"sourceHandle": null, `, "")
	return strings.ReplaceAll(s, `"targetHandle": null, `, "")
}

func TestExportWritesBackWhatWasRead(t *testing.T) {
	d, err := Parse([]byte(builderExport))
	if err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	if !equalJSON(t, out, []byte(withoutNulls(builderExport))) {
		t.Errorf("export differs from input:\n%s", out)
	}
	// Export keeps the characters of expressions, numbers their digits.
	exported, err := d.Export()
	if err != nil {
		t.Fatal(err)
	}
	if !equalJSON(t, exported, out) {
		t.Errorf("Export differs from MarshalJSON:\n%s", exported)
	}
	out = exported
	for _, s := range []string{`"Stale lead <follow-up> & reminder"`, `lead.stage.id == 'sold' && lead.priority > 2`, `12345678901234567890`, `"zoom": 0.75`, `"builderNote": "exit when sold"`} {
		if !bytes.Contains(out, []byte(s)) {
			t.Errorf("export lost %s:\n%s", s, out)
		}
	}
	// Export of the export is stable.
	d2, err := Parse(out)
	if err != nil {
		t.Fatal(err)
	}
	out2, _ := d2.Export()
	if !bytes.Equal(out, out2) {
		t.Errorf("second export differs:\n%s\n%s", out, out2)
	}
	if d2.Version() != d.Version() {
		t.Errorf("version changed through export")
	}
}

func TestExportExamples(t *testing.T) {
	files, _ := filepath.Glob("../../automations/*.json")
	if len(files) == 0 {
		t.Fatal("no examples")
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		d, err := Parse(data)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out, _ := json.Marshal(d)
		if !equalJSON(t, out, data) {
			t.Errorf("%s: export differs:\n%s", f, out)
		}
	}
}

func TestParsedFields(t *testing.T) {
	d, err := Parse([]byte(builderExport))
	if err != nil {
		t.Fatal(err)
	}
	if d.Name != "Stale lead <follow-up> & reminder" || d.AutomationTrigger != "LEAD_STAGE_CHANGED" || d.ReenrollmentMode() != ReenrollAfterFinish ||
		d.Timezone != "America/Toronto" || d.Franchise.ID != "0192f0a0-0007-7000-8000-000000000001" || !d.Active() ||
		d.Goal.Expression == "" || len(d.Nodes) != 3 || len(d.Edges) != 2 || d.Edges[1].TargetHandle != "in" || d.Nodes[2].Data != nil {
		t.Errorf("parsed %+v", d)
	}
	var empty Document
	if empty.ReenrollmentMode() != ReenrollNever || !empty.Active() {
		t.Error("defaults: reenrollment never, active")
	}
	off := false
	empty.IsActive = &off
	if empty.Active() {
		t.Error("isActive false")
	}
}

func TestCanonical(t *testing.T) {
	d, err := Parse([]byte(builderExport))
	if err != nil {
		t.Fatal(err)
	}
	c := string(d.Canonical())
	for _, ui := range []string{"position", "measured", "selected", "viewport", "targetHandle", "animated", "dateCreated", "Montréal", "builderNote", "delayedAutomationsCount"} {
		if strings.Contains(c, ui) {
			t.Errorf("canonical form keeps %s: %s", ui, c)
		}
	}
	for _, kept := range []string{`"reenrollment":"after_finished"`, `"target":"remind"`, "&&", `"ui":{`} {
		if !strings.Contains(c, kept) {
			t.Errorf("canonical form lost %s: %s", kept, c)
		}
	}
	if got := (&Document{}).Canonical(); !json.Valid(got) || !strings.Contains(string(got), `"reenrollment":"never"`) {
		t.Errorf("empty document: %s", got)
	}
	filtered := string(d.CanonicalWith(func(typ string, data json.RawMessage) json.RawMessage {
		if typ == "create_task" {
			return json.RawMessage(`{"title":"x"}`)
		}
		return data
	}))
	if !strings.Contains(filtered, `{"title":"x"}`) || strings.Contains(filtered, "collapsed") {
		t.Errorf("filter not applied: %s", filtered)
	}
	if VersionOf(d.Canonical()) != d.Version() || len(d.Version()) != 16 {
		t.Errorf("version %q", d.Version())
	}
}

func TestClone(t *testing.T) {
	d, err := Parse([]byte(builderExport))
	if err != nil {
		t.Fatal(err)
	}
	before, _ := json.Marshal(d)
	c := d.Clone()
	c.Name = "x"
	c.Franchise.ID = "x"
	c.Goal.Expression = "x"
	c.Nodes[1].Data[2] = 'X'
	c.Nodes[0].ID = "x"
	c.Edges[0].Source = "x"
	*c.Clone().Franchise = Ref{}
	after, _ := json.Marshal(d)
	if !bytes.Equal(before, after) {
		t.Errorf("changing the clone changed the original:\n%s\n%s", before, after)
	}
	if (*Document)(nil).Clone() != nil {
		t.Error("nil clone")
	}
}

func TestParseRejections(t *testing.T) {
	for _, tc := range []struct {
		name, data, want string
	}{
		{"malformed", "{\n  \"name\": \"x\",\n  \"nodes\": [,]\n}", "malformed JSON at line 3, column 13"},
		{"truncated", `{"name": "x"`, "malformed JSON at line 1, column 13: unexpected end of JSON input"},
		{"wrong type", `{"name": 5}`, "name: expected string, got JSON number"},
		{"nodes not a list", `{"nodes": {}}`, "nodes: expected []automation.Node, got JSON object"},
		{"node not an object", `{"nodes": [5]}`, "expected"},
		{"not an object", `[1, 2]`, "expected"},
		{"too large", `{"name": "` + strings.Repeat("x", MaxDocumentBytes) + `"}`, "the limit is 1048576"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.data))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}
