package actiongen

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestGenerateRejects(t *testing.T) {
	t.Parallel()
	gw := func() *Gateway { return &Gateway{URL: "https://gw.example/send"} }
	tw := func() *Twilio { return &Twilio{AccountSID: testTwilioSID, AuthToken: testTwilioToken, From: "+1555"} }
	tests := []struct {
		name      string
		spec      Spec
		wantErr   error
		wantField string
		wantText  string
	}{
		{"no target", Spec{}, ErrInvalidSpec, "Default", "neither"},
		{"two targets", Spec{Default: Target{Gateway: gw(), Twilio: tw()}}, ErrInvalidSpec, "Default", "both"},
		{"empty passwordless target", Spec{Default: Target{Gateway: gw()}, Passwordless: &Target{}}, ErrInvalidSpec, "Passwordless", "neither"},
		{"blank name", Spec{Name: "  ", Default: Target{Gateway: gw()}}, ErrInvalidSpec, "Name", "blank"},
		{"invalid UTF-8 name", Spec{Name: "a\xffb", Default: Target{Gateway: gw()}}, ErrInvalidSpec, "Name", "UTF-8"},
		{"negative timeout", Spec{Default: Target{Gateway: gw()}, RequestTimeout: -time.Second}, ErrInvalidSpec, "RequestTimeout", "at least"},
		{"timeout too long", Spec{Default: Target{Gateway: gw()}, RequestTimeout: 18*time.Second + time.Millisecond}, ErrInvalidSpec, "RequestTimeout", "at most 18s"},
		{"unknown retry policy", Spec{Default: Target{Gateway: gw()}, Retry: RetryPolicy(7)}, ErrInvalidSpec, "Retry", "RetryPolicy(7)"},
		{"JWT lifetime negative", Spec{Default: Target{Gateway: &Gateway{URL: "https://gw.example", Auth: &GatewayAuth{Audience: "a", Secret: "s", Lifetime: -time.Second}}}}, ErrInvalidGateway, "Default.Gateway.Auth.Lifetime", "between 1s and 24h"},
		{"JWT lifetime too long", Spec{Default: Target{Gateway: &Gateway{URL: "https://gw.example", Auth: &GatewayAuth{Audience: "a", Secret: "s", Lifetime: 25 * time.Hour}}}}, ErrInvalidGateway, "Default.Gateway.Auth.Lifetime", "between 1s and 24h"},
		{"JWT lifetime fractional", Spec{Default: Target{Gateway: &Gateway{URL: "https://gw.example", Auth: &GatewayAuth{Audience: "a", Secret: "s", Lifetime: 1500 * time.Millisecond}}}}, ErrInvalidGateway, "Default.Gateway.Auth.Lifetime", "whole seconds"},
		{"JWT issuer invalid UTF-8", Spec{Default: Target{Gateway: &Gateway{URL: "https://gw.example", Auth: &GatewayAuth{Audience: "a", Secret: "s", Issuer: "\xff"}}}}, ErrInvalidGateway, "Default.Gateway.Auth.Issuer", "UTF-8"},
		{"URL credentials and JWT", Spec{Default: Target{Gateway: &Gateway{URL: "https://user:tttt@gw.example/send", Auth: &GatewayAuth{Audience: "a", Secret: "s"}}}}, ErrInvalidGateway, "Default.Gateway.URL", "Remove the credentials from the URL"},
		{"gateway on a fetch-blocked port", Spec{Default: Target{Gateway: &Gateway{URL: "https://gw.example:6667/send"}}}, ErrInvalidGateway, "Default.Gateway.URL", "port 6667"},
		{"gateway on port 0", Spec{Default: Target{Gateway: &Gateway{URL: "https://gw.example:0/send"}}}, ErrInvalidGateway, "Default.Gateway.URL", "1 to 65535"},
		{"gateway on port 65536", Spec{Default: Target{Gateway: &Gateway{URL: "https://gw.example:65536/send"}}}, ErrInvalidGateway, "Default.Gateway.URL", "1 to 65535"},
		{"twilio base URL with credentials", Spec{Default: Target{Twilio: &Twilio{AccountSID: "AC1", AuthToken: "t", From: "+1", APIBaseURL: "https://u:tttt@api.twilio.com"}}}, ErrInvalidTwilio, "Default.Twilio.APIBaseURL", "credentials"},
		{"gateway without URL", Spec{Default: Target{Gateway: &Gateway{}}}, ErrInvalidGateway, "Default.Gateway.URL", "required"},
		{"gateway over http", Spec{Default: Target{Gateway: &Gateway{URL: "http://gw.example/"}}}, ErrInvalidGateway, "Default.Gateway.URL", "only https"},
		{"gateway auth without audience", Spec{Default: Target{Gateway: &Gateway{URL: "https://gw.example", Auth: &GatewayAuth{Secret: "s"}}}}, ErrInvalidGateway, "Default.Gateway.Auth.Audience", "required"},
		{"gateway auth without secret", Spec{Default: Target{Gateway: &Gateway{URL: "https://gw.example", Auth: &GatewayAuth{Audience: "a"}}}}, ErrInvalidGateway, "Default.Gateway.Auth.Secret", "required"},
		{"gateway auth other method", Spec{Default: Target{Gateway: &Gateway{URL: "https://gw.example", Auth: &GatewayAuth{Method: "hmac", Audience: "a", Secret: "s"}}}}, ErrInvalidGateway, "Default.Gateway.Auth.Method", "bearer"},
		{"gateway secret not base64", Spec{Default: Target{Gateway: &Gateway{URL: "https://gw.example", Auth: &GatewayAuth{Audience: "a", Secret: "%%%", SecretBase64Encoded: true}}}}, ErrInvalidGateway, "Default.Gateway.Auth.Secret", "base64"},
		{"gateway from invalid UTF-8", Spec{Default: Target{Gateway: &Gateway{URL: "https://gw.example", From: "\xff"}}}, ErrInvalidGateway, "Default.Gateway.From", "UTF-8"},
		{"passwordless gateway", Spec{Default: Target{Twilio: tw()}, Passwordless: &Target{Gateway: &Gateway{URL: "ftp://x"}}}, ErrInvalidGateway, "Passwordless.Gateway.URL", "https"},
		{"twilio without SID", Spec{Default: Target{Twilio: &Twilio{AuthToken: "t", From: "+1"}}}, ErrInvalidTwilio, "Default.Twilio.AccountSID", "required"},
		{"twilio SID with colon", Spec{Default: Target{Twilio: &Twilio{AccountSID: "AC:1", AuthToken: "t", From: "+1"}}}, ErrInvalidTwilio, "Default.Twilio.AccountSID", "colon"},
		{"twilio without token", Spec{Default: Target{Twilio: &Twilio{AccountSID: "AC1", From: "+1"}}}, ErrInvalidTwilio, "Default.Twilio.AuthToken", "required"},
		{"twilio without sender", Spec{Default: Target{Twilio: &Twilio{AccountSID: "AC1", AuthToken: "t"}}}, ErrInvalidTwilio, "Default.Twilio.From", "both empty"},
		{"twilio with both senders", Spec{Default: Target{Twilio: &Twilio{AccountSID: "AC1", AuthToken: "t", From: "+1", MessagingServiceSID: "MG1"}}}, ErrInvalidTwilio, "Default.Twilio.From", "both set"},
		{"twilio base URL over http", Spec{Default: Target{Twilio: &Twilio{AccountSID: "AC1", AuthToken: "t", From: "+1", APIBaseURL: "http://api.twilio.com"}}}, ErrInvalidTwilio, "Default.Twilio.APIBaseURL", "only https"},
		{"twilio base URL with query", Spec{Default: Target{Twilio: &Twilio{AccountSID: "AC1", AuthToken: "t", From: "+1", APIBaseURL: "https://api.twilio.com/?x=1"}}}, ErrInvalidTwilio, "Default.Twilio.APIBaseURL", "query"},
		{"twilio token too long", Spec{Default: Target{Twilio: &Twilio{AccountSID: "AC1", AuthToken: strings.Repeat("t", 4097), From: "+1"}}}, ErrInvalidTwilio, "Default.Twilio.AuthToken", "4096"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Generate(tt.spec)
			if err == nil {
				t.Fatalf("Generate = %+v, want an error", got)
			}
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("error %v is not %v", err, tt.wantErr)
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("error %T is not a *ValidationError", err)
			}
			if ve.Field != tt.wantField || !strings.Contains(ve.Problem, tt.wantText) {
				t.Errorf("error = {Field: %q, Problem: %q}, want Field %q and Problem containing %q", ve.Field, ve.Problem, tt.wantField, tt.wantText)
			}
			if strings.Contains(err.Error(), testTwilioToken) || strings.Contains(err.Error(), "tttt") {
				t.Errorf("error leaks a secret: %v", err)
			}
		})
	}
}

