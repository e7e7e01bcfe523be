// Package querybuilder reads ConeCRM's filter format (react-querybuilder's rule groups, the
// seed's QueryBuilderQuery / QueryBuilderRuleGroup / QueryBuilderRule) and translates it to a
// CEL expression over the lead, with the meaning react-querybuilder's own CEL export gives
// (formatQuery(query, {format: "cel", parseNumbers: true})) plus the product's null rule: a
// missing or null field never raises an evaluation error.
package querybuilder

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Query is the seed's QueryBuilderQuery: a rule group under "query". Its JSON decoding also
// accepts a bare rule group.
type Query struct {
	Query RuleGroup `json:"query"`
}

// RuleGroup is the seed's QueryBuilderRuleGroup. Combinator is "and" or "or". A group
// without a combinator may instead carry "and"/"or" strings between its rules
// (react-querybuilder's independent-combinator groups).
type RuleGroup struct {
	ID         string `json:"id,omitempty"`
	Combinator string `json:"combinator,omitempty"`
	Not        bool   `json:"not,omitempty"`
	// Muted groups are left out, as react-querybuilder does.
	Muted bool   `json:"muted,omitempty"`
	Rules []Item `json:"rules"`
}

// Item is one element of a group's rules: exactly one of Rule, Group or Combinator is set.
// JSON decoding decides by shape: a string is a combinator, an object with "rules" a group,
// any other object a rule.
type Item struct {
	Rule       *Rule
	Group      *RuleGroup
	Combinator string
}

// Rule is the seed's QueryBuilderRule. Value is kept as raw JSON because builders send
// strings, numbers, booleans and arrays.
type Rule struct {
	ID       string `json:"id,omitempty"`
	Field    string `json:"field"`
	Operator string `json:"operator"`
	// ValueSource is "value" (the default when empty) or "field", in which case Value names
	// another field (or, for in/notIn/between/notBetween, a list of fields).
	ValueSource string          `json:"valueSource,omitempty"`
	Value       json.RawMessage `json:"value,omitempty"`
	// Muted rules are left out, as react-querybuilder does.
	Muted bool `json:"muted,omitempty"`
}

// Error is a problem with one element of a query; Path is its JSON path from the root group
// (for example "rules[2].rules[0].operator").
type Error struct {
	Path string
	Msg  string
}

func (e *Error) Error() string {
	if e.Path == "" {
		return e.Msg
	}
	return e.Path + ": " + e.Msg
}

// Parse decodes a rule group, either wrapped as {"query": {...}} or bare.
func Parse(data []byte) (RuleGroup, error) {
	var q Query
	if err := json.Unmarshal(data, &q); err != nil {
		return RuleGroup{}, err
	}
	return q.Query, nil
}

// UnmarshalJSON accepts the {"query": {...}} wrapper or a bare rule group.
func (q *Query) UnmarshalJSON(data []byte) error {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(data, &probe); err != nil {
		return &Error{Msg: "query must be a JSON object: " + jsonMessage(err)}
	}
	_, hasQuery := probe["query"]
	_, hasRules := probe["rules"]
	if hasQuery && !hasRules {
		var g RuleGroup
		if err := json.Unmarshal(probe["query"], &g); err != nil {
			return prefixError("query", err)
		}
		q.Query = g
		return nil
	}
	var g RuleGroup
	if err := json.Unmarshal(data, &g); err != nil {
		return err
	}
	q.Query = g
	return nil
}

// UnmarshalJSON decodes a group and its rules, naming the JSON path of any bad element.
func (g *RuleGroup) UnmarshalJSON(data []byte) error {
	var raw struct {
		ID         *string           `json:"id"`
		Combinator *string           `json:"combinator"`
		Not        *bool             `json:"not"`
		Muted      *bool             `json:"muted"`
		Rules      []json.RawMessage `json:"rules"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return &Error{Msg: "rule group: " + jsonMessage(err)}
	}
	*g = RuleGroup{}
	if raw.ID != nil {
		g.ID = *raw.ID
	}
	if raw.Combinator != nil {
		g.Combinator = *raw.Combinator
	}
	if raw.Not != nil {
		g.Not = *raw.Not
	}
	if raw.Muted != nil {
		g.Muted = *raw.Muted
	}
	g.Rules = make([]Item, len(raw.Rules))
	for i, r := range raw.Rules {
		if err := json.Unmarshal(r, &g.Rules[i]); err != nil {
			return prefixError(fmt.Sprintf("rules[%d]", i), err)
		}
	}
	return nil
}

// MarshalJSON writes rules as [] rather than null when there are none: react-querybuilder
// tells groups from rules by an array of rules.
func (g RuleGroup) MarshalJSON() ([]byte, error) {
	type plain RuleGroup
	p := plain(g)
	if p.Rules == nil {
		p.Rules = []Item{}
	}
	return json.Marshal(p)
}

// UnmarshalJSON decides by shape whether the element is a combinator, a group or a rule.
func (it *Item) UnmarshalJSON(data []byte) error {
	*it = Item{}
	data = bytes.TrimSpace(data)
	switch {
	case len(data) > 0 && data[0] == '"':
		return json.Unmarshal(data, &it.Combinator)
	case len(data) > 0 && data[0] == '{':
		var probe map[string]json.RawMessage
		if err := json.Unmarshal(data, &probe); err != nil {
			return &Error{Msg: jsonMessage(err)}
		}
		if rules, ok := probe["rules"]; ok && bytes.HasPrefix(bytes.TrimSpace(rules), []byte("[")) {
			var g RuleGroup
			if err := json.Unmarshal(data, &g); err != nil {
				return err
			}
			it.Group = &g
			return nil
		}
		var r Rule
		if err := json.Unmarshal(data, &r); err != nil {
			return &Error{Msg: "rule: " + jsonMessage(err)}
		}
		it.Rule = &r
		return nil
	default:
		return &Error{Msg: "must be a rule, a rule group or a combinator string"}
	}
}

// MarshalJSON writes the element in react-querybuilder's shape.
func (it Item) MarshalJSON() ([]byte, error) {
	switch {
	case it.Rule != nil:
		return json.Marshal(it.Rule)
	case it.Group != nil:
		return json.Marshal(it.Group)
	default:
		return json.Marshal(it.Combinator)
	}
}

// prefixError puts prefix in front of the path of a decoding error.
func prefixError(prefix string, err error) error {
	var e *Error
	if errors.As(err, &e) {
		p := prefix
		if e.Path != "" {
			p += "." + e.Path
		}
		return &Error{Path: p, Msg: e.Msg}
	}
	return &Error{Path: prefix, Msg: jsonMessage(err)}
}

func jsonMessage(err error) string {
	return strings.TrimPrefix(err.Error(), "json: ")
}
