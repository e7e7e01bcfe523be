package mapping_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/conecrm/automation-runtime/internal/crm"
	"github.com/conecrm/automation-runtime/internal/crm/mapping"
)

func ptr[T any](v T) *T { return &v }

func lead() map[string]any {
	return map[string]any{
		"id":       "lead-1",
		"subject":  "2024 Civic Touring",
		"price":    "31,499.50",
		"hot":      "yes",
		"created":  "2025-03-04T15:04:05-05:00",
		"contact":  map[string]any{"firstName": "Élodie", "lastName": "Tremblay", "primaryEmail": "elodie@example.com", "mobilePhone": "(514) 555-0199"},
		"account":  map[string]any{"id": "acc-1", "name": "Tremblay Autos", "province": "Province of Quebec", "empty": ""},
		"vehicles": []any{map[string]any{"vin": "1HGCM82633A004352"}},
	}
}

// one maps a single field and returns its value (or the error).
func one(t *testing.T, fm crm.FieldMapping, vms ...crm.ValueMapping) (any, bool, error) {
	t.Helper()
	cfg := &crm.Config{ValueMappings: vms, ObjectConfigs: []crm.ObjectConfig{{Key: "Obj", ExternalName: "Obj", FieldMappings: []crm.FieldMapping{fm}}}}
	plan, err := mapping.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	res, err := plan.Map(lead(), mapping.Options{Today: "2025-06-30"})
	if err != nil {
		return nil, false, err
	}
	o := res.Objects[0]
	v, ok := o.Value(fm.FieldName)
	return v, ok, nil
}

