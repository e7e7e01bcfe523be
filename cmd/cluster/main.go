// Command cluster is what `make cluster` runs: the runtime on a real
// Temporal cluster on this machine (internal/devkit/cluster) — Temporal
// Server on PostgreSQL with its four services as separate processes, the
// Web UI, two workers and two starters sharing one store, the ConeCRM
// sandbox and the demo CRM fakes. It posts a demo event through each
// starter, prints where everything is and stops it all on Ctrl-C.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"

	"github.com/conecrm/automation-runtime/internal/devkit/cluster"
	"github.com/conecrm/automation-runtime/internal/ingest"
)

func main() { os.Exit(run(os.Args[1:])) }

func run(args []string) int {
	fs := flag.NewFlagSet("cluster", flag.ContinueOnError)
	dir := fs.String("dir", "data/cluster", "the cluster's files: PostgreSQL, configuration, logs/")
	base := fs.Int("base-port", 17000, "ports derive from it (frontend base+233, Web UI base+1233, starters base+1080...); 0 takes free ports")
	workers := fs.Int("workers", 2, "bin/worker processes")
	starters := fs.Int("starters", 2, "bin/starter processes")
	noDemo := fs.Bool("no-demo", false, "post no demo event")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	fmt.Println("starting the cluster (PostgreSQL, 4 Temporal services, Web UI, workers, starters); logs in", filepath.Join(*dir, "logs"))
	c, err := cluster.Start(ctx, cluster.Options{Dir: *dir, BasePort: *base, Workers: *workers, Starters: *starters, Log: os.Stderr})
	if err != nil {
		fmt.Fprintln(os.Stderr, "cluster:", err)
		return 1
	}
	defer func() {
		fmt.Println("stopping: starters, workers, Web UI, Temporal services (each drains for a few seconds), PostgreSQL")
		took := c.Stop()
		fmt.Printf("stopped in %s\n", took.Round(100*time.Millisecond))
	}()
	if !*noDemo {
		if err := demo(ctx, c); err != nil {
			fmt.Fprintln(os.Stderr, "cluster: demo event:", err)
		}
	}
	printSummary(c, *dir)
	// A Temporal service or product process that dies is reported; the
	// cluster keeps running (restart it with make cluster).
	go watch(ctx, c)
	<-ctx.Done()
	return 0
}

func printSummary(c *cluster.Cluster, dir string) {
	fmt.Println()
	fmt.Println("Temporal cluster (PostgreSQL store and visibility, namespace default):")
	fmt.Printf("  frontend gRPC  %s   (TEMPORAL_ADDRESS=%s bin/temporal workflow list)\n", c.Frontend, c.Frontend)
	fmt.Printf("  frontend HTTP  %s\n", c.FrontendHTTP)
	for _, s := range cluster.Services {
		p := c.ServerPorts[s]
		fmt.Printf("  %-9s gRPC %d  membership %d  metrics http://127.0.0.1:%d/metrics  pid %d\n", s, p.GRPC, p.Membership, p.Metrics, c.Proc(s).Pid())
	}
	if c.UIURL != "" {
		fmt.Printf("  Web UI         %s/namespaces/default/workflows\n", c.UIURL)
	}
	fmt.Printf("  PostgreSQL     %s (Temporal: temporal, temporal_visibility; product: %s)\n", c.PostgresURL, c.DatabaseURL)
	fmt.Println("Product:")
	for i, u := range c.StarterURLs {
		fmt.Printf("  starter-%d      %s (POST /events, /api, /console)  pid %d\n", i+1, u, c.Proc(fmt.Sprintf("starter-%d", i+1)).Pid())
	}
	for i, m := range c.WorkerMetrics {
		fmt.Printf("  worker-%d       metrics http://%s/metrics  pid %d\n", i+1, m, c.Proc(fmt.Sprintf("worker-%d", i+1)).Pid())
	}
	fmt.Printf("  ConeCRM sandbox %s\n", c.SandboxURL)
	fmt.Printf("\nAPI token (STARTER_API_TOKEN): %s\n", cluster.APIToken)
	fmt.Printf("Signing secret (%s): %s\n", ingest.SecretEnv, cluster.SigningSecret)
	fmt.Printf("  curl -sS -H 'Authorization: Bearer %s' %s/api/automation\n", cluster.APIToken, c.StarterURLs[0])
	fmt.Printf("  %s=%s bin/starter trigger --event automations/events/demo-lead-created.json --new-ids --url %s\n", ingest.SecretEnv, cluster.SigningSecret, c.StarterURLs[len(c.StarterURLs)-1])
	fmt.Printf("Logs: %s/logs/<process>.log   Ctrl-C stops everything.\n", dir)
}

// demo posts the demo lead event through each starter (a fresh event id
// each time) and waits for the runs it enrols.
func demo(ctx context.Context, c *cluster.Cluster) error {
	raw, err := os.ReadFile(filepath.Join("automations", "events", "demo-lead-created.json"))
	if err != nil {
		return err
	}
	cl, err := c.Dial()
	if err != nil {
		return err
	}
	defer cl.Close()
	fmt.Println()
	for i, u := range c.StarterURLs {
		var ev map[string]any
		if err := json.Unmarshal(raw, &ev); err != nil {
			return err
		}
		ev["id"] = uuid.Must(uuid.NewV7()).String()
		ev["occurredAt"] = time.Now().UTC().Format(time.RFC3339)
		body, _ := json.Marshal(ev)
		status, out, err := ingest.PostSigned(ctx, u+"/events", []byte(cluster.SigningSecret), body)
		if err != nil {
			return err
		}
		var er ingest.EventsResponse
		if status != 200 || json.Unmarshal(out, &er) != nil {
			return fmt.Errorf("starter-%d POST /events: HTTP %d: %s", i+1, status, out)
		}
		for _, o := range er.Automations {
			if o.Result != ingest.Enrolled {
				fmt.Printf("starter-%d: %-32s %s %s\n", i+1, o.AutomationID, o.Result, o.Reason)
				continue
			}
			fmt.Printf("starter-%d: %-32s %s, run %s: %s\n", i+1, o.AutomationID, o.Result, o.WorkflowID, waitRun(ctx, cl, c, o))
		}
	}
	return nil
}

func waitRun(ctx context.Context, cl client.Client, c *cluster.Cluster, o ingest.Outcome) string {
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := cl.GetWorkflow(wctx, o.WorkflowID, o.RunID).Get(wctx, nil); err != nil {
		return "not completed: " + err.Error()
	}
	link := ""
	if c.UIURL != "" {
		link = fmt.Sprintf(" %s/namespaces/default/workflows/%s/%s/history", c.UIURL, url.PathEscape(o.WorkflowID), o.RunID)
	}
	return "completed" + link
}

func watch(ctx context.Context, c *cluster.Cluster) {
	for _, name := range c.Procs() {
		p := c.Proc(name)
		done := p.Done()
		if done == nil {
			continue
		}
		go func() {
			select {
			case <-ctx.Done():
			case <-done:
				if ctx.Err() == nil {
					_, err := p.Exited()
					fmt.Fprintf(os.Stderr, "cluster: %s exited (%v); see %s\n", name, err, p.LogPath)
				}
			}
		}()
	}
}
