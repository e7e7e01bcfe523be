package workerapp_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"github.com/conecrm/automation-runtime/internal/devkit/sandbox"
	"github.com/conecrm/automation-runtime/internal/devkit/stack"
	"github.com/conecrm/automation-runtime/workflows"
)

const checkAutomation = "0193a4c2-7a10-7c5e-9d1a-2f6b8c1e0c01"

// syncBuffer collects log lines from several goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// leadEvent is a LEAD_CREATED event for a seeded lead whose contact data
// (name, email, phone) travel in the event, as ConeCRM sends them.
func leadEvent(id, leadID string, c sandbox.Contact) map[string]any {
	return map[string]any{
		"id": id, "type": "LEAD_CREATED", "occurredAt": time.Now().UTC().Format(time.RFC3339),
		"lead": map[string]any{
			"id": leadID, "subject": "2025 RAV4 Hybrid XLE", "category": "CAR",
			"contact": map[string]any{"id": c.ID, "firstName": c.FirstName, "lastName": c.LastName, "primaryEmail": c.PrimaryEmail, "mobilePhone": c.MobilePhone},
		},
	}
}

// TestEndToEndMetricsAndLogs runs automations end to end, then scrapes
// /metrics and checks the counts, and scans every captured log line for
// personal data and tokens and for the run's identity.
func TestEndToEndMetricsAndLogs(t *testing.T) {
	logs := &syncBuffer{}
	s := stack.Start(t, stack.Options{AutomationsDir: "testdata/automations", Log: logs})
	before := s.Scrape()

	alice := sandbox.SeedContacts[0]
	ev := leadEvent("evt-obs-1", sandbox.LeadAlice, alice)
	run := s.Enrol(ev)
	if _, again := s.Post(ev); len(again.Automations) != 1 || again.Automations[0].Result == "enrolled" {
		t.Fatalf("duplicate delivery: %+v", again.Automations)
	}
	if status, _ := s.Post(map[string]any{"id": "evt-bad", "type": "LEAD_CREATED", "occurredAt": time.Now().UTC().Format(time.RFC3339), "lead": map[string]any{"subject": "no id"}}); status != 400 {
		t.Fatalf("bad event: HTTP %d, want 400", status)
	}
	// A lead ConeCRM does not know: the task is rejected and the run fails,
	// so error paths are logged too.
	bob := sandbox.SeedContacts[1]
	failing := s.Enrol(leadEvent("evt-obs-2", "0192f0a0-0005-7000-8000-00000000dead", bob))

	if res := s.Result(run, 60*time.Second); res.Status != workflows.StatusCompleted {
		t.Fatalf("run status %q: %+v", res.Status, res)
	}
	if err := s.Client.GetWorkflow(t.Context(), failing.WorkflowID, failing.RunID).Get(t.Context(), nil); err == nil {
		t.Fatalf("the run for an unknown lead succeeded")
	}

	t.Run("metrics", func(t *testing.T) {
		var after string
		// SDK metrics are recorded as the worker reports them: poll briefly.
		deadline := time.Now().Add(10 * time.Second)
		for {
			after = s.Scrape()
			if value(after, "temporal_workflow_completed_total", nil) >= 1 || time.Now().After(deadline) {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		checks := []struct {
			name   string
			labels map[string]string
			want   float64
		}{
			{"conecrm_events_received_total", map[string]string{"type": "LEAD_CREATED", "outcome": "accepted"}, 3},
			{"conecrm_events_received_total", map[string]string{"type": "LEAD_CREATED", "outcome": "rejected"}, 1},
			{"conecrm_enrolments_total", map[string]string{"automation_id": checkAutomation}, 2},
			{"conecrm_node_executions_total", map[string]string{"node_type": "create_task", "outcome": "completed"}, 2},
			{"conecrm_node_executions_total", map[string]string{"node_type": "create_task", "outcome": "failed"}, 1},
			{"conecrm_external_calls_total", map[string]string{"system": "conecrm", "status_class": "2xx"}, 2},
			{"conecrm_external_calls_total", map[string]string{"system": "conecrm", "status_class": "4xx"}, 1},
			{"temporal_workflow_completed_total", map[string]string{"workflow_type": "AutomationRun"}, 1},
			{"temporal_workflow_failed_total", map[string]string{"workflow_type": "AutomationRun"}, 1},
			{"temporal_activity_execution_latency_seconds_count", map[string]string{"activity_type": "CreateTask"}, 3},
		}
		if workflowsRecordNodes {
			checks = append(checks, []struct {
				name   string
				labels map[string]string
				want   float64
			}{
				{"conecrm_node_executions_total", map[string]string{"node_type": "condition", "outcome": "completed"}, 2},
				{"conecrm_node_executions_total", map[string]string{"node_type": "delay", "outcome": "completed"}, 1},
				{"conecrm_node_wait_seconds_count", map[string]string{"automation_id": checkAutomation, "node_id": "pause"}, 1},
			}...)
		}
		for _, c := range checks {
			got := value(after, c.name, c.labels) - value(before, c.name, c.labels)
			if got != c.want {
				t.Errorf("%s%v grew by %v, want %v", c.name, c.labels, got, c.want)
			}
		}
		if t.Failed() {
			t.Logf("/metrics:\n%s", grep(after, "conecrm_", "temporal_workflow", "temporal_activity_execution_latency_seconds_count"))
		}
	})

	t.Run("logs", func(t *testing.T) {
		out := logs.String()
		var secrets []string
		for _, c := range sandbox.SeedContacts {
			secrets = append(secrets, c.FirstName, c.LastName, c.PrimaryEmail, c.MobilePhone, strings.TrimPrefix(c.MobilePhone, "+"))
		}
		secrets = append(secrets, "Sam Ouellet", "Priya Shah", "Marc Bouchard", stack.SandboxToken, "Bearer ")
		lines, identified := 0, 0
		sc := bufio.NewScanner(strings.NewReader(out))
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			lines++
			for _, s := range secrets {
				if strings.Contains(line, s) {
					t.Errorf("log line carries %q: %s", s, line)
				}
			}
			var m map[string]any
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				t.Errorf("log line is not JSON: %s", line)
				continue
			}
			// Every line about a run names it; lines from workflow code
			// (and activity context loggers) name the automation too.
			if _, ok := m["workflow_id"]; ok {
				if v, _ := m["run_id"].(string); v == "" {
					t.Errorf("log line names a workflow but not its run: %s", line)
				}
			}
			if fromRunCode(m) {
				identified++
				for _, k := range []string{"workflow_id", "run_id", "automation_id", "automation_version"} {
					if v, _ := m[k].(string); v == "" {
						t.Errorf("log line from a run lacks %s: %s", k, line)
					}
				}
			}
		}
		if lines == 0 || identified == 0 {
			t.Fatalf("%d log lines, %d from run code: the capture is not working", lines, identified)
		}
		t.Logf("%d log lines scanned, %d from workflow or activity code", lines, identified)
	})
}

