package phonemigrate

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestConvertTemplate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, syntax, in, want string
		warnings               []string // substrings, one per warning
	}{
		{"md password", "md_with_macros", "Your code is: @@password@@", "Your code is: {{ code }}", nil},
		{"md twice", "md_with_macros", "@@password@@ / @@password@@", "{{ code }} / {{ code }}", nil},
		{"md unknown macro kept and reported", "md_with_macros", "@@password@@ for @@application.name@@", "{{ code }} for @@application.name@@", []string{"@@application.name@@"}},
		{"md default syntax", "", "code @@password@@", "code {{ code }}", nil},
		{"md no macro", "md_with_macros", "no code here", "no code here", nil},
		{"liquid password", "liquid", "{{ password }} is your code", "{{ code }} is your code", nil},
		{"liquid password no spaces", "liquid", "{{password}}!", "{{code}}!", nil},
		{"liquid code untouched", "liquid", "{{ code }} is your code", "{{ code }} is your code", nil},
		{"liquid password in tag", "liquid", "{% if password %}{{ password | upcase }}{% endif %}", "{% if code %}{{ code | upcase }}{% endif %}", nil},
		{"liquid password outside braces untouched", "liquid", "password: {{ password }}", "password: {{ code }}", nil},
		{"liquid member named password untouched", "liquid", "{{ user.password }}", "{{ user.password }}", nil},
		// application.* is documented for phone templates (Auth0's page).
		{"liquid application known", "liquid", "{{ password }} for {{ application.name }}", "{{ code }} for {{ application.name }}", nil},
		{"liquid unknown variable reported", "liquid", "{{ password }} for {{ app_name }}", "{{ code }} for {{ app_name }}", []string{`"app_name", which tenant phone templates do not have; it is kept verbatim and renders empty`}},
		{"liquid legacy variables with their closest", "liquid", "{{ password }} ({{ request_language }}) to {{ phone_number }}", "{{ code }} ({{ request_language }}) to {{ phone_number }}",
			[]string{`"request_language", which tenant phone templates do not have (closest: locale)`, `"phone_number", which tenant phone templates do not have (closest: user.phone_number)`}},
		{"liquid known variables", "liquid", "{{ code }} {{ friendly_name }} {{ client.name }}", "{{ code }} {{ friendly_name }} {{ client.name }}", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, warnings := convertTemplate(tt.syntax, tt.in, "template of connection \"sms\"")
			if got != tt.want {
				t.Errorf("convertTemplate(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if len(warnings) != len(tt.warnings) {
				t.Fatalf("warnings = %q, want %d", warnings, len(tt.warnings))
			}
			for i, w := range tt.warnings {
				if !strings.Contains(warnings[i], w) {
					t.Errorf("warning %q does not mention %q", warnings[i], w)
				}
			}
		})
	}
}

func TestConvertGuardian(t *testing.T) {
	t.Parallel()
	in := "{{code}} is your verification code for {{tenant.friendly_name}}"
	if diff := cmp.Diff("{{code}} is your verification code for {{friendly_name}}", convertGuardian(in)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestOptionsValidateE164(t *testing.T) {
	t.Parallel()
	for r, ok := range map[string]bool{
		"+15551234567": true, "+447700900123": true, "+1234567": true, "+123456789012345": true,
		"+123456": false, "+1234567890123456": false, "15551234567": false, "+0551234567": false, "+1 555 123 4567": false, "": false,
	} {
		o := Options{TestRecipients: []string{r}}
		err := o.validate()
		if (err == nil) != ok {
			t.Errorf("validate(%q) = %v, want ok=%v", r, err, ok)
		}
	}
}

func TestPreviewTemplate(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in, want string }{
		{"code and tenant", "{{ code }} is your code for {{ friendly_name }}", "123456 is your code for Your Company"},
		{"documented nested", "{{ code }} for {{ application.name }} to {{ user.phone_number }} via {{ connection }}", "123456 for Your App to +15551234567 via sms"},
		// An undocumented variable renders empty, as Auth0 renders it: the
		// gap is what users would read.
		{"undocumented renders empty", "{{ code }} is your {{ app_name }} login code", "123456 is your  login code"},
		{"filters", "{{ code | escape }} for {{ friendly_name | upcase }}", "123456 for YOUR COMPANY"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := previewTemplate(tt.in, "sms")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	if _, err := previewTemplate("{% if %}", "sms"); err == nil {
		t.Errorf("a template that does not parse rendered")
	}
}