func TestGenerateSecretsAndConfig(t *testing.T) {
	t.Parallel()
	spec := Spec{
		Name: "custom",
		Default: Target{Gateway: &Gateway{URL: "https://mfa.example/send", From: "MFA",
			Auth: &GatewayAuth{Audience: "urn:mfa", Secret: "mfa-secret"}}},
		Passwordless: &Target{Twilio: &Twilio{AccountSID: testTwilioSID, AuthToken: testTwilioToken,
			MessagingServiceSID: "MG1", APIBaseURL: "https://twilio.example/base/"}},
		RequestTimeout: 2500 * time.Millisecond,
	}
	a, err := Generate(spec)
	if err != nil {
		t.Fatal(err)
	}
	wantSecrets := []Secret{
		{Name: "GATEWAY_URL", Value: "https://mfa.example/send"},
		{Name: "GATEWAY_SECRET", Value: "mfa-secret"},
		{Name: "PASSWORDLESS_TWILIO_ACCOUNT_SID", Value: testTwilioSID},
		{Name: "PASSWORDLESS_TWILIO_AUTH_TOKEN", Value: testTwilioToken},
	}
	if diff := cmp.Diff(wantSecrets, a.Secrets); diff != "" {
		t.Errorf("Secrets (-want +got):\n%s", diff)
	}
	cfg, exported := evalConfig(t, a.Code)
	if !exported {
		t.Error("code does not export onExecuteCustomPhoneProvider as a function")
	}
	want := config{
		Name:      "custom",
		TimeoutMs: 2500,
		Retry:     "unsent",
		Default: jsTarget{Gateway: &jsGateway{URLSecret: "GATEWAY_URL", From: "MFA",
			Auth: &jsAuth{SecretName: "GATEWAY_SECRET", Audience: "urn:mfa", LifetimeSeconds: 300}}},
		Passwordless: &jsTarget{Twilio: &jsTwilio{APIBaseURL: "https://twilio.example/base",
			AccountSIDSecret: "PASSWORDLESS_TWILIO_ACCOUNT_SID", AuthTokenSecret: "PASSWORDLESS_TWILIO_AUTH_TOKEN", MessagingServiceSID: "MG1"}},
	}
	if diff := cmp.Diff(want, cfg); diff != "" {
		t.Errorf("CONFIG as JavaScript evaluates it (-want +got):\n%s", diff)
	}
}

