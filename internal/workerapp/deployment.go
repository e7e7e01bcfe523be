package workerapp

import (
	"fmt"
	"runtime/debug"
	"strings"

	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// DefaultDeploymentName is the Worker Deployment the runtime's workers belong to.
const DefaultDeploymentName = "conecrm-automations"

// Versioning modes (WORKER_VERSIONING).
const (
	VersioningOff         = "off"
	VersioningAutoUpgrade = "auto-upgrade"
	VersioningPinned      = "pinned"
)

// Deployment says which code a worker runs: its Worker Deployment name and
// build id, stamped on every workflow task it completes (the history's
// workerVersion, DescribeWorkflowExecution), and whether Temporal's Worker
// Versioning routes runs by it.
type Deployment struct {
	Name    string
	BuildID string
	// Versioning is VersioningOff (the build id is recorded; any worker of
	// the task queue takes any run), VersioningAutoUpgrade or VersioningPinned.
	Versioning string
}

// DeploymentFromEnv reads WORKER_DEPLOYMENT_NAME (default
// DefaultDeploymentName), WORKER_BUILD_ID (default BuildID()) and
// WORKER_VERSIONING (off, auto-upgrade or pinned; default off).
func DeploymentFromEnv(getenv func(string) string) (Deployment, error) {
	d := Deployment{Name: getenv("WORKER_DEPLOYMENT_NAME"), BuildID: getenv("WORKER_BUILD_ID"), Versioning: getenv("WORKER_VERSIONING")}
	if d.Name == "" {
		d.Name = DefaultDeploymentName
	}
	if d.BuildID == "" {
		d.BuildID = BuildID()
	}
	switch d.Versioning {
	case "", VersioningOff:
		d.Versioning = VersioningOff
	case VersioningAutoUpgrade, VersioningPinned:
	default:
		return Deployment{}, fmt.Errorf("WORKER_VERSIONING must be %s, %s or %s, got %q", VersioningOff, VersioningAutoUpgrade, VersioningPinned, d.Versioning)
	}
	// The server joins name and build id with '.' in version strings.
	if strings.Contains(d.Name, ".") {
		return Deployment{}, fmt.Errorf("WORKER_DEPLOYMENT_NAME must not contain '.', got %q", d.Name)
	}
	return d, nil
}

// BuildID derives a build id from the binary: the VCS revision it was built
// from (12 hex digits, "-dirty" with uncommitted changes), else "dev".
func BuildID() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "dev"
	}
	var rev string
	dirty := false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "dev"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += "-dirty"
	}
	return rev
}

// Options are the SDK's deployment options for d.
func (d Deployment) Options() worker.DeploymentOptions {
	o := worker.DeploymentOptions{Version: worker.WorkerDeploymentVersion{DeploymentName: d.Name, BuildID: d.BuildID}}
	switch d.Versioning {
	case VersioningAutoUpgrade:
		o.UseVersioning, o.DefaultVersioningBehavior = true, workflow.VersioningBehaviorAutoUpgrade
	case VersioningPinned:
		o.UseVersioning, o.DefaultVersioningBehavior = true, workflow.VersioningBehaviorPinned
	}
	return o
}
