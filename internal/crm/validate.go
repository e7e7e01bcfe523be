package crm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"

	"github.com/go-playground/validator/v10"

	"github.com/conecrm/automation-runtime/internal/validate"
)

// ValidationError lists every problem found in an integration, located by
// JSON paths from the document root ("$.config.object_configs[0].key").
type ValidationError struct {
	Problems validate.Problems
}

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.String()
	}
	return "invalid crm integration: " + strings.Join(parts, "; ")
}

// Validator returns the runtime's one shared validator (internal/validate),
// which names fields by their JSON names.
func Validator() *validator.Validate { return validate.Validator() }

// DecodeInput parses a POST or PATCH body strictly: unknown fields are
// reported rather than silently dropped, so a misspelt option is noticed.
func DecodeInput(data []byte, into *IntegrationInput) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(into); err != nil {
		return &ValidationError{Problems: validate.Problems{decodeProblem(err)}}
	}
	if dec.More() {
		return &ValidationError{Problems: validate.Problems{{Path: "$", Message: "trailing data after the JSON object"}}}
	}
	return nil
}

func decodeProblem(err error) validate.Problem {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		path := "$"
		if f := strings.TrimPrefix(te.Field, "Integration."); f != "" && f != "Integration" {
			path += "." + f
		}
		return validate.Problem{Path: path, Message: fmt.Sprintf("must be %s, not %s", jsonKind(te.Type), te.Value)}
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return validate.Problem{Path: "$", Message: fmt.Sprintf("malformed JSON at byte %d", se.Offset)}
	}
	msg := err.Error()
	if f, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		return validate.Problem{Path: "$", Message: "unknown field " + f}
	}
	return validate.Problem{Path: "$", Message: strings.TrimPrefix(msg, "json: ")}
}

func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int64, reflect.Float64:
		return "a number"
	case reflect.Slice:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return t.String()
}

var (
	identRe      = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,79}$`)
	pathSegment  = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_-]*|[0-9]+)$`)
	validTypes   = map[string]bool{TypeText: true, TypeNumber: true, TypeBoolean: true, TypeDate: true, TypeDatetime: true, TypePicklist: true}
	openIntKeys  = map[string][]string{"account": {"domain", "website"}, "contact": {"email"}}
	identChecked = map[string]bool{ProviderSalesforce: true, ProviderHubSpot: true}
)

// Validate checks an integration with the shared validator and the semantic
// rules, returning a *ValidationError listing every problem, or nil.
func Validate(in *Integration) error {
	var problems validate.Problems
	for _, p := range validate.Fields(in) {
		p.Path = joinPath("$", p.Path)
		problems = append(problems, p)
	}
	problems = append(problems, semanticProblems(in)...)
	if len(problems) > 0 {
		return &ValidationError{Problems: problems}
	}
	return nil
}

// joinPath appends a path relative to the integration to its root.
func joinPath(root, rel string) string {
	if rel == "" {
		return root
	}
	return root + "." + rel
}

func semanticProblems(in *Integration) validate.Problems {
	var ps validate.Problems
	add := func(path, format string, args ...any) {
		ps = append(ps, validate.Problem{Path: path, Message: fmt.Sprintf(format, args...)})
	}
	cfg := &in.Config

	mappings := map[string]bool{}
	for i, vm := range cfg.ValueMappings {
		if vm.Name == "" {
			continue
		}
		if mappings[vm.Name] {
			add(fmt.Sprintf("$.config.value_mappings[%d].name", i), "duplicate value mapping name %q", vm.Name)
		}
		mappings[vm.Name] = true
	}

	// seen holds keys and external names of the objects pushed so far, so
	// references can only point backwards: ids come from earlier objects.
	// The data source account is pushed first.
	seen := map[string]bool{}
	keys := map[string]bool{}
	for i, oc := range cfg.Objects() {
		base := cfg.objectPath(i)
		if oc.Key != "" {
			if keys[oc.Key] {
				add(base+".key", "duplicate object key %q", oc.Key)
			}
			keys[oc.Key] = true
		}
		ps = append(ps, objectProblems(in.Provider, oc, base, mappings, seen)...)
		seen[oc.Key] = true
		seen[oc.ExternalName] = true
	}
	if d := cfg.DefaultID; d != nil && d.ExternalName != "" && !seen[d.ExternalName] {
		add("$.config.default_id.external_name", "no object (data_source_accounts_config or object_configs) has key or external_name %q", d.ExternalName)
	}
	if in.Provider == ProviderOpenInt && in.InstanceURL == "" {
		add("$.instance_url", "is required")
	}
	return ps
}

