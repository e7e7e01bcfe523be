package expr

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

// realisticLead is a ConeCRM lead as the runtime sees it: decoded JSON, so
// every number is a float64.
func realisticLead() map[string]any {
	var lead map[string]any
	_ = json.Unmarshal([]byte(`{
		"id": "0192f0a0-0005-7000-8000-000000000001",
		"subject": "2025 RAV4 Hybrid XLE — online inquiry",
		"category": "CAR", "direction": "inbound", "priority": 3,
		"makeStr": "Toyota", "modelStr": "RAV4 Hybrid", "yearStr": "2025", "trimStr": "XLE",
		"utmSource": "google", "utmCampaign": "spring-suv",
		"dateCreated": "2026-03-02T14:00:00Z", "dueDate": "2026-03-05T17:00:00Z",
		"contact": {"id": "0192f0a0-0003-7000-8000-000000000001", "firstName": "Alice", "lastName": "Tremblay",
			"primaryEmail": "alice.tremblay@example.com", "mobilePhone": "+15145550101", "language": "fr-CA"},
		"account": {"id": "0192f0a0-0004-7000-8000-000000000001"},
		"stage": {"id": "0192f0a0-0002-7000-8000-000000000001", "name": "New"},
		"franchise": {"id": "0192f0a0-0007-7000-8000-000000000001"},
		"assignees": [{"id": "0192f0a0-0001-7000-8000-000000000002"}],
		"tags": ["suv", "hybrid", "trade-in"],
		"customFieldValues": [{"field": {"id": "0192f0a0-0009-7000-8000-000000000001"}, "value": "yes"}],
		"budget": 42000.5, "tradeInValue": null
	}`), &lead)
	return lead
}

var fixedNow = time.Date(2026, 3, 3, 15, 4, 5, 0, time.UTC)

func vars() Vars {
	return Vars{
		Lead:       realisticLead(),
		Previous:   map[string]any{"priority": 1.0, "stage": map[string]any{"id": "0192f0a0-0002-7000-8000-000000000001"}},
		Event:      map[string]any{"id": "evt-1", "type": "LEAD_UPDATED"},
		Steps:      map[string]any{"call": map[string]any{"taskId": "t-1"}},
		Automation: map[string]any{"id": "a-1", "name": "Test"},
		Now:        fixedNow,
	}
}

