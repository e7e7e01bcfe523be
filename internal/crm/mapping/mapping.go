package mapping

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/conecrm/automation-runtime/internal/crm"
)

// Plan is a compiled integration config. It is immutable and safe for
// concurrent use.
type Plan struct {
	objects []*objectPlan
	byKey   map[string]int
}

type objectPlan struct {
	cfg      *crm.ObjectConfig
	fields   []*fieldPlan
	static   []crm.StaticData
	requires []string // keys of required objects (required_ids and refs)
}

type fieldPlan struct {
	name       string
	path       []string
	staticVal  any
	dateToday  bool
	refKey     string
	selfRef    string
	regex      *regexp.Regexp
	vm         *valueMap
	valueType  string
	maxLength  int
	required   bool
	createOnly bool
	upsertKey  string
}

type valueMap struct {
	exact    map[string]any
	partial  []partialKey // longest first
	def      any
	hasDef   bool
	usesPart bool
}

type partialKey struct {
	lower string
	value any
}

// Compile validates nothing (see crm.Validate) but fails on anything it
// cannot compile, so a Plan never fails for config reasons at map time.
func Compile(cfg *crm.Config) (*Plan, error) {
	vms := map[string]*valueMap{}
	for _, vm := range cfg.ValueMappings {
		c := &valueMap{exact: vm.Mapping, def: vm.DefaultValue, hasDef: vm.DefaultValue != nil, usesPart: vm.UsePartialMatch}
		for k, v := range vm.Mapping {
			c.partial = append(c.partial, partialKey{lower: strings.ToLower(k), value: v})
		}
		slices.SortFunc(c.partial, func(a, b partialKey) int {
			if len(a.lower) != len(b.lower) {
				return len(b.lower) - len(a.lower)
			}
			return strings.Compare(a.lower, b.lower)
		})
		vms[vm.Name] = c
	}
	p := &Plan{byKey: map[string]int{}}
	names := map[string]string{} // key or external name → key
	for _, oc := range cfg.Objects() {
		op := &objectPlan{cfg: oc, static: oc.StaticData}
		self := func(ref string) bool { return ref == oc.Key || ref == oc.ExternalName }
		resolve := func(ref string) (string, error) {
			k, ok := names[ref]
			if !ok {
				return "", fmt.Errorf("object %q refers to %q, which is not an earlier object", oc.Key, ref)
			}
			return k, nil
		}
		for _, rid := range oc.RequiredIDs {
			if self(rid.ExternalName) {
				continue // an object has its own id once written
			}
			k, err := resolve(rid.ExternalName)
			if err != nil {
				return nil, err
			}
			op.requires = appendUnique(op.requires, k)
		}
		for j := range oc.FieldMappings {
			fm := &oc.FieldMappings[j]
			fp := &fieldPlan{
				name:       fm.FieldName,
				staticVal:  fm.StaticValue,
				dateToday:  fm.StaticValueKey == crm.StaticValueKeyDateToday,
				valueType:  strings.ToLower(fm.ValueType),
				required:   fm.Required,
				createOnly: !fm.UpdatesOnOverwrite(),
				upsertKey:  fm.ExternalLookupFieldName,
			}
			fp.path = fm.SourcePath()
			if fm.MaxLength != nil {
				fp.maxLength = *fm.MaxLength
			}
			if fm.RegexRemove != "" {
				re, err := regexp.Compile(fm.RegexRemove)
				if err != nil {
					return nil, fmt.Errorf("object %q field %q: regex_remove: %w", oc.Key, fm.FieldName, err)
				}
				fp.regex = re
			}
			if fm.ValueMappingName != "" {
				vm, ok := vms[fm.ValueMappingName]
				if !ok {
					return nil, fmt.Errorf("object %q field %q: no value mapping %q", oc.Key, fm.FieldName, fm.ValueMappingName)
				}
				fp.vm = vm
			}
			if ref := fm.ExternalObjectNameForID; ref != "" && self(ref) {
				// The object's own id: known from thirdPartyIds on
				// updates, absent on create.
				fp.selfRef = oc.Key
			} else if ref != "" {
				k, err := resolve(ref)
				if err != nil {
					return nil, err
				}
				fp.refKey = k
				op.requires = appendUnique(op.requires, k)
			}
			op.fields = append(op.fields, fp)
		}
		p.byKey[oc.Key] = len(p.objects)
		p.objects = append(p.objects, op)
		names[oc.Key] = oc.Key
		if _, dup := names[oc.ExternalName]; !dup {
			names[oc.ExternalName] = oc.Key
		}
	}
	return p, nil
}

