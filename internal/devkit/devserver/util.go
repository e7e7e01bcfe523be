package devserver

import (
	"go.temporal.io/api/operatorservice/v1"
)

func listSearchAttributesRequest() *operatorservice.ListSearchAttributesRequest {
	return &operatorservice.ListSearchAttributesRequest{Namespace: "default"}
}

// QuietLogger drops the SDK's logs (while polling for readiness, in tests).
type QuietLogger struct{}

func (QuietLogger) Debug(string, ...any) {}
func (QuietLogger) Info(string, ...any)  {}
func (QuietLogger) Warn(string, ...any)  {}
func (QuietLogger) Error(string, ...any) {}
