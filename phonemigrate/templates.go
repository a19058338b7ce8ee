package phonemigrate

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/osteele/liquid"
)

// upeVariables are the root Liquid variables Auth0 documents for tenant
// phone templates ("Supported Liquid Syntax for Phone Templates"): the
// tenant's, the message's, the user's, the application's and, when the
// login goes through one, the Organization's and the custom domain's.
var upeVariables = map[string]bool{
	"tenant": true, "friendly_name": true, "support_email": true, "support_url": true, "logo_url": true,
	"home_url": true, "region": true, "locale": true, "code": true, "connection": true, "user": true,
	"client": true, "application": true, "organization": true, "custom_domain": true,
}

// legacyEquivalents name the phone-template variable closest to a legacy
// Passwordless template variable that has no same-named counterpart.
var legacyEquivalents = map[string]string{
	"password":         "code",
	"request_language": "locale",
	"phone_number":     "user.phone_number",
}

// closest returns " (closest: X)" for a legacy variable with a known
// counterpart, else "".
func closest(v string) string {
	if c, ok := legacyEquivalents[v]; ok {
		return " (closest: " + c + ")"
	}
	return ""
}

// previewSampleCode is the code a plan's preview of a template shows.
const previewSampleCode = "123456"

// previewTemplate renders a tenant phone template text as a user would
// read it, with sample values for the documented variables (code 123456,
// the connection's name, placeholders for the tenant's and user's
// details) and nothing for any other variable, exactly as Auth0 renders
// an unknown variable. It lets a plan show the gaps a legacy variable
// leaves (e.g. "123456 is your  login code").
func previewTemplate(text, connection string) (string, error) {
	return renderSample(text, connection, previewSampleCode)
}

