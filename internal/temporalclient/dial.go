// Package temporalx connects to Temporal with the SDK's environment
// configuration (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY,
// TLS variables, or a TOML profile), defaulting to the local dev server.
package temporalclient

import (
	"fmt"

	"github.com/rs/zerolog"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/contrib/envconfig"

	"github.com/conecrm/automation-runtime/internal/codec"
	"github.com/conecrm/automation-runtime/internal/logging"
	"github.com/conecrm/automation-runtime/internal/metrics"
)

// DefaultAddress is the dev server's frontend.
const DefaultAddress = "127.0.0.1:7233"

// Options loads client options from the environment.
func Options(log zerolog.Logger) (client.Options, error) {
	opts, err := envconfig.LoadDefaultClientOptions()
	if err != nil {
		return client.Options{}, fmt.Errorf("temporal environment configuration: %w", err)
	}
	if opts.HostPort == "" {
		opts.HostPort = DefaultAddress
	}
	if opts.Namespace == "" {
		opts.Namespace = "default"
	}
	opts.Logger = logging.SDK(log)
	opts.MetricsHandler = metrics.SDKHandler()
	// PAYLOAD_CODEC_KEYS, when set, encrypts payloads (inputs, results,
	// failures, summaries) before they reach the server.
	if _, err := codec.Apply(&opts); err != nil {
		return client.Options{}, fmt.Errorf("payload codec: %w", err)
	}
	return opts, nil
}

// Dial connects with Options.
func Dial(log zerolog.Logger) (client.Client, error) {
	opts, err := Options(log)
	if err != nil {
		return nil, err
	}
	c, err := client.Dial(opts)
	if err != nil {
		return nil, fmt.Errorf("connecting to Temporal at %s (namespace %s): %w", opts.HostPort, opts.Namespace, err)
	}
	return c, nil
}
