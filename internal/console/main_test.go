package console_test

import (
	"testing"

	"github.com/conecrm/automation-runtime/internal/devkit/stack"
)

// The package's stacks share one dev server; Main stops it after the tests.
func TestMain(m *testing.M) { stack.Main(m) }
