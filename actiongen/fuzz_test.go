package actiongen

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzGenerate proves that, whatever the strings, Generate either rejects
// the spec with a *ValidationError or writes code that parses and, run in
// goja, holds each value exactly as given: the gateway URL only as a secret,
// subject, audience, from, name and the Twilio base URL in CONFIG.
func FuzzGenerate(f *testing.F) {
	f.Add("https://gw.example/send?a=1&b=2", "urn:Auth0", "urn:MySmsGateway", "+1 234 567", "my-action")
	f.Add("http://127.0.0.1:9/x", "", "aud", "", "")
	f.Add("https://[::1]/", "</script><!--", "\"'`${}\\", "\u2028\u2029", "*/ exports.x = 1; /*")
	f.Add("https://gw.example/\n", "\x00\x01", "\ufeff", "日本語", "a\xffb")
	f.Add("javascript:alert(1)", "sub", "", "from", "name")
	f.Fuzz(func(t *testing.T, rawURL, subject, audience, from, name string) {
		// The Twilio base URL may not carry a query or fragment.
		base, _, _ := strings.Cut(rawURL, "?")
		base, _, _ = strings.Cut(base, "#")
		if checkURL(ErrInvalidGateway, "u", rawURL) != nil || checkURL(ErrInvalidGateway, "u", base) != nil {
			// A bad URL is rejected, naming the field; then carry on with
			// a good one so the other strings are exercised too.
			_, err := Generate(Spec{Default: Target{Gateway: &Gateway{URL: rawURL}}})
			var ve *ValidationError
			if !errors.As(err, &ve) || ve.Field != "Default.Gateway.URL" {
				t.Fatalf("Generate with a bad URL: error %v, want a *ValidationError for Default.Gateway.URL", err)
			}
			rawURL, base = "https://gw.example/send?k=v", "https://gw.example/base"
		}
		spec := Spec{
			Name: name,
			Default: Target{Twilio: &Twilio{AccountSID: "AC1", AuthToken: "token",
				From: from, APIBaseURL: base}},
			Passwordless: &Target{Gateway: &Gateway{URL: rawURL, From: from,
				Auth: &GatewayAuth{Subject: subject, Audience: audience, Secret: "s3cret"}}},
		}
		a, err := Generate(spec)
		if err != nil {
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Generate error %T %v is not a *ValidationError", err, err)
			}
			// Reject only what the rules reject.
			valid := utf8.ValidString(subject) && utf8.ValidString(audience) &&
				utf8.ValidString(from) && utf8.ValidString(name) && audience != "" && from != "" &&
				(name == "" || strings.TrimSpace(name) != "")
			if valid {
				t.Fatalf("Generate rejected a valid spec: %v", err)
			}
			return
		}
		mustParse(t, "fuzz.js", a.Code)
		cfg, exported := evalConfig(t, a.Code)
		if !exported {
			t.Fatal("code does not export onExecuteCustomPhoneProvider")
		}
		wantName := name
		if wantName == "" {
			wantName = DefaultName
		}
		gw := cfg.Passwordless.Gateway
		for _, c := range []struct{ what, got, want string }{
			{"name", cfg.Name, wantName},
			{"gateway from", gw.From, from},
			{"subject", gw.Auth.Subject, subject},
			{"audience", gw.Auth.Audience, audience},
			{"twilio from", cfg.Default.Twilio.From, from},
			{"twilio base URL", cfg.Default.Twilio.APIBaseURL, strings.TrimRight(base, "/")},
		} {
			if c.got != c.want {
				t.Errorf("%s in CONFIG = %q, want %q", c.what, c.got, c.want)
			}
		}
		if a.Name != wantName {
			t.Errorf("Action.Name = %q, want %q", a.Name, wantName)
		}
		var urlSecret string
		for _, s := range a.Secrets {
			if s.Name == "PASSWORDLESS_GATEWAY_URL" {
				urlSecret = s.Value
			}
		}
		if urlSecret != rawURL {
			t.Errorf("PASSWORDLESS_GATEWAY_URL = %q, want %q", urlSecret, rawURL)
		}
		if strings.Contains(a.Code, "s3cret") || strings.Contains(a.Code, `"token"`) {
			t.Error("code contains a secret value")
		}
	})
}