func appendUnique(s []string, v string) []string {
	if slices.Contains(s, v) {
		return s
	}
	return append(s, v)
}

// Keys returns the object keys in push order.
func (p *Plan) Keys() []string {
	out := make([]string, len(p.objects))
	for i, o := range p.objects {
		out[i] = o.cfg.Key
	}
	return out
}

// Options are per-record inputs of Map.
type Options struct {
	// Today is the caller's date (YYYY-MM-DD) for static_value_key date_today.
	Today string
	// Objects restricts the sync to these keys (push order is kept); empty
	// means every object.
	Objects []string
	// KnownIDs are CRM ids from earlier pushes, by object key.
	KnownIDs map[string]string
}

// Result is the outcome of mapping one record.
type Result struct {
	Objects []crm.Object
	// Skipped are optional objects that could not be mapped.
	Skipped []crm.ObjectResult
	// Warnings name optional fields dropped because their value could not
	// be coerced. They never contain values.
	Warnings []string
}

// Map maps a record (the lead, with its contact and account objects).
func (p *Plan) Map(record map[string]any, opts Options) (Result, error) {
	var res Result
	selected := p.objects
	if len(opts.Objects) > 0 {
		selected = make([]*objectPlan, 0, len(opts.Objects))
		for _, o := range p.objects {
			if slices.Contains(opts.Objects, o.cfg.Key) {
				selected = append(selected, o)
			}
		}
		for _, k := range opts.Objects {
			if _, ok := p.byKey[k]; !ok {
				return res, &crm.Error{Provider: "mapping", Object: k, Message: "no object config with this key"}
			}
		}
	}
	inSync := make(map[string]bool, len(selected))
	for _, o := range selected {
		inSync[o.cfg.Key] = true
	}
	res.Objects = make([]crm.Object, 0, len(selected))
	for _, op := range selected {
		obj, err := op.mapObject(record, opts, inSync, &res.Warnings)
		if err != nil {
			if op.cfg.IsOptional {
				res.Skipped = append(res.Skipped, crm.ObjectResult{Key: op.cfg.Key, ExternalName: op.cfg.ExternalName, Error: err.Error()})
				continue
			}
			return res, err
		}
		res.Objects = append(res.Objects, obj)
	}
	return res, nil
}

func (op *objectPlan) mapObject(record map[string]any, opts Options, inSync map[string]bool, warnings *[]string) (crm.Object, error) {
	oc := op.cfg
	obj := crm.Object{
		Key:          oc.Key,
		ExternalName: oc.ExternalName,
		Fields:       make(map[string]any, len(op.fields)+len(op.static)),
		Lookup:       oc.ExternalLookupConfig,
		KnownID:      opts.KnownIDs[oc.Key],
		Optional:     oc.IsOptional,
	}
	for _, k := range op.requires {
		if inSync[k] {
			obj.Requires = append(obj.Requires, k)
		} else if opts.KnownIDs[k] == "" {
			return obj, &crm.Error{Provider: "mapping", Object: oc.Key, Message: fmt.Sprintf("requires the id of %q, which is not part of this sync and has no known id", k)}
		}
	}
	for _, sd := range op.static {
		obj.Fields[sd.Key] = sd.Value
	}
	for _, fp := range op.fields {
		v, err := fp.value(record, opts, inSync)
		if err != nil {
			if fp.required {
				return obj, &crm.Error{Provider: "mapping", Object: oc.Key, Field: fp.name, Message: err.Error()}
			}
			*warnings = append(*warnings, fmt.Sprintf("%s.%s dropped: %v", oc.Key, fp.name, err))
			delete(obj.Fields, fp.name)
			continue
		}
		if isEmpty(v) {
			if fp.required {
				return obj, &crm.Error{Provider: "mapping", Object: oc.Key, Field: fp.name, Message: fmt.Sprintf("required field %s.%s has no value", oc.Key, fp.name)}
			}
			delete(obj.Fields, fp.name)
			continue
		}
		if fp.upsertKey != "" {
			obj.UpsertField = fp.upsertKey
			obj.UpsertValue = crm.FormatValue(v)
		}
		if fp.createOnly {
			delete(obj.Fields, fp.name)
			if obj.CreateOnly == nil {
				obj.CreateOnly = map[string]any{}
			}
			obj.CreateOnly[fp.name] = v
			continue
		}
		obj.Fields[fp.name] = v
	}
	return obj, nil
}