func TestGenerateDefaults(t *testing.T) {
	t.Parallel()
	a, err := Generate(Spec{Default: Target{Twilio: &Twilio{AccountSID: "AC1", AuthToken: "t", From: "+1"}}})
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := evalConfig(t, a.Code)
	if a.Name != DefaultName || cfg.Name != DefaultName {
		t.Errorf("name = %q / CONFIG %q, want %q", a.Name, cfg.Name, DefaultName)
	}
	if cfg.TimeoutMs != 17000 {
		t.Errorf("timeoutMs = %d, want 17000", cfg.TimeoutMs)
	}
	if cfg.Retry != "unsent" {
		t.Errorf("retry = %q, want unsent", cfg.Retry)
	}
	if cfg.Default.Twilio.APIBaseURL != DefaultTwilioAPIBaseURL {
		t.Errorf("apiBaseURL = %q, want %q", cfg.Default.Twilio.APIBaseURL, DefaultTwilioAPIBaseURL)
	}
	if cfg.Passwordless != nil {
		t.Errorf("passwordless = %+v, want null", cfg.Passwordless)
	}
}

func BenchmarkGenerate(b *testing.B) {
	spec := goldenSpecs[len(goldenSpecs)-1].spec
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Generate(spec); err != nil {
			b.Fatal(err)
		}
	}
}
