package activities

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/conecrm/automation-runtime/internal/crm"
	"github.com/conecrm/automation-runtime/internal/crm/push"
	"github.com/conecrm/automation-runtime/internal/devkit/crmfake"
)

func TestCRMErrorMapping(t *testing.T) {
	cases := []struct {
		err          error
		typ          string
		nonRetryable bool
		delay        time.Duration
	}{
		{&crm.Error{Provider: "hubspot", StatusCode: 429, Message: "limit", Retryable: true, RetryAfter: 3 * time.Second}, ErrRetryableHTTP, false, 3 * time.Second},
		{&crm.Error{Provider: "salesforce", StatusCode: 403, Code: "REQUEST_LIMIT_EXCEEDED", Message: "limit", Retryable: true}, ErrRetryableHTTP, false, 0},
		{&crm.Error{Provider: "salesforce", StatusCode: 400, Code: "REQUIRED_FIELD_MISSING", Message: "x"}, ErrRejected, true, 0},
		{&crm.Error{Provider: "hubspot", StatusCode: 401, Message: "x"}, ErrUnauthorized, true, 0},
		{&crm.Error{Provider: "openint", StatusCode: 404, Message: "x"}, ErrNotFound, true, 0},
		{errors.New("connection reset"), ErrRetryableHTTP, false, 0},
	}
	for _, tc := range cases {
		var ae *temporal.ApplicationError
		if !errors.As(crmError("n1", tc.err), &ae) {
			t.Fatalf("%v: not an ApplicationError", tc.err)
		}
		if ae.Type() != tc.typ || ae.NonRetryable() != tc.nonRetryable || ae.NextRetryDelay() != tc.delay {
			t.Errorf("%v: type %s nonRetryable %v delay %v", tc.err, ae.Type(), ae.NonRetryable(), ae.NextRetryDelay())
		}
	}
}

func TestPushToCRMActivity(t *testing.T) {
	wh := crmfake.NewWebhook("k")
	srv := httptest.NewServer(wh)
	defer srv.Close()
	cipher, _ := crm.NewCipher(make([]byte, 32))
	store := crm.NewMemoryStore()
	integ := crm.Integration{Provider: "webhook", InstanceURL: srv.URL, IsEnabled: true, IsLive: true, Config: crm.Config{
		ObjectConfigs: []crm.ObjectConfig{{Key: "Lead", ExternalName: "lead", FieldMappings: []crm.FieldMapping{{FieldName: "subject", SourceAttribute: "subject"}}}},
	}}
	raw, _ := json.Marshal(integ)
	sealed, _ := cipher.Seal("crm_1", crm.Credentials{Secret: "k"})
	_ = store.Create(context.Background(), crm.Record{HeronID: "crm_1", Integration: raw, SealedCredentials: sealed})
	p, err := push.New(push.Options{Store: store, Cipher: cipher})
	if err != nil {
		t.Fatal(err)
	}
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(&Activities{CRM: p})
	val, err := env.ExecuteActivity((&Activities{}).PushToCRM, PushToCRMInput{IntegrationID: "crm_1", NodeID: "push", IdempotencyKey: "wf/push", Record: map[string]any{"subject": "Civic"}})
	if err != nil {
		t.Fatal(err)
	}
	var out PushToCRMOutput
	if err := val.Get(&out); err != nil || len(out.Objects) != 1 || out.Objects[0].ID != "wh_1" {
		t.Fatalf("output %+v %v", out, err)
	}

	wh.InjectFault(crmfake.Fault{Status: 422})
	_, err = env.ExecuteActivity((&Activities{}).PushToCRM, PushToCRMInput{IntegrationID: "crm_1", NodeID: "push", Record: map[string]any{"subject": "Civic"}})
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) || !ae.NonRetryable() {
		t.Fatalf("422 must fail the node at once: %v", err)
	}
}
