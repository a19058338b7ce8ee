package actiongen

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error that [Generate] and [GatewayFromOptions]
// return for bad input is a [*ValidationError] whose Err is one of these, so
// callers can branch with errors.Is and still read which field is wrong with
// errors.As.
var (
	// ErrInvalidGateway means a gateway setting (URL, From,
	// forward_req_info, gateway_authentication) is missing or unusable.
	ErrInvalidGateway = errors.New("invalid SMS gateway settings")
	// ErrNotGateway means the legacy connection options do not describe a
	// custom SMS gateway: options.provider is not "sms_gateway" (the
	// connection uses Twilio, for instance).
	ErrNotGateway = errors.New("connection does not use a custom SMS gateway")
	// ErrInvalidTwilio means a Twilio setting is missing or unusable.
	ErrInvalidTwilio = errors.New("invalid Twilio settings")
	// ErrInvalidSpec means the [Spec] itself is unusable: no target or two in
	// one [Target], a bad name, a request timeout out of range.
	ErrInvalidSpec = errors.New("invalid Action spec")
)

// ValidationError describes one invalid input. It never holds a secret value:
// Problem says what is wrong with a secret (missing, not base64), not what it
// is, and it never repeats URLs, which may carry credentials.
type ValidationError struct {
	// Field names the input: a Go path for [Generate] ("Default.Gateway.URL",
	// "Passwordless.Twilio.From", "RequestTimeout") or a legacy option key for
	// [GatewayFromOptions] ("gateway_url",
	// "gateway_authentication.audience").
	Field string
	// Problem says what is wrong, in words meant for the person who has to
	// fix it.
	Problem string
	// Err is the category: ErrInvalidGateway, ErrNotGateway,
	// ErrInvalidTwilio or ErrInvalidSpec.
	Err error
}

// Error returns "actiongen: <category>: <field>: <problem>".
func (e *ValidationError) Error() string {
	return fmt.Sprintf("actiongen: %v: %s: %s", e.Err, e.Field, e.Problem)
}

// Unwrap returns e.Err, so that errors.Is(err, ErrInvalidGateway) and the
// like work.
func (e *ValidationError) Unwrap() error { return e.Err }

func invalid(kind error, field, format string, args ...any) *ValidationError {
	return &ValidationError{Field: field, Problem: fmt.Sprintf(format, args...), Err: kind}
}
