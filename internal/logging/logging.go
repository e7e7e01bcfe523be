// Package logging sets up zerolog for the runtime's commands: JSON by
// default, a human-readable console when stdout is a terminal, and the
// Temporal SDK's own logs routed through the same logger.
package logging

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"
	sdklog "go.temporal.io/sdk/log"
)

// New returns the process logger. LOG_LEVEL sets the level (default info);
// LOG_FORMAT=json|console overrides the terminal detection.
func New(component string) zerolog.Logger {
	var w io.Writer = os.Stdout
	format := os.Getenv("LOG_FORMAT")
	if format == "console" || (format == "" && isatty.IsTerminal(os.Stdout.Fd())) {
		w = zerolog.ConsoleWriter{Out: os.Stdout, TimeFormat: time.TimeOnly}
	}
	level, err := zerolog.ParseLevel(os.Getenv("LOG_LEVEL"))
	if err != nil || level == zerolog.NoLevel {
		level = zerolog.InfoLevel
	}
	return zerolog.New(w).Level(level).With().Timestamp().Str("component", component).Logger()
}

// Fatal logs err and prints msg with it on stderr, where a person running
// the command reads it, prefixed by the command's name; it returns exit
// code 1, for `return logging.Fatal(...)` in a command's main path.
func Fatal(log zerolog.Logger, command string, err error, msg string) int {
	log.Error().Err(err).Msg(msg)
	fmt.Fprintf(os.Stderr, "%s: %s: %v\n", command, msg, err)
	return 1
}

// SDK adapts a zerolog logger to the Temporal SDK's logger interface.
func SDK(l zerolog.Logger) sdklog.Logger {
	return sdklog.NewStructuredLogger(slog.New(renameKeys{zerolog.NewSlogHandler(l)}))
}
