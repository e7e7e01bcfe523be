package validate

import (
	"encoding/json"
	"testing"
)

func TestProblemString(t *testing.T) {
	ps := Problems{
		{NodeID: "call", Path: "nodes[2].data.title", Message: "is required"},
		{EdgeID: "e4", Path: "edges[3].target", Message: `target node "x" does not exist`},
		{Path: "timezone", Message: "unknown time zone"},
		{Message: "malformed JSON"},
	}
	want := "node call: nodes[2].data.title: is required\nedge e4: edges[3].target: target node \"x\" does not exist\ntimezone: unknown time zone\nmalformed JSON"
	if got := ps.Error(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	for _, tc := range []struct {
		p    Problem
		want string
	}{
		{ps[0], `{"nodeId":"call","path":"nodes[2].data.title","message":"is required"}`},
		{ps[1], `{"edgeId":"e4","path":"edges[3].target","message":"target node \"x\" does not exist"}`},
		// A CRM integration's problem keeps the {path, message} shape.
		{Problem{Path: "$.config", Message: "is required"}, `{"path":"$.config","message":"is required"}`},
	} {
		b, _ := json.Marshal(tc.p)
		if string(b) != tc.want {
			t.Errorf("JSON %s, want %s", b, tc.want)
		}
	}
}