func TestFieldOptions(t *testing.T) {
	state := crm.ValueMapping{Name: "state", Mapping: map[string]any{"Quebec": "QC", "Province of Quebec": "QC-exact", "Ontario": "ON"}}
	partial := state
	partial.UsePartialMatch = true
	withDefault := crm.ValueMapping{Name: "state", Mapping: map[string]any{"Ontario": "ON"}, DefaultValue: "ZZ"}
	cases := []struct {
		name string
		fm   crm.FieldMapping
		vms  []crm.ValueMapping
		want any // nil: field absent
		err  string
	}{
		{"source path", crm.FieldMapping{FieldName: "F", SourceAttribute: "contact.lastName"}, nil, "Tremblay", ""},
		{"heron label alias", crm.FieldMapping{FieldName: "F", HeronCompanyAttributeLabel: "account.name"}, nil, "Tremblay Autos", ""},
		{"array index", crm.FieldMapping{FieldName: "F", SourceAttribute: "vehicles.0.vin"}, nil, "1HGCM82633A004352", ""},
		{"missing path omitted", crm.FieldMapping{FieldName: "F", SourceAttribute: "contact.fax"}, nil, nil, ""},
		{"static value", crm.FieldMapping{FieldName: "F", StaticValue: "Web"}, nil, "Web", ""},
		{"static value as fallback", crm.FieldMapping{FieldName: "F", SourceAttribute: "account.empty", StaticValue: "n/a"}, nil, "n/a", ""},
		{"source wins over static", crm.FieldMapping{FieldName: "F", SourceAttribute: "contact.lastName", StaticValue: "n/a"}, nil, "Tremblay", ""},
		{"date_today", crm.FieldMapping{FieldName: "F", StaticValueKey: "date_today"}, nil, "2025-06-30", ""},
		{"date_today as datetime", crm.FieldMapping{FieldName: "F", StaticValueKey: "date_today", ValueType: "Datetime"}, nil, "2025-06-30T00:00:00Z", ""},
		{"value mapping exact", crm.FieldMapping{FieldName: "F", SourceAttribute: "account.province", ValueMappingName: "state"}, []crm.ValueMapping{state}, "QC-exact", ""},
		{"value mapping no partial passes through", crm.FieldMapping{FieldName: "F", StaticValue: "Quebec City", ValueMappingName: "state"}, []crm.ValueMapping{state}, "Quebec City", ""},
		{"value mapping partial longest key", crm.FieldMapping{FieldName: "F", StaticValue: "the province of quebec!", ValueMappingName: "state"}, []crm.ValueMapping{partial}, "QC-exact", ""},
		{"value mapping partial", crm.FieldMapping{FieldName: "F", StaticValue: "QUEBEC city", ValueMappingName: "state"}, []crm.ValueMapping{partial}, "QC", ""},
		{"value mapping default", crm.FieldMapping{FieldName: "F", SourceAttribute: "account.province", ValueMappingName: "state"}, []crm.ValueMapping{withDefault}, "ZZ", ""},
		{"value mapping default for missing", crm.FieldMapping{FieldName: "F", SourceAttribute: "account.nope", ValueMappingName: "state"}, []crm.ValueMapping{withDefault}, "ZZ", ""},
		{"regex remove", crm.FieldMapping{FieldName: "F", SourceAttribute: "contact.mobilePhone", RegexRemove: `[^0-9]`}, nil, "5145550199", ""},
		{"regex before value mapping", crm.FieldMapping{FieldName: "F", StaticValue: "On-tario", RegexRemove: "-", ValueMappingName: "state"}, []crm.ValueMapping{state}, "ON", ""},
		{"max length runes", crm.FieldMapping{FieldName: "F", SourceAttribute: "contact.firstName", MaxLength: ptr(2)}, nil, "Él", ""},
		{"max length longer than value", crm.FieldMapping{FieldName: "F", SourceAttribute: "contact.firstName", MaxLength: ptr(50)}, nil, "Élodie", ""},
		{"number from formatted string", crm.FieldMapping{FieldName: "F", SourceAttribute: "price", ValueType: "Number"}, nil, 31499.5, ""},
		{"number bad optional dropped", crm.FieldMapping{FieldName: "F", SourceAttribute: "subject", ValueType: "number"}, nil, nil, ""},
		{"number bad required fails", crm.FieldMapping{FieldName: "F", SourceAttribute: "subject", ValueType: "number", Required: true}, nil, nil, "not a number"},
		{"boolean yes", crm.FieldMapping{FieldName: "F", SourceAttribute: "hot", ValueType: "boolean"}, nil, true, ""},
		{"boolean false is sent", crm.FieldMapping{FieldName: "F", StaticValue: "no", ValueType: "boolean"}, nil, false, ""},
		{"date from datetime", crm.FieldMapping{FieldName: "F", SourceAttribute: "created", ValueType: "date"}, nil, "2025-03-04", ""},
		{"datetime to UTC", crm.FieldMapping{FieldName: "F", SourceAttribute: "created", ValueType: "datetime"}, nil, "2025-03-04T20:04:05Z", ""},
		{"picklist trims", crm.FieldMapping{FieldName: "F", StaticValue: "  Hot ", ValueType: "picklist"}, nil, "Hot", ""},
		{"text from number", crm.FieldMapping{FieldName: "F", StaticValue: 42.0, ValueType: "text"}, nil, "42", ""},
		{"truncate after coercion", crm.FieldMapping{FieldName: "F", StaticValue: 123456.0, ValueType: "text", MaxLength: ptr(3)}, nil, "123", ""},
		{"required present", crm.FieldMapping{FieldName: "F", SourceAttribute: "contact.lastName", Required: true}, nil, "Tremblay", ""},
		{"required missing", crm.FieldMapping{FieldName: "F", SourceAttribute: "contact.fax", Required: true}, nil, nil, "required field Obj.F has no value"},
		{"required emptied by regex", crm.FieldMapping{FieldName: "F", StaticValue: "---", RegexRemove: "-", Required: true}, nil, nil, "has no value"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok, err := one(t, tc.fm, tc.vms...)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				if e, ok := crm.AsError(err); !ok || e.Retryable || e.Object != "Obj" || e.Field != "F" {
					t.Fatalf("want a non-retryable *crm.Error naming Obj.F, got %#v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.want == nil {
				if ok {
					t.Fatalf("field sent as %#v, want absent", got)
				}
				return
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %#v, want %#v", got, tc.want)
			}
		})
	}
}