func TestCompileKinds(t *testing.T) {
	for _, tc := range []struct {
		src  string
		kind Kind
		want string // empty: compiles
	}{
		{"lead.priority > 2", KindBool, ""},
		{"has(lead.makeStr) && lead.makeStr == 'Toyota'", KindBool, ""},
		{"lead.isHot", KindBool, ""}, // dyn: checked when evaluated
		{"lead.priority + 1", KindBool, "must be a bool condition, but its type is"},
		{"'yes'", KindBool, "must be a bool condition, but its type is string"},
		{"1 + 2", KindBool, "must be a bool condition, but its type is int"},
		{"[true]", KindBool, "must be a bool condition, but its type is list(bool)"},
		{"lead.priority >", KindBool, "does not compile: ERROR: <input>:1:16: Syntax error"},
		{"unknownVar == 1", KindBool, "does not compile: ERROR: <input>:1:1: undeclared reference to 'unknownVar'"},
		{"now()", KindBool, "does not compile"}, // there is no wall clock function
		{"timestamp('not a time') < now", KindBool, `does not compile: invalid RFC 3339 timestamp "not a time"`},
		{"", KindBool, "is empty"},
		{"   ", KindBool, "is empty"},
		{"now + duration('1h')", KindTimestamp, ""},
		{"timestamp(lead.dueDate) - duration('24h')", KindTimestamp, ""},
		{"lead.dueDate", KindTimestamp, ""}, // dyn; a string converts when evaluated
		{"duration('24h')", KindTimestamp, "must be a timestamp, but its type is google.protobuf.Duration"},
		{"lead.priority > 1", KindTimestamp, "must be a timestamp, but its type is bool"},
		{"'2026-03-01T00:00:00Z'", KindTimestamp, "must be a timestamp, but its type is string"},
		{"lead.subject", KindText, ""},
		{"lead.priority + 1.0", KindText, ""},
		{"now", KindText, ""},
		{"null", KindText, ""},
		{"[1, 2]", KindText, "must give a value that can be shown as text, but its type is list(int)"},
		{"{'a': 1}", KindText, "must give a value that can be shown as text"},
		{"optional.of(1)", KindText, "must give a value that can be shown as text"},
		{"[1, 2]", KindAny, ""},
	} {
		t.Run(tc.kind.String()+"/"+tc.src, func(t *testing.T) {
			p, err := Compile(tc.src, tc.kind)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("error %v", err)
			case tc.want == "" && (p == nil || p.Source != tc.src || p.Kind != tc.kind):
				t.Errorf("program %+v", p)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

func TestLengthLimit(t *testing.T) {
	ok := strings.Repeat("true && ", (MaxLength-4)/8) + "true"
	if len(ok) > MaxLength {
		t.Fatal(len(ok))
	}
	if _, err := Compile(ok, KindBool); err != nil {
		t.Errorf("%d characters: %v", len(ok), err)
	}
	long := ok + strings.Repeat(" ", MaxLength)
	_, err := Compile(long, KindBool)
	if want := fmt.Sprintf("is %d characters long; the limit is 4096", len(long)); err == nil || err.Error() != want {
		t.Errorf("error %v", err)
	}
}

func TestEstimatedCostRejection(t *testing.T) {
	for _, src := range []string{
		"lead.tags.all(a, lead.tags.all(b, lead.tags.all(c, a + b + c != '')))",
		"lead.tags.map(a, lead.tags.map(b, a + b)).size() > 0",
	} {
		_, err := Compile(src, KindBool)
		if err == nil || !strings.Contains(err.Error(), "is too expensive: estimated worst-case cost") {
			t.Errorf("%s: %v", src, err)
		}
	}
	// One pass over a list is fine.
	if _, err := Compile("lead.tags.exists(t, t == 'hybrid')", KindBool); err != nil {
		t.Error(err)
	}
}

// TestRuntimeCostLimit: a list far longer than the estimate assumed is
// stopped by the cost limit with an error, not evaluated to the end.
func TestRuntimeCostLimit(t *testing.T) {
	p, err := Compile("lead.tags.exists(t, t == 'never')", KindBool)
	if err != nil {
		t.Fatal(err)
	}
	tags := make([]any, 200_000)
	for i := range tags {
		tags[i] = "tag"
	}
	_, err = p.EvalBool(Vars{Lead: map[string]any{"tags": tags}})
	if err == nil || !strings.Contains(err.Error(), "cost limit exceeded") {
		t.Errorf("error %v", err)
	}
	if ok, err := p.EvalBool(Vars{Lead: map[string]any{"tags": tags[:100]}}); err != nil || ok {
		t.Errorf("100 tags: %v %v", ok, err)
	}
}

func TestConditionsOnRealisticLead(t *testing.T) {
	v := vars()
	for src, want := range map[string]bool{
		// JSON numbers are float64; comparing them with int literals works.
		"lead.priority > 2":                                  true,
		"lead.priority >= 3 && lead.priority < 4":            true,
		"lead.priority == 3":                                 true,
		"lead.priority in [1, 2, 3]":                         true,
		"lead.budget > 40000":                                true,
		"lead.budget < 42000u":                               false,
		"lead.priority > previous.priority":                  true,
		"int(lead.priority) == 3":                            true,
		"lead.yearStr == '2025'":                             true,
		"int(lead.yearStr) >= 2024":                          true,
		"lead.makeStr.lowerAscii() in ['toyota', 'lexus']":   true,
		"lead.contact.primaryEmail.endsWith('@example.com')": true,
		"'hybrid' in lead.tags":                              true,
		"lead.assignees.exists(a, a.id == '0192f0a0-0001-7000-8000-000000000002')": true,
		"has(lead.contact.firstName)":                                true,
		"has(lead.missing)":                                          false,
		"lead.tradeInValue == null":                                  true,
		"lead.stage.id != previous.stage.id":                         false,
		"timestamp(lead.dateCreated) < now":                          true,
		"now - timestamp(lead.dateCreated) > duration('24h')":        true,
		"now.getHours('America/Toronto') == 10":                      true,
		"event.type == 'LEAD_UPDATED' && steps.call.taskId == 't-1'": true,
		"automation.name == 'Test'":                                  true,
		"lead.?utmSource.orValue('') == 'google'":                    true,
		"lead.?fax.orValue('none') == 'none'":                        true,
	} {
		p, err := Compile(src, KindBool)
		if err != nil {
			t.Errorf("%s: %v", src, err)
			continue
		}
		got, err := p.EvalBool(v)
		if err != nil || got != want {
			t.Errorf("%s = %v, %v; want %v", src, got, err, want)
		}
	}
}

// TestEvaluationErrors: what cannot be evaluated is an error, never a panic
// or a silent false.
func TestEvaluationErrors(t *testing.T) {
	weird := Vars{Lead: map[string]any{
		"nan": math.NaN(), "inf": math.Inf(1), "nested": []any{[]any{map[string]any{}}},
		"ints": []int{1, 2}, "strs": map[string]string{"a": "b"}, "fn": func() {}, "ch": make(chan int),
		"struct": struct{ A int }{1}, "ptr": new(int), "bytes": []byte("x"), "nilmap": map[string]any(nil),
	}}
	for _, src := range []string{
		"lead.missing == 1",
		"lead.subject.size() > 0",
		"lead.priority + 1 > 2",
		"lead.nan / 0.0 > 1.0 || lead.missing",
		"1 / 0 == 1",
		"lead.fn == 1",
		"lead.ch == 1",
		"lead.struct.A == 1",
		"lead.strs.a == 'b' && lead.ints[5] == 1",
		"lead.nested[0][0].x == 1",
		"lead.isHot",
		"int(lead.inf) > 0",
		"lead.nilmap.x == 1",
		"timestamp(lead.subject) < now",
	} {
		p, err := Compile(src, KindBool)
		if err != nil {
			t.Errorf("%s: %v", src, err)
			continue
		}
		if _, err := p.EvalBool(weird); err == nil {
			t.Errorf("%s: no error", src)
		} else if !strings.Contains(err.Error(), src) {
			t.Errorf("%s: error %q does not name the expression", src, err)
		}
	}
	// A nil-program vars of every kind still evaluates.
	p, _ := Compile("has(lead.x) || has(event.x) || has(previous.x) || has(steps.x) || has(automation.x)", KindBool)
	if ok, err := p.EvalBool(Vars{}); err != nil || ok {
		t.Errorf("empty vars: %v %v", ok, err)
	}
}

// TestNowComesFromVars: the same program and vars give the same answer
// whenever they are evaluated; now is never the wall clock.
func TestNowComesFromVars(t *testing.T) {
	p, err := Compile("now + duration('90m')", KindTimestamp)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		got, err := p.EvalTimestamp(Vars{Now: fixedNow})
		if err != nil || !got.Equal(fixedNow.Add(90*time.Minute)) {
			t.Fatalf("got %v, %v", got, err)
		}
		time.Sleep(time.Millisecond)
	}
	zero, err := p.EvalTimestamp(Vars{})
	if err != nil || !zero.Equal(time.Time{}.Add(90*time.Minute)) {
		t.Errorf("zero now: %v %v", zero, err)
	}
}

func TestEvalTimestamp(t *testing.T) {
	v := vars()
	for src, want := range map[string]time.Time{
		"timestamp(lead.dueDate) - duration('24h')": time.Date(2026, 3, 4, 17, 0, 0, 0, time.UTC),
		"lead.dueDate": time.Date(2026, 3, 5, 17, 0, 0, 0, time.UTC), // an RFC 3339 string is accepted
		"now":          fixedNow,
	} {
		p, err := Compile(src, KindTimestamp)
		if err != nil {
			t.Fatal(err)
		}
		got, err := p.EvalTimestamp(v)
		if err != nil || !got.Equal(want) {
			t.Errorf("%s = %v, %v; want %v", src, got, err, want)
		}
	}
	p, _ := Compile("lead.subject", KindTimestamp)
	if _, err := p.EvalTimestamp(v); err == nil || !strings.Contains(err.Error(), "not a timestamp") {
		t.Errorf("string that is not a time: %v", err)
	}
	b, _ := Compile("lead.category", KindBool)
	if _, err := b.EvalBool(v); err == nil || !strings.Contains(err.Error(), "result is string, not bool") {
		t.Errorf("dyn condition giving a string: %v", err)
	}
}

func TestProgramsAreSafeToShare(t *testing.T) {
	p, err := Compile("lead.priority > 2 && lead.makeStr == 'Toyota'", KindBool)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan bool)
	for g := 0; g < 8; g++ {
		go func() {
			ok := true
			for i := 0; i < 200; i++ {
				v := vars()
				got, err := p.EvalBool(v)
				ok = ok && err == nil && got
			}
			done <- ok
		}()
	}
	for g := 0; g < 8; g++ {
		if !<-done {
			t.Error("concurrent evaluation failed")
		}
	}
}
