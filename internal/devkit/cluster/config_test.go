package cluster

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Each service's file names every service's ports but only its own
// metrics port: one process per service must not collide on it.
func TestWriteConfigs(t *testing.T) {
	dir := t.TempDir()
	ports := map[string]ServerPorts{
		"frontend": {GRPC: 1233, Membership: 1933, Metrics: 3000, HTTP: 1243},
		"history":  {GRPC: 1234, Membership: 1934, Metrics: 3001},
		"matching": {GRPC: 1235, Membership: 1935, Metrics: 3002},
		"worker":   {GRPC: 1239, Membership: 1939, Metrics: 3003},
	}
	if err := writeConfigs(dir, "127.0.0.1:5432", "warn", 4, ports, 2233, "http://127.0.0.1:18080/codec"); err != nil {
		t.Fatal(err)
	}
	for _, s := range Services {
		b, err := os.ReadFile(filepath.Join(dir, "config", s+".yaml"))
		if err != nil {
			t.Fatal(err)
		}
		cfg := string(b)
		for _, want := range []string{
			`listenAddress: "127.0.0.1:` + itoa(ports[s].Metrics) + `"`,
			"grpcPort: 1234", "grpcPort: 1235", "grpcPort: 1239", "httpPort: 1243",
			`rpcAddress: "127.0.0.1:1233"`, `connectAddr: "127.0.0.1:5432"`, "numHistoryShards: 4",
			filepath.Join(dir, "config", "dynamicconfig.yaml"),
		} {
			if !strings.Contains(cfg, want) {
				t.Errorf("%s.yaml lacks %q:\n%s", s, want, cfg)
			}
		}
		if n := strings.Count(cfg, "httpPort:"); n != 1 {
			t.Errorf("%s.yaml has %d httpPort lines, want the frontend's only", s, n)
		}
	}
	ui, err := os.ReadFile(filepath.Join(dir, "ui", "config", "cluster.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"temporalGrpcAddress: 127.0.0.1:1233", "port: 2233", "endpoint: http://127.0.0.1:18080/codec"} {
		if !strings.Contains(string(ui), want) {
			t.Errorf("UI config lacks %q:\n%s", want, ui)
		}
	}
}

func itoa(n int) string { return strings.TrimPrefix(addr(n), "127.0.0.1:") }
