package workerapp_test

import (
	"testing"

	"github.com/conecrm/automation-runtime/internal/devkit/stack"
)

// The package's stacks share one dev server, each in a namespace of its own.
func TestMain(m *testing.M) { stack.Main(m) }
