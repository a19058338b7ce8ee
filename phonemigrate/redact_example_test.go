package phonemigrate_test

import (
	"errors"
	"fmt"

	"github.com/unifiedphone/unifiedphone/phonemigrate"
)

// Redact removes secret values (and escape sequences) from text a server
// sent back, here a validation error echoing a connection's options.
func ExampleRedact() {
	options := map[string]any{
		"gateway_url":            "https://gw.example/sms",
		"gateway_authentication": map[string]any{"method": "bearer", "secret": "gw-s3cret"},
	}
	msg := "invalid options {\"secret\":\"gw-s3cret\"} \x1b[2J"
	fmt.Println(phonemigrate.Redact(msg, phonemigrate.OptionSecrets(options)...))
	// Output: invalid options {"secret":"[redacted]"}  [2J
}

// RedactError keeps an error's classification while its text loses the
// secrets.
func ExampleRedactError() {
	err := &phonemigrate.APIError{Method: "POST", Path: "/branding/phone/providers", StatusCode: 400,
		Message: "auth_token tw-s3cret is invalid"}
	red := phonemigrate.RedactError(err, "tw-s3cret")
	fmt.Println(red)
	fmt.Println(errors.Is(red, phonemigrate.ErrBadRequest))
	// Output:
	// auth0: POST /branding/phone/providers: 400: auth_token [redacted] is invalid
	// true
}
