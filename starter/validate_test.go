package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/conecrm/automation-runtime/internal/nodes"
)

// validDoc is a small valid automation; bad documents are variations of it.
const validDoc = `{
  "id": "0193a4c2-7a10-7c5e-9d1a-2f6b8c1e0a90", "name": "Hot lead", "automationTrigger": "LEAD_CREATED",
  "nodes": [
    {"id": "start", "type": "trigger", "data": {"label": "Lead created"}, "position": {"x": 0, "y": 0}},
    {"id": "hot", "type": "condition", "data": {"label": "Hot?", "expression": "lead.priority >= 3"}},
    {"id": "call", "type": "create_task", "data": {"label": "Call", "type": "CALL", "assignee": "0192f0a0-0001-7000-8000-000000000001", "title": "Call {{ lead.subject }}"}},
    {"id": "done", "type": "end", "data": {"label": "Done"}}
  ],
  "edges": [
    {"id": "e1", "source": "start", "target": "hot"},
    {"id": "e2", "source": "hot", "target": "call", "sourceHandle": "true"},
    {"id": "e3", "source": "hot", "target": "done", "sourceHandle": "false"},
    {"id": "e4", "source": "call", "target": "done"}
  ]
}`

func writeDoc(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func runValidate(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = validateCmd(&out, &errOut, args)
	return code, out.String(), errOut.String()
}

func TestValidateExamples(t *testing.T) {
	files, err := filepath.Glob("../automations/*.json")
	if err != nil || len(files) < 7 {
		t.Fatalf("examples: %v %v", files, err)
	}
	code, out, errOut := runValidate(files...)
	if code != 0 || out != itoa(len(files))+" file(s) valid\n" || errOut != "" {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, out, _ = runValidate(append([]string{"--json"}, files...)...)
	if code != 0 || strings.TrimSpace(out) != "[]" {
		t.Errorf("--json: exit %d, stdout %q", code, out)
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestValidateProblems(t *testing.T) {
	for _, tc := range []struct {
		name, content string
		want          string // the one line printed after "<file>: "
	}{
		{"malformed JSON", "{\n  \"name\": \"x\",\n  \"nodes\": [\n", "malformed JSON at line 4, column 1: unexpected end of JSON input"},
		{"unknown node type", strings.Replace(validDoc, `"type": "end"`, `"type": "finish"`, 1),
			`node done: nodes[3].type: unknown node type "finish" (one of ` + strings.Join(nodes.Builtin().Types(), ", ") + `)`},
		{"edge to a missing node", strings.Replace(validDoc, `"source": "call", "target": "done"`, `"source": "call", "target": "gone"`, 1) + "",
			`edge e4: edges[3].target: target node "gone" does not exist`},
		{"CEL that does not compile", strings.Replace(validDoc, `lead.priority >= 3`, `lead.priority >=`, 1),
			"node hot: nodes[1].data.expression: expression does not compile: ERROR: <input>:1:17: Syntax error: mismatched input '<EOF>'"},
		{"CEL that is not bool", strings.Replace(validDoc, `lead.priority >= 3`, `lead.priority + 1`, 1),
			"node hot: nodes[1].data.expression: expression must be a bool condition, but its type is"},
		{"JSON of the wrong type", strings.Replace(validDoc, `"name": "Hot lead"`, `"name": ["Hot lead"]`, 1),
			"name: expected string, got JSON array"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeDoc(t, "doc.json", tc.content)
			code, out, _ := runValidate(path)
			if code != 1 || !strings.HasPrefix(out, path+": "+tc.want) {
				t.Errorf("exit %d, stdout:\n%s\nwant a line starting %q", code, out, path+": "+tc.want)
			}
		})
	}
}

func TestValidateEveryProblemOfEveryFile(t *testing.T) {
	bad := strings.NewReplacer(`"lead.priority >= 3"`, `"1"`, `"CALL"`, `"FAX"`, `"sourceHandle": "false"`, `"sourceHandle": "no"`).Replace(validDoc)
	good := writeDoc(t, "good.json", validDoc)
	badPath := writeDoc(t, "bad.json", bad)
	missing := filepath.Join(t.TempDir(), "missing.json")

	code, out, _ := runValidate(good, badPath, missing)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	want := []string{
		badPath + ": node hot: nodes[1].data.expression: expression must be a bool condition, but its type is int",
		badPath + `: node call: nodes[2].data.type: must be one of CALL, MEETING, OTHER, SMS, FOLLOW_UP, REMINDER, LINKEDIN_MESSAGE, DM, got "FAX"`,
		badPath + `: edge e3: edges[2].sourceHandle: node hot (condition) has no "no" exit (allowed: "true", "false")`,
		badPath + `: node hot: nodes[1]: the "false" exit is not connected`,
		missing + ": open " + missing + ": no such file or directory",
	}
	if code != 1 || strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("exit %d, stdout:\n%s\nwant:\n%s", code, out, strings.Join(want, "\n"))
	}

	code, out, _ = runValidate("--json", good, badPath)
	var got []struct {
		File, NodeID, EdgeID, Path, Message string
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if code != 1 || len(got) != 4 || got[0].File != badPath || got[0].NodeID != "hot" || got[0].Path != "nodes[1].data.expression" ||
		got[2].EdgeID != "e3" || got[2].NodeID != "" || !strings.Contains(got[1].Message, "must be one of") {
		t.Errorf("exit %d, --json:\n%s", code, out)
	}
	if !strings.Contains(out, `"nodeId": "hot"`) || !strings.Contains(out, `"edgeId": "e3"`) || strings.Contains(out, `"edgeId": ""`) {
		t.Errorf("JSON field names:\n%s", out)
	}
}

func TestValidateUsage(t *testing.T) {
	if code, _, errOut := runValidate(); code != 2 || !strings.Contains(errOut, "usage: starter validate [--json] FILE...") {
		t.Errorf("no files: exit %d, %q", code, errOut)
	}
	if code, _, _ := runValidate("--yaml", "x.json"); code != 2 {
		t.Errorf("unknown flag: exit %d", code)
	}
}
