package plan

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"go.temporal.io/sdk/workflow"

	"github.com/conecrm/automation-runtime/activities"
	"github.com/conecrm/automation-runtime/internal/nodes"
)

func TestBuiltinRegistry(t *testing.T) {
	reg := nodes.Builtin()
	want := []string{"condition", "copy_lead", "create_task", "delay", "end", "move_stage", "push_to_crm", "split", "switch", "trigger", "update_task", "wait_for_event", "webhook"}
	if got := reg.Types(); !reflect.DeepEqual(got, want) {
		t.Errorf("types %v, want %v", got, want)
	}
	for _, typ := range want {
		def, _ := reg.Lookup(typ)
		if def.Description == "" || def.New == nil || def.Category == "" {
			t.Errorf("%s: incomplete definition %+v", typ, def)
		}
		if def.Terminal != (typ == "end") {
			t.Errorf("%s: terminal %v", typ, def.Terminal)
		}
		if n := def.New(); reflect.TypeOf(n).Kind() != reflect.Pointer || def.New() == n {
			t.Errorf("%s: New must return a fresh pointer", typ)
		}
		for _, h := range def.Required {
			found := false
			for _, x := range def.Handles {
				found = found || x == h
			}
			if !found {
				t.Errorf("%s: required handle %q is not allowed", typ, h)
			}
		}
		if def.Category == nodes.CategoryAction {
			if !reflect.DeepEqual(def.Handles, []string{nodes.Plain, nodes.HandleError}) {
				t.Errorf("%s: action handles %q", typ, def.Handles)
			}
		}
	}
	if _, ok := reg.Lookup("send_fax"); ok {
		t.Error("unknown type found")
	}
}

func TestBuilderData(t *testing.T) {
	b := nodes.Builtin().BuilderData()
	want := nodes.BuilderData{
		Triggers:   []string{"LEAD_CREATED", "LEAD_UPDATED", "LEAD_STAGE_CHANGED", "LEAD_ASSIGNED", "LEAD_CLOSED"},
		Actions:    []string{"copy_lead", "create_task", "move_stage", "push_to_crm", "update_task", "webhook"},
		Conditions: []string{"condition", "split", "switch"},
		Flow:       []string{"delay", "end", "trigger", "wait_for_event"},
	}
	if !reflect.DeepEqual(b, want) {
		t.Errorf("builder data %+v, want %+v", b, want)
	}
	body, _ := json.Marshal(b)
	if !strings.Contains(string(body), `"triggers":["LEAD_CREATED"`) || !strings.Contains(string(body), `"conditions":["condition","split","switch"]`) {
		t.Errorf("JSON %s", body)
	}
	// The lists are copies: changing them does not change the registry.
	b.Triggers[0], b.Actions[0] = "x", "x"
	if again := nodes.Builtin().BuilderData(); !reflect.DeepEqual(again, want) {
		t.Errorf("builder data changed: %+v", again)
	}
	if !reflect.DeepEqual(nodes.NewRegistry().BuilderData().Actions, []string{}) {
		t.Error("an empty registry lists no actions (and [] rather than null)")
	}
}

// note is a node type defined in a test: adding a type is one definition.
type note struct {
	Text string `json:"text" validate:"required,max=20"`
}

func (n *note) Compile(c *nodes.Compiler) {
	if strings.Contains(n.Text, "!") {
		c.Problemf("text", "no shouting")
	}
}

func (n *note) Run(workflow.Context, nodes.Exec) (nodes.Outcome, error) { return nodes.Outcome{}, nil }

var _ nodes.Node = (*note)(nil)

