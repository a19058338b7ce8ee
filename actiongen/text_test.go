package actiongen

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/osteele/liquid"
)

// ph is a placeholder part, for want tables.
func ph(name string) jsPlaceholder { return jsPlaceholder{Name: name} }

func TestParseText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want []any
	}{
		{"{{ code }}", []any{ph("code")}},
		{"{{code}}", []any{ph("code")}},
		{"{{\t code\n\r}}", []any{ph("code")}},
		{"Your code is {{ password }}.", []any{"Your code is ", ph("code"), "."}},
		{"{{code}} is your verification code for {{tenant.friendly_name}}",
			[]any{ph("code"), " is your verification code for ", ph("tenant.friendly_name")}},
		{"{{ friendly_name }}: {{ code }} ({{ locale }})",
			[]any{ph("tenant.friendly_name"), ": ", ph("code"), " (", ph("locale"), ")"}},
		{"{{code}}{{code}}", []any{ph("code"), ph("code")}},
		// Braces that open no Liquid construct are text.
		{"{ code } {code}}} }} %} { {{ code }}}", []any{"{ code } {code}}} }} %} { ", ph("code"), "}"}},
		{"${x} `t` </script> \u2028 {{ code }}{", []any{"${x} `t` </script> \u2028 ", ph("code"), "{"}},
		// String literals print as written (escaped legacy braces).
		{`{{ "{{" }} x }} {{ code }}`, []any{"{{ x }} ", ph("code")}},
		{`a {{ '{%' }} if %} {{code}}{{"b"}}`, []any{"a {% if %} ", ph("code"), "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseText("F", tt.in)
			if err != nil {
				t.Fatalf("parseText: %v", err)
			}
			if diff := cmp.Diff(&jsTemplate{Source: tt.in, Parts: tt.want}, got); diff != "" {
				t.Errorf("parseText (-want +got):\n%s", diff)
			}
			want, err := renderLiquid(tt.in, textValues)
			if err != nil {
				t.Fatalf("liquid: %v", err)
			}
			if diff := cmp.Diff(want, renderParts(got.Parts, textValues)); diff != "" {
				t.Errorf("rendered text differs from Liquid's (-liquid +ours):\n%s", diff)
			}
		})
	}
}

func TestGenerateRejectsText(t *testing.T) {
	t.Parallel()
	tw := func() *Twilio { return &Twilio{AccountSID: testTwilioSID, AuthToken: testTwilioToken, From: "+1555"} }
	tests := []struct {
		name      string
		text      MessageText
		wantField string
		wantText  string
	}{
		{"all empty", MessageText{}, "Default.Text", "sets no text"},
		{"no code", MessageText{Verify: "Welcome to {{ tenant.friendly_name }}"}, "Default.Text.Verify", "no {{ code }}"},
		{"legacy macro is not a code", MessageText{Enroll: "Your code: @@password@@"}, "Default.Text.Enroll", "no {{ code }}"},
		{"unknown variable", MessageText{Verify: "{{ code }} {{ user.name }}"}, "Default.Text.Verify", `"{{ user.name }}"`},
		{"filter", MessageText{Verify: "{{ code | upcase }}"}, "Default.Text.Verify", "no filters"},
		{"whitespace control", MessageText{Verify: "{{- code -}}"}, "Default.Text.Verify", `"{{- code -}}"`},
		{"empty output", MessageText{Verify: "{{ code }}{{}}"}, "Default.Text.Verify", `"{{}}"`},
		{"nested", MessageText{Verify: "{{ {{ code }} }}"}, "Default.Text.Verify", `"{{ {{ code }}"`},
		{"tag", MessageText{Verify: "{% if locale %}{{ code }}{% endif %}"}, "Default.Text.Verify", `"{% if locale %}"`},
		{"mismatched quotes", MessageText{Verify: `{{ code }} {{ "x' }}`}, "Default.Text.Verify", `"{{ \"x' }}"`},
		{"quote inside literal", MessageText{Verify: `{{ code }} {{ "a"b" }}`}, "Default.Text.Verify", `only the placeholders`},
		{"unclosed tag", MessageText{Verify: "{{ code }} {% raw"}, "Default.Text.Verify", "Liquid tag"},
		{"unclosed output", MessageText{Verify: "{{ code }} {{ code"}, "Default.Text.Verify", "without a closing }}"},
		{"single closing brace", MessageText{Verify: "{{ code }"}, "Default.Text.Verify", "without a closing }}"},
		{"invalid UTF-8", MessageText{Verify: "{{ code }}\xff"}, "Default.Text.Verify", "UTF-8"},
		{"too long", MessageText{Verify: "{{ code }}" + strings.Repeat("é", MaxMessageTextLength)}, "Default.Text.Verify", "at most 1600"},
		{"voice without code", MessageText{Verify: "{{ code }}", VerifyVoice: "Hello"}, "Default.Text.VerifyVoice", "no {{ code }}"},
		{"enroll voice tag", MessageText{EnrollVoice: "{{ code }}{%comment%}"}, "Default.Text.EnrollVoice", "Liquid tag"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := tt.text
			got, err := Generate(Spec{Default: Target{Twilio: tw(), Text: &text}})
			if err == nil {
				t.Fatalf("Generate = %+v, want an error", got)
			}
			if !errors.Is(err, ErrInvalidSpec) {
				t.Errorf("error %v is not ErrInvalidSpec", err)
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("error %T is not a *ValidationError", err)
			}
			if ve.Field != tt.wantField || !strings.Contains(ve.Problem, tt.wantText) {
				t.Errorf("error = {Field: %q, Problem: %q}, want Field %q and Problem containing %q", ve.Field, ve.Problem, tt.wantField, tt.wantText)
			}
		})
	}

	t.Run("passwordless target names its field", func(t *testing.T) {
		_, err := Generate(Spec{
			Default:      Target{Twilio: tw()},
			Passwordless: &Target{Gateway: &Gateway{URL: "https://gw.example"}, Text: &MessageText{Enroll: "{{ cod }}"}},
		})
		var ve *ValidationError
		if !errors.As(err, &ve) || ve.Field != "Passwordless.Text.Enroll" || !errors.Is(err, ErrInvalidSpec) {
			t.Errorf("error = %v, want ErrInvalidSpec for Passwordless.Text.Enroll", err)
		}
	})
	t.Run("target errors come first", func(t *testing.T) {
		_, err := Generate(Spec{Default: Target{Twilio: &Twilio{}, Text: &MessageText{}}})
		if !errors.Is(err, ErrInvalidTwilio) {
			t.Errorf("error = %v, want ErrInvalidTwilio", err)
		}
	})
	t.Run("code over Auth0's size limit", func(t *testing.T) {
		// Control characters take six bytes each in a JSON literal, and
		// every text is embedded twice (source and parts).
		long := "{{ code }}" + strings.Repeat("\x01", MaxMessageTextLength-10)
		text := &MessageText{Verify: long, Enroll: long, VerifyVoice: long, EnrollVoice: long}
		_, err := Generate(Spec{
			Default:      Target{Twilio: tw(), Text: text},
			Passwordless: &Target{Gateway: &Gateway{URL: "https://gw.example"}, Text: text},
		})
		var ve *ValidationError
		if !errors.As(err, &ve) || ve.Field != "Text" || !strings.Contains(ve.Problem, "at most 102400") {
			t.Errorf("error = %v, want a size error for Text", err)
		}
	})
}

