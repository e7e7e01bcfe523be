package main

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/conecrm/automation-runtime"

// listDeps returns every package the binary links, with its imports
// (non-test files only: go list -deps without -test).
func listDeps(t *testing.T, pkg string) map[string][]string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", "-f", `{{.ImportPath}}|{{join .Imports ","}}`, module+"/"+pkg).CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
	}
	deps := map[string][]string{}
	for line := range strings.Lines(string(out)) {
		path, imports, _ := strings.Cut(strings.TrimSpace(line), "|")
		deps[path] = nil
		if imports != "" {
			deps[path] = strings.Split(imports, ",")
		}
	}
	return deps
}

// TestProductionBinaryDependencies guards what the product binaries link:
// nothing of the development kit (internal/devkit: dev server, stack,
// sandbox, fakes, bench, chaos), no OpenAPI validator (kin-openapi is for
// the fakes and tests), no SDK test suite in the worker, and no package of
// this module that imports testing outside its _test files.
//
// The standard library's testing package itself is linked into any binary
// using the Temporal SDK: go.temporal.io/sdk/internal imports it (and
// testify/mock) for the SDK's test environment. That is outside our control,
// so the test checks our packages' imports rather than the absence of
// testing. The starter's dry-run command runs an automation in the SDK's
// test environment (go.temporal.io/sdk/testsuite, the replay/test
// environment, recording activities and skipped time): acceptable in the
// starter, which is a command-line tool as well as the service; the worker,
// which runs the real automations, must not link it.
func TestProductionBinaryDependencies(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list (skipped with -short)")
	}
	for _, bin := range []string{"worker", "starter"} {
		t.Run(bin, func(t *testing.T) {
			deps := listDeps(t, bin)
			if len(deps) < 50 {
				t.Fatalf("go list found only %d packages: %v", len(deps), deps)
			}
			var sdkTesting []string
			for path, imports := range deps {
				switch {
				case strings.HasPrefix(path, module+"/internal/devkit"):
					t.Errorf("%s links the development kit package %s", bin, path)
				case strings.HasPrefix(path, "github.com/getkin/kin-openapi"):
					t.Errorf("%s links %s", bin, path)
				case bin == "worker" && path == "go.temporal.io/sdk/testsuite":
					t.Errorf("the worker links the SDK's test suite")
				}
				for _, imp := range imports {
					if imp != "testing" && !strings.HasPrefix(imp, "testing/") {
						continue
					}
					if strings.HasPrefix(path, module) {
						t.Errorf("%s: %s imports %s outside its _test files", bin, path, imp)
					} else {
						sdkTesting = append(sdkTesting, path)
					}
				}
			}
			t.Logf("%s: %d packages; testing is imported by (not ours): %v", bin, len(deps), sdkTesting)
		})
	}
}
