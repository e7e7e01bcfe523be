package cluster

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/types/known/durationpb"

	commonpb "go.temporal.io/api/common/v1"

	"github.com/conecrm/automation-runtime/internal/devkit/devserver"
	"github.com/conecrm/automation-runtime/internal/searchattr"
)

// Retention is the default namespace's retention of closed runs.
const Retention = 72 * time.Hour

// Dial connects an SDK client to the cluster's default namespace.
func (c *Cluster) Dial() (client.Client, error) {
	return client.Dial(client.Options{HostPort: c.Frontend, Namespace: "default", Logger: devserver.QuietLogger{}})
}

// WaitReady waits until the frontend answers and reaches history and
// matching: `cluster health` says SERVING while history is down, so the
// probe describes a run that does not exist (history answers "not found")
// and a task queue (matching answers).
func (c *Cluster) WaitReady(ctx context.Context, timeout time.Duration) error {
	cl, err := client.NewLazyClient(client.Options{HostPort: c.Frontend, Logger: devserver.QuietLogger{}})
	if err != nil {
		return err
	}
	defer cl.Close()
	var front *Proc
	if p := c.Proc("frontend"); p != nil {
		front = p
	}
	return waitFor(ctx, front, timeout, func() error {
		for _, s := range Services {
			if p := c.Proc(s); p != nil {
				if exited, err := p.Exited(); exited {
					return fmt.Errorf("%s exited (%v); see %s", s, err, p.LogPath)
				}
			}
		}
		return probe(ctx, cl, "temporal-system")
	})
}

func probe(ctx context.Context, cl client.Client, namespace string) error {
	rctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if _, err := cl.CheckHealth(rctx, &client.CheckHealthRequest{}); err != nil {
		return err
	}
	_, err := cl.WorkflowService().DescribeWorkflowExecution(rctx, &workflowservice.DescribeWorkflowExecutionRequest{
		Namespace: namespace, Execution: &commonpb.WorkflowExecution{WorkflowId: "cluster-readiness-probe"},
	})
	var nf *serviceerror.NotFound
	if !errors.As(err, &nf) {
		return fmt.Errorf("history probe: %v", err)
	}
	_, err = cl.WorkflowService().DescribeTaskQueue(rctx, &workflowservice.DescribeTaskQueueRequest{
		Namespace: namespace, TaskQueue: &taskqueuepb.TaskQueue{Name: "cluster-readiness-probe", Kind: enumspb.TASK_QUEUE_KIND_NORMAL},
	})
	if err != nil {
		return fmt.Errorf("matching probe: %w", err)
	}
	return nil
}

// setupNamespace registers the default namespace (when missing) and the
// runtime's search attributes on it (those missing), and waits until both
// are visible: a new namespace shows only after the namespace cache
// refresh.
func (c *Cluster) setupNamespace(ctx context.Context) error {
	cl, err := client.NewLazyClient(client.Options{HostPort: c.Frontend, Logger: devserver.QuietLogger{}})
	if err != nil {
		return err
	}
	defer cl.Close()
	ws, ops := cl.WorkflowService(), cl.OperatorService()
	_, err = ws.DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: "default"})
	var nf *serviceerror.NamespaceNotFound
	if errors.As(err, &nf) {
		_, err = ws.RegisterNamespace(ctx, &workflowservice.RegisterNamespaceRequest{
			Namespace: "default", WorkflowExecutionRetentionPeriod: durationpb.New(Retention),
			Description: "ConeCRM automations",
		})
		var exists *serviceerror.NamespaceAlreadyExists
		if err != nil && !errors.As(err, &exists) {
			return fmt.Errorf("registering namespace default: %w", err)
		}
	} else if err != nil {
		return fmt.Errorf("describing namespace default: %w", err)
	}
	return waitFor(ctx, nil, 60*time.Second, func() error {
		if err := probe(ctx, cl, "default"); err != nil {
			return err
		}
		resp, err := ops.ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: "default"})
		if err != nil {
			return err
		}
		missing := map[string]enumspb.IndexedValueType{}
		for _, n := range searchattr.Names {
			if _, ok := resp.GetCustomAttributes()[n]; !ok {
				missing[n] = enumspb.INDEXED_VALUE_TYPE_KEYWORD
			}
		}
		if len(missing) == 0 {
			return nil
		}
		if _, err := ops.AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{Namespace: "default", SearchAttributes: missing}); err != nil {
			return fmt.Errorf("adding search attributes: %w", err)
		}
		return fmt.Errorf("search attributes %v added, not listed yet", len(missing))
	})
}

func parseHostPort(pgURL string) (string, error) {
	u, err := url.Parse(pgURL)
	if err != nil {
		return "", err
	}
	return u.Host, nil
}
