package chaos

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/conecrm/automation-runtime/internal/devkit/bench"
	"github.com/conecrm/automation-runtime/internal/devkit/sandbox"
)

// Main runs `chaos` (cmd/chaos); `chaos worker` is the worker process.
func Main(args []string, stdout, stderr io.Writer) int {
	d := Defaults()
	d.IgnoreIdempotency = sandbox.IgnoreIdempotencyFromEnv()
	fs := flag.NewFlagSet("chaos", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&d.Runs, "runs", d.Runs, "enrolments")
	fs.IntVar(&d.Kills, "kills", d.Kills, "worker SIGKILLs (at least)")
	fs.BoolVar(&d.ServerRestart, "server-restart", d.ServerRestart, "stop and restart the dev server once while runs wait")
	fs.Float64Var(&d.FaultRate, "fault-rate", d.FaultRate, "share of ConeCRM and CRM responses that fail (429, 500, reset, drop)")
	fs.IntVar(&d.Deliveries, "deliveries", d.Deliveries, "concurrent deliveries of every event")
	fs.StringVar(&d.Delay, "delay", d.Delay, "the automation's delay")
	fs.StringVar(&d.WaitTimeout, "wait-timeout", d.WaitTimeout, "the automation's wait_for_event timeout")
	fs.DurationVar(&d.Deadline, "deadline", d.Deadline, "runs still open after this are stuck")
	fs.Uint64Var(&d.Seed, "seed", d.Seed, "random seed (faults, kills, branches)")
	fs.BoolVar(&d.IgnoreIdempotency, "ignore-idempotency", d.IgnoreIdempotency, "the ConeCRM sandbox ignores Idempotency-Key (default from "+sandbox.EnvIgnoreIdempotency+")")
	out := fs.String("out", "artifacts/chaos", "directory for the dev server's files, logs and summary.json")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cmd, err := bench.SelfCommand("worker")
	if err != nil {
		fmt.Fprintln(stderr, "chaos:", err)
		return 1
	}
	d.WorkerCmd = cmd
	d.Log = stderr
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fmt.Fprintln(stderr, "chaos:", err)
		return 1
	}
	d.Dir, err = os.MkdirTemp(*out, "run-"+time.Now().Format("20060102-150405")+"-")
	if err != nil {
		fmt.Fprintln(stderr, "chaos:", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	sum, err := Run(ctx, d)
	if err != nil {
		fmt.Fprintln(stderr, "chaos:", err)
		return 1
	}
	raw, _ := json.MarshalIndent(sum, "", "  ")
	_ = os.WriteFile(filepath.Join(*out, "summary.json"), raw, 0o644)
	fmt.Fprint(stdout, sum.String())
	if !sum.OK() {
		fmt.Fprintf(stdout, "logs and the dev server's database: %s\n", d.Dir)
		return 1
	}
	_ = os.RemoveAll(d.Dir)
	return 0
}