func objectProblems(provider string, oc *ObjectConfig, base string, mappings, earlier map[string]bool) validate.Problems {
	var ps validate.Problems
	add := func(path, format string, args ...any) {
		ps = append(ps, validate.Problem{Path: path, Message: fmt.Sprintf(format, args...)})
	}
	checkIdent := identChecked[provider]
	if checkIdent && oc.ExternalName != "" && !identRe.MatchString(oc.ExternalName) {
		add(base+".external_name", "must be an API name (letters, digits, underscores)")
	}
	allowedKeys, isOpenIntObject := openIntKeys[strings.ToLower(oc.ExternalName)]
	if provider == ProviderOpenInt && oc.ExternalName != "" && !isOpenIntObject {
		add(base+".external_name", "OpenInt supports the objects account and contact")
	}
	fields := map[string]bool{}
	upsertKeys := 0
	for j := range oc.FieldMappings {
		fm := &oc.FieldMappings[j]
		fp := fmt.Sprintf("%s.field_mappings[%d]", base, j)
		if fm.FieldName != "" {
			if fields[fm.FieldName] {
				add(fp+".field_name", "duplicate field %q in object %q", fm.FieldName, oc.Key)
			}
			fields[fm.FieldName] = true
			if checkIdent && !identRe.MatchString(fm.FieldName) {
				add(fp+".field_name", "must be an API name (letters, digits, underscores)")
			}
		}
		if fm.SourceAttribute != "" && fm.HeronCompanyAttributeLabel != "" && fm.SourceAttribute != fm.HeronCompanyAttributeLabel {
			add(fp+".heron_company_attribute_label", "differs from source_attribute; set only one")
		}
		if src := fm.Source(); src != "" {
			for seg := range strings.SplitSeq(src, ".") {
				if !pathSegment.MatchString(seg) {
					add(fp+".source_attribute", "invalid attribute path %q", src)
					break
				}
			}
		}
		sources := 0
		for _, set := range []bool{fm.Source() != "", fm.StaticValue != nil, fm.StaticValueKey != "", fm.ExternalObjectNameForID != ""} {
			if set {
				sources++
			}
		}
		switch {
		case sources == 0:
			add(fp, "needs a value source: source_attribute, static_value, static_value_key or external_object_name_for_id")
		case fm.ExternalObjectNameForID != "" && sources > 1:
			add(fp+".external_object_name_for_id", "cannot be combined with another value source")
		case fm.StaticValueKey != "" && sources > 1:
			add(fp+".static_value_key", "cannot be combined with another value source")
		}
		if ref := fm.ExternalObjectNameForID; ref != "" && !earlier[ref] && !isSelf(oc, ref) {
			add(fp+".external_object_name_for_id", "%q is not an object pushed before %q", ref, oc.Key)
		}
		if name := fm.ValueMappingName; name != "" && !mappings[name] {
			add(fp+".value_mapping_name", "no value mapping named %q", name)
		}
		if fm.RegexRemove != "" {
			if _, err := regexp.Compile(fm.RegexRemove); err != nil {
				add(fp+".regex_remove", "does not compile: %s", strings.TrimPrefix(err.Error(), "error parsing regexp: "))
			}
		}
		if fm.ValueType != "" && !validTypes[strings.ToLower(fm.ValueType)] {
			add(fp+".value_type", "must be one of: text, number, boolean, date, datetime, picklist")
		}
		if k := fm.ExternalLookupFieldName; k != "" {
			upsertKeys++
			if checkIdent && !identRe.MatchString(k) {
				add(fp+".external_lookup_field_name", "must be an API name (letters, digits, underscores)")
			}
			if provider == ProviderOpenInt && isOpenIntObject && !contains(allowedKeys, k) {
				add(fp+".external_lookup_field_name", "OpenInt upserts %s on: %s", strings.ToLower(oc.ExternalName), strings.Join(allowedKeys, ", "))
			}
		}
	}
	if upsertKeys > 1 {
		add(base+".field_mappings", "at most one field may set external_lookup_field_name")
	}
	if provider == ProviderOpenInt && upsertKeys == 0 && isOpenIntObject {
		add(base+".field_mappings", "OpenInt upserts need one field with external_lookup_field_name (%s)", strings.Join(allowedKeys, " or "))
	}
	if lc := oc.ExternalLookupConfig; lc != nil {
		for kind, list := range map[string][]string{"external_lookup_fields_and": lc.FieldsAnd, "external_lookup_fields_or": lc.FieldsOr} {
			for k, f := range list {
				if f != "" && !fields[f] {
					add(fmt.Sprintf("%s.external_lookup_config.%s[%d]", base, kind, k), "%q is not a mapped field of %q", f, oc.Key)
				}
			}
		}
		if checkIdent && lc.SortFieldName != "" && !identRe.MatchString(lc.SortFieldName) {
			add(base+".external_lookup_config.sort_field_name", "must be an API name (letters, digits, underscores)")
		}
	}
	for k, rid := range oc.RequiredIDs {
		if rid.ExternalName != "" && !earlier[rid.ExternalName] && !isSelf(oc, rid.ExternalName) {
			add(fmt.Sprintf("%s.required_ids[%d].external_name", base, k), "%q is not an object pushed before %q", rid.ExternalName, oc.Key)
		}
	}
	for k, sd := range oc.StaticData {
		if checkIdent && sd.Key != "" && !identRe.MatchString(sd.Key) {
			add(fmt.Sprintf("%s.static_data[%d].key", base, k), "must be an API name (letters, digits, underscores)")
		}
	}
	return ps
}

// isSelf reports whether ref names oc itself. Heron's examples list the
// account in its own required_ids; an object always has its own id once
// written, so such a reference is satisfied (and a field referring to its
// own object carries the object's known id).
func isSelf(oc *ObjectConfig, ref string) bool {
	return ref == oc.Key || ref == oc.ExternalName
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
