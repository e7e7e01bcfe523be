package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/conecrm/automation-runtime/internal/event"
	"github.com/conecrm/automation-runtime/workflows/dryrun"
)

// dryRun runs the automation workflow in the SDK's test environment with
// activities replaced by recorders and time skipped, and prints the path the
// lead takes and the actions it would perform, rendered.
//
//	starter dry-run --automation FILE --event FILE [--events FILE] [--json]
func dryRun(stdout, stderr io.Writer, args []string) int {
	fs := flag.NewFlagSet("dry-run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	docFile := fs.String("automation", "", "automation document (JSON)")
	evFile := fs.String("event", "", "the enrolling lead event (JSON)")
	laterFile := fs.String("events", "", "optional JSON array of later lead events, signalled in order")
	asJSON := fs.Bool("json", false, `print {"path": [...], "actions": [...]} as JSON`)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *docFile == "" || *evFile == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: starter dry-run --automation FILE --event FILE [--events FILE] [--json]")
		return 2
	}
	doc, err := os.ReadFile(*docFile)
	if err != nil {
		fmt.Fprintln(stderr, "starter dry-run:", err)
		return 2
	}
	var ev event.Lead
	if err := readJSON(*evFile, &ev); err != nil {
		fmt.Fprintln(stderr, "starter dry-run:", err)
		return 2
	}
	var opts dryrun.Options
	if *laterFile != "" {
		if err := readJSON(*laterFile, &opts.Later); err != nil {
			fmt.Fprintln(stderr, "starter dry-run:", err)
			return 2
		}
	}
	out, err := dryrun.Run(doc, ev, opts)
	if err != nil {
		fmt.Fprintf(stderr, "starter dry-run: %s: %v\n", *docFile, err)
		return 1
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(out)
	} else {
		printDryRun(stdout, out)
	}
	if out.Status == "failed" {
		return 1
	}
	return 0
}

func readJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

func printDryRun(w io.Writer, out *dryrun.Output) {
	fmt.Fprintf(w, "path: %s\n", strings.Join(out.Path, " → "))
	for _, s := range out.Steps {
		line := fmt.Sprintf("  %-20s %-15s %s", s.NodeID, s.Type, s.Summary)
		if s.Handle != "" {
			line += " [" + s.Handle + "]"
		}
		fmt.Fprintln(w, strings.TrimRight(line, " "))
	}
	fmt.Fprintf(w, "actions: %d\n", len(out.Actions))
	for _, a := range out.Actions {
		in, _ := json.Marshal(a.Input)
		fmt.Fprintf(w, "  %s %s %s\n", a.NodeID, a.Activity, in)
		if a.Error != "" {
			fmt.Fprintf(w, "    error: %s\n", a.Error)
		}
	}
	switch {
	case out.Error != "":
		fmt.Fprintf(w, "status: %s: %s\n", out.Status, out.Error)
	default:
		fmt.Fprintf(w, "status: %s (%s)\n", out.Status, out.Reason)
	}
}
