// Package validate holds the one validator instance the runtime shares, set
// up to name fields by their JSON names, and the one Problem type every
// validation (automations, CRM integrations, node fields) reports.
package validate

import (
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/go-playground/validator/v10"
)

var v = func() *validator.Validate {
	v := validator.New(validator.WithRequiredStructEnabled())
	v.RegisterTagNameFunc(func(f reflect.StructField) string {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			return ""
		}
		if name == "" {
			return f.Name
		}
		return name
	})
	return v
}()

// Validator returns the shared instance.
func Validator() *validator.Validate { return v }

// Fields validates s and returns one Problem per failed rule; the path is
// relative to s, with JSON names (cases[0].handle).
func Fields(s any) Problems {
	err := v.Struct(s)
	if err == nil {
		return nil
	}
	var ves validator.ValidationErrors
	if !errors.As(err, &ves) {
		return Problems{{Message: err.Error()}}
	}
	out := make(Problems, 0, len(ves))
	for _, fe := range ves {
		ns := fe.Namespace()
		if i := strings.Index(ns, "."); i >= 0 {
			ns = ns[i+1:]
		} else {
			ns = ""
		}
		out = append(out, Problem{Path: ns, Message: Message(fe)})
	}
	return out
}

// Struct validates s and joins every problem into one error.
func Struct(s any) error {
	fes := Fields(s)
	if len(fes) == 0 {
		return nil
	}
	parts := make([]string, len(fes))
	for i, fe := range fes {
		parts[i] = fe.String()
	}
	return errors.New(strings.Join(parts, "; "))
}

// Message turns a validator error into a sentence a builder UI can show.
func Message(fe validator.FieldError) string {
	switch fe.Tag() {
	case "required":
		return "is required"
	case "oneof":
		return fmt.Sprintf("must be one of %s, got %q", strings.ReplaceAll(fe.Param(), " ", ", "), fmt.Sprint(fe.Value()))
	case "uuid", "uuid4":
		return fmt.Sprintf("must be a UUID, got %q", fmt.Sprint(fe.Value()))
	case "url", "http_url":
		return fmt.Sprintf("must be an absolute http(s) URL, got %q", fmt.Sprint(fe.Value()))
	case "max":
		if fe.Kind() == reflect.String {
			return fmt.Sprintf("must be at most %s characters", fe.Param())
		}
		if isNumber(fe.Kind()) {
			return fmt.Sprintf("must be at most %s, got %v", fe.Param(), fe.Value())
		}
		return fmt.Sprintf("must have at most %s", items(fe.Param()))
	case "min":
		if fe.Kind() == reflect.String {
			return fmt.Sprintf("must be at least %s characters", fe.Param())
		}
		if isNumber(fe.Kind()) {
			return fmt.Sprintf("must be at least %s, got %v", fe.Param(), fe.Value())
		}
		return fmt.Sprintf("must have at least %s", items(fe.Param()))
	case "excluded_with":
		return fmt.Sprintf("cannot be set together with %s", jsonName(fe.Param()))
	case "required_without":
		return fmt.Sprintf("is required when %s is not set", jsonName(fe.Param()))
	case "startswith":
		return fmt.Sprintf("must start with %q", fe.Param())
	case "ne":
		return fmt.Sprintf("must not be %q", fe.Param())
	}
	return fmt.Sprintf("fails the %q rule", fe.Tag())
}

// jsonName turns the Go field name a rule parameter names (Until) into the
// JSON name the document uses (until); the runtime's JSON names are the
// field names with a lower-case first letter.
func jsonName(field string) string {
	if field == "" {
		return field
	}
	return strings.ToLower(field[:1]) + field[1:]
}

func isNumber(k reflect.Kind) bool {
	return k >= reflect.Int && k <= reflect.Float64
}

func items(n string) string {
	if n == "1" {
		return "1 item"
	}
	return n + " items"
}
