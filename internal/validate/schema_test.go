package validate

import (
	"encoding/json"
	"reflect"
	"testing"
)

type schemaSample struct {
	Kind    string            `json:"kind,omitempty" validate:"omitempty,oneof=CALL SMS"`
	Title   string            `json:"title" validate:"required,max=5"`
	Code    string            `json:"code,omitempty" validate:"omitempty,min=2"`
	ID      string            `json:"id,omitempty" validate:"omitempty,uuid"`
	Handle  string            `json:"handle" validate:"ne=default"`
	Prefix  string            `json:"prefix" validate:"startswith=sk_"`
	Days    []string          `json:"days" validate:"required,min=1,max=7,dive,oneof=MON TUE"`
	Tags    []string          `json:"tags,omitempty" validate:"max=3,dive,required,max=10"`
	Headers map[string]string `json:"headers,omitempty" validate:"max=2"`
	Count   int               `json:"count" validate:"min=1,max=9"`
	Inner   *schemaInner      `json:"inner,omitempty"`
	Raw     json.RawMessage   `json:"raw,omitempty"`
	Skipped string            `json:"-"`
	NoTag   bool
	schemaEmbedded
	//lint:ignore U1000 an unexported field the schema must leave out
	hidden string
}

type schemaInner struct {
	Open string `json:"open" validate:"required"`
}

type schemaEmbedded struct {
	Promoted string `json:"promoted,omitempty" validate:"max=4"`
}

func TestSchemaOf(t *testing.T) {
	s := SchemaOf(reflect.TypeFor[schemaSample]())
	props := s["properties"].(Schema)
	want := map[string]Schema{
		"kind":     {"type": "string", "enum": []any{"", "CALL", "SMS"}},
		"title":    {"type": "string", "minLength": 1, "maxLength": int64(5)},
		"code":     {"anyOf": []any{Schema{"const": ""}, Schema{"type": "string", "minLength": int64(2)}}},
		"id":       {"anyOf": []any{Schema{"const": ""}, Schema{"type": "string", "format": "uuid"}}},
		"handle":   {"type": "string", "not": Schema{"const": "default"}},
		"prefix":   {"type": "string", "pattern": `^sk_`},
		"days":     {"type": "array", "minItems": int64(1), "maxItems": int64(7), "items": Schema{"type": "string", "enum": []any{"MON", "TUE"}}},
		"tags":     {"type": []any{"array", "null"}, "maxItems": int64(3), "items": Schema{"type": "string", "minLength": 1, "maxLength": int64(10)}},
		"headers":  {"type": []any{"object", "null"}, "maxProperties": int64(2), "additionalProperties": Schema{"type": "string"}},
		"count":    {"type": "integer", "minimum": int64(1), "maximum": int64(9)},
		"inner":    {"type": []any{"object", "null"}, "properties": Schema{"open": Schema{"type": "string", "minLength": 1}}, "required": []any{"open"}},
		"raw":      {},
		"NoTag":    {"type": "boolean"},
		"promoted": {"type": "string", "maxLength": int64(4)},
	}
	for name, w := range want {
		if got := props[name]; !reflect.DeepEqual(got, w) {
			t.Errorf("%s:\n got %#v\nwant %#v", name, got, w)
		}
	}
	for _, name := range []string{"Skipped", "-", "hidden", "schemaEmbedded"} {
		if _, ok := props[name]; ok {
			t.Errorf("%s is described", name)
		}
	}
	if len(props) != len(want) {
		t.Errorf("%d properties, want %d: %v", len(props), len(want), props)
	}
	if !reflect.DeepEqual(s["required"], []any{"title", "days"}) {
		t.Errorf("required %v", s["required"])
	}
}
