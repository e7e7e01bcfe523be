package main

import (
	"testing"

	"github.com/conecrm/automation-runtime/internal/devkit/stack"
)

// The package's tests share one dev server.
func TestMain(m *testing.M) { stack.Main(m) }