func (fp *fieldPlan) value(record map[string]any, opts Options, inSync map[string]bool) (any, error) {
	switch {
	case fp.selfRef != "":
		return opts.KnownIDs[fp.selfRef], nil
	case fp.refKey != "":
		if inSync[fp.refKey] {
			return crm.ObjectRef{Key: fp.refKey}, nil
		}
		return opts.KnownIDs[fp.refKey], nil
	case fp.dateToday:
		if opts.Today == "" {
			return nil, fmt.Errorf("date_today needs today's date from the caller")
		}
		return fp.transform(opts.Today)
	}
	var v any
	if fp.path != nil {
		v = lookup(record, fp.path)
	}
	if isEmpty(v) && fp.staticVal != nil {
		v = fp.staticVal
	}
	return fp.transform(v)
}

func (fp *fieldPlan) transform(v any) (any, error) {
	if fp.regex != nil && v != nil {
		v = fp.regex.ReplaceAllString(crm.FormatValue(v), "")
	}
	if fp.vm != nil {
		v = fp.vm.apply(v)
	}
	if v == nil {
		return nil, nil
	}
	v, err := coerce(v, fp.valueType)
	if err != nil {
		return nil, err
	}
	if s, ok := v.(string); ok && fp.maxLength > 0 {
		v = truncateRunes(s, fp.maxLength)
	}
	return v, nil
}

func (vm *valueMap) apply(v any) any {
	if v == nil {
		if vm.hasDef {
			return vm.def
		}
		return nil
	}
	s := crm.FormatValue(v)
	if out, ok := vm.exact[s]; ok {
		return out
	}
	if vm.usesPart {
		ls := strings.ToLower(s)
		for _, pk := range vm.partial {
			if pk.lower != "" && strings.Contains(ls, pk.lower) {
				return pk.value
			}
		}
	}
	if vm.hasDef {
		return vm.def
	}
	return v
}

// lookup walks a dotted path through maps and arrays.
func lookup(v any, path []string) any {
	for _, seg := range path {
		switch x := v.(type) {
		case map[string]any:
			v = x[seg]
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

func isEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return strings.TrimSpace(x) == ""
	}
	return false
}

// truncateRunes cuts s to at most n runes.
func truncateRunes(s string, n int) string {
	if len(s) <= n {
		return s // n bytes hold at most n runes
	}
	i, count := 0, 0
	for i < len(s) && count < n {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
		count++
	}
	return s[:i]
}

var dateLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02", "01/02/2006"}

func parseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("not a date or date-time")
}

func coerce(v any, typ string) (any, error) {
	switch typ {
	case "", crm.TypeText:
		switch x := v.(type) {
		case string:
			return x, nil
		case map[string]any, []any:
			b, err := json.Marshal(x)
			return string(b), err
		}
		return crm.FormatValue(v), nil
	case crm.TypePicklist:
		return strings.TrimSpace(crm.FormatValue(v)), nil
	case crm.TypeNumber:
		switch x := v.(type) {
		case float64:
			return x, nil
		case int:
			return float64(x), nil
		case int64:
			return float64(x), nil
		case json.Number:
			return x.Float64()
		case bool:
			if x {
				return 1.0, nil
			}
			return 0.0, nil
		case string:
			s := strings.ReplaceAll(strings.TrimSpace(x), ",", "")
			f, err := strconv.ParseFloat(s, 64)
			if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
				return nil, fmt.Errorf("not a number")
			}
			return f, nil
		}
		return nil, fmt.Errorf("not a number")
	case crm.TypeBoolean:
		switch x := v.(type) {
		case bool:
			return x, nil
		case float64:
			return x != 0, nil
		case string:
			switch strings.ToLower(strings.TrimSpace(x)) {
			case "true", "yes", "y", "1", "on":
				return true, nil
			case "false", "no", "n", "0", "off":
				return false, nil
			}
		}
		return nil, fmt.Errorf("not a boolean")
	case crm.TypeDate, crm.TypeDatetime:
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("not a date or date-time")
		}
		t, err := parseTime(s)
		if err != nil {
			return nil, err
		}
		if typ == crm.TypeDate {
			return t.Format("2006-01-02"), nil
		}
		return t.UTC().Format(time.RFC3339), nil
	}
	return nil, fmt.Errorf("unknown value_type %q", typ)
}
