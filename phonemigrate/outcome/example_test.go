package outcome_test

import (
	"fmt"

	"github.com/unifiedphone/unifiedphone/phonemigrate/outcome"
)

// A tenant switched to the Unified Phone Experience by hand before any
// provider exists: the connection still on its gateway keeps getting
// codes (it has no use_phone_provider), MFA gets none.
func ExampleOf() {
	cfg := outcome.Config{
		Switched: true,
		Connections: []outcome.Connection{{Name: "sms", Options: map[string]any{
			"provider": "sms_gateway", "gateway_url": "https://gw.example/sms", "from": "ACME",
			"template": "Your code: @@password@@",
		}}},
		MFA: outcome.MFA{Enabled: true, MessageTypes: []string{"sms"}},
	}
	for _, d := range outcome.Of(cfg) {
		fmt.Printf("%s: %s (%s)\n", d.Consumer.ID(), d.Route, d.Reason)
	}
	// Output:
	// passwordless/sms/text/otp_verify: legacy_gateway (the connection does not have use_phone_provider; its custom SMS gateway sends)
	// mfa/text/otp_verify: none (the tenant is switched, but there is no phone provider)
	// mfa/text/otp_enroll: none (the tenant is switched, but there is no phone provider)
}
