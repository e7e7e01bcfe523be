// Package conecrm is a typed client for the ConeCRM API endpoints the
// automation runtime calls (seeds/003: tasks, lead copies, stages, accounts).
package conecrm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/conecrm/automation-runtime/internal/retryafter"
)

// Defaults of the stage move. The seed has no endpoint that moves a lead to
// a stage; the runtime assumes PATCH /api/lead/{lead} with
// {"stage": {"id": "<stage>"}} until ConeCRM documents one.
const (
	DefaultStageMoveMethod = http.MethodPatch
	DefaultStageMovePath   = "/api/lead/{lead}"
	DefaultStageMoveField  = "stage"
)

// Environment variables read by FromEnv.
const (
	EnvBaseURL         = "CONECRM_BASE_URL"
	EnvToken           = "CONECRM_TOKEN"
	EnvTimeout         = "CONECRM_TIMEOUT"
	EnvWriteBackWindow = "CONECRM_WRITE_BACK_WINDOW"
	EnvStageMoveMethod = "CONECRM_STAGE_MOVE_METHOD"
	EnvStageMovePath   = "CONECRM_STAGE_MOVE_PATH"
	EnvStageMoveField  = "CONECRM_STAGE_MOVE_FIELD"
)

// Config configures a Client.
type Config struct {
	// BaseURL is ConeCRM's API root, e.g. https://api.conecrm.com.
	BaseURL string
	// Token is the bearer JWT.
	Token string
	// Timeout bounds one HTTP request.
	Timeout time.Duration
	// UserAgent is sent with every request.
	UserAgent string
	// WriteBackWindow bounds one read-merge-write of AddThirdPartyIDs and
	// is how long it waits before verifying (default
	// DefaultWriteBackWindow).
	WriteBackWindow time.Duration

	// StageMoveMethod is the HTTP method of the stage move (default PATCH).
	StageMoveMethod string
	// StageMovePath is the path template of the stage move; {lead} and
	// {stage} are replaced by the escaped ids (default /api/lead/{lead}).
	StageMovePath string
	// StageMoveField is the body field that receives {"id": stage}
	// (default "stage"); "-" sends no body, for paths that carry {stage}.
	StageMoveField string
}

// FromEnv reads CONECRM_BASE_URL (required), CONECRM_TOKEN,
// CONECRM_TIMEOUT (a Go duration, default 15s), CONECRM_WRITE_BACK_WINDOW
// (default 5s, see AddThirdPartyIDs) and the stage-move overrides
// CONECRM_STAGE_MOVE_METHOD, CONECRM_STAGE_MOVE_PATH and
// CONECRM_STAGE_MOVE_FIELD.
func FromEnv() (*Client, error) {
	cfg, err := ConfigFromEnv(os.Getenv)
	if err != nil {
		return nil, err
	}
	return New(cfg, nil), nil
}

