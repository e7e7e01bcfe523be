// Package crm holds what every part of the push_to_crm engine shares: the
// Heron-compatible integration configuration (types, validation with JSON
// paths), the encrypted secret envelope, the Store interface with an
// in-memory implementation, the typed errors that tell the activity what to
// retry, and the Provider interface each vendor package implements.
//
// The field-mapping engine lives in crm/mapping, the vendors in
// crm/salesforce, crm/hubspot, crm/openint and crm/webhook, the service that
// ties them together in crm/push, and the HTTP API in crm/api.
package crm
