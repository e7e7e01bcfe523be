package runlog

import (
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/conecrm/automation-runtime/workflows"
)

func TestNodeOutcomes(t *testing.T) {
	for _, tc := range []struct {
		name   string
		path   []string
		steps  []workflows.StepResult
		failed string
		want   map[string]string
	}{
		{"completed", []string{"t", "c", "e"}, []workflows.StepResult{{NodeID: "t"}, {NodeID: "c", Handle: "true"}, {NodeID: "e"}}, "",
			map[string]string{"t": "passed", "c": "passed", "e": "passed"}},
		{"failed at an action", []string{"t", "a"}, []workflows.StepResult{{NodeID: "t"}, {NodeID: "a", Error: "422", Summary: "failed: 422"}}, "a",
			map[string]string{"t": "passed", "a": "failed"}},
		{"onError continue and error exit pass", []string{"t", "a", "b"}, []workflows.StepResult{{NodeID: "t"}, {NodeID: "a", Error: "x", Handle: "default"}, {NodeID: "b", Error: "y", Handle: "error"}}, "",
			map[string]string{"t": "passed", "a": "passed", "b": "passed"}},
		{"interrupted counts neither", []string{"t", "d"}, []workflows.StepResult{{NodeID: "t"}, {NodeID: "d", Error: "cancelled", Summary: "interrupted"}}, "",
			map[string]string{"t": "passed"}},
		{"visited twice counts once", []string{"t", "a", "a"}, []workflows.StepResult{{NodeID: "t"}, {NodeID: "a"}, {NodeID: "a"}}, "",
			map[string]string{"t": "passed", "a": "passed"}},
		{"no steps: the path", []string{"t", "a"}, nil, "a", map[string]string{"t": "passed", "a": "failed"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := NodeOutcomes(tc.path, tc.steps, tc.failed); !maps.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestChannels(t *testing.T) {
	for _, tc := range []struct {
		env     string
		err     string
		f1, any string
	}{
		{env: ""},
		{env: `{"f1": "https://a.test/hook", "*": "http://b.test/x"}`, f1: "https://a.test/hook", any: "http://b.test/x"},
		{env: `{"f1": "https://a.test/hook"}`, f1: "https://a.test/hook"},
		{env: `["https://a.test"]`, err: "not a JSON object"},
		{env: `{"f1": "ftp://a.test"}`, err: `FAILURE_WEBHOOKS["f1"] = "ftp://a.test" is not an absolute http or https URL`},
		{env: `{"*": "/relative"}`, err: "is not an absolute"},
	} {
		t.Run(tc.env, func(t *testing.T) {
			t.Setenv(EnvChannels, tc.env)
			c, err := ChannelsFromEnv()
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.For("f1") != tc.f1 || c.For("f2") != tc.any || c.For("") != tc.any {
				t.Fatalf("For(f1)=%q For(f2)=%q For('')=%q", c.For("f1"), c.For("f2"), c.For(""))
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	s := &Sender{MaxBackoff: time.Minute}
	for attempts, want := range []time.Duration{5 * time.Second, 10 * time.Second, 20 * time.Second, 40 * time.Second, time.Minute, time.Minute} {
		if got := s.backoff(attempts); got != want {
			t.Errorf("backoff after %d attempts: %v, want %v", attempts, got, want)
		}
	}
	if got := (&Sender{}).backoff(100); got != time.Hour {
		t.Errorf("default cap: %v", got)
	}
}
