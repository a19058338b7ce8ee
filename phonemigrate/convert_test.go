package phonemigrate

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestConvertTemplate(t *testing.T) {
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
		{"liquid unknown variable reported", "liquid", "{{ password }} for {{ application.name }}", "{{ code }} for {{ application.name }}", []string{`"application"`}},
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
	in := "{{code}} is your verification code for {{tenant.friendly_name}}"
	if diff := cmp.Diff("{{code}} is your verification code for {{friendly_name}}", convertGuardian(in)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestOptionsValidateE164(t *testing.T) {
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
