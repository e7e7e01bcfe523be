package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/conecrm/automation-runtime/internal/catalog"
	"github.com/conecrm/automation-runtime/internal/conecrm"
	"github.com/conecrm/automation-runtime/internal/ingest"
	"github.com/conecrm/automation-runtime/internal/logging"
	"github.com/conecrm/automation-runtime/internal/temporalclient"
	"github.com/conecrm/automation-runtime/internal/workerapp"
	"github.com/conecrm/automation-runtime/starter/server"
)

// triggerCmd signs an event file with EVENTS_SIGNING_SECRET and posts it to
// the starter's /events, printing the answer. --new-ids gives the event a
// fresh id and occurredAt (a new delivery); --new-lead also creates a new
// lead in ConeCRM (CONECRM_BASE_URL, CONECRM_TOKEN) from the event's lead
// and sends the event for it, as ConeCRM does when a lead is created: the
// run's actions then reference a lead ConeCRM knows.
func triggerCmd(stdout, stderr io.Writer, args []string) int {
	fs := flag.NewFlagSet("trigger", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("event", "", "the lead event JSON file")
	base := fs.String("url", envOr(envStarterURL, "http://"+envOr(server.EnvAddr, server.DefaultAddr)), "the starter's base URL")
	newIDs := fs.Bool("new-ids", false, "give the event a fresh id and occurredAt")
	newLead := fs.Bool("new-lead", false, "create a new lead in ConeCRM (CONECRM_BASE_URL, CONECRM_TOKEN) from the event's lead and send the event for it (implies --new-ids)")
	direct := fs.Bool("direct", false, "skip HTTP: match and start through Temporal with the store (DATABASE_URL or DATA_DIR)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *file == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: starter trigger --event FILE [--url URL | --direct] [--new-ids | --new-lead]")
		return 2
	}
	secret := os.Getenv(ingest.SecretEnv)
	if secret == "" && !*direct {
		fmt.Fprintf(stderr, "starter trigger: set %s to the starter's signing secret (or use --direct)\n", ingest.SecretEnv)
		return 2
	}
	body, err := os.ReadFile(*file)
	if err != nil {
		fmt.Fprintf(stderr, "starter trigger: %v\n", err)
		return 1
	}
	if *newIDs || *newLead {
		if body, err = freshIDs(body); err != nil {
			fmt.Fprintf(stderr, "starter trigger: %s: %v\n", *file, err)
			return 1
		}
	}
	if *newLead {
		cc, err := conecrm.FromEnv()
		if err != nil {
			fmt.Fprintf(stderr, "starter trigger: --new-lead creates the lead in ConeCRM first: %v (set it and CONECRM_TOKEN)\n", err)
			return 2
		}
		if body, err = withNewLead(context.Background(), cc, body); err != nil {
			fmt.Fprintf(stderr, "starter trigger: %s: %v\n", *file, err)
			return 1
		}
	}
	var (
		status int
		out    []byte
	)
	if *direct {
		status, out, err = deliverDirect(body)
	} else {
		status, out, err = ingest.PostSigned(context.Background(), strings.TrimRight(*base, "/")+"/events", []byte(secret), body)
	}
	if err != nil {
		fmt.Fprintf(stderr, "starter trigger: %v\n", err)
		return 1
	}
	var pretty bytes.Buffer
	if json.Indent(&pretty, out, "", "  ") == nil {
		out = pretty.Bytes()
	}
	fmt.Fprintf(stdout, "HTTP %d\n%s\n", status, bytes.TrimSpace(out))
	if status != http.StatusOK {
		return 1
	}
	return 0
}

