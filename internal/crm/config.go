package crm

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Provider names accepted in Integration.Provider.
const (
	ProviderSalesforce = "salesforce"
	ProviderHubSpot    = "hubspot"
	ProviderOpenInt    = "openint"
	ProviderWebhook    = "webhook"
)

// Integration is a CRM integration as the API returns it: everything but the
// write-only secret and auth, which live encrypted in the Record.
type Integration struct {
	HeronID string `json:"heron_id,omitempty"`
	// FranchiseID is the franchise the integration belongs to (a franchise
	// token's own, by default). Empty: shared by every franchise of the
	// tenant, managed by the admin token only.
	FranchiseID string `json:"franchise_id,omitempty" validate:"omitempty,uuid"`
	Provider    string `json:"provider" validate:"required,oneof=salesforce hubspot openint webhook"`
	InstanceURL string `json:"instance_url" validate:"required,url,startswith=http"`
	IsEnabled   bool   `json:"is_enabled"`
	IsLive      bool   `json:"is_live"`
	// FailureNotificationChannel is a URL that receives a signed POST
	// whenever one of the integration's links changes status (README,
	// "Integration links").
	FailureNotificationChannel *string `json:"failure_notification_channel" validate:"omitempty,url,startswith=http"`
	Config                     Config  `json:"config"`
}

// IntegrationInput is the body of POST and PATCH: an Integration plus the
// write-only credentials.
type IntegrationInput struct {
	Integration
	Secret *string        `json:"secret,omitempty"`
	Auth   map[string]any `json:"auth,omitempty"`
}

// Config is the integration's mapping configuration.
type Config struct {
	// DefaultID names the object whose id is the integration's primary id
	// (PushResult.PrimaryID); usually the account.
	DefaultID *IDRef `json:"default_id,omitempty"`
	// DataSourceAccountsConfig is the account object, as Heron names it: it
	// is pushed first, before ObjectConfigs, so their required_ids and
	// external_object_name_for_id can refer to it.
	DataSourceAccountsConfig *ObjectConfig `json:"data_source_accounts_config,omitempty"`
	// ObjectConfigs are pushed after the account, in order; may be empty.
	ObjectConfigs []ObjectConfig `json:"object_configs" validate:"dive"`
	ValueMappings []ValueMapping `json:"value_mappings" validate:"dive"`
	// APIBasePath overrides the vendor's API path prefix (Salesforce
	// "/services/data/v60.0", HubSpot "/crm/v3/objects"), since HubSpot is
	// moving to dated paths and Salesforce versions its API.
	APIBasePath string `json:"api_base_path,omitempty" validate:"omitempty,startswith=/"`
	// Kept as given, unused by ConeCRM.
	PolicyEvaluationConfig json.RawMessage `json:"policy_evaluation_config,omitempty"`
	SyncFileClasses        json.RawMessage `json:"sync_file_classes,omitempty"`
}

// Objects returns the objects in push order: the data source account
// first, then the object configs.
func (c *Config) Objects() []*ObjectConfig {
	out := make([]*ObjectConfig, 0, len(c.ObjectConfigs)+1)
	if c.DataSourceAccountsConfig != nil {
		out = append(out, c.DataSourceAccountsConfig)
	}
	for i := range c.ObjectConfigs {
		out = append(out, &c.ObjectConfigs[i])
	}
	return out
}

// objectPath is the JSON path of the i-th object of Objects().
func (c *Config) objectPath(i int) string {
	if c.DataSourceAccountsConfig != nil {
		if i == 0 {
			return "$.config.data_source_accounts_config"
		}
		i--
	}
	return fmt.Sprintf("$.config.object_configs[%d]", i)
}

// IDRef points at an object of the same sync by its external name (or key).
type IDRef struct {
	Alias        string `json:"alias,omitempty"`
	ExternalName string `json:"external_name" validate:"required"`
}

// ObjectConfig describes one object pushed to the CRM.
type ObjectConfig struct {
	Key                  string         `json:"key" validate:"required,max=100"`
	ExternalName         string         `json:"external_name" validate:"required,max=100"`
	Description          string         `json:"description,omitempty"`
	FieldMappings        []FieldMapping `json:"field_mappings" validate:"required,min=1,dive"`
	ExternalLookupConfig *LookupConfig  `json:"external_lookup_config,omitempty"`
	RequiredIDs          []IDRef        `json:"required_ids,omitempty" validate:"dive"`
	StaticData           []StaticData   `json:"static_data,omitempty" validate:"dive"`
	IsOptional           bool           `json:"is_optional"`
}

