package validate

import (
	"encoding/json"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Schema is a JSON Schema (draft 2020-12) as a JSON object.
type Schema = map[string]any

var (
	rawMessageType = reflect.TypeFor[json.RawMessage]()
	timeType       = reflect.TypeFor[time.Time]()
)

// SchemaOf describes the JSON form of t, a struct (or pointer to one), as a
// JSON Schema: properties by their JSON names, and the validator tags the
// runtime checks translated (required → required, oneof → enum, max/min →
// maxLength/maxItems/maximum..., ne → not const, uuid/url → format,
// startswith → pattern, dive → items). Cross-field rules (excluded_with,
// required_without) and what a type's compile step checks stay with the
// runtime: the schema accepts a superset of what compiles. Unknown
// properties are allowed, as the runtime keeps them.
func SchemaOf(t reflect.Type) Schema {
	return typeSchema(t, 0)
}

const maxDepth = 8

func typeSchema(t reflect.Type, depth int) Schema {
	if depth > maxDepth {
		return Schema{}
	}
	switch {
	case t == rawMessageType:
		return Schema{} // any JSON value
	case t == timeType:
		return Schema{"type": "string", "format": "date-time"}
	}
	switch t.Kind() {
	case reflect.Pointer:
		s := typeSchema(t.Elem(), depth+1)
		return nullable(s)
	case reflect.String:
		return Schema{"type": "string"}
	case reflect.Bool:
		return Schema{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return Schema{"type": "integer"}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return Schema{"type": "integer", "minimum": 0}
	case reflect.Float32, reflect.Float64:
		return Schema{"type": "number"}
	case reflect.Slice, reflect.Array:
		return Schema{"type": "array", "items": typeSchema(t.Elem(), depth+1)}
	case reflect.Map:
		return Schema{"type": "object", "additionalProperties": typeSchema(t.Elem(), depth+1)}
	case reflect.Struct:
		return structSchema(t, depth)
	}
	return Schema{}
}

// nullable also admits null, which encoding/json reads as the zero value.
func nullable(s Schema) Schema {
	if typ, ok := s["type"].(string); ok {
		s["type"] = []any{typ, "null"}
		return s
	}
	if len(s) == 0 {
		return s
	}
	return Schema{"anyOf": []any{s, Schema{"type": "null"}}}
}

func structSchema(t reflect.Type, depth int) Schema {
	props := Schema{}
	var required []any
	var add func(t reflect.Type)
	add = func(t reflect.Type) {
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" {
				continue
			}
			ft := f.Type
			if f.Anonymous && name == "" {
				if ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if ft.Kind() == reflect.Struct {
					add(ft) // encoding/json promotes its fields
					continue
				}
			}
			if !f.IsExported() {
				continue
			}
			if name == "" {
				name = f.Name
			}
			s, req := fieldSchema(ft, f.Tag.Get("validate"), depth+1)
			props[name] = s
			if req {
				required = append(required, name)
			}
		}
	}
	add(t)
	s := Schema{"type": "object", "properties": props}
	if len(required) > 0 {
		s["required"] = required
	}
	return s
}

// fieldSchema is the schema of a field with validator tag tag, and whether
// the field is required.
func fieldSchema(t reflect.Type, tag string, depth int) (Schema, bool) {
	rules := strings.Split(tag, ",")
	if tag == "" {
		rules = nil
	}
	// Rules after dive apply to the elements.
	var elemRules []string
	for i, r := range rules {
		if r == "dive" {
			rules, elemRules = rules[:i], rules[i+1:]
			break
		}
	}
	base := t
	isPtr := base.Kind() == reflect.Pointer
	if isPtr {
		base = base.Elem()
	}
	s := typeSchema(base, depth)
	if elemRules != nil && (base.Kind() == reflect.Slice || base.Kind() == reflect.Map) {
		elem, _ := fieldSchema(base.Elem(), strings.Join(elemRules, ","), depth+1)
		if base.Kind() == reflect.Slice {
			s["items"] = elem
		} else {
			s["additionalProperties"] = elem
		}
	}
	required, omitEmpty := applyRules(s, base, rules)
	if omitEmpty && base.Kind() == reflect.String {
		s = allowEmptyString(s)
	}
	if isPtr || (!required && (base.Kind() == reflect.Slice || base.Kind() == reflect.Map)) {
		if !required {
			s = nullable(s)
		}
	}
	return s, required
}

// applyRules adds the rules' constraints to s, a schema of a value of type t.
func applyRules(s Schema, t reflect.Type, rules []string) (required, omitEmpty bool) {
	kind := t.Kind()
	for _, r := range rules {
		name, param, _ := strings.Cut(r, "=")
		if strings.Contains(r, "|") {
			continue // alternatives: left to the runtime
		}
		switch name {
		case "omitempty":
			omitEmpty = true
		case "required":
			required = true
			switch kind {
			case reflect.String:
				s["minLength"] = 1
			}
		case "oneof":
			var enum []any
			for v := range strings.FieldsSeq(param) {
				enum = append(enum, enumValue(kind, v))
			}
			s["enum"] = enum
		case "max", "min", "len":
			n, err := strconv.ParseFloat(param, 64)
			if err != nil {
				continue
			}
			for _, key := range boundKeys(kind, name) {
				s[key] = number(n)
			}
		case "ne":
			s["not"] = Schema{"const": enumValue(kind, param)}
		case "eq":
			s["const"] = enumValue(kind, param)
		case "uuid", "uuid4":
			s["format"] = "uuid"
		case "url", "http_url":
			s["format"] = "uri"
			if name == "http_url" {
				s["pattern"] = "^[Hh][Tt][Tt][Pp][Ss]?://"
			}
		case "startswith":
			s["pattern"] = "^" + regexp.QuoteMeta(param)
		}
	}
	return required, omitEmpty
}

func boundKeys(kind reflect.Kind, rule string) []string {
	var prefix string
	switch kind {
	case reflect.String:
		prefix = "Length"
	case reflect.Slice, reflect.Array:
		prefix = "Items"
	case reflect.Map:
		prefix = "Properties"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		switch rule {
		case "max":
			return []string{"maximum"}
		case "min":
			return []string{"minimum"}
		}
		return []string{"const"}
	default:
		return nil
	}
	switch rule {
	case "max":
		return []string{"max" + prefix}
	case "min":
		return []string{"min" + prefix}
	}
	return []string{"min" + prefix, "max" + prefix}
}

func number(n float64) any {
	if n == float64(int64(n)) {
		return int64(n)
	}
	return n
}

func enumValue(kind reflect.Kind, v string) any {
	switch kind {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		if n, err := strconv.ParseFloat(v, 64); err == nil {
			return number(n)
		}
	case reflect.Bool:
		if b, err := strconv.ParseBool(v); err == nil {
			return b
		}
	}
	return v
}

// allowEmptyString admits "" next to s's constraints: with omitempty the
// validator skips an empty string.
func allowEmptyString(s Schema) Schema {
	constrained := false
	for k := range s {
		if k != "type" {
			constrained = true
		}
	}
	if !constrained {
		return s
	}
	if enum, ok := s["enum"].([]any); ok && len(s) == 2 {
		s["enum"] = append([]any{""}, enum...)
		return s
	}
	if _, ok := s["maxLength"]; ok && len(s) == 2 {
		return s // "" is within any maximum
	}
	return Schema{"anyOf": []any{Schema{"const": ""}, s}}
}
