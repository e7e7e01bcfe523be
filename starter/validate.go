package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/conecrm/automation-runtime/internal/automation"
	"github.com/conecrm/automation-runtime/internal/nodes"
	"github.com/conecrm/automation-runtime/internal/plan"
	"github.com/conecrm/automation-runtime/internal/validate"
)

// fileProblem is one problem of one file, for --json.
type fileProblem struct {
	File string `json:"file"`
	validate.Problem
}

// validateCmd checks every file and prints every problem, one per line:
// "file: node <id>: <path>: <message>". Exit code 1 when any.
func validateCmd(stdout, stderr io.Writer, args []string) int {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print problems as a JSON array")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "usage: starter validate [--json] FILE...")
		return 2
	}
	all := []fileProblem{}
	for _, f := range fs.Args() {
		for _, p := range validateFile(f) {
			all = append(all, fileProblem{File: f, Problem: p})
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(all)
	} else {
		for _, p := range all {
			fmt.Fprintf(stdout, "%s: %s\n", p.File, p.Problem.String())
		}
		if len(all) == 0 {
			fmt.Fprintf(stdout, "%d file(s) valid\n", fs.NArg())
		}
	}
	if len(all) > 0 {
		return 1
	}
	return 0
}

func validateFile(path string) []validate.Problem {
	data, err := os.ReadFile(path)
	if err != nil {
		return []validate.Problem{{Message: err.Error()}}
	}
	doc, err := automation.Parse(data)
	if err != nil {
		return []validate.Problem{{Message: err.Error()}}
	}
	_, problems := plan.Compile(doc, nodes.Builtin())
	return problems
}