// renderSample renders text as previewTemplate does, with code as the
// one-time code.
func renderSample(text, connection, code string) (string, error) {
	vars := map[string]any{
		"code": code, "locale": "en", "connection": connection,
		"tenant": "your-tenant", "friendly_name": "Your Company", "support_email": "support@example.com",
		"support_url": "https://example.com/support", "logo_url": "https://example.com/logo.png",
		"home_url": "https://example.com", "region": "us",
		"user":          map[string]any{"name": "+15551234567", "nickname": "+15551234567", "phone_number": "+15551234567", "phone_verified": true},
		"client":        map[string]any{"name": "Your App", "clientID": "client-id"},
		"application":   map[string]any{"name": "Your App"},
		"organization":  map[string]any{},
		"custom_domain": map[string]any{},
	}
	out, err := liquid.NewEngine().ParseAndRenderString(text, vars)
	if err != nil {
		return "", fmt.Errorf("the template does not render: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

// Template conversion.
var (
	mdMacro     = regexp.MustCompile(`@@([^@\s]+)@@`)
	liquidOut   = regexp.MustCompile(`\{\{-?\s*([A-Za-z_][A-Za-z0-9_]*)`)
	liquidBlock = regexp.MustCompile(`\{[{%].*?[}%]\}`)
	liquidPwd   = regexp.MustCompile(`(^|[^.\w])password\b`)
)

// convertTemplate turns a legacy connection template into tenant template
// Liquid: md_with_macros @@password@@ and Liquid password become {{ code }}.
// Macros and variables with no known equivalent are kept verbatim and
// reported.
func convertTemplate(syntax, text, source string) (string, []string) {
	var warnings []string
	if syntax == "liquid" {
		out := liquidBlock.ReplaceAllStringFunc(text, func(block string) string {
			return liquidPwd.ReplaceAllString(block, "${1}code")
		})
		seen := map[string]bool{}
		for _, mm := range liquidOut.FindAllStringSubmatch(out, -1) {
			v := mm[1]
			if !upeVariables[v] && !seen[v] {
				seen[v] = true
				warnings = append(warnings, fmt.Sprintf("The %s uses Liquid variable %q, which tenant phone templates do not have%s; it is kept verbatim and renders empty — edit the migrated template.", source, v, closest(v)))
			}
		}
		return out, warnings
	}
	// md_with_macros text is literal apart from its macros: "{{" and "{%"
	// in it were sent as written, and must not become live Liquid.
	if escaped := escapeLiquid(text); escaped != text {
		warnings = append(warnings, fmt.Sprintf("The %s contains \"{{\" or \"{%%\", which md_with_macros sent as written; they are escaped (as {{ \"{{\" }} and {{ \"{%%\" }}) so that users still read them literally — check the migrated template.", source))
		text = escaped
	}
	seen := map[string]bool{}
	out := mdMacro.ReplaceAllStringFunc(text, func(s string) string {
		name := mdMacro.FindStringSubmatch(s)[1]
		if name == "password" {
			return "{{ code }}"
		}
		if !seen[name] {
			seen[name] = true
			warnings = append(warnings, fmt.Sprintf("The %s uses macro @@%s@@, which has no tenant template equivalent%s; it is kept verbatim — edit the migrated template.", source, name, closest(name)))
		}
		return s
	})
	return out, warnings
}

// escapeLiquid makes every "{{" and "{%" of text print literally under
// Liquid, as the string literal outputs {{ "{{" }} and {{ "{%" }}.
func escapeLiquid(text string) string {
	if !strings.Contains(text, "{{") && !strings.Contains(text, "{%") {
		return text
	}
	var b strings.Builder
	for i := 0; i < len(text); i++ {
		if text[i] == '{' && i+1 < len(text) && (text[i+1] == '{' || text[i+1] == '%') {
			b.WriteString(`{{ "{` + string(text[i+1]) + `" }}`)
			i++
			continue
		}
		b.WriteByte(text[i])
	}
	return b.String()
}

var guardianTenantName = regexp.MustCompile(`\btenant\.friendly_name\b`)

// convertGuardian turns a legacy Guardian template into a tenant template:
// both are Liquid with {{code}}; only the tenant's friendly name moved from
// tenant.friendly_name to friendly_name.
func convertGuardian(text string) string {
	return liquidBlock.ReplaceAllStringFunc(text, func(block string) string {
		return guardianTenantName.ReplaceAllString(block, "friendly_name")
	})
}

// planTemplates decides the tenant phone templates: otp_verify from the
// Passwordless connection template (or, without Passwordless, the legacy
// Guardian verification message) with the connection's from; otp_enroll from
// the legacy Guardian enrollment message when MFA is enabled. mfaVerify is
// the converted legacy MFA verification message when it differs from the
// otp_verify template (which the Passwordless text won), else "".
func planTemplates(d *Discovery, passwordless bool) (out []templateIntent, warnings []string, mfaVerify string) {
	var verify *templateIntent
	if passwordless {
		for i := range d.SMSConnections {
			c := &d.SMSConnections[i]
			if connectionPath(c) == nil {
				continue
			}
			tpl := optString(c.Options, "template")
			if tpl == "" {
				continue
			}
			source := fmt.Sprintf("template of connection %q", c.Name)
			text, w := convertTemplate(optString(c.Options, "syntax"), tpl, source)
			ti := templateIntent{Type: "otp_verify", Source: "connection " + c.Name, From: optString(c.Options, "from"), Text: text}
			if len(ti.From) > 16 {
				warnings = append(warnings, fmt.Sprintf("The from %q of connection %q is longer than the 16 characters a tenant template allows; it is not carried.", ti.From, c.Name))
				ti.From = ""
			}
			if verify == nil {
				verify = &ti
				warnings = append(warnings, w...)
			} else if verify.Text != ti.Text || verify.From != ti.From {
				warnings = append(warnings, fmt.Sprintf("Connection %q has a different template or from than %s; the tenant has one otp_verify template, so %s's is used.", c.Name, verify.Source, verify.Source))
			}
		}
	}
	if d.MFAEnabled && d.LegacyTemplates != nil {
		if v := d.LegacyTemplates.VerificationMessage; v != "" {
			if verify == nil {
				verify = &templateIntent{Type: "otp_verify", Source: "guardian verification message", Text: convertGuardian(v)}
			} else if convertGuardian(v) != verify.Text {
				mfaVerify = convertGuardian(v)
			}
		}
	}
	if verify != nil {
		out = append(out, *verify)
	}
	if d.MFAEnabled && d.LegacyTemplates != nil && d.LegacyTemplates.EnrollmentMessage != "" {
		out = append(out, templateIntent{Type: "otp_enroll", Source: "guardian enrollment message", Text: convertGuardian(d.LegacyTemplates.EnrollmentMessage)})
	}
	return out, warnings, mfaVerify
}

// mfaTextWarning is the plan warning when MFA verification messages take
// the Passwordless text.
func mfaTextWarning(source, why string) string {
	return fmt.Sprintf("The legacy MFA verification message differs from the Passwordless template; the tenant has one otp_verify template, so %s's is used for both%s.", source, why)
}
