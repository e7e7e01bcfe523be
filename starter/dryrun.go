package main

import (
	"fmt"
	"io"
)

// dryRun is implemented with the interpreter's test environment (see issue 4).
func dryRun(_ io.Writer, stderr io.Writer, _ []string) int {
	fmt.Fprintln(stderr, "starter dry-run: not available yet")
	return 2
}
