package nodes

import (
	"fmt"
	"net/url"
	"sort"
	"strings"

	"go.temporal.io/sdk/workflow"

	"github.com/conecrm/automation-runtime/activities"
	"github.com/conecrm/automation-runtime/internal/expr"
)

var webhookDef = Definition{
	Type:        "webhook",
	Category:    CategoryAction,
	Description: "Calls an HTTP endpoint with a rendered body; header values may reference secrets.",
	Handles:     []string{Plain, HandleError},
	Required:    []string{Plain},
	New:         func() Node { return &Webhook{} },
	Activity:    webhookActivity,
}

var webhookActivity = NewActivity((*activities.Activities).CallWebhook,
	func(activities.WebhookInput, int) activities.WebhookOutput {
		return activities.WebhookOutput{Status: 200}
	})

// Webhook calls an external endpoint. Header values of the form
// "secret:NAME" are resolved by the activity from the worker's environment
// (WEBHOOK_SECRET_NAME), so secrets never enter the workflow's history.
type Webhook struct {
	URL     string            `json:"url" validate:"required,max=2000"`
	Method  string            `json:"method,omitempty" validate:"omitempty,oneof=POST PUT PATCH GET DELETE"`
	Headers map[string]string `json:"headers,omitempty" validate:"max=30"`
	Body    string            `json:"body,omitempty" validate:"max=100000"`

	url, body  *expr.Template
	headerKeys []string
	headers    map[string]*expr.Template
}

func (n *Webhook) Compile(c *Compiler) {
	if n.URL != "" && !expr.IsTemplate(n.URL) {
		u, err := url.Parse(n.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			c.Problemf("url", "must be an absolute http(s) URL, got %q", n.URL)
		}
	}
	n.url = c.Template("url", n.URL)
	n.body = c.Template("body", n.Body)
	n.headers = map[string]*expr.Template{}
	for k := range n.Headers {
		n.headerKeys = append(n.headerKeys, k)
	}
	sort.Strings(n.headerKeys) // deterministic order
	for _, k := range n.headerKeys {
		v := n.Headers[k]
		if !validHeaderName(k) {
			c.Problemf("headers", "%q is not a valid HTTP header name", k)
		}
		if name, ok := strings.CutPrefix(v, "secret:"); ok {
			if name == "" {
				c.Problemf("headers."+k, "secret reference needs a name (secret:NAME)")
			}
			continue
		}
		n.headers[k] = c.Template("headers."+k, v)
	}
}

func (n *Webhook) Run(ctx workflow.Context, x Exec) (Outcome, error) {
	r := renderer{v: x.Vars()}
	in := activities.WebhookInput{
		NodeID:         x.NodeID(),
		IdempotencyKey: x.IdempotencyKey(),
		URL:            r.render("url", n.url),
		Method:         orDefault(n.Method, "POST"),
		Body:           r.render("body", n.body),
	}
	for _, k := range n.headerKeys {
		v := n.Headers[k]
		if name, ok := strings.CutPrefix(v, "secret:"); ok {
			in.SecretHeaders = append(in.SecretHeaders, activities.SecretHeader{Header: k, Secret: name})
			continue
		}
		in.Headers = append(in.Headers, activities.Header{Name: k, Value: r.render("headers."+k, n.headers[k])})
	}
	if err := r.err(); err != nil {
		return Outcome{}, Invalid(err)
	}
	host := in.URL
	if u, err := url.Parse(in.URL); err == nil {
		host = u.Host
	}
	out, err := webhookActivity.Execute(ctx, x, fmt.Sprintf("Call webhook %s %s", in.Method, host), in)
	if err != nil {
		return Outcome{}, err
	}
	return Outcome{Handle: Plain, Output: out, Summary: fmt.Sprintf("webhook answered %d", out.Status)}, nil
}

// validHeaderName reports whether s is an HTTP token (RFC 9110 section 5.1).
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case strings.ContainsRune("!#$%&'*+-.^_`|~", r):
		default:
			return false
		}
	}
	return true
}
