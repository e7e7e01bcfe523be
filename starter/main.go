// Command starter is the runtime's front door: it serves POST /events (signed
// lead events that enrol leads and signal runs), the automation and CRM
// integration APIs, and manages automations from the command line.
//
//	starter [serve]                          serve HTTP on STARTER_ADDR
//	starter validate [--json] FILE           check automation documents
//	starter trigger --event FILE [--new-ids] sign and post a lead event
//	starter import DIR | export DIR          automations in and out of the store
//	starter token create|list|revoke         franchise-scoped API tokens
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
	case "trigger":
		code = triggerCmd(os.Stdout, os.Stderr, args)
	case "import":
		code = importCmd(os.Stdout, os.Stderr, args)
	case "export":
		code = exportCmd(os.Stdout, os.Stderr, args)
	case "dry-run":
		code = dryRun(os.Stdout, os.Stderr, args)
	case "token":
		code = tokenCmd(os.Stdout, os.Stderr, args)
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
  starter [serve]                      serve POST /events and /api/* on STARTER_ADDR (default 127.0.0.1:8080)
  starter validate [--json] FILE...    check automation documents; exit 1 on any problem
  starter trigger --event FILE [--url URL | --direct] [--new-ids | --new-lead]
                                       sign (EVENTS_SIGNING_SECRET) and post a lead event,
                                       or (--direct) match and start it from this process
  starter import DIR                   import DIR/*.json into the store (idempotent)
  starter export DIR                   write every automation to DIR/<id>.json
  starter dry-run --automation FILE --event FILE
  starter token create --franchise UUID --name NAME [--user UUID] | list | revoke ID
                                       franchise-scoped API tokens (the secret is printed once)
`)
}