// TestTextOnlyWhereSet shows that code without any Text carries none of the
// text machinery, and code with it does.
func TestTextOnlyWhereSet(t *testing.T) {
	t.Parallel()
	tw := &Twilio{AccountSID: testTwilioSID, AuthToken: testTwilioToken, From: "+1555"}
	plain, err := Generate(Spec{Default: Target{Twilio: tw}})
	if err != nil {
		t.Fatal(err)
	}
	withText, err := Generate(Spec{Default: Target{Twilio: tw}, Passwordless: &Target{Twilio: tw, Text: &MessageText{Verify: "{{code}}"}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		code string
		want bool
	}{{plain.Code, false}, {withText.Code, true}} {
		if got := strings.Contains(c.code, "withMessageText"); got != c.want {
			t.Errorf("code contains withMessageText = %v, want %v", got, c.want)
		}
	}
	mustParse(t, "with-text.js", withText.Code)
	cfg, ok := evalConfig(t, withText.Code)
	if !ok {
		t.Fatal("no handler exported")
	}
	if cfg.Default.Text != nil || cfg.Passwordless.Text == nil || cfg.Passwordless.Text.OTPVerify.Text.Source != "{{code}}" ||
		cfg.Passwordless.Text.OTPEnroll != nil || cfg.Passwordless.Text.OTPVerify.Voice != nil {
		t.Errorf("CONFIG text = default %+v, passwordless %+v; want only passwordless otp_verify text", cfg.Default.Text, cfg.Passwordless.Text)
	}
}

// textValues are the values the placeholders take in the tests.
var textValues = map[string]string{
	placeholderCode:         "482913",
	placeholderLocale:       "fr-CA",
	placeholderFriendlyName: "Acme & Co {{ code }}",
}

// renderParts renders parts the way the generated code does.
func renderParts(parts []any, values map[string]string) string {
	var b strings.Builder
	for _, p := range parts {
		switch p := p.(type) {
		case string:
			b.WriteString(p)
		case jsPlaceholder:
			b.WriteString(values[p.Name])
		case map[string]any: // decoded from CONFIG
			b.WriteString(values[p["name"].(string)])
		}
	}
	return b.String()
}

// renderLiquid renders s with a real Liquid engine and the bindings Auth0's
// phone templates (and the legacy Passwordless template) offer: the oracle
// for what a text means.
func renderLiquid(s string, values map[string]string) (string, error) {
	return liquid.NewEngine().ParseAndRenderString(s, map[string]any{
		"code":          values[placeholderCode],
		"password":      values[placeholderCode],
		"locale":        values[placeholderLocale],
		"friendly_name": values[placeholderFriendlyName],
		"tenant":        map[string]any{"friendly_name": values[placeholderFriendlyName]},
	})
}
