package logging

import (
	"context"
	"log/slog"

	"github.com/rs/zerolog"
)

// sdkKeys renames the Temporal SDK's log keys to the snake_case the rest of
// the runtime logs with, so one query (workflow_id="...") finds a run's
// lines from the starter, the workflow and its activities.
var sdkKeys = map[string]string{
	"WorkflowID":   "workflow_id",
	"RunID":        "run_id",
	"WorkflowType": "workflow_type",
	"ActivityID":   "activity_id",
	"ActivityType": "activity_type",
	"TaskQueue":    "task_queue",
	"Namespace":    "namespace",
	"Attempt":      "attempt",
	"Error":        "error",
	"Identity":     "identity",
	"WorkerID":     "worker_id",
	"TimerID":      "timer_id",
}

// renameKeys is a slog handler that renames the SDK's keys.
type renameKeys struct{ slog.Handler }

func (h renameKeys) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(rename(a))
		return true
	})
	return h.Handler.Handle(ctx, out)
}

func (h renameKeys) WithAttrs(attrs []slog.Attr) slog.Handler {
	renamed := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		renamed[i] = rename(a)
	}
	return renameKeys{h.Handler.WithAttrs(renamed)}
}

func (h renameKeys) WithGroup(name string) slog.Handler {
	return renameKeys{h.Handler.WithGroup(name)}
}

func rename(a slog.Attr) slog.Attr {
	if k, ok := sdkKeys[a.Key]; ok {
		a.Key = k
	}
	return a
}

// WithContext returns ctx carrying l, for FromContext.
func WithContext(ctx context.Context, l zerolog.Logger) context.Context {
	return l.WithContext(ctx)
}

// FromContext returns the logger the worker's interceptor put in an
// activity's context (with workflow_id, run_id, automation_id,
// automation_version and node_id), or fallback outside an activity.
func FromContext(ctx context.Context, fallback zerolog.Logger) *zerolog.Logger {
	if l := zerolog.Ctx(ctx); l != nil && l.GetLevel() != zerolog.Disabled {
		return l
	}
	return &fallback
}
