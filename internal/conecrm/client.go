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
	"strconv"
	"strings"
	"time"
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
}

// Client calls ConeCRM.
type Client struct {
	cfg  Config
	http *http.Client
}

// New returns a client. A nil httpClient uses one with cfg.Timeout.
func New(cfg Config, httpClient *http.Client) *Client {
	if cfg.Timeout == 0 {
		cfg.Timeout = 15 * time.Second
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "conecrm-automation-runtime/1"
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	if httpClient == nil {
		httpClient = &http.Client{Timeout: cfg.Timeout}
	}
	return &Client{cfg: cfg, http: httpClient}
}

// Error is a failed ConeCRM call. Message is ConeCRM's own message when it
// gave one (never the whole body, which may hold personal data).
type Error struct {
	Operation  string
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
	return e.Err != nil || e.Status == http.StatusRequestTimeout || e.Status == http.StatusTooManyRequests || e.Status >= 500
}

// CreateTask creates a task (POST /api/task).
func (c *Client) CreateTask(ctx context.Context, req TaskRequest, idempotencyKey string) (*Task, error) {
	var out Task
	if err := c.do(ctx, "create task", http.MethodPost, "/api/task", req, idempotencyKey, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

const maxErrorMessage = 300

func (c *Client) do(ctx context.Context, op, method, path string, body any, idempotencyKey string, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return &Error{Operation: op, Err: fmt.Errorf("encoding request: %w", err)}
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.cfg.BaseURL+path, rd)
	if err != nil {
		return &Error{Operation: op, Err: err}
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.cfg.UserAgent)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.cfg.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.cfg.Token)
	}
	if idempotencyKey != "" {
		req.Header.Set("Idempotency-Key", idempotencyKey)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return &Error{Operation: op, Err: err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return &Error{Operation: op, Status: resp.StatusCode, Err: fmt.Errorf("reading response: %w", err)}
	}
	if resp.StatusCode >= 300 {
		return &Error{Operation: op, Status: resp.StatusCode, Message: errorMessage(data), RetryAfter: retryAfter(resp.Header.Get("Retry-After"))}
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return &Error{Operation: op, Status: resp.StatusCode, Err: fmt.Errorf("decoding response: %w", err)}
		}
	}
	return nil
}

// errorMessage extracts ConeCRM's message: the seed returns a JSON string,
// {"error": ...} or {"message": ..., "errors": [...]}.
func errorMessage(data []byte) string {
	var s string
	if json.Unmarshal(data, &s) == nil {
		return truncate(s)
	}
	var obj struct {
		Error   string   `json:"error"`
		Message string   `json:"message"`
		Errors  []string `json:"errors"`
	}
	if json.Unmarshal(data, &obj) == nil {
		parts := []string{}
		if obj.Error != "" {
			parts = append(parts, obj.Error)
		}
		if obj.Message != "" {
			parts = append(parts, obj.Message)
		}
		parts = append(parts, obj.Errors...)
		return truncate(strings.Join(parts, "; "))
	}
	return ""
}

func truncate(s string) string {
	r := []rune(s)
	if len(r) > maxErrorMessage {
		return string(r[:maxErrorMessage]) + "…"
	}
	return s
}

func retryAfter(h string) time.Duration {
	if h == "" {
		return 0
	}
	if n, err := strconv.Atoi(strings.TrimSpace(h)); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}

// IsNotFound reports whether err is a ConeCRM 404.
func IsNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == http.StatusNotFound
}
