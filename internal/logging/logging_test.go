package logging_test

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/rs/zerolog"
	sdklog "go.temporal.io/sdk/log"

	"github.com/conecrm/automation-runtime/internal/logging"
)

func TestSDKLinesUseSnakeCaseKeys(t *testing.T) {
	var buf bytes.Buffer
	l := logging.SDK(zerolog.New(&buf))
	sdklog.With(l, "WorkflowID", "wf-1", "RunID", "run-1").Info("hello", "ActivityType", "CreateTask", "node_id", "call")
	var m map[string]any
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatalf("%v: %s", err, buf.String())
	}
	for k, want := range map[string]string{"workflow_id": "wf-1", "run_id": "run-1", "activity_type": "CreateTask", "node_id": "call", "message": "hello"} {
		if m[k] != want {
			t.Errorf("%s = %v, want %q (line %s)", k, m[k], want, buf.String())
		}
	}
	if _, ok := m["WorkflowID"]; ok {
		t.Errorf("SDK key kept: %s", buf.String())
	}
}

func TestFromContext(t *testing.T) {
	var buf bytes.Buffer
	fallback := zerolog.New(&buf).With().Str("from", "fallback").Logger()
	logging.FromContext(context.Background(), fallback).Info().Msg("a")
	ctx := logging.WithContext(context.Background(), zerolog.New(&buf).With().Str("from", "ctx").Logger())
	logging.FromContext(ctx, fallback).Info().Msg("b")
	want := `{"level":"info","from":"fallback","message":"a"}` + "\n" + `{"level":"info","from":"ctx","message":"b"}` + "\n"
	if buf.String() != want {
		t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
	}
}
