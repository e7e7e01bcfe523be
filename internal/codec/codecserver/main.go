// Command codecserver serves the payload codec endpoint on its own, for a
// Web UI or a `temporal` CLI that must read encrypted payloads:
//
//	PAYLOAD_CODEC_KEYS=k1:... PAYLOAD_CODEC_TOKEN=... go run ./internal/codec/codecserver
//
// It listens on PAYLOAD_CODEC_ADDR (default 127.0.0.1:8081) and answers
// POST /encode and /decode.
package main

import (
	"errors"
	"net/http"
	"os"
	"time"

	"github.com/conecrm/automation-runtime/internal/codec"
	"github.com/conecrm/automation-runtime/internal/logging"
)

func main() {
	log := logging.New("codec")
	c, err := codec.FromEnv()
	if err != nil {
		log.Error().Err(err).Msg("payload codec keys")
		os.Exit(1)
	}
	if c == nil {
		log.Error().Msg(codec.EnvKeys + " is not set: nothing to decode with")
		os.Exit(1)
	}
	addr := os.Getenv("PAYLOAD_CODEC_ADDR")
	if addr == "" {
		addr = "127.0.0.1:8081"
	}
	opts := codec.HandlerOptionsFromEnv()
	if opts.Token == "" {
		log.Warn().Msg(codec.EnvToken + " is not set: the endpoint decodes for anyone who can reach it")
	}
	srv := &http.Server{Addr: addr, Handler: c.Handler(opts), ReadHeaderTimeout: 5 * time.Second}
	log.Info().Str("addr", addr).Str("encoding_key", c.EncodingKeyID()).Strs("origins", opts.Origins).Msg("payload codec endpoint listening")
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Error().Err(err).Msg("codec endpoint stopped")
		os.Exit(1)
	}
}