func TestIsolatedRegistry(t *testing.T) {
	reg := nodes.NewRegistry()
	for _, typ := range []string{"trigger", "end"} {
		def, _ := nodes.Builtin().Lookup(typ)
		reg.MustRegister(def)
	}
	noteDef := nodes.Definition{Type: "note", Category: nodes.CategoryFlow, Description: "A note.", Handles: []string{nodes.Plain}, Required: []string{nodes.Plain}, New: func() nodes.Node { return &note{} }}
	if err := reg.Register(noteDef); err != nil {
		t.Fatal(err)
	}
	if err := reg.Register(noteDef); err == nil || !strings.Contains(err.Error(), `node type "note" is registered twice`) {
		t.Errorf("duplicate: %v", err)
	}
	if err := reg.Register(nodes.Definition{Type: "x"}); err == nil {
		t.Error("a definition without constructor registered")
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("MustRegister of a duplicate does not panic")
			}
		}()
		reg.MustRegister(noteDef)
	}()

	compile := func(text string) []string {
		doc := chain(node("n", "note", obj{"text": text, "label": "Note", "color": "red"}))
		d, _ := parseObj(t, doc)
		_, problems := Compile(d, reg)
		var out []string
		for _, p := range problems {
			out = append(out, p.String())
		}
		return out
	}
	if got := compile("hello"); len(got) != 0 {
		t.Errorf("valid note: %v", got)
	}
	if got := compile(""); !reflect.DeepEqual(got, []string{"node n: nodes[1].data.text: is required"}) {
		t.Errorf("empty note: %v", got)
	}
	if got := compile("hello!"); !reflect.DeepEqual(got, []string{"node n: nodes[1].data.text: no shouting"}) {
		t.Errorf("shouting note: %v", got)
	}
	// Built-in types missing from the isolated registry are unknown there.
	d, _ := parseObj(t, chain(node("n", "delay", obj{"duration": "1h"})))
	if _, problems := Compile(d, reg); len(problems) != 1 || !strings.Contains(problems[0].Message, `unknown node type "delay" (one of end, note, trigger)`) {
		t.Errorf("problems %v", problems)
	}
}

// TestDefinitionRules: actions, and only they, name an activity, one node
// type per activity, the metric label defaults to the type, and the parking
// node types are the ones the registry says park.
func TestDefinitionRules(t *testing.T) {
	create, _ := nodes.Builtin().Lookup("create_task")
	delay, _ := nodes.Builtin().Lookup("delay")
	newNote := func() nodes.Node { return &note{} }
	for _, tc := range []struct {
		name string
		defs []nodes.Definition
		want string
	}{
		{"action without activity", []nodes.Definition{{Type: "a", Category: nodes.CategoryAction, New: newNote}}, `node type "a": action nodes, and only they, name an activity`},
		{"flow with activity", []nodes.Definition{{Type: "f", Category: nodes.CategoryFlow, New: newNote, Activity: create.Activity}}, `node type "f": action nodes, and only they, name an activity`},
		{"shared activity", []nodes.Definition{create, {Type: "b", Category: nodes.CategoryAction, New: newNote, Activity: create.Activity}}, `node type "b": activity CreateTask already runs node type "create_task"`},
		{"valid", []nodes.Definition{create, delay}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := nodes.NewRegistry()
			var err error
			for _, d := range tc.defs {
				if err = reg.Register(d); err != nil {
					break
				}
			}
			if got := fmt.Sprint(err); (tc.want == "" && err != nil) || (tc.want != "" && got != tc.want) {
				t.Errorf("error %q, want %q", got, tc.want)
			}
		})
	}

	reg := nodes.NewRegistry()
	reg.MustRegister(nodes.Definition{Type: "note", Category: nodes.CategoryFlow, New: newNote})
	if def, _ := reg.Lookup("note"); def.Metric != "note" {
		t.Errorf("default metric label %q, want note", def.Metric)
	}
	var parks []string
	for _, def := range nodes.Builtin().Definitions() {
		if def.Parks {
			parks = append(parks, def.Type)
		}
	}
	if want := []string{"delay", "wait_for_event"}; !reflect.DeepEqual(parks, want) {
		t.Errorf("parking node types %v, want %v", parks, want)
	}
	if create.Activity.Name() != "CreateTask" {
		t.Errorf("create_task's activity is named %q, want CreateTask (the worker's name for the method)", create.Activity.Name())
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "is not a method of activities.Activities") {
			t.Errorf("a closure as activity: recovered %v", r)
		}
	}()
	nodes.NewActivity(func(*activities.Activities, context.Context, int) (int, error) { return 0, nil }, nil)
}