// DefaultSortField is the lookup sort field when none is configured.
const DefaultSortField = "CreatedDate"

// LookupConfig finds an existing record before writing: every _and field
// must equal the mapped value, and at least one _or field must (when any).
type LookupConfig struct {
	FieldsAnd     []string `json:"external_lookup_fields_and,omitempty" validate:"dive,required"`
	FieldsOr      []string `json:"external_lookup_fields_or,omitempty" validate:"dive,required"`
	SortFieldName string   `json:"sort_field_name,omitempty"`
	SortOrder     string   `json:"sort_order,omitempty" validate:"omitempty,oneof=ASC DESC asc desc"`
}

// SortField returns the configured sort field or CreatedDate.
func (l *LookupConfig) SortField() string {
	if l == nil || l.SortFieldName == "" {
		return DefaultSortField
	}
	return l.SortFieldName
}

// Descending reports whether the lookup sorts newest first.
func (l *LookupConfig) Descending() bool {
	return l != nil && strings.EqualFold(l.SortOrder, "DESC")
}

// StaticData is a constant field added to every push of the object.
type StaticData struct {
	Key   string `json:"key" validate:"required"`
	Value any    `json:"value"`
}

// ValueMapping translates source values (e.g. "Quebec" → "QC").
type ValueMapping struct {
	Name            string         `json:"name" validate:"required"`
	Mapping         map[string]any `json:"mapping" validate:"required"`
	DefaultValue    any            `json:"default_value,omitempty"`
	UsePartialMatch bool           `json:"use_partial_match"`
}

// Value types understood by the mapping engine (compared case-insensitively).
const (
	TypeText     = "text"
	TypeNumber   = "number"
	TypeBoolean  = "boolean"
	TypeDate     = "date"
	TypeDatetime = "datetime"
	TypePicklist = "picklist"
)

// StaticValueKeyDateToday fills a field with the caller's date.
const StaticValueKeyDateToday = "date_today"

// FieldMapping maps one CRM field.
type FieldMapping struct {
	FieldName string `json:"field_name" validate:"required,max=255"`
	// SourceAttribute is a dotted path into the lead, e.g.
	// "contact.primaryEmail" or "account.city"; a leading "lead." names the
	// lead event's lead, so "lead.account.name" is "account.name".
	SourceAttribute string `json:"source_attribute,omitempty"`
	// HeronCompanyAttributeLabel is Heron's name for the source attribute
	// (a dotted path into the lead event, e.g. "lead.account.name"),
	// accepted as an alias of SourceAttribute.
	HeronCompanyAttributeLabel string `json:"heron_company_attribute_label,omitempty"`
	// ExternalLookupFieldName makes this field the object's upsert key: the
	// Salesforce external-id field, HubSpot idProperty, OpenInt upsert_on key.
	ExternalLookupFieldName string `json:"external_lookup_field_name,omitempty"`
	ExternalObjectNameForID string `json:"external_object_name_for_id,omitempty"`
	MaxLength               *int   `json:"max_length,omitempty" validate:"omitempty,min=1,max=131072"`
	// OverwriteOnUpdate defaults to true; false sends the field on create only.
	OverwriteOnUpdate *bool  `json:"overwrite_on_update,omitempty"`
	RegexRemove       string `json:"regex_remove,omitempty" validate:"omitempty,max=1000"`
	Required          bool   `json:"required"`
	StaticValue       any    `json:"static_value,omitempty"`
	StaticValueKey    string `json:"static_value_key,omitempty" validate:"omitempty,oneof=date_today"`
	ValueMappingName  string `json:"value_mapping_name,omitempty"`
	ValueType         string `json:"value_type,omitempty"`
}

// Source returns the source attribute path, whichever name was used.
func (f *FieldMapping) Source() string {
	if f.SourceAttribute != "" {
		return f.SourceAttribute
	}
	return f.HeronCompanyAttributeLabel
}

// SourcePath splits the source attribute into the segments to walk from
// the lead: a leading "lead" segment (the lead event's lead) is dropped.
func (f *FieldMapping) SourcePath() []string {
	src := f.Source()
	if src == "" {
		return nil
	}
	segs := strings.Split(src, ".")
	if len(segs) > 1 && segs[0] == "lead" {
		segs = segs[1:]
	}
	return segs
}

// UpdatesOnOverwrite reports whether the field is also sent on updates.
func (f *FieldMapping) UpdatesOnOverwrite() bool {
	return f.OverwriteOnUpdate == nil || *f.OverwriteOnUpdate
}