func TestObjectOptions(t *testing.T) {
	cfg := &crm.Config{ObjectConfigs: []crm.ObjectConfig{
		{Key: "Account", ExternalName: "Account", FieldMappings: []crm.FieldMapping{
			{FieldName: "Name", SourceAttribute: "account.name", Required: true},
			{FieldName: "Ext__c", SourceAttribute: "account.id", ExternalLookupFieldName: "Ext__c"},
		}, StaticData: []crm.StaticData{{Key: "Type", Value: "Dealer"}, {Key: "Name", Value: "overridden"}}},
		{Key: "Broken", ExternalName: "Case", IsOptional: true, FieldMappings: []crm.FieldMapping{
			{FieldName: "Subject", SourceAttribute: "nope", Required: true},
		}},
		{Key: "Contact", ExternalName: "Contact", FieldMappings: []crm.FieldMapping{
			{FieldName: "LastName", SourceAttribute: "contact.lastName"},
			{FieldName: "Source", StaticValue: "ConeCRM", OverwriteOnUpdate: ptr(false)},
			{FieldName: "AccountId", ExternalObjectNameForID: "Account"},
		}, RequiredIDs: []crm.IDRef{{ExternalName: "Account"}}},
	}}
	plan, err := mapping.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	res, err := plan.Map(lead(), mapping.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Objects) != 2 || len(res.Skipped) != 1 || res.Skipped[0].Key != "Broken" || !strings.Contains(res.Skipped[0].Error, "Subject") {
		t.Fatalf("optional object not skipped: %+v", res)
	}
	acc, con := res.Objects[0], res.Objects[1]
	if acc.Fields["Name"] != "Tremblay Autos" || acc.Fields["Type"] != "Dealer" {
		t.Errorf("static_data/field precedence: %v", acc.Fields)
	}
	if acc.UpsertField != "Ext__c" || acc.UpsertValue != "acc-1" {
		t.Errorf("upsert key: %q=%q", acc.UpsertField, acc.UpsertValue)
	}
	if _, onUpdate := con.Fields["Source"]; onUpdate || con.CreateOnly["Source"] != "ConeCRM" {
		t.Errorf("overwrite_on_update false: fields %v create-only %v", con.Fields, con.CreateOnly)
	}
	if con.Fields["AccountId"] != (crm.ObjectRef{Key: "Account"}) || !reflect.DeepEqual(con.Requires, []string{"Account"}) {
		t.Errorf("external_object_name_for_id: %v requires %v", con.Fields["AccountId"], con.Requires)
	}

	// Only the contact: the account's id must be known, and is then inlined.
	if _, err := plan.Map(lead(), mapping.Options{Objects: []string{"Contact"}}); err == nil || !strings.Contains(err.Error(), "no known id") {
		t.Fatalf("want missing id error, got %v", err)
	}
	res, err = plan.Map(lead(), mapping.Options{Objects: []string{"Contact"}, KnownIDs: map[string]string{"Account": "001A", "Contact": "003C"}})
	if err != nil {
		t.Fatal(err)
	}
	if c := res.Objects[0]; c.Fields["AccountId"] != "001A" || len(c.Requires) != 0 || c.KnownID != "003C" {
		t.Fatalf("known ids: %+v", c)
	}
	if _, err := plan.Map(lead(), mapping.Options{Objects: []string{"Nope"}}); err == nil {
		t.Fatal("unknown object key accepted")
	}
}

