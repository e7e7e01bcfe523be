package plan

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"

	"github.com/conecrm/automation-runtime/internal/automation"
	"github.com/conecrm/automation-runtime/internal/nodes"
)

var rawMessageType = reflect.TypeFor[json.RawMessage]()

// knownData keeps, in each node's data, only the fields its node type (or
// every node: label, onError, timeout) decodes, at every depth. What the
// builder adds for itself (colours, collapsed sections, notes...) then does
// not change the version. Keys match case-insensitively, as encoding/json
// decodes them.
func knownData(reg *nodes.Registry) automation.DataFilter {
	return func(nodeType string, data json.RawMessage) json.RawMessage {
		def, ok := reg.Lookup(nodeType)
		if !ok || len(bytes.TrimSpace(data)) == 0 {
			return data
		}
		impl := reflect.TypeOf(def.New())
		common := reflect.TypeFor[common]()
		return filterJSON(data, func(key string) (reflect.Type, bool) {
			if t, ok := fieldType(common, key); ok {
				return t, true
			}
			return fieldType(impl, key)
		})
	}
}

// filterJSON keeps the keys of a JSON object that lookup knows, filtering
// their values by the type it returns.
func filterJSON(raw json.RawMessage, lookup func(string) (reflect.Type, bool)) json.RawMessage {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
		return raw
	}
	out := make(map[string]json.RawMessage, len(obj))
	for k, v := range obj {
		if t, ok := lookup(k); ok {
			out[k] = filterValue(t, v)
		}
	}
	b, err := json.Marshal(out)
	if err != nil {
		return raw
	}
	return b
}

func filterValue(t reflect.Type, raw json.RawMessage) json.RawMessage {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == rawMessageType {
		return raw
	}
	switch t.Kind() {
	case reflect.Struct:
		return filterJSON(raw, func(key string) (reflect.Type, bool) { return fieldType(t, key) })
	case reflect.Slice, reflect.Array:
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil || items == nil {
			return raw
		}
		for i := range items {
			items[i] = filterValue(t.Elem(), items[i])
		}
		if b, err := json.Marshal(items); err == nil {
			return b
		}
	case reflect.Map:
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil || m == nil {
			return raw
		}
		for k := range m {
			m[k] = filterValue(t.Elem(), m[k])
		}
		if b, err := json.Marshal(m); err == nil {
			return b
		}
	}
	return raw
}

// fieldType finds the exported field that encoding/json decodes key into,
// looking through embedded structs.
func fieldType(t reflect.Type, key string) (reflect.Type, bool) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil, false
	}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if f.Anonymous && name == "" {
			if ft, ok := fieldType(f.Type, key); ok {
				return ft, true
			}
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if strings.EqualFold(name, key) {
			return f.Type, true
		}
	}
	return nil, false
}