// workflowsRecordNodes turns on the checks of the node executions and wait
// times the interpreter records with metrics.WorkflowNodeExecuted and
// metrics.WorkflowNodeWaited; set it to true once workflows/ calls them.
const workflowsRecordNodes = true

// activitiesUseContextLogger turns on the identity check for the lines the
// activities package logs. It logs with Activities.Log, which cannot know
// the run; once its methods log with logging.FromContext(ctx, a.Log) (the
// logger the worker's interceptor puts in their context), set it to true.
// TestRunIdentityOnLogLines shows that logger carries the identity.
const activitiesUseContextLogger = true

// fromRunCode says whether a line was logged by workflow code (through
// workflow.GetLogger, which the worker's interceptor decorates) or by an
// activity, as opposed to the SDK's own lines about a task. The SDK's
// messages are capitalised ("ExecuteActivity", "Activity error."); ours
// are lower-case sentences.
func fromRunCode(m map[string]any) bool {
	msg, _ := m["message"].(string)
	if msg == "" || !unicode.IsLower([]rune(msg)[0]) {
		return false
	}
	if _, ok := m["node_id"]; ok && m["component"] == "worker" {
		return activitiesUseContextLogger
	}
	return m["workflow_type"] == workflows.WorkflowName
}

// value sums the samples of a metric whose labels include labels.
func value(text, name string, labels map[string]string) float64 {
	var sum float64
	for _, line := range strings.Split(text, "\n") {
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		series, v, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		if i := strings.LastIndex(line, "} "); i >= 0 {
			series, v = line[:i+1], line[i+2:]
		}
		match := true
		for k, want := range labels {
			if !strings.Contains(series, fmt.Sprintf("%s=%q", k, want)) {
				match = false
			}
		}
		if f, err := strconv.ParseFloat(strings.Fields(v)[0], 64); match && err == nil {
			sum += f
		}
	}
	return sum
}

func grep(text string, prefixes ...string) string {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		for _, p := range prefixes {
			if strings.HasPrefix(line, p) {
				out = append(out, line)
				break
			}
		}
	}
	return strings.Join(out, "\n")
}
