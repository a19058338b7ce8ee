package actiongen

import (
	"errors"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/unifiedphone/unifiedphone/internal/actionrun"
)

// FuzzGenerate proves that, whatever the strings, Generate either rejects
// the spec with a *ValidationError or writes code that parses and, run in
// goja, holds each value exactly as given: the gateway URL only as a secret,
// subject, audience, from, name and the Twilio base URL in CONFIG.
func FuzzGenerate(f *testing.F) {
	f.Add("https://gw.example/send?a=1&b=2", "urn:Auth0", "urn:MySmsGateway", "+1 234 567", "my-action")
	f.Add("http://127.0.0.1:9/x", "", "aud", "", "")
	f.Add("https://user:p%40ss@gw.example:8443/send?a=b@c#f", "sub", "aud", "+1", "")
	f.Add("https://@gw.example/", "sub", "aud", "+1", "")
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
		if u, err := url.Parse(rawURL); err == nil && u.User != nil {
			// Credentials in the URL: refused next to JWT authentication,
			// moved into GATEWAY_BASIC_AUTH without it.
			// (An empty userinfo, "https://@host/", carries none.)
			pass, _ := u.User.Password()
			_, err := Generate(Spec{Default: Target{Gateway: &Gateway{URL: rawURL, Auth: &GatewayAuth{Audience: "a", Secret: "s"}}}})
			var ve *ValidationError
			if creds := u.User.Username() != "" || pass != ""; creds && (!errors.As(err, &ve) || ve.Field != "Default.Gateway.URL") {
				t.Fatalf("Generate with credentials and Auth: error %v, want a *ValidationError for Default.Gateway.URL", err)
			} else if !creds && err != nil {
				t.Fatalf("Generate with an empty userinfo and Auth: %v", err)
			}
			a, err := Generate(Spec{Default: Target{Gateway: &Gateway{URL: rawURL}}})
			if err != nil {
				t.Fatalf("Generate with credentials, no Auth: %v", err)
			}
			pu, err := url.Parse(a.Secrets[0].Value)
			if err != nil || pu.User != nil || pu.Host != u.Host || pu.RawQuery != u.RawQuery || pu.EscapedPath() != u.EscapedPath() {
				t.Fatalf("GATEWAY_URL %q is not %q without its credentials", a.Secrets[0].Value, rawURL)
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

// FuzzMessageText proves that, whatever the texts, Generate either rejects a
// MessageText with a *ValidationError wrapping ErrInvalidSpec, or embeds
// each text unchanged and the Action, run in real Node against the fake
// Twilio, sends exactly what a real Liquid engine renders from it. Verify is
// prefix + "{{ code }}" + suffix; Enroll is arbitrary; friendlyName is
// event.tenant.friendly_name.
func FuzzMessageText(f *testing.F) {
	f.Add("Your code is ", ".", "{{code}} enrolls you in {{ tenant.friendly_name }}", "Acme")
	f.Add("", "", "", "")
	f.Add("{{ locale }}: ", " {{friendly_name}}", "{{ password }}", "{{ code }} ${x} \u2028")
	f.Add("</script> `${x}` \"'\\", "{ }} %} {", "", "<b>&")
	f.Add("x", "y", "no code here", "")
	f.Add("{{ user.name }}", "", "{% if x %}{{ code }}{% endif %}", "")
	f.Add("{{- ", " -}}", "{{ code | upcase }}", "")
	f.Add("\x00\x01 日本語 ", " {{", "{{\tcode\n}}", "\xff")
	f.Add("\x00\x01 日本語 ", "\r\n", "{{\vcode\f}}", "\xff")
	withNode := actionrun.NodeAvailable() || os.Getenv("PHONEMIGRATE_REQUIRE_NODE") != ""
	twSrv := newFakeServer(f, http.StatusCreated)
	f.Fuzz(func(t *testing.T, prefix, suffix, enroll, friendlyName string) {
		verify := prefix + "{{ code }}" + suffix
		spec := Spec{Default: Target{
			Twilio: &Twilio{AccountSID: testTwilioSID, AuthToken: testTwilioToken, From: "+15550001111", APIBaseURL: twSrv.URL},
			Text:   &MessageText{Verify: verify, Enroll: enroll},
		}}
		a, err := Generate(spec)
		// Texts that must be accepted or rejected whatever the parser does.
		plain := func(s string) bool {
			return utf8.ValidString(s) && !strings.Contains(s, "{") && utf8.RuneCountInString(s) <= MaxMessageTextLength
		}
		verifyPlain := plain(prefix+suffix) && utf8.RuneCountInString(verify) <= MaxMessageTextLength
		if err != nil {
			var ve *ValidationError
			if !errors.As(err, &ve) || !errors.Is(err, ErrInvalidSpec) {
				t.Fatalf("Generate error %T %v is not a *ValidationError for ErrInvalidSpec", err, err)
			}
			if ve.Field == "Default.Text.Verify" && verifyPlain {
				t.Fatalf("Generate rejected a plain Verify text %q: %v", verify, err)
			}
			if ve.Field == "Default.Text.Enroll" && enroll == "" {
				t.Fatalf("Generate rejected an empty Enroll: %v", err)
			}
			return
		}
		if verifyPlain && enroll != "" && plain(enroll) {
			t.Fatalf("Generate accepted Enroll %q, which has no code placeholder", enroll)
		}
		mustParse(t, "fuzz-text.js", a.Code)
		cfg, exported := evalConfig(t, a.Code)
		if !exported {
			t.Fatal("code does not export onExecuteCustomPhoneProvider")
		}
		text := cfg.Default.Text
		if text == nil || text.OTPVerify == nil || text.OTPVerify.Text == nil || text.OTPVerify.Text.Source != verify {
			t.Fatalf("CONFIG otp_verify text = %+v, want source %q", text, verify)
		}
		if enroll != "" && (text.OTPEnroll == nil || text.OTPEnroll.Text == nil || text.OTPEnroll.Text.Source != enroll) {
			t.Fatalf("CONFIG otp_enroll text = %+v, want source %q", text.OTPEnroll, enroll)
		}
		// The event carries valid UTF-8 only (it travels as JSON).
		friendlyName = strings.ToValidUTF8(friendlyName, "\uFFFD")
		values := map[string]string{placeholderCode: "482913", placeholderLocale: "fr-CA", placeholderFriendlyName: friendlyName}
		want, err := renderLiquid(verify, values)
		if err != nil {
			t.Fatalf("Generate accepted %q, which Liquid cannot render: %v", verify, err)
		}
		if got := renderParts(text.OTPVerify.Text.Parts, values); got != want {
			t.Fatalf("CONFIG parts render %q, Liquid renders %q", got, want)
		}
		if enroll != "" {
			wantEnroll, err := renderLiquid(enroll, values)
			if err != nil {
				t.Fatalf("Generate accepted %q, which Liquid cannot render: %v", enroll, err)
			}
			if got := renderParts(text.OTPEnroll.Text.Parts, values); got != wantEnroll {
				t.Fatalf("CONFIG enroll parts render %q, Liquid renders %q", got, wantEnroll)
			}
		}
		if !withNode {
			return
		}
		ev := mfaEvent("text")
		ev.Notification.MessageType, ev.Notification.Code, ev.Notification.Locale = "otp_verify", "482913", "fr-CA"
		ev.Tenant.FriendlyName = friendlyName
		before := len(twSrv.got())
		if res := run(t, a, ev); res.Outcome != actionrun.Sent {
			t.Fatalf("Outcome = %s (%s), want sent", res.Outcome, res.Reason)
		}
		reqs := twSrv.got()[before:]
		if len(reqs) != 1 {
			t.Fatalf("Twilio got %d requests, want 1", len(reqs))
		}
		form, err := url.ParseQuery(string(reqs[0].Body))
		if err != nil {
			t.Fatal(err)
		}
		if got := form.Get("Body"); got != want {
			t.Errorf("Twilio Body = %q, want %q", got, want)
		}
	})
}
