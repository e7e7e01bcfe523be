package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/conecrm/automation-runtime/internal/auth"
	"github.com/conecrm/automation-runtime/starter/server"
)

// tokenCmd manages franchise-scoped API tokens in the store (DATABASE_URL
// or DATA_DIR): create prints the secret once; list; revoke ID.
func tokenCmd(stdout, stderr io.Writer, args []string) int {
	usage := func() int {
		fmt.Fprintln(stderr, "usage: starter token create --franchise UUID --name NAME [--user UUID] | list [--franchise UUID] | revoke ID")
		return 2
	}
	if len(args) == 0 {
		return usage()
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("token "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	franchise := fs.String("franchise", "", "the franchise id the token is limited to")
	name := fs.String("name", "", "what the token is for")
	user := fs.String("user", "", "the ConeCRM user id recorded as createdBy/modifiedBy (optional)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, _ := server.ConfigFromEnv()
	ctx := context.Background()
	st, err := server.OpenStore(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "starter token: cannot open the database: %v\n", err)
		return 1
	}
	defer st.Close()
	var out any
	switch {
	case sub == "create" && fs.NArg() == 0:
		out, err = auth.Issue(ctx, st, auth.NewToken{Name: *name, Franchise: *franchise, UserID: *user}, "cli", time.Now())
	case sub == "list" && fs.NArg() == 0:
		out, err = st.ListTokens(ctx, *franchise)
	case sub == "revoke" && fs.NArg() == 1:
		err = st.RevokeToken(ctx, fs.Arg(0))
		out = map[string]any{"revoked": fs.Arg(0)}
	default:
		return usage()
	}
	if err != nil {
		fmt.Fprintf(stderr, "starter token %s: %v\n", sub, err)
		return 1
	}
	b, _ := json.MarshalIndent(out, "", "  ")
	fmt.Fprintln(stdout, string(b))
	return 0
}
