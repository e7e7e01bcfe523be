// Command worker runs the automation workflow and its activities on the
// "automations" task queue. Run as many as needed behind one queue.
package main

import (
	"os"

	"github.com/conecrm/automation-runtime/internal/workerapp"
)

func main() { os.Exit(workerapp.Main()) }
