package activities

import (
	"errors"
	"fmt"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/conecrm/automation-runtime/internal/conecrm"
	"github.com/conecrm/automation-runtime/internal/devkit/sandbox"
)

// retryPolicy mirrors workflows.RetryPolicy (1s initial, ×2, 1 min cap, 25
// attempts, NonRetryableErrorTypes), with every delay divided by timeScale
// so the test runs in well under a second of waiting.
var retryPolicy = struct {
	initial, maximum time.Duration
	coefficient      float64
	attempts         int
}{time.Second, time.Minute, 2, 25}

const timeScale = 1000

type chaosResult struct {
	attempts, retries int
	byType            map[string]int
	gaveUp            []error
}

// executeWithRetries runs one activity the way the workflow's retry policy
// would: retryable failures wait (NextRetryDelay when the error carries a
// Retry-After, else the backoff) and try again with the same input.
func executeWithRetries(env *testsuite.TestActivityEnvironment, fn any, in any, res *chaosResult) error {
	delay := retryPolicy.initial
	for attempt := 1; ; attempt++ {
		res.attempts++
		_, err := env.ExecuteActivity(fn, in)
		if err == nil {
			return nil
		}
		var ae *temporal.ApplicationError
		if !errors.As(err, &ae) || ae.NonRetryable() || slices.Contains(NonRetryableErrorTypes, ae.Type()) || attempt == retryPolicy.attempts {
			return err
		}
		res.retries++
		res.byType[ae.Type()]++
		wait := delay
		if d := ae.NextRetryDelay(); d > 0 {
			wait = d
		}
		time.Sleep(wait / timeScale)
		delay = min(time.Duration(float64(delay)*retryPolicy.coefficient), retryPolicy.maximum)
	}
}

// TestCreateTaskUnderFaults: with 30% of the sandbox's task responses
// failing, 200 create_task runs, each retried like the workflow retries it,
// all finish with exactly 200 tasks created.
func TestCreateTaskUnderFaults(t *testing.T) {
	scenarios := []struct {
		name   string
		faults []sandbox.Fault
	}{
		{"429 500 reset", []sandbox.Fault{
			{Route: "POST /api/task", Kind: sandbox.FaultTooManyRequests, Rate: 0.1, RetryAfter: sandbox.Duration(time.Second)},
			{Route: "POST /api/task", Kind: sandbox.FaultServerError, Rate: 0.1},
			{Route: "POST /api/task", Kind: sandbox.FaultReset, Rate: 0.1},
		}},
		{"429 500 reset drop", []sandbox.Fault{
			{Route: "POST /api/task", Kind: sandbox.FaultTooManyRequests, Rate: 0.075, RetryAfter: sandbox.Duration(2 * time.Second)},
			{Route: "POST /api/task", Kind: sandbox.FaultServerError, Rate: 0.075},
			{Route: "POST /api/task", Kind: sandbox.FaultReset, Rate: 0.075},
			{Route: "POST /api/task", Kind: sandbox.FaultDrop, Rate: 0.075},
		}},
	}
	const runs, workers = 200, 8
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			sb := sandbox.New("jwt", sandbox.WithFaults(sandbox.FaultConfig{Seed: 20250301, Faults: sc.faults}))
			srv := httptest.NewServer(sb)
			defer srv.Close()
			a := &Activities{ConeCRM: conecrm.New(conecrm.Config{BaseURL: srv.URL, Token: "jwt", Timeout: 5 * time.Second}, nil), Log: zerolog.Nop()}

			jobs := make(chan int)
			var mu sync.Mutex
			total := chaosResult{byType: map[string]int{}}
			var wg sync.WaitGroup
			for range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					var ts testsuite.WorkflowTestSuite
					ts.SetLogger(quietLogger)
					env := ts.NewTestActivityEnvironment()
					env.RegisterActivity(a)
					for i := range jobs {
						res := chaosResult{byType: map[string]int{}}
						in := CreateTaskInput{NodeID: "call", IdempotencyKey: fmt.Sprintf("automation-7:lead-%03d|event-%03d|call|1", i, i),
							Task: conecrm.TaskRequest{Type: "CALL", Assignee: sandbox.UserSam, Title: fmt.Sprintf("Call lead %d", i), Connection: sandbox.LeadAlice}}
						err := executeWithRetries(env, a.CreateTask, in, &res)
						mu.Lock()
						total.attempts += res.attempts
						total.retries += res.retries
						for k, v := range res.byType {
							total.byType[k] += v
						}
						if err != nil {
							total.gaveUp = append(total.gaveUp, err)
						}
						mu.Unlock()
					}
				}()
			}
			for i := range runs {
				jobs <- i
			}
			close(jobs)
			wg.Wait()

			st := sb.Stats()
			tasks := sb.Tasks()
			failed := st.Injected[sandbox.FaultTooManyRequests] + st.Injected[sandbox.FaultServerError] + st.Injected[sandbox.FaultReset] + st.Injected[sandbox.FaultDrop]
			t.Logf("runs %d, finished %d, tasks created %d; activity attempts %d (retries %d: %v); sandbox requests %d, faults injected %d (%.1f%%) %v, idempotent replays %d",
				runs, runs-len(total.gaveUp), len(tasks), total.attempts, total.retries, total.byType, st.Requests, failed, 100*float64(failed)/float64(st.Requests), st.Injected, st.Replayed)
			if len(total.gaveUp) != 0 {
				t.Fatalf("%d runs failed, first: %v", len(total.gaveUp), total.gaveUp[0])
			}
			if len(tasks) != runs {
				t.Fatalf("%d tasks created, want %d", len(tasks), runs)
			}
			titles := map[string]bool{}
			for _, task := range tasks {
				titles[task.Title] = true
			}
			if len(titles) != runs {
				t.Errorf("%d distinct tasks", len(titles))
			}
			if failed == 0 || total.retries == 0 {
				t.Errorf("no faults injected or no retries: the test proves nothing")
			}
		})
	}
}
