package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"

	"github.com/conecrm/automation-runtime/internal/codec"
	"github.com/conecrm/automation-runtime/internal/devkit/devserver"
	"github.com/conecrm/automation-runtime/internal/workerapp"
)

// smokeEnv makes copies of this test binary named dev and worker act as
// make run's two commands (building them would take most of a minute).
const smokeEnv = "DEV_SMOKE_TEST"

func TestMain(m *testing.M) {
	if os.Getenv(smokeEnv) != "" {
		switch filepath.Base(os.Args[0]) {
		case "dev":
			os.Exit(dev(os.Args[1:]))
		case "worker":
			os.Exit(workerapp.Main())
		}
	}
	os.Exit(m.Run())
}

// TestMakeRunSmoke is `make run` as a newcomer runs it, on free ports: it
// runs the dev command (which starts the dev server, the sandbox, the fake
// CRMs, a worker process and the starter) with the repository's
// automations (the demo CRM integrations moved to free ports), waits for
// the demo lead's run to complete, checks the starter, the sandbox and the
// Web UI answer, then stops it with Ctrl-C (SIGINT) and expects every
// process gone.
func TestMakeRunSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the commands and runs the Temporal dev server (skipped with -short)")
	}
	root, err := devserver.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := devserver.Binary(); err != nil {
		t.Fatal(err)
	}
	// dev starts the worker found next to its own executable, as make
	// run's bin/dev does bin/worker.
	bin := t.TempDir()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"dev", "worker"} {
		if err := copyFile(self, filepath.Join(bin, name)); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()

	ports := map[string]int{}
	for _, name := range []string{"temporal", "ui", "starter", "sandbox", "salesforce", "hubspot"} {
		p, err := devserver.FreePort()
		if err != nil {
			t.Fatal(err)
		}
		ports[name] = p
	}
	addr := func(name string) string { return "127.0.0.1:" + strconv.Itoa(ports[name]) }
	autos := copyAutomations(t, filepath.Join(root, "automations"), map[string]string{
		"127.0.0.1:8091": addr("salesforce"), "127.0.0.1:8092": addr("hubspot"),
	})

	// make run's environment, every address moved; nothing inherited that
	// would point it elsewhere.
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(k, "TEMPORAL_"), strings.HasPrefix(k, "CONECRM_"), strings.HasPrefix(k, "STARTER_"),
			strings.HasPrefix(k, "SANDBOX_"), strings.HasPrefix(k, "PAYLOAD_CODEC_"), strings.HasPrefix(k, "WEBHOOK_"),
			k == "DATABASE_URL", k == "DATA_DIR", k == "AUTOMATIONS_DIR", k == "CRM_SECRETS_KEY", k == "EVENTS_SIGNING_SECRET",
			k == "WORKER_METRICS_ADDR", k == "TASK_QUEUE", k == "FAILURE_WEBHOOKS":
			continue
		}
		env = append(env, kv)
	}
	env = append(env, envDevPort+"="+strconv.Itoa(ports["temporal"]), envDevUIPort+"="+strconv.Itoa(ports["ui"]),
		"STARTER_ADDR="+addr("starter"), "SANDBOX_ADDR="+addr("sandbox"), "WORKER_METRICS_ADDR=off",
		"DATA_DIR="+t.TempDir(), "AUTOMATIONS_DIR="+autos, "LOG_FORMAT=json", smokeEnv+"=1")

	cmd := exec.Command(filepath.Join(bin, "dev"))
	cmd.Dir, cmd.Env = root, env
	// Its own process group: a failed test kills whatever is left.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); pw.Close() }()
	t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })

	var (
		mu     sync.Mutex
		output bytes.Buffer
	)
	lines := make(chan string, 1000)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			mu.Lock()
			output.WriteString(sc.Text() + "\n")
			mu.Unlock()
			select {
			case lines <- sc.Text():
			default: // only the first lines matter; the output is kept whole
			}
		}
	}()
	logs := func() string {
		mu.Lock()
		defer mu.Unlock()
		return output.String()
	}

	// The demo event's run completes ("Run automation/... completed").
	deadline := time.After(3 * time.Minute)
	var demoRun string
	for done := false; !done; {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("dev stopped before the demo run completed: %v\n%s", <-exited, logs())
			}
			if strings.HasPrefix(l, "Run automation/") {
				if !strings.HasSuffix(l, " completed") {
					t.Fatalf("the demo run did not complete: %s\n%s", l, logs())
				}
				done = true
				demoRun = strings.Fields(strings.TrimPrefix(l, "Run "))[0]
			}
		case <-deadline:
			t.Fatalf("no completed demo run after 3 minutes:\n%s", logs())
		}
	}
	t.Logf("the demo run completed %s after dev started", time.Since(start).Round(time.Second))
	checkEncrypted(t, addr("temporal"), demoRun)
	for _, c := range []struct{ url, token, want string }{
		{"http://" + addr("starter") + "/healthz", "", `"ok"`},
		{"http://" + addr("starter") + "/api/automation", demoAPIToken, `"isActive":true`},
		{"http://" + addr("sandbox") + "/sandbox/requests", "", `"POST /api/task"`},
		{"http://" + addr("ui") + "/", "", ""},
	} {
		req, _ := http.NewRequest("GET", c.url, nil)
		if c.token != "" {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Errorf("GET %s: %v", c.url, err)
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !bytes.Contains(body, []byte(c.want)) {
			t.Errorf("GET %s: HTTP %d, want 200 with %s: %.300s", c.url, resp.StatusCode, c.want, body)
		}
	}

	// Ctrl-C stops everything: dev exits 0, the worker and the dev server
	// with it.
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("dev after Ctrl-C: %v\n%s", err, logs())
		}
	case <-time.After(time.Minute):
		t.Fatalf("dev still running a minute after Ctrl-C:\n%s", logs())
	}
	t.Logf("dev stopped %s after it started", time.Since(start).Round(time.Second))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, name := range []string{"temporal", "starter", "sandbox"} {
		for {
			c, err := net.DialTimeout("tcp", addr(name), time.Second)
			if err != nil {
				break
			}
			c.Close()
			if ctx.Err() != nil {
				t.Errorf("%s still listening on %s after Ctrl-C", name, addr(name))
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	if err := syscall.Kill(-cmd.Process.Pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("processes of dev's group are left after Ctrl-C (kill 0: %v)", err)
	}
}

func copyFile(src, dst string) error {
	if os.Link(src, dst) == nil {
		return nil
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// copyAutomations copies the automations directory (documents, events,
// integrations) into a temporary one, replacing addresses in the files.
func copyAutomations(t *testing.T, src string, replace map[string]string) string {
	t.Helper()
	dst := t.TempDir()
	var pairs []string
	for from, to := range replace {
		pairs = append(pairs, from, to)
	}
	r := strings.NewReplacer(pairs...)
	err := filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), []byte(r.Replace(string(data))), 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// checkEncrypted reads the run's history without the codec: make run
// encrypts payloads by default, so the lead in its input is unreadable.
func checkEncrypted(t *testing.T, hostPort, workflowID string) {
	t.Helper()
	c, err := client.Dial(client.Options{HostPort: hostPort, Logger: log.NewStructuredLogger(slog.New(slog.DiscardHandler))})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	it := c.GetWorkflowHistory(ctx, workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	ev, err := it.Next()
	if err != nil {
		t.Fatalf("history of %s: %v", workflowID, err)
	}
	payloads := ev.GetWorkflowExecutionStartedEventAttributes().GetInput().GetPayloads()
	if len(payloads) == 0 {
		t.Fatalf("%s: no input payload", workflowID)
	}
	for _, p := range payloads {
		if enc := string(p.GetMetadata()[codec.MetadataEncoding]); enc != codec.EncodingEncrypted {
			t.Errorf("%s: input payload encoding %q, want %q (make run encrypts by default)", workflowID, enc, codec.EncodingEncrypted)
		}
	}
}
