package crm_test

import (
	"encoding/base64"
	"os"
	"strings"
	"testing"

	"github.com/conecrm/automation-runtime/internal/crm"
)

func loadInput(t testing.TB, file string) crm.IntegrationInput {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var in crm.IntegrationInput
	if err := crm.DecodeInput(data, &in); err != nil {
		t.Fatal(err)
	}
	return in
}

func TestValidateAcceptsExample(t *testing.T) {
	in := loadInput(t, "testdata/salesforce.json")
	if err := crm.Validate(&in.Integration); err != nil {
		t.Fatal(err)
	}
}

func TestValidateReportsEveryProblemWithPath(t *testing.T) {
	in := loadInput(t, "testdata/salesforce.json")
	in.Provider = "pipedrive"
	oc := &in.Config.ObjectConfigs
	(*oc)[1].Key = "Account"                                // duplicate key
	(*oc)[0].FieldMappings[1].RegexRemove = "[a-"           // does not compile
	(*oc)[0].FieldMappings[2].ValueMappingName = "province" // unknown mapping
	(*oc)[0].FieldMappings[0].ValueType = "money"
	(*oc)[0].RequiredIDs = []crm.IDRef{{ExternalName: "Opportunity"}} // not earlier
	(*oc)[2].FieldMappings[0].FieldName = ""
	err := crm.Validate(&in.Integration)
	ve, ok := err.(*crm.ValidationError)
	if !ok {
		t.Fatalf("want *ValidationError, got %v", err)
	}
	want := []string{
		"$.provider",
		"$.config.object_configs[1].key",
		"$.config.object_configs[0].field_mappings[1].regex_remove",
		"$.config.object_configs[0].field_mappings[2].value_mapping_name",
		"$.config.object_configs[0].field_mappings[0].value_type",
		"$.config.object_configs[0].required_ids[0].external_name",
		"$.config.object_configs[2].field_mappings[0].field_name",
	}
	got := map[string]bool{}
	for _, p := range ve.Problems {
		got[p.Path] = true
	}
	for _, w := range want {
		if !got[w] {
			t.Errorf("missing problem at %s; got %+v", w, ve.Problems)
		}
	}
}

func TestDecodeRejectsUnknownAndMistypedFields(t *testing.T) {
	for body, path := range map[string]string{
		`{"provider": "hubspot", "instance_url": 3}`:      "$.instance_url",
		`{"provider": "hubspot", "config": {"feild": 1}}`: "$",
		`{"provider": "hubspot", "is_enabled": "yes"}`:    "$.is_enabled",
		`{"provider": `: "$",
	} {
		var in crm.IntegrationInput
		err := crm.DecodeInput([]byte(body), &in)
		ve, ok := err.(*crm.ValidationError)
		if !ok || ve.Problems[0].Path != path {
			t.Errorf("%s: got %v, want a problem at %s", body, err, path)
		}
	}
}

func TestCipherRoundTripAndBinding(t *testing.T) {
	t.Setenv(crm.SecretsKeyEnv, "")
	if _, err := crm.NewCipherFromEnv(); err != crm.ErrNoSecretsKey {
		t.Fatalf("missing key: got %v", err)
	}
	t.Setenv(crm.SecretsKeyEnv, base64.StdEncoding.EncodeToString([]byte("short")))
	if _, err := crm.NewCipherFromEnv(); err == nil || !strings.Contains(err.Error(), "32 bytes") {
		t.Fatalf("short key: got %v", err)
	}
	t.Setenv(crm.SecretsKeyEnv, base64.StdEncoding.EncodeToString(make([]byte, 32)))
	c, err := crm.NewCipherFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := c.Seal("crm_1", crm.Credentials{Secret: "s3cret", Auth: map[string]any{"connection_id": "conn"}})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(sealed), "s3cret") {
		t.Fatal("secret visible in sealed bytes")
	}
	creds, err := c.Open("crm_1", sealed)
	if err != nil || creds.Secret != "s3cret" || creds.AuthString("connection_id") != "conn" {
		t.Fatalf("open: %v %v", creds.Secret, err)
	}
	if _, err := c.Open("crm_2", sealed); err == nil {
		t.Fatal("sealed secret opened under another integration id")
	}
	if s := creds.String(); strings.Contains(s, "s3cret") {
		t.Fatal("Credentials.String leaks the secret")
	}
}

