package phonemigrate_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/unifiedphone/unifiedphone/phonemigrate"
	"github.com/unifiedphone/unifiedphone/phonemigrate/redact"
)

func TestRedact(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		text    string
		secrets []string
		want    string
	}{
		{name: "plain", text: "bad auth_token abc123 here", secrets: []string{"abc123"}, want: "bad auth_token [redacted] here"},
		{name: "json-escaped echo", text: `{"secret":"a\"b\\c<d"}`, secrets: []string{`a"b\c<d`}, want: `{"secret":"[redacted]"}`},
		{name: "html-escaped json echo", text: `"v":"x\u003cy"`, secrets: []string{`x<y`}, want: `"v":"[redacted]"`},
		{name: "form-encoded echo", text: "client_secret=cs%2FS+%26x&grant_type=x", secrets: []string{"cs/S &x"}, want: "client_secret=[redacted]&grant_type=x"},
		{name: "longest first", text: "tok-long tok", secrets: []string{"tok", "tok-long"}, want: "[redacted] [redacted]"},
		{name: "empty secret ignored", text: "abc", secrets: []string{""}, want: "abc"},
		{name: "control characters", text: "a\x1b[31mred\x07\r\nb\u009bc\x7f", want: "a [31mred   b c "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := redact.Text(tc.text, tc.secrets...); got != tc.want {
				t.Errorf("Redact(%q) = %q, want %q", tc.text, got, tc.want)
			}
		})
	}
}

func TestOptionSecrets(t *testing.T) {
	t.Parallel()
	opts := map[string]any{
		"gateway_url":            "https://gw.example",
		"twilio_token":           "tw-1",
		"gateway_authentication": map[string]any{"secret": "gw-2", "audience": "urn:x", "secret_base64_encoded": true},
		"x":                      []any{map[string]any{"API_Token": "t-3"}, "plain"},
		"client_secrets":         []any{"s-4", 5},
		"template":               "@@password@@",
	}
	got := redact.OptionSecrets(opts)
	sort.Strings(got)
	if diff := cmp.Diff([]string{"gw-2", "s-4", "t-3", "tw-1"}, got); diff != "" {
		t.Errorf("OptionSecrets (-want +got):\n%s", diff)
	}
}

func TestRedactError(t *testing.T) {
	t.Parallel()
	inner := &phonemigrate.APIError{StatusCode: 400, Message: "echo s3cret"}
	err := fmt.Errorf("wrap: %w", inner)
	got := redact.Error(err, "s3cret")
	if got.Error() != "wrap: auth0: 400: echo [redacted]" {
		t.Errorf("text = %q", got)
	}
	if !errors.Is(got, phonemigrate.ErrBadRequest) {
		t.Error("redacted error lost its classification")
	}
	if clean := errors.New("nothing"); redact.Error(clean, "s3cret") != clean {
		t.Error("an error without secrets was wrapped")
	}
	if redact.Error(nil, "x") != nil {
		t.Error("nil error wrapped")
	}
}

// echoClient answers every write with a 400 whose message echoes the
// secrets a careless server could send back: the Twilio token and the
// gateway secret, and an escape sequence.
type echoClient struct{ *memTenant }

func (c echoClient) echo(method, path string) error {
	return &phonemigrate.APIError{Method: method, Path: path, StatusCode: 400,
		Message: "invalid body \x1b[2J{auth_token: " + fxTwilioToken + ", secret: " + fxGwSecret + "}"}
}

func (c echoClient) CreatePhoneProvider(ctx context.Context, req phonemigrate.PhoneProviderRequest) (phonemigrate.PhoneProvider, error) {
	return phonemigrate.PhoneProvider{}, c.echo("POST", "/branding/phone/providers")
}

func (c echoClient) CreateAction(ctx context.Context, req phonemigrate.ActionRequest) (phonemigrate.Action, error) {
	return phonemigrate.Action{}, c.echo("POST", "/actions/actions")
}

// TestFailureRedacted: whatever the Client puts in an error, the error
// Apply returns and the checkpoint's error field hold no secret the run
// knows (Twilio token, gateway secrets of the connections) and no control
// character.
func TestFailureRedacted(t *testing.T) {
	t.Parallel()
	for name, known := range map[string][]string{
		"legacy-gateway": {fxTwilioToken, fxGwSecret},
		"legacy-twilio":  {fxTwilioToken}, // the gateway secret is unknown to this run
	} {
		t.Run(name, func(t *testing.T) {
			m, store := newMigrator(t, echoClient{scenario(name)})
			_, err := m.Apply(t.Context(), baseOptions())
			if err == nil {
				t.Fatal("Apply succeeded")
			}
			if !errors.Is(err, phonemigrate.ErrBadRequest) {
				t.Errorf("error %v lost its classification", err)
			}
			cp, lerr := store.Load(t.Context())
			if lerr != nil {
				t.Fatal(lerr)
			}
			for _, text := range []string{err.Error(), cp.Error} {
				for _, s := range known {
					if strings.Contains(text, s) {
						t.Errorf("text %q leaks %q", text, s[:6]+"…")
					}
				}
				if strings.ContainsAny(text, "\x1b") {
					t.Errorf("text %q holds an escape character", text)
				}
				if !strings.Contains(text, "invalid body") {
					t.Errorf("text %q lost the server's words", text)
				}
			}
			if name == "legacy-gateway" {
				assertNoSecrets(t, cp)
			}
		})
	}
}

// TestLegacyBracesStayLiteral: "{{" and "{%" in a legacy md_with_macros
// template were sent as written; in the tenant template (Liquid) they are
// escaped, so users still read them, and the plan says so.
func TestLegacyBracesStayLiteral(t *testing.T) {
	t.Parallel()
	mt := scenario("legacy-gateway")
	for i := range mt.Conns {
		if mt.Conns[i].ID == "con_gw" {
			mt.Conns[i].Options["template"] = "Code @@password@@ {{ user.email }} {% if x %}{{{"
		}
	}
	m, store := newMigrator(t, mt)
	if _, err := m.Apply(t.Context(), baseOptions()); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	cp, err := store.Load(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var text string
	for _, ti := range cp.Intent.Templates {
		if ti.Type == "otp_verify" {
			text = ti.Text
		}
	}
	want := `Code {{ code }} {{ "{{" }} user.email }} {{ "{%" }} if x %}{{ "{{" }}{`
	if text != want {
		t.Errorf("otp_verify text = %q, want %q", text, want)
	}
	var tpl string
	for _, pt := range mt.snapshot().Templates {
		if pt.Type == "otp_verify" {
			tpl = pt.Content.Text
		}
	}
	if tpl != want {
		t.Errorf("tenant template = %q, want %q", tpl, want)
	}
	warned := false
	for _, w := range cp.Plan.Warnings {
		warned = warned || strings.Contains(w, "md_with_macros sent as written; they are escaped")
	}
	if !warned {
		t.Errorf("no warning in %q", cp.Plan.Warnings)
	}
}
