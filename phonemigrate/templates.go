package phonemigrate

import (
	"fmt"
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
	vars := map[string]any{
		"code": previewSampleCode, "locale": "en", "connection": connection,
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
