package devserver

import (
	"go.temporal.io/api/operatorservice/v1"
)

func listSearchAttributesRequest() *operatorservice.ListSearchAttributesRequest {
	return &operatorservice.ListSearchAttributesRequest{Namespace: "default"}
}

// quietLogger drops the SDK's logs while polling for readiness.
type quietLogger struct{}

func (quietLogger) Debug(string, ...any) {}
func (quietLogger) Info(string, ...any)  {}
func (quietLogger) Warn(string, ...any)  {}
func (quietLogger) Error(string, ...any) {}