// ConfigFromEnv builds a Config from getenv (os.Getenv in production).
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	cfg := Config{
		BaseURL:         strings.TrimSpace(getenv(EnvBaseURL)),
		Token:           strings.TrimSpace(getenv(EnvToken)),
		StageMoveMethod: strings.ToUpper(strings.TrimSpace(getenv(EnvStageMoveMethod))),
		StageMovePath:   strings.TrimSpace(getenv(EnvStageMovePath)),
		StageMoveField:  strings.TrimSpace(getenv(EnvStageMoveField)),
	}
	if cfg.BaseURL == "" {
		return Config{}, fmt.Errorf("%s is not set", EnvBaseURL)
	}
	if u, err := url.Parse(cfg.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return Config{}, fmt.Errorf("%s must be an http(s) URL, got %q", EnvBaseURL, cfg.BaseURL)
	}
	if s := strings.TrimSpace(getenv(EnvTimeout)); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			return Config{}, fmt.Errorf("%s must be a positive duration such as 15s, got %q", EnvTimeout, s)
		}
		cfg.Timeout = d
	}
	if s := strings.TrimSpace(getenv(EnvWriteBackWindow)); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			return Config{}, fmt.Errorf("%s must be a positive duration such as 5s, got %q", EnvWriteBackWindow, s)
		}
		cfg.WriteBackWindow = d
	}
	if err := cfg.validateStageMove(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

func (c *Config) validateStageMove() error {
	switch c.StageMoveMethod {
	case "", http.MethodPatch, http.MethodPost, http.MethodPut:
	default:
		return fmt.Errorf("%s must be PATCH, POST or PUT, got %q", EnvStageMoveMethod, c.StageMoveMethod)
	}
	if c.StageMovePath != "" && (!strings.HasPrefix(c.StageMovePath, "/") || !strings.Contains(c.StageMovePath, "{lead}")) {
		return fmt.Errorf("%s must start with / and contain {lead}, got %q", EnvStageMovePath, c.StageMovePath)
	}
	if c.StageMoveField == "-" && c.StageMovePath != "" && !strings.Contains(c.StageMovePath, "{stage}") {
		return fmt.Errorf("%s=- sends no body, so %s must contain {stage}", EnvStageMoveField, EnvStageMovePath)
	}
	return nil
}

// Client calls ConeCRM. It is safe for concurrent use.
type Client struct {
	cfg  Config
	http *http.Client
	// accountLocks holds a *sync.Mutex per account id (AddThirdPartyIDs).
	accountLocks sync.Map
}

// New returns a client. A nil httpClient uses one with cfg.Timeout.
func New(cfg Config, httpClient *http.Client) *Client {
	if cfg.Timeout == 0 {
		cfg.Timeout = 15 * time.Second
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "conecrm-automation-runtime/1"
	}
	if cfg.StageMoveMethod == "" {
		cfg.StageMoveMethod = DefaultStageMoveMethod
	}
	if cfg.StageMovePath == "" {
		cfg.StageMovePath = DefaultStageMovePath
	}
	if cfg.StageMoveField == "" {
		cfg.StageMoveField = DefaultStageMoveField
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	if httpClient == nil {
		httpClient = &http.Client{Timeout: cfg.Timeout}
	}
	return &Client{cfg: cfg, http: httpClient}
}

// Config returns the client's effective configuration without the token.
func (c *Client) Config() Config {
	cfg := c.cfg
	cfg.Token = ""
	return cfg
}

// Error is a failed ConeCRM call. Message is ConeCRM's own message when it
// gave one (never the whole body, which may hold personal data).
type Error struct {
	Operation string
	// Object names what the call was about ("lead 0192…"), for 404s.
	Object     string
	Status     int
	Message    string
	RetryAfter time.Duration
	Err        error
}

func (e *Error) Error() string {
	switch {
	case e.Err != nil:
		return fmt.Sprintf("ConeCRM %s: %v", e.Operation, e.Err)
	case e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden:
		return fmt.Sprintf("ConeCRM rejected the token/permission for %s (HTTP %d)", e.Operation, e.Status)
	case e.Status == http.StatusNotFound && e.Object != "":
		return fmt.Sprintf("ConeCRM %s: %s not found (HTTP 404)", e.Operation, e.Object)
	case e.Message != "":
		return fmt.Sprintf("ConeCRM %s: HTTP %d: %s", e.Operation, e.Status, e.Message)
	default:
		return fmt.Sprintf("ConeCRM %s: HTTP %d", e.Operation, e.Status)
	}
}

func (e *Error) Unwrap() error { return e.Err }

// Retryable reports whether the call may succeed if retried: network
// errors, 408, 429 and 5xx.
func (e *Error) Retryable() bool {
	if e.Err != nil {
		// A cancelled or expired context is the caller's decision, and
		// Temporal retries the attempt itself after its timeout.
		return true
	}
	return e.Status == http.StatusRequestTimeout || e.Status == http.StatusTooManyRequests || e.Status >= 500
}

// CreateTask creates a task (POST /api/task).
func (c *Client) CreateTask(ctx context.Context, req TaskRequest, idempotencyKey string) (*Task, error) {
	var out Task
	if err := c.do(ctx, call{op: "create task", method: http.MethodPost, path: "/api/task", body: req, key: idempotencyKey}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdateTask updates a task (PATCH /api/task/{task}) with a whole
// TaskRequest, as the seed requires assignee and title; ConeCRM answers
// 404 for an unknown task and 403 for one the token may not edit.
func (c *Client) UpdateTask(ctx context.Context, taskID string, req TaskRequest, idempotencyKey string) (*Task, error) {
	var out Task
	if err := c.do(ctx, call{op: "update task", object: "task " + taskID, method: http.MethodPatch, path: "/api/task/" + url.PathEscape(taskID), body: req, key: idempotencyKey}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// CreateLead creates a lead (POST /api/lead) and returns it with its id.
func (c *Client) CreateLead(ctx context.Context, req LeadRequest, idempotencyKey string) (*Lead, error) {
	var out Lead
	if err := c.do(ctx, call{op: "create lead", method: http.MethodPost, path: "/api/lead", body: req, key: idempotencyKey}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// CopyLead copies lead (POST /api/lead/{lead}/copy) and returns the copy.
func (c *Client) CopyLead(ctx context.Context, leadID string, data CopyLeadData, idempotencyKey string) (*Lead, error) {
	var out Lead
	err := c.do(ctx, call{op: "copy lead", object: "lead " + leadID, method: http.MethodPost, path: "/api/lead/" + url.PathEscape(leadID) + "/copy", body: data, key: idempotencyKey}, &out)
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// ListStages lists the stages (GET /api/stage).
func (c *Client) ListStages(ctx context.Context) ([]Stage, error) {
	var out []Stage
	if err := c.do(ctx, call{op: "list stages", method: http.MethodGet, path: "/api/stage", repeatable: true}, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// GetStage returns one stage (GET /api/stage/{id}); a 404 is an *Error
// for which IsNotFound holds.
func (c *Client) GetStage(ctx context.Context, stageID string) (*Stage, error) {
	var out Stage
	if err := c.do(ctx, call{op: "get stage", object: "stage " + stageID, method: http.MethodGet, path: "/api/stage/" + url.PathEscape(stageID), repeatable: true}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// OpenLeadsOfContact lists a contact's open leads
// (GET /api/contact/{contact}/lead/open).
func (c *Client) OpenLeadsOfContact(ctx context.Context, contactID string) ([]Lead, error) {
	var out []Lead
	if err := c.do(ctx, call{op: "list open leads", object: "contact " + contactID, method: http.MethodGet, path: "/api/contact/" + url.PathEscape(contactID) + "/lead/open", repeatable: true}, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// MoveLeadToStage moves a lead to a stage with the configured call (default
// PATCH /api/lead/{lead} with {"stage": {"id": stage}}) and returns the lead
// as ConeCRM answered, or nil when it answered without a body.
func (c *Client) MoveLeadToStage(ctx context.Context, leadID, stageID, idempotencyKey string) (*Lead, error) {
	path := strings.NewReplacer("{lead}", url.PathEscape(leadID), "{stage}", url.PathEscape(stageID)).Replace(c.cfg.StageMovePath)
	var body any
	if c.cfg.StageMoveField != "-" {
		body = map[string]IDRef{c.cfg.StageMoveField: {ID: stageID}}
	}
	var out Lead
	if err := c.do(ctx, call{op: "move lead to stage", object: "lead " + leadID, method: c.cfg.StageMoveMethod, path: path, body: body, key: idempotencyKey}, &out); err != nil {
		return nil, err
	}
	if out.ID == "" {
		return nil, nil
	}
	return &out, nil
}

// UpdateAccountThirdPartyIDs sends PATCH /api/account/{account} with exactly
// ids as the account's thirdPartyIds. Use WriteThirdPartyIDs to merge.
func (c *Client) UpdateAccountThirdPartyIDs(ctx context.Context, accountID string, ids []ThirdPartyID, idempotencyKey string) (*Account, error) {
	if ids == nil {
		ids = []ThirdPartyID{}
	}
	var out Account
	err := c.do(ctx, call{op: "update account", object: "account " + accountID, method: http.MethodPatch, path: "/api/account/" + url.PathEscape(accountID), body: AccountPatch{ThirdPartyIDs: ids}, key: idempotencyKey, repeatable: true}, &out)
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// ReadAccount returns an account. The seed has no GET /api/account/{id};
// an empty PATCH changes nothing and answers with the account (the seed's
// 200 response is the Account), so that is how it is read.
func (c *Client) ReadAccount(ctx context.Context, accountID string) (*Account, error) {
	var out Account
	if err := c.do(ctx, call{op: "read account", object: "account " + accountID, method: http.MethodPatch, path: "/api/account/" + url.PathEscape(accountID), body: struct{}{}, repeatable: true}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// WriteThirdPartyIDs merges ids into the account's thirdPartyIds by
// systemName (an id for a systemName the account has replaces it; others
// are kept) and writes the result. existing is the account's current list
// when the caller knows it; nil reads it first. It returns the account and
// whether anything changed (no PATCH is sent when nothing would).
func (c *Client) WriteThirdPartyIDs(ctx context.Context, accountID string, existing, ids []ThirdPartyID, idempotencyKey string) (*Account, bool, error) {
	var acc *Account
	if existing == nil {
		var err error
		if acc, err = c.ReadAccount(ctx, accountID); err != nil {
			return nil, false, err
		}
		existing = acc.ThirdPartyIDs
	}
	merged, changed := MergeThirdPartyIDs(existing, ids)
	if !changed {
		if acc == nil {
			acc = &Account{ID: accountID, ThirdPartyIDs: merged}
		}
		return acc, false, nil
	}
	acc, err := c.UpdateAccountThirdPartyIDs(ctx, accountID, merged, idempotencyKey)
	if err != nil {
		return nil, false, err
	}
	return acc, true, nil
}

// MergeThirdPartyIDs returns existing with ids merged in by systemName, in a
// stable order (existing order, then new systems in the order given), each
// entry reduced to systemName, thirdPartyId and metadata, so the same input
// always produces the same request body. changed reports whether any
// systemName gained or changed its id or metadata.
func MergeThirdPartyIDs(existing, ids []ThirdPartyID) (merged []ThirdPartyID, changed bool) {
	merged = make([]ThirdPartyID, 0, len(existing)+len(ids))
	index := map[string]int{}
	for _, e := range existing {
		if i, ok := index[e.SystemName]; ok {
			merged[i] = strip(e)
			continue
		}
		index[e.SystemName] = len(merged)
		merged = append(merged, strip(e))
	}
	for _, n := range ids {
		n = strip(n)
		if i, ok := index[n.SystemName]; ok {
			if merged[i].ThirdPartyID != n.ThirdPartyID || (n.Metadata != nil && !sameString(merged[i].Metadata, n.Metadata)) {
				if n.Metadata == nil {
					n.Metadata = merged[i].Metadata
				}
				merged[i] = n
				changed = true
			}
			continue
		}
		index[n.SystemName] = len(merged)
		merged = append(merged, n)
		changed = true
	}
	return merged, changed
}

func strip(t ThirdPartyID) ThirdPartyID {
	return ThirdPartyID{SystemName: t.SystemName, ThirdPartyID: t.ThirdPartyID, Metadata: t.Metadata}
}

func sameString(a, b *string) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// call is one HTTP call.
type call struct {
	op, object   string
	method, path string
	body         any
	key          string
	// repeatable marks a call that is safe to send again (a read, or a
	// PATCH that sets a whole value): a lone transient failure is retried
	// inline instead of failing the activity attempt.
	repeatable bool
}

// Repeatable calls follow retryafter's inline policy; tests shorten the
// backoff.
var inlineBackoff = retryafter.InlineBackoff

const maxErrorMessage = 300

func (c *Client) do(ctx context.Context, cl call, out any) error {
	for try := 1; ; try++ {
		err := c.once(ctx, cl, out)
		var e *Error
		if err == nil || !cl.repeatable || try >= retryafter.InlineTries || !errors.As(err, &e) || !e.Retryable() || ctx.Err() != nil || e.RetryAfter > retryafter.InlineMaxWait {
			return err
		}
		t := time.NewTimer(max(inlineBackoff(try), e.RetryAfter))
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

func (c *Client) once(ctx context.Context, cl call, out any) error {
	fail := func(status int, err error) error {
		return &Error{Operation: cl.op, Object: cl.object, Status: status, Err: err}
	}
	var rd io.Reader
	if cl.body != nil {
		b, err := json.Marshal(cl.body)
		if err != nil {
			return fail(0, fmt.Errorf("encoding request: %w", err))
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, cl.method, c.cfg.BaseURL+cl.path, rd)
	if err != nil {
		return fail(0, err)
	}
	// net/http resends a request that carries Idempotency-Key by itself
	// when a reused connection dies before the answer. A ConeCRM that
	// ignores the header would run it twice inside one attempt, where the
	// retry's search for an earlier create (activities) cannot step in;
	// without GetBody the transport leaves the retry to the activity.
	req.GetBody = nil
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.cfg.UserAgent)
	if cl.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.cfg.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.cfg.Token)
	}
	if cl.key != "" {
		req.Header.Set("Idempotency-Key", cl.key)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fail(0, redactURL(err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return fail(resp.StatusCode, fmt.Errorf("reading response: %w", err))
	}
	if resp.StatusCode >= 300 {
		return &Error{Operation: cl.op, Object: cl.object, Status: resp.StatusCode, Message: errorMessage(data), RetryAfter: retryafter.FromHeader(resp.Header, time.Now())}
	}
	if out != nil && len(bytes.TrimSpace(data)) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			// Not the body: it may hold personal data.
			return fail(resp.StatusCode, errors.New("decoding response: unexpected JSON"))
		}
	}
	return nil
}

// redactURL drops the query string from a *url.Error's URL; the path holds
// only ids.
func redactURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil {
			u.RawQuery = ""
			return &url.Error{Op: ue.Op, URL: u.String(), Err: ue.Err}
		}
	}
	return err
}

// errorMessage extracts ConeCRM's message: the seed returns a JSON string,
// {"error": ...} or {"message": ..., "errors": [...] or {field: [...]}}.
func errorMessage(data []byte) string {
	var s string
	if json.Unmarshal(data, &s) == nil {
		return truncate(s)
	}
	var obj struct {
		Error   string          `json:"error"`
		Message string          `json:"message"`
		Errors  json.RawMessage `json:"errors"`
	}
	if json.Unmarshal(data, &obj) != nil {
		return ""
	}
	parts := []string{}
	if obj.Error != "" {
		parts = append(parts, obj.Error)
	}
	if obj.Message != "" {
		parts = append(parts, obj.Message)
	}
	var list []string
	var fields map[string]any
	switch {
	case json.Unmarshal(obj.Errors, &list) == nil:
		parts = append(parts, list...)
	case json.Unmarshal(obj.Errors, &fields) == nil:
		keys := make([]string, 0, len(fields))
		for k := range fields {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			parts = append(parts, k+": "+flatten(fields[k]))
		}
	}
	return truncate(strings.Join(parts, "; "))
}

func flatten(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case []any:
		s := make([]string, 0, len(v))
		for _, x := range v {
			s = append(s, flatten(x))
		}
		return strings.Join(s, ", ")
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		s := make([]string, 0, len(v))
		for _, k := range keys {
			s = append(s, k+": "+flatten(v[k]))
		}
		return strings.Join(s, ", ")
	default:
		return fmt.Sprint(v)
	}
}

func truncate(s string) string {
	r := []rune(s)
	if len(r) > maxErrorMessage {
		return string(r[:maxErrorMessage]) + "…"
	}
	return s
}

// IsNotFound reports whether err is a ConeCRM 404.
func IsNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == http.StatusNotFound
}

// IsUnprocessable reports a 422: a body ConeCRM refused, or (as the
// Idempotency-Key draft and the sandbox answer) a key reused with another
// body, which is what a reset run's re-executed create or update meets.
func IsUnprocessable(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == http.StatusUnprocessableEntity
}

// IsKeyReused reports a 422 whose message says the Idempotency-Key was
// reused with a different body.
func IsKeyReused(err error) bool {
	var e *Error
	return IsUnprocessable(err) && errors.As(err, &e) && strings.Contains(strings.ToLower(e.Message), "idempotency-key")
}
