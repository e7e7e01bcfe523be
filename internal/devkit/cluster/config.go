package cluster

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"text/template"
)

// Services are the Temporal services, one process each, in start order:
// history first, because on an empty database services started together
// race to save the cluster metadata (duplicate key on
// cluster_metadata_info_pkey) and the losers exit.
var Services = []string{"history", "matching", "frontend", "worker"}

// ServerPorts are one Temporal service's ports.
type ServerPorts struct {
	GRPC, Membership, Metrics int
	// HTTP is the frontend's HTTP API port (0 for the other services).
	HTTP int
}

// serverConfig is the server's configuration, one file per service: they
// differ only in the metrics port, which the server reads from the global
// section, so services sharing one file would collide on it.
const serverConfig = `log:
  stdout: true
  level: {{.LogLevel}}

persistence:
  defaultStore: postgres-default
  visibilityStore: postgres-visibility
  numHistoryShards: {{.Shards}}
  datastores:
    postgres-default:
      sql:
        pluginName: "postgres12"
        databaseName: "temporal"
        connectAddr: "{{.PGAddr}}"
        connectProtocol: "tcp"
        user: "postgres"
        password: ""
        maxConns: 12
        maxIdleConns: 12
        maxConnLifetime: "1h"
    postgres-visibility:
      sql:
        pluginName: "postgres12"
        databaseName: "temporal_visibility"
        connectAddr: "{{.PGAddr}}"
        connectProtocol: "tcp"
        user: "postgres"
        password: ""
        maxConns: 4
        maxIdleConns: 4
        maxConnLifetime: "1h"

global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: "127.0.0.1"
  pprof:
    port: 0
  metrics:
    prometheus:
      framework: "tally"
      timerType: "histogram"
      listenAddress: "127.0.0.1:{{.MetricsPort}}"

services:
{{- range .Services}}
  {{.Name}}:
    rpc:
      grpcPort: {{.Ports.GRPC}}
      membershipPort: {{.Ports.Membership}}
      bindOnLocalHost: true
{{- if .Ports.HTTP}}
      httpPort: {{.Ports.HTTP}}
{{- end}}
{{- end}}

clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: "active"
  currentClusterName: "active"
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: "frontend"
      rpcAddress: "127.0.0.1:{{.FrontendPort}}"

dcRedirectionPolicy:
  policy: "noop"

dynamicConfigClient:
  filepath: "{{.DynamicConfig}}"
  pollInterval: "10s"
`

// dynamicConfig follows the CLI dev server's defaults where the runtime's
// tests rely on them: search attributes visible as soon as they are
// created, and persistence QPS raised to match.
const dynamicConfig = `system.forceSearchAttributesCacheRefreshOnRead:
  - value: true
frontend.persistenceMaxQPS:
  - value: 10000
history.persistenceMaxQPS:
  - value: 45000
frontend.namespaceRPS.visibility:
  - value: 100
history.hostLevelCacheMaxSize:
  - value: 8192
limit.maxIDLength:
  - value: 1000
`

// uiConfig is the UI server's configuration.
const uiConfig = `temporalGrpcAddress: {{.Frontend}}
host: 127.0.0.1
port: {{.Port}}
enableUi: true
defaultNamespace: default
showTemporalSystemNamespace: false
notifyOnNewVersion: false
refreshInterval: 1m
cors:
  cookieInsecure: true
  unsafeAllowAllOrigins: true
{{- if .Codec}}
codec:
  endpoint: {{.Codec}}
{{- end}}
`

type serviceConfig struct {
	Name  string
	Ports ServerPorts
}

// writeConfigs writes config/<service>.yaml for each service,
// config/dynamicconfig.yaml and ui/config/cluster.yaml under dir.
func writeConfigs(dir, pgAddr, logLevel string, shards int, ports map[string]ServerPorts, uiPort int, codec string) error {
	cfgDir := filepath.Join(dir, "config")
	if err := os.MkdirAll(cfgDir, 0o755); err != nil {
		return err
	}
	dyn := filepath.Join(cfgDir, "dynamicconfig.yaml")
	if err := os.WriteFile(dyn, []byte(dynamicConfig), 0o644); err != nil {
		return err
	}
	var svcs []serviceConfig
	for _, s := range Services {
		svcs = append(svcs, serviceConfig{Name: s, Ports: ports[s]})
	}
	tpl := template.Must(template.New("server").Parse(serverConfig))
	for _, s := range Services {
		var b bytes.Buffer
		err := tpl.Execute(&b, map[string]any{
			"LogLevel": logLevel, "Shards": shards, "PGAddr": pgAddr, "MetricsPort": ports[s].Metrics,
			"Services": svcs, "FrontendPort": ports["frontend"].GRPC, "DynamicConfig": dyn,
		})
		if err != nil {
			return fmt.Errorf("server config: %w", err)
		}
		if err := os.WriteFile(filepath.Join(cfgDir, s+".yaml"), b.Bytes(), 0o644); err != nil {
			return err
		}
	}
	uiDir := filepath.Join(dir, "ui", "config")
	if err := os.MkdirAll(uiDir, 0o755); err != nil {
		return err
	}
	var b bytes.Buffer
	err := template.Must(template.New("ui").Parse(uiConfig)).Execute(&b, map[string]any{
		"Frontend": fmt.Sprintf("127.0.0.1:%d", ports["frontend"].GRPC), "Port": uiPort, "Codec": codec,
	})
	if err != nil {
		return fmt.Errorf("UI config: %w", err)
	}
	return os.WriteFile(filepath.Join(uiDir, "cluster.yaml"), b.Bytes(), 0o644)
}
