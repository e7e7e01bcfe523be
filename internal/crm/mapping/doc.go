// Package mapping turns a ConeCRM record into the objects a CRM integration
// pushes. A config is compiled once (paths split, regexes compiled, value
// mappings indexed) into a Plan that maps any number of records.
//
// # Value source of a field (first that applies)
//
//  1. external_object_name_for_id: the id of an object pushed earlier in the
//     same sync (resolved by the provider once that object is written), or its
//     known id when that object is not part of this sync. Exclusive.
//  2. static_value_key "date_today": the date the caller passes (the
//     workflow's today in the automation's time zone, YYYY-MM-DD). Exclusive.
//  3. source_attribute (alias heron_company_attribute_label): a dotted path
//     into the record, e.g. "contact.primaryEmail", "account.city",
//     "vehicles.0.vin".
//  4. static_value: the constant, or the fallback when the source attribute
//     is missing, null or an empty string.
//
// # Transformations, in this order
//
//  1. regex_remove: every match is deleted (non-string values are formatted
//     as text first), so value mappings match cleaned input.
//  2. value_mapping_name: exact key match, then (use_partial_match) the
//     longest key contained in the value case-insensitively (ties broken
//     alphabetically), then default_value; with no match and no default the
//     value passes through unchanged. A missing value gets default_value.
//  3. value_type coercion: text, picklist (trimmed text), number, boolean
//     (true/false, yes/no, y/n, 1/0, on/off), date (YYYY-MM-DD), datetime
//     (RFC 3339, UTC). A value that cannot be coerced fails a required field
//     and is dropped, with a warning, from an optional one.
//  4. max_length: strings are cut to that many runes (never inside a
//     UTF-8 sequence).
//  5. required: a value that is missing or empty after all of the above
//     fails the object with an error naming the object and field.
//
// A value that ends up missing or empty is not sent at all, so a push never
// blanks a field in the CRM. Fields with overwrite_on_update false go to
// Object.CreateOnly and are sent only when the record is created.
// static_data entries are sent on create and update; a field mapping with
// the same name wins over a static_data entry. A field carrying
// external_lookup_field_name becomes the object's upsert key.
//
// # Objects
//
// Objects are pushed in object_configs order. required_ids and
// external_object_name_for_id name earlier objects (by key or
// external_name); an object whose required id is unknown is not pushed. An
// is_optional object that fails (mapping or vendor error other than a
// retryable one) is recorded in the result and the sync goes on; objects that
// require it then fail in turn (or are recorded, when optional too).
package mapping