// deliverDirect matches and starts as the starter would, from this process:
// the store's automations and event ids, the Temporal client from the
// environment. It answers like POST /events.
func deliverDirect(body []byte) (int, []byte, error) {
	ev, problems := ingest.ParseEvent(body)
	if len(problems) > 0 {
		out, _ := json.Marshal(ingest.ErrorResponse{Error: "invalid event", Problems: problems})
		return http.StatusBadRequest, out, nil
	}
	ctx := context.Background()
	cfg, _ := server.ConfigFromEnv()
	st, err := server.OpenStore(ctx, cfg)
	if err != nil {
		return 0, nil, err
	}
	defer st.Close()
	log := logging.New("trigger")
	c, err := temporalclient.Dial(log)
	if err != nil {
		return 0, nil, err
	}
	defer c.Close()
	cat := catalog.New()
	if err := cat.Sync(ctx, st); err != nil {
		return 0, nil, err
	}
	in := &ingest.Ingester{Temporal: c, Source: cat, TaskQueue: workerapp.TaskQueue(), Log: log, Events: st, Enrolments: st}
	outcomes, err := in.Deliver(ctx, ev)
	if err != nil {
		return 0, nil, err
	}
	out, _ := json.Marshal(ingest.EventsResponse{EventID: ev.ID, LeadID: ev.LeadID(), Automations: outcomes})
	return http.StatusOK, out, nil
}

// freshIDs gives an event a new id and occurredAt, and a new lead id.
func freshIDs(body []byte) ([]byte, error) {
	var ev map[string]any
	if err := json.Unmarshal(body, &ev); err != nil {
		return nil, err
	}
	ev["id"] = uuid.Must(uuid.NewV7()).String()
	ev["occurredAt"] = time.Now().UTC().Format(time.RFC3339)
	return json.Marshal(ev)
}

// withNewLead creates a lead in ConeCRM from the event's lead (subject,
// description, category and the contact, account, department and franchise
// references) and returns the event for it: lead.id is the new lead's.
func withNewLead(ctx context.Context, cc *conecrm.Client, body []byte) ([]byte, error) {
	var ev map[string]any
	if err := json.Unmarshal(body, &ev); err != nil {
		return nil, err
	}
	lead, ok := ev["lead"].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("the event has no lead object")
	}
	str := func(k string) string { s, _ := lead[k].(string); return s }
	ref := func(k string) *conecrm.IDRef {
		if m, ok := lead[k].(map[string]any); ok {
			if id, _ := m["id"].(string); id != "" {
				return conecrm.Ref(id)
			}
		}
		return nil
	}
	opt := func(k string) *string {
		if s := str(k); s != "" {
			return &s
		}
		return nil
	}
	req := conecrm.LeadRequest{Subject: str("subject"), Description: opt("description"), Category: opt("category"),
		Contact: ref("contact"), Account: ref("account"), Department: ref("department"), Franchise: ref("franchise")}
	created, err := cc.CreateLead(ctx, req, uuid.Must(uuid.NewV7()).String())
	if err != nil {
		return nil, fmt.Errorf("creating the lead in ConeCRM: %w", err)
	}
	lead["id"] = created.ID
	return json.Marshal(ev)
}

// importCmd imports DIR/*.json into the store (DATABASE_URL or DATA_DIR).
func importCmd(stdout, stderr io.Writer, args []string) int {
	if len(args) != 1 {
		fmt.Fprintln(stderr, "usage: starter import DIR")
		return 2
	}
	cfg, _ := server.ConfigFromEnv()
	ctx := context.Background()
	st, err := server.OpenStore(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "starter import: cannot open the database: %v\n", err)
		return 1
	}
	defer st.Close()
	res, err := catalog.ImportDir(ctx, st, args[0])
	fmt.Fprintf(stdout, "imported into %s: %d created, %d updated, %d unchanged, %d deleted (not restored)\n",
		st.Where(), res["created"], res["updated"], res["unchanged"], res["deleted"])
	if err != nil {
		fmt.Fprintf(stderr, "starter import: %v\n", err)
		return 1
	}
	return 0
}

// exportCmd writes every automation's current version to DIR/<id>.json.
func exportCmd(stdout, stderr io.Writer, args []string) int {
	if len(args) != 1 {
		fmt.Fprintln(stderr, "usage: starter export DIR")
		return 2
	}
	cfg, _ := server.ConfigFromEnv()
	ctx := context.Background()
	st, err := server.OpenStore(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "starter export: cannot open the database: %v\n", err)
		return 1
	}
	defer st.Close()
	n, err := catalog.ExportDir(ctx, st, args[0])
	if err != nil {
		fmt.Fprintf(stderr, "starter export: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "exported %d automation(s) from %s to %s\n", n, st.Where(), args[0])
	return 0
}