func FuzzDecodeAndValidate(f *testing.F) {
	seed, _ := os.ReadFile("testdata/salesforce.json")
	f.Add(seed)
	f.Add([]byte(`{"provider":"openint","instance_url":"https://x","config":{"object_configs":[{"key":"a","external_name":"contact","field_mappings":[{"field_name":"email","regex_remove":"(("}]}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var in crm.IntegrationInput
		if err := crm.DecodeInput(data, &in); err != nil {
			if _, ok := err.(*crm.ValidationError); !ok {
				t.Fatalf("decode error of unexpected type %T", err)
			}
			return
		}
		if err := crm.Validate(&in.Integration); err != nil {
			ve, ok := err.(*crm.ValidationError)
			if !ok {
				t.Fatalf("validate error of unexpected type %T", err)
			}
			for _, p := range ve.Problems {
				if !strings.HasPrefix(p.Path, "$") || p.Message == "" {
					t.Fatalf("bad problem %+v", p)
				}
			}
		}
	})
}

// Seed 001's body with realistic values: the account is
// data_source_accounts_config, object_configs is empty, default_id and the
// account's own required_ids name it.
func TestValidateAcceptsSeedShapedBody(t *testing.T) {
	in := loadInput(t, "testdata/seed001.json")
	if err := crm.Validate(&in.Integration); err != nil {
		t.Fatal(err)
	}
	// Objects after the account may refer to it.
	in.Config.ObjectConfigs = []crm.ObjectConfig{{Key: "Contact", ExternalName: "Contact",
		FieldMappings: []crm.FieldMapping{{FieldName: "LastName", SourceAttribute: "contact.lastName"}, {FieldName: "AccountId", ExternalObjectNameForID: "Account"}},
		RequiredIDs:   []crm.IDRef{{Alias: "Company", ExternalName: "Account"}}}}
	if err := crm.Validate(&in.Integration); err != nil {
		t.Fatal(err)
	}
}

func TestValidateSeedShapedProblems(t *testing.T) {
	cases := []struct {
		name string
		edit func(in *crm.IntegrationInput)
		path string
	}{
		{"default_id names no object", func(in *crm.IntegrationInput) { in.Config.DefaultID.ExternalName = "Lead" }, "$.config.default_id.external_name"},
		{"object config refers to a later object", func(in *crm.IntegrationInput) {
			in.Config.ObjectConfigs = []crm.ObjectConfig{{Key: "Contact", ExternalName: "Contact", FieldMappings: []crm.FieldMapping{{FieldName: "X", ExternalObjectNameForID: "Opportunity"}}}}
		}, "$.config.object_configs[0].field_mappings[0].external_object_name_for_id"},
		{"object config reuses the account's key", func(in *crm.IntegrationInput) {
			in.Config.ObjectConfigs = []crm.ObjectConfig{{Key: "Account", ExternalName: "Contact", FieldMappings: []crm.FieldMapping{{FieldName: "LastName", StaticValue: "x"}}}}
		}, "$.config.object_configs[0].key"},
		{"account field without a source", func(in *crm.IntegrationInput) {
			in.Config.DataSourceAccountsConfig.FieldMappings[1].HeronCompanyAttributeLabel = ""
		}, "$.config.data_source_accounts_config.field_mappings[1]"},
		{"notification channel not a URL", func(in *crm.IntegrationInput) {
			ch := "#crm-alerts"
			in.FailureNotificationChannel = &ch
		}, "$.failure_notification_channel"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := loadInput(t, "testdata/seed001.json")
			tc.edit(&in)
			err := crm.Validate(&in.Integration)
			ve, ok := err.(*crm.ValidationError)
			if !ok {
				t.Fatalf("want *ValidationError, got %v", err)
			}
			for _, p := range ve.Problems {
				if p.Path == tc.path {
					return
				}
			}
			t.Fatalf("no problem at %s: %+v", tc.path, ve.Problems)
		})
	}
}
