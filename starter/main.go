// Command starter is the runtime's front door: it serves POST /events (lead
// events that enrol leads and signal runs) and validates automations from the
// command line.
//
//	starter [serve]                 serve HTTP on STARTER_ADDR
//	starter validate [--json] FILE  check automation documents
package main

import (
	"fmt"
	"os"
)

func main() {
	args := os.Args[1:]
	cmd := "serve"
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	var code int
	switch cmd {
	case "serve":
		code = serve(args)
	case "validate":
		code = validateCmd(os.Stdout, os.Stderr, args)
	case "dev":
		code = dev(args)
	case "dry-run":
		code = dryRun(os.Stdout, os.Stderr, args)
	case "help", "-h", "--help":
		usage()
	default:
		fmt.Fprintf(os.Stderr, "starter: unknown command %q\n", cmd)
		usage()
		code = 2
	}
	os.Exit(code)
}

func usage() {
	fmt.Fprint(os.Stderr, `usage:
  starter [serve]                      serve POST /events on STARTER_ADDR (default 127.0.0.1:8080)
  starter validate [--json] FILE...    check automation documents; exit 1 on any problem
  starter dev                          run the whole stack locally (what make run does)
`)
}
