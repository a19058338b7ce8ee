package redact_test

import (
	"encoding/base64"
	"encoding/hex"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/unifiedphone/unifiedphone/phonemigrate/redact"
)

// TestRedactVariants: a secret is redacted in every form a hostile server
// can echo it in — base64 (alone or inside a Basic authorization value),
// hex, another letter case, split by control or invisible characters — and
// characters that can mislead a terminal or a reader never survive.
func TestRedactVariants(t *testing.T) {
	t.Parallel()
	const sec = "Tw1lio-T0ken-9f8e7d"
	basic := base64.StdEncoding.EncodeToString([]byte("AC123:" + sec))
	for _, tc := range []struct{ name, text string }{
		{"base64", "got " + base64.StdEncoding.EncodeToString([]byte(sec))},
		{"base64url", "got " + base64.RawURLEncoding.EncodeToString([]byte(sec+"?>"))},
		{"inside basic auth", "Authorization: Basic " + basic},
		{"hex", "got " + hex.EncodeToString([]byte(sec))},
		{"HEX", "got " + strings.ToUpper(hex.EncodeToString([]byte(sec)))},
		{"upper case", "got " + strings.ToUpper(sec)},
		{"lower case", "got " + strings.ToLower(sec)},
		{"split by escape", "got Tw1lio-T0\x1bken-9f8e7d"},
		{"split by newline", "got Tw1lio-T0ken\n-9f8e7d"},
		{"split by zero-width space", "got Tw1lio\u200b-T0ken-9f8e7d"},
		{"split by RLO", "got Tw1lio-T0\u202eken-9f8e7d"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := redact.Text(tc.text, sec)
			if !strings.Contains(got, redact.Mark) {
				t.Errorf("Text(%q) = %q: not redacted", tc.text, got)
			}
			for _, part := range []string{"T0ken", "t0ken", "T0KEN", "9f8e7d", "T0 ken", "ken-9f"} {
				if strings.Contains(got, part) {
					t.Errorf("Text(%q) = %q: part %q left", tc.text, got, part)
				}
			}
		})
	}
	if got := redact.Text("an ordinary sentence", "sentence-not-here"); got != "an ordinary sentence" {
		t.Errorf("text without the secret changed: %q", got)
	}
}

// TestStripControlUnsafe: bidirectional overrides, line and paragraph
// separators, one-byte CSI and other C1 controls, zero-width characters
// are replaced; ordinary non-ASCII text is kept.
func TestStripControlUnsafe(t *testing.T) {
	t.Parallel()
	for _, r := range []rune{0x1b, 0x9b, 0x85, 0x2028, 0x2029, 0x202e, 0x202a, 0x2066, 0x2069, 0x200e, 0x200b, 0xfeff, 0x061c} {
		in := "a" + string(r) + "b"
		if got := redact.StripControl(in); got != "a b" {
			t.Errorf("StripControl(%q) = %q, want %q", in, got, "a b")
		}
	}
	for _, keep := range []string{"Café 東京 +1 555", "مرحبا", "tab\tless"[:3]} {
		if got := redact.StripControl(keep); got != keep {
			t.Errorf("StripControl(%q) = %q", keep, got)
		}
	}
}

// TestOptionSecretsURL: credentials in a URL option are secrets — user
// info (user name and password) and the values of query parameters named
// like keys — and so are values under keys or headers named like keys.
func TestOptionSecretsURL(t *testing.T) {
	t.Parallel()
	opts := map[string]any{
		"gateway_url":            "https://gw%2Duser:p%40ss-1@sms.example/send?to=x&apikey=k-2&sig=s-3#f",
		"other_url":              "http://only-user@h.example/p",
		"headers":                map[string]any{"X-API-Key": "h-4", "Accept": "json"},
		"gateway_authentication": map[string]any{"method": "bearer", "secret": "gw-5", "audience": "urn:x", "subject": "sub"},
		"from":                   "+15551234",
		"template":               "@@password@@",
	}
	var got []string
	for _, s := range redact.FindOptionSecrets(opts) {
		got = append(got, s.Path+"="+s.Value+"|"+s.Decoded)
	}
	want := []string{
		"gateway_authentication.secret=gw-5|",
		"gateway_url.password=p%40ss-1|p@ss-1",
		"gateway_url.query.apikey=k-2|",
		"gateway_url.query.sig=s-3|",
		"gateway_url.username=gw%2Duser|gw-user",
		"headers.X-API-Key=h-4|",
		"other_url.username=only-user|",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("FindOptionSecrets (-want +got):\n%s", diff)
	}
	vals := redact.OptionSecrets(opts)
	sort.Strings(vals)
	for _, v := range []string{"gw-user:p@ss-1", "p@ss-1", "p%40ss-1", "k-2"} {
		if i := sort.SearchStrings(vals, v); i == len(vals) || vals[i] != v {
			t.Errorf("OptionSecrets lacks %q: %q", v, vals)
		}
	}
	repl := redact.ReplaceOptionSecrets(opts, func(s redact.OptionSecret) string { return "<" + s.Path + ">" })
	if got, want := repl["gateway_url"], "https://<gateway_url.username>:<gateway_url.password>@sms.example/send?to=x&apikey=<gateway_url.query.apikey>&sig=<gateway_url.query.sig>#f"; got != want {
		t.Errorf("replaced gateway_url = %q, want %q", got, want)
	}
	if opts["gateway_url"] != "https://gw%2Duser:p%40ss-1@sms.example/send?to=x&apikey=k-2&sig=s-3#f" || opts["headers"].(map[string]any)["X-API-Key"] != "h-4" {
		t.Error("ReplaceOptionSecrets changed its input")
	}
	// A Basic authorization header built from the URL's user info.
	echo := "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte("gw-user:p@ss-1"))
	if got := redact.Text(echo, vals...); strings.Contains(got, "Z3ct") {
		t.Errorf("basic auth of the URL's credentials not redacted: %q", got)
	}
}

func TestSecretName(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]bool{
		"twilio_token": true, "secret": true, "apikey": true, "api_key": true, "X-API-Key": true, "Authorization": true,
		"key": true, "access_key": true, "password": true, "pwd": true, "sig": true, "signature": true, "client_secret": true,
		"gateway_authentication": false, "secret_base64_encoded": true, "to": false, "from": false, "twilio_sid": false,
		"template": false, "syntax": false, "messaging_service_sid": false, "audience": false, "subject": false, "method": false,
	} {
		if got := redact.SecretName(name); got != want {
			t.Errorf("SecretName(%q) = %v, want %v", name, got, want)
		}
	}
}
