package workerapp_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/conecrm/automation-runtime/activities"
	"github.com/conecrm/automation-runtime/internal/conecrm"
	"github.com/conecrm/automation-runtime/internal/devkit/sandbox"
	"github.com/conecrm/automation-runtime/internal/devkit/stack"
	"github.com/conecrm/automation-runtime/internal/event"
	"github.com/conecrm/automation-runtime/internal/workerapp"
	"github.com/conecrm/automation-runtime/workflows"
)

func TestDeploymentFromEnv(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want workerapp.Deployment
		err  string
	}{
		{"defaults", nil, workerapp.Deployment{Name: workerapp.DefaultDeploymentName, BuildID: workerapp.BuildID(), Versioning: workerapp.VersioningOff}, ""},
		{"set", map[string]string{"WORKER_DEPLOYMENT_NAME": "crm", "WORKER_BUILD_ID": "v42", "WORKER_VERSIONING": "auto-upgrade"},
			workerapp.Deployment{Name: "crm", BuildID: "v42", Versioning: workerapp.VersioningAutoUpgrade}, ""},
		{"pinned", map[string]string{"WORKER_VERSIONING": "pinned", "WORKER_BUILD_ID": "b"},
			workerapp.Deployment{Name: workerapp.DefaultDeploymentName, BuildID: "b", Versioning: workerapp.VersioningPinned}, ""},
		{"off", map[string]string{"WORKER_VERSIONING": "off", "WORKER_BUILD_ID": "b"},
			workerapp.Deployment{Name: workerapp.DefaultDeploymentName, BuildID: "b", Versioning: workerapp.VersioningOff}, ""},
		{"unknown mode", map[string]string{"WORKER_VERSIONING": "yes"}, workerapp.Deployment{}, `WORKER_VERSIONING must be off, auto-upgrade or pinned, got "yes"`},
		{"dot in name", map[string]string{"WORKER_DEPLOYMENT_NAME": "a.b"}, workerapp.Deployment{}, `WORKER_DEPLOYMENT_NAME must not contain '.'`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := workerapp.DeploymentFromEnv(func(k string) string { return tc.env[k] })
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("%+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
	if workerapp.BuildID() == "" {
		t.Error("empty build id")
	}
	o := workerapp.Deployment{Name: "n", BuildID: "b", Versioning: workerapp.VersioningAutoUpgrade}.Options()
	if !o.UseVersioning || o.Version.BuildID != "b" || o.Version.DeploymentName != "n" {
		t.Errorf("options %+v", o)
	}
	if o := (workerapp.Deployment{Name: "n", BuildID: "b", Versioning: workerapp.VersioningOff}).Options(); o.UseVersioning || o.Version.BuildID != "b" {
		t.Errorf("options with versioning off %+v", o)
	}
}

func describe(t *testing.T, c client.Client, id string) *workflowservice.DescribeWorkflowExecutionResponse {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d, err := c.DescribeWorkflowExecution(ctx, id, "")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestBuildIDIsRecorded: with versioning off (the default) every workflow
// task the worker completes carries its build id, which
// DescribeWorkflowExecution reports.
func TestBuildIDIsRecorded(t *testing.T) {
	dep := workerapp.Deployment{Name: workerapp.DefaultDeploymentName, BuildID: "build-off-1", Versioning: workerapp.VersioningOff}
	s := stack.Start(t, stack.Options{AutomationsDir: "testdata/automations", Deployment: &dep})
	run := s.Enrol(leadEvent("evt-build-1", sandbox.LeadAlice, sandbox.SeedContacts[0]))
	s.Result(run, 60*time.Second)
	// Without Worker Versioning the build id is reported only in the
	// (deprecated) version stamp, which is what operators see then.
	//lint:ignore SA1019 the stamp is the field that holds an unversioned worker's build id
	if got := describe(t, s.Client, run.WorkflowID).GetWorkflowExecutionInfo().GetMostRecentWorkerVersionStamp().GetBuildId(); got != "build-off-1" {
		t.Errorf("describe: build id %q, want build-off-1", got)
	}
}

// TestAutoUpgradeMovesAWaitingRun: with WORKER_VERSIONING=auto-upgrade a run
// starts on the deployment's current version and, parked in a delay, moves
// to the next current version at its next workflow task; describe shows
// the deployment version and behaviour each time.
func TestAutoUpgradeMovesAWaitingRun(t *testing.T) {
	s := stack.Start(t, stack.Options{AutomationsDir: "testdata/waiting", NoWorker: true})
	name := "conecrm-automations-" + s.Namespace
	a := workerapp.Deployment{Name: name, BuildID: "build-a", Versioning: workerapp.VersioningAutoUpgrade}
	startVersionedWorker(t, s, a)
	setCurrent(t, s.Client, name, "build-a")

	run := s.Enrol(leadEvent("evt-deploy-1", sandbox.LeadAlice, sandbox.SeedContacts[0]))
	s.WaitParked(run, 60*time.Second)
	checkVersion(t, s.Client, run.WorkflowID, name, "build-a")

	b := a
	b.BuildID = "build-b"
	startVersionedWorker(t, s, b)
	setCurrent(t, s.Client, name, "build-b")
	// A lead event wakes the parked run: its workflow task goes to the
	// current version. The new routing reaches the task queue shortly after
	// SetCurrentVersion returns, so a task dispatched just before may still
	// go to build-a: send another event until one lands on build-b.
	sent := 0
	waitFor(t, 60*time.Second, func() (bool, string) {
		v := describe(t, s.Client, run.WorkflowID).GetWorkflowExecutionInfo().GetVersioningInfo().GetDeploymentVersion()
		if v.GetBuildId() == "build-b" {
			return true, ""
		}
		sent++
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		ev := event.Lead{ID: fmt.Sprintf("evt-deploy-%d", sent+1), Type: "LEAD_UPDATED", OccurredAt: time.Now().UTC(), Lead: map[string]any{"id": sandbox.LeadAlice, "category": "CAR"}}
		if err := s.Client.SignalWorkflow(ctx, run.WorkflowID, "", workflows.SignalLeadEvent, ev); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		return false, fmt.Sprintf("deployment version %v after %d events", v, sent)
	})
	checkVersion(t, s.Client, run.WorkflowID, name, "build-b")
}

// startVersionedWorker runs a worker of version d on the stack's task queue
// until the test ends.
func startVersionedWorker(t *testing.T, s *stack.Stack, d workerapp.Deployment) {
	t.Helper()
	acts := &activities.Activities{
		ConeCRM: conecrm.New(conecrm.Config{BaseURL: s.SandboxURL, Token: stack.SandboxToken, WriteBackWindow: time.Second}, http.DefaultClient),
		HTTP:    http.DefaultClient,
		Log:     s.Log,
	}
	w := workerapp.NewWorker(s.Client, s.TaskQueue, acts, worker.Options{DeploymentOptions: d.Options()})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
}

// setCurrent makes buildID the deployment's current version, once the
// server has seen its worker poll.
func setCurrent(t *testing.T, c client.Client, name, buildID string) {
	t.Helper()
	waitFor(t, 60*time.Second, func() (bool, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := c.WorkerDeploymentClient().GetHandle(name).SetCurrentVersion(ctx, client.WorkerDeploymentSetCurrentVersionOptions{BuildID: buildID})
		if err != nil {
			return false, err.Error()
		}
		return true, ""
	})
}

func checkVersion(t *testing.T, c client.Client, id, name, buildID string) {
	t.Helper()
	vi := describe(t, c, id).GetWorkflowExecutionInfo().GetVersioningInfo()
	if vi.GetBehavior() != enumspb.VERSIONING_BEHAVIOR_AUTO_UPGRADE {
		t.Errorf("behaviour %v, want auto-upgrade", vi.GetBehavior())
	}
	if v := vi.GetDeploymentVersion(); v.GetDeploymentName() != name || v.GetBuildId() != buildID {
		t.Errorf("deployment version %v, want %s/%s", v, name, buildID)
	}
}

func waitFor(t *testing.T, timeout time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, last := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("gave up after %s: %s", timeout, last)
		}
		time.Sleep(250 * time.Millisecond)
	}
}
