package actiongen_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/unifiedphone/unifiedphone/actiongen"
)

// Generate an Action that replaces a Passwordless custom SMS gateway with
// JWT authentication. The URL and the signing secret travel as Action
// secrets; the code never holds them.
func ExampleGenerate() {
	action, err := actiongen.Generate(actiongen.Spec{
		Default: actiongen.Target{Gateway: &actiongen.Gateway{
			URL:                "https://sms-gateway.example.com/send",
			From:               "+1 234 567",
			ForwardRequestInfo: true,
			Auth: &actiongen.GatewayAuth{
				Method:   "bearer",
				Subject:  "urn:Auth0",
				Audience: "urn:MySmsGateway",
				Secret:   "MySecretToSignTheToken",
			},
		}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(action.Name, action.Runtime, len(action.Dependencies))
	for _, s := range action.Secrets {
		fmt.Println("secret", s.Name)
	}
	fmt.Println(strings.Contains(action.Code, "exports.onExecuteCustomPhoneProvider"))
	fmt.Println(strings.Contains(action.Code, "MySecretToSignTheToken"))
	// Output:
	// phonemigrate-custom-phone-provider node22 0
	// secret GATEWAY_URL
	// secret GATEWAY_SECRET
	// true
	// false
}

// One Action for a tenant whose Passwordless connection used a custom
// gateway while MFA used Twilio: Passwordless messages go to the gateway,
// the rest to Twilio (see the package documentation, section Routing).
func ExampleGenerate_routing() {
	action, err := actiongen.Generate(actiongen.Spec{
		Default: actiongen.Target{Twilio: &actiongen.Twilio{
			AccountSID: "AC0123456789abcdef0123456789abcdef",
			AuthToken:  "token-from-the-environment",
			From:       "+15550001111",
		}},
		Passwordless: &actiongen.Target{Gateway: &actiongen.Gateway{
			URL: "https://sms-gateway.example.com/send",
		}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range action.Secrets {
		fmt.Println(s.Name)
	}
	// Output:
	// TWILIO_ACCOUNT_SID
	// TWILIO_AUTH_TOKEN
	// PASSWORDLESS_GATEWAY_URL
}

// Read the gateway from a legacy connection's raw options, as the
// Management API returns them. Auth0's docs write forward_req_info as a
// string; both forms are accepted.
func ExampleGatewayFromOptions() {
	var options map[string]any
	_ = json.Unmarshal([]byte(`{
		"strategy": "sms", "provider": "sms_gateway",
		"gateway_url": "https://sms-gateway.example.com/send",
		"from": "+1 234 567", "forward_req_info": "true",
		"template": "Your verification code is: @@password@@",
		"gateway_authentication": {"method": "bearer", "subject": "urn:Auth0",
			"audience": "urn:MySmsGateway", "secret": "MySecretToSignTheToken",
			"secret_base64_encoded": false}
	}`), &options)

	gw, err := actiongen.GatewayFromOptions(options)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(gw.URL, gw.From, gw.ForwardRequestInfo, gw.Auth.Audience)

	// A Twilio connection is not a gateway: branch on the sentinel.
	_, err = actiongen.GatewayFromOptions(map[string]any{"provider": "twilio"})
	fmt.Println(errors.Is(err, actiongen.ErrNotGateway))
	fmt.Println(err)

	// Bad settings name the option; the secret never appears.
	options["gateway_url"] = "http://sms-gateway.example.com/send"
	_, err = actiongen.GatewayFromOptions(options)
	var ve *actiongen.ValidationError
	if errors.As(err, &ve) {
		fmt.Println(ve.Field, errors.Is(err, actiongen.ErrInvalidGateway))
	}
	// Output:
	// https://sms-gateway.example.com/send +1 234 567 true urn:MySmsGateway
	// true
	// actiongen: connection does not use a custom SMS gateway: provider: is "twilio", not "sms_gateway"
	// gateway_url true
}

// A tenant whose Passwordless connection used a gateway and whose MFA used
// Twilio had two sets of texts, but the tenant's phone templates are shared.
// Migrate the Passwordless text to the templates and keep MFA's legacy
// Guardian texts on the Twilio target. A text with an unsupported Liquid
// construct is rejected, never silently changed.
func ExampleMessageText() {
	twilio := &actiongen.Twilio{
		AccountSID: "AC0123456789abcdef0123456789abcdef",
		AuthToken:  "token-from-the-environment",
		From:       "+15550001111",
	}
	_, err := actiongen.Generate(actiongen.Spec{
		Default: actiongen.Target{
			Twilio: twilio,
			Text: &actiongen.MessageText{
				Verify: "{{code}} is your verification code for {{tenant.friendly_name}}",
				Enroll: "{{code}} is your verification code for {{tenant.friendly_name}}. Please enter this code to verify your enrollment.",
			},
		},
		Passwordless: &actiongen.Target{Gateway: &actiongen.Gateway{
			URL: "https://sms-gateway.example.com/send",
		}},
	})
	fmt.Println(err)

	_, err = actiongen.Generate(actiongen.Spec{Default: actiongen.Target{
		Twilio: twilio,
		Text:   &actiongen.MessageText{Verify: "Hi {{ user.name }}, your code is {{ code }}"},
	}})
	var ve *actiongen.ValidationError
	if errors.As(err, &ve) {
		fmt.Println(ve.Field, errors.Is(err, actiongen.ErrInvalidSpec))
	}
	fmt.Println(err)
	// Output:
	// <nil>
	// Default.Text.Verify true
	// actiongen: invalid Action spec: Default.Text.Verify: has "{{ user.name }}"; only the placeholders {{ code }}, {{ tenant.friendly_name }} and {{ locale }} are supported (no filters, tags or whitespace control)
}

// A gateway_url with credentials, which Node's fetch cannot call: the
// Action sends them as HTTP Basic authentication, from a secret. The legacy
// behaviour of never retrying is chosen explicitly.
func ExampleGenerate_urlCredentials() {
	action, err := actiongen.Generate(actiongen.Spec{
		Default: actiongen.Target{Gateway: &actiongen.Gateway{
			URL: "https://gw-user:gw-password@sms-gateway.example.com/send",
		}},
		Retry: actiongen.RetryNever,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range action.Secrets {
		fmt.Printf("%s=%s\n", s.Name, s.Value)
	}
	fmt.Println(strings.Contains(action.Code, "gw-password"))
	// Output:
	// GATEWAY_URL=https://sms-gateway.example.com/send
	// GATEWAY_BASIC_AUTH=gw-user:gw-password
	// false
}

// With JWT authentication as well, the credentials in the URL cannot be
// sent: GatewayFromOptions says what to change.
func ExampleGatewayFromOptions_urlCredentials() {
	_, err := actiongen.GatewayFromOptions(map[string]any{
		"provider":    "sms_gateway",
		"gateway_url": "https://gw-user:gw-password@sms-gateway.example.com/send",
		"gateway_authentication": map[string]any{
			"method": "bearer", "audience": "urn:MySmsGateway", "secret": "MySecretToSignTheToken",
		},
	})
	var ve *actiongen.ValidationError
	if errors.As(err, &ve) {
		fmt.Println(ve.Field)
		fmt.Println(ve.Problem)
	}
	// Output:
	// gateway_url
	// carries a user name and password (user:password@) and JWT authentication (gateway_authentication) is set too; both need the Authorization header, so no Action can send both. Remove the credentials from the URL (the gateway then checks the JWT only), or remove gateway_authentication (the Action then sends the credentials as HTTP Basic authentication)
}

// The JWT claims Auth0 does not document are options: an issuer and a
// shorter lifetime than the default 5 minutes.
func ExampleGatewayAuth() {
	action, err := actiongen.Generate(actiongen.Spec{
		Default: actiongen.Target{Gateway: &actiongen.Gateway{
			URL: "https://sms-gateway.example.com/send",
			Auth: &actiongen.GatewayAuth{
				Subject: "urn:Auth0", Audience: "urn:MySmsGateway", Secret: "MySecretToSignTheToken",
				Issuer: "https://acme.eu.auth0.com/", Lifetime: time.Minute,
			},
		}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(strings.Contains(action.Code, `"lifetimeSeconds": 60`))
	// Output:
	// true
}
