package redact_test

import (
	"errors"
	"fmt"

	"github.com/unifiedphone/unifiedphone/phonemigrate"
	"github.com/unifiedphone/unifiedphone/phonemigrate/redact"
)

// Text removes secret values (and escape sequences) from text a server
// sent back, here a validation error echoing a connection's options.
func ExampleText() {
	options := map[string]any{
		"gateway_url":            "https://gw.example/sms",
		"gateway_authentication": map[string]any{"method": "bearer", "secret": "gw-s3cret"},
	}
	msg := "invalid options {\"secret\":\"gw-s3cret\"} \x1b[2J"
	fmt.Println(redact.Text(msg, redact.OptionSecrets(options)...))
	// Output: invalid options {"secret":"[redacted]"}  [2J
}

// Error keeps an error's classification while its text loses the
// secrets.
func ExampleError() {
	err := &phonemigrate.APIError{Method: "POST", Path: "/branding/phone/providers", StatusCode: 400,
		Message: "auth_token tw-s3cret is invalid"}
	red := redact.Error(err, "tw-s3cret")
	fmt.Println(red)
	fmt.Println(errors.Is(red, phonemigrate.ErrBadRequest))
	// Output:
	// auth0: POST /branding/phone/providers: 400: auth_token [redacted] is invalid
	// true
}