// fortyFields builds an object config with 40 mappings mixing every option.
func fortyFields() *crm.Config {
	var fms []crm.FieldMapping
	for i := range 40 {
		fm := crm.FieldMapping{FieldName: fmt.Sprintf("Field_%d__c", i)}
		switch i % 8 {
		case 0:
			fm.SourceAttribute, fm.MaxLength = "contact.firstName", ptr(3)
		case 1:
			fm.SourceAttribute, fm.RegexRemove = "contact.mobilePhone", `[^0-9]`
		case 2:
			fm.SourceAttribute, fm.ValueMappingName = "account.province", "state"
		case 3:
			fm.SourceAttribute, fm.ValueType = "price", "number"
		case 4:
			fm.SourceAttribute, fm.ValueType = "created", "datetime"
		case 5:
			fm.StaticValueKey, fm.ValueType = "date_today", "date"
		case 6:
			fm.SourceAttribute, fm.ValueType, fm.Required = "hot", "boolean", true
		case 7:
			fm.StaticValue, fm.OverwriteOnUpdate = "ConeCRM", ptr(false)
		}
		fms = append(fms, fm)
	}
	return &crm.Config{
		ValueMappings: []crm.ValueMapping{{Name: "state", UsePartialMatch: true, DefaultValue: "ZZ", Mapping: map[string]any{"Quebec": "QC", "Ontario": "ON", "Alberta": "AB", "Manitoba": "MB"}}},
		ObjectConfigs: []crm.ObjectConfig{{Key: "Lead", ExternalName: "Lead", FieldMappings: fms}},
	}
}

func BenchmarkMap40Fields(b *testing.B) {
	plan, err := mapping.Compile(fortyFields())
	if err != nil {
		b.Fatal(err)
	}
	rec := lead()
	opts := mapping.Options{Today: "2025-06-30"}
	b.ReportAllocs()
	for b.Loop() {
		res, err := plan.Map(rec, opts)
		if err != nil || len(res.Objects[0].Fields)+len(res.Objects[0].CreateOnly) != 40 {
			b.Fatal(err, res)
		}
	}
}

// The data source account is the first object; objects after it use its
// id; heron_company_attribute_label is a dotted path into the lead event,
// "lead." included; the account's reference to itself is its known id.
func TestDataSourceAccountFirst(t *testing.T) {
	cfg := &crm.Config{
		DataSourceAccountsConfig: &crm.ObjectConfig{Key: "Account", ExternalName: "Account",
			FieldMappings: []crm.FieldMapping{
				{FieldName: "Name", HeronCompanyAttributeLabel: "lead.account.name", Required: true},
				{FieldName: "Email__c", HeronCompanyAttributeLabel: "contact.primaryEmail"},
				{FieldName: "Self__c", ExternalObjectNameForID: "Account"},
			},
			RequiredIDs: []crm.IDRef{{Alias: "Company", ExternalName: "Account"}}},
		ObjectConfigs: []crm.ObjectConfig{{Key: "Contact", ExternalName: "Contact",
			FieldMappings: []crm.FieldMapping{{FieldName: "LastName", SourceAttribute: "contact.lastName"}, {FieldName: "AccountId", ExternalObjectNameForID: "Account"}},
			RequiredIDs:   []crm.IDRef{{ExternalName: "Account"}}}},
	}
	plan, err := mapping.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := plan.Keys(); !reflect.DeepEqual(got, []string{"Account", "Contact"}) {
		t.Fatalf("push order %v", got)
	}
	for _, tc := range []struct {
		name  string
		known map[string]string
		self  any
	}{
		{"create", nil, nil},
		{"update", map[string]string{"Account": "001X"}, "001X"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := plan.Map(lead(), mapping.Options{KnownIDs: tc.known})
			if err != nil {
				t.Fatal(err)
			}
			acc, con := res.Objects[0], res.Objects[1]
			if acc.Fields["Name"] != "Tremblay Autos" || acc.Fields["Email__c"] != "elodie@example.com" || len(acc.Requires) != 0 {
				t.Fatalf("account %+v", acc)
			}
			if v, ok := acc.Fields["Self__c"]; tc.self == nil && ok || tc.self != nil && v != tc.self {
				t.Fatalf("Self__c = %v (%v), want %v", v, ok, tc.self)
			}
			if con.Fields["AccountId"] != (crm.ObjectRef{Key: "Account"}) || !reflect.DeepEqual(con.Requires, []string{"Account"}) {
				t.Fatalf("contact %+v", con)
			}
		})
	}
	// object_configs may be empty: the account alone is pushed.
	cfg.ObjectConfigs = nil
	plan, err = mapping.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	res, err := plan.Map(lead(), mapping.Options{})
	if err != nil || len(res.Objects) != 1 || res.Objects[0].Key != "Account" {
		t.Fatalf("account only: %+v %v", res.Objects, err)
	}
}
