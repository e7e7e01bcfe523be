package conecrm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/conecrm/automation-runtime/internal/querybuilder"
)

// Marker is the stable mark an action leaves in what it creates, derived
// from its idempotency key: "[automation-ref 0123456789abcdef]" (64 bits of
// the key's SHA-256). Seed 003 documents no Idempotency-Key header, so a
// retry cannot count on ConeCRM replaying the first answer; it looks for
// the marker instead (FindTasks, FindLeads) and returns what an earlier
// attempt created. The marker goes in a free-text field the create request
// sets and ConeCRM stores as sent: a task's note, a lead copy's subject
// (CopyLeadData has no other free-text field). "" for an empty key.
func Marker(idempotencyKey string) string {
	if idempotencyKey == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(idempotencyKey))
	return "[automation-ref " + hex.EncodeToString(sum[:8]) + "]"
}

// WithMarker appends marker to text after sep, shortening text (by runes)
// so the result fits in limit runes. It is a no-op for an empty marker or a
// text that already ends with it.
func WithMarker(text, sep, marker string, limit int) string {
	if marker == "" || strings.HasSuffix(text, marker) {
		return text
	}
	if text == "" {
		return marker
	}
	room := limit - len([]rune(sep)) - len([]rune(marker))
	if r := []rune(text); len(r) > room {
		text = strings.TrimRight(string(r[:max(room, 0)]), " \n")
	}
	if text == "" {
		return marker
	}
	return text + sep + marker
}

// Rule is one condition of a Filter query: field (a dotted path in the
// entity's JSON) operator value.
type Rule struct {
	Field, Operator, Value string
}

// FilterQuery builds the seed's QueryBuilderQuery that ANDs rules.
func FilterQuery(rules ...Rule) querybuilder.RuleGroup {
	g := querybuilder.RuleGroup{Combinator: "and"}
	for _, r := range rules {
		v, _ := json.Marshal(r.Value)
		g.Rules = append(g.Rules, querybuilder.Item{Rule: &querybuilder.Rule{Field: r.Field, Operator: r.Operator, ValueSource: "value", Value: v}})
	}
	return g
}

// Filter runs seed 003's POST /api/query-builder/filter/{entity} and decodes
// the matching records ("data") into out, a pointer to a slice.
func (c *Client) Filter(ctx context.Context, entity string, q querybuilder.RuleGroup, out any) error {
	var resp struct {
		Success bool            `json:"success"`
		Data    json.RawMessage `json:"data"`
	}
	err := c.do(ctx, call{op: "filter " + entity, object: "entity " + entity, method: http.MethodPost, path: "/api/query-builder/filter/" + url.PathEscape(entity), body: querybuilder.Query{Query: q}, repeatable: true}, &resp)
	if err != nil {
		return err
	}
	if len(resp.Data) == 0 || string(resp.Data) == "null" {
		return nil
	}
	if err := json.Unmarshal(resp.Data, out); err != nil {
		return &Error{Operation: "filter " + entity, Status: http.StatusOK, Err: errors.New("decoding response: unexpected JSON")}
	}
	return nil
}

// FindTasks returns the tasks matching every rule.
func (c *Client) FindTasks(ctx context.Context, rules ...Rule) ([]Task, error) {
	var out []Task
	return out, c.Filter(ctx, "task", FilterQuery(rules...), &out)
}

// FindLeads returns the leads matching every rule.
func (c *Client) FindLeads(ctx context.Context, rules ...Rule) ([]Lead, error) {
	var out []Lead
	return out, c.Filter(ctx, "lead", FilterQuery(rules...), &out)
}
