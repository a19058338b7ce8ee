package phonemigratetest

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// Scenario names a realistic starting tenant the fake is seeded with.
type Scenario string

// The scenarios. Every one also has a "Username-Password-Authentication"
// database connection, so that strategy filtering matters.
const (
	// Empty has nothing phone-related: no SMS connection, MFA phone factor
	// off. A migration must refuse it.
	Empty Scenario = "empty"
	// LegacyGateway has a Passwordless SMS connection "sms" sending through
	// a custom SMS gateway (the fake's own [Gateway] unless
	// [WithGatewayURL]) with bearer JWT authentication, forward_req_info,
	// an md_with_macros template, and option keys Auth0 does not document
	// ("custom_flag", "upstream_params") that a migration must preserve.
	LegacyGateway Scenario = "legacy-gateway"
	// LegacyTwilio has a Passwordless SMS connection "sms" sending through
	// Twilio (twilio_sid/twilio_token/from on the connection) with a
	// Liquid template.
	LegacyTwilio Scenario = "legacy-twilio"
	// MFATwilio has MFA SMS and voice through Guardian's legacy Twilio
	// provider and no Passwordless connection.
	MFATwilio Scenario = "mfa-twilio"
	// Mixed has Passwordless through a custom gateway (base64url-encoded
	// secret) and MFA SMS through Guardian's legacy Twilio provider.
	Mixed Scenario = "mixed"
	// Unified is already on the Unified Phone Experience: tenant switch on,
	// a Twilio phone provider, otp_verify/otp_enroll templates, MFA SMS.
	Unified Scenario = "unified"
)

// Scenarios returns every scenario, in a stable order.
func Scenarios() []Scenario {
	return []Scenario{Empty, LegacyGateway, LegacyTwilio, MFATwilio, Mixed, Unified}
}

// ErrUnknownScenario is returned (wrapped) by [ParseScenario] for a name
// that is not a scenario.
var ErrUnknownScenario = errors.New("unknown scenario")

// ParseScenario returns the scenario named s (case-insensitive, surrounding
// space ignored), or an error wrapping [ErrUnknownScenario] that lists the
// valid names.
func ParseScenario(s string) (Scenario, error) {
	name := strings.ToLower(strings.TrimSpace(s))
	var names []string
	for _, sc := range Scenarios() {
		if string(sc) == name {
			return sc, nil
		}
		names = append(names, string(sc))
	}
	return "", fmt.Errorf("phonemigratetest: %w %q (want one of %s)", ErrUnknownScenario, s, strings.Join(names, ", "))
}

// Fake constants the scenarios are seeded with. They are not secrets: they
// only ever authenticate against this package's fakes. Tests use them to
// check that what arrives at the gateway or at fake Twilio was signed or
// authenticated with the right value.
const (
	// TenantName is the tenant name (phone providers' "tenant").
	TenantName = "acme-legacy"
	// TenantFriendlyName is tenant_settings.friendly_name.
	TenantFriendlyName = "ACME Corp"
	// AppClientID is the application enabled on the scenario connections.
	AppClientID = "wq8TzY3kLmN5pR7sVx2bC4dF6gH9jK1a"

	// GatewaySecret signs the legacy gateway JWT in LegacyGateway
	// (secret_base64_encoded false).
	GatewaySecret = "fake-gw-signing-secret-4f8a2c9e7b1d3f5a"
	// GatewaySecretBase64 is the base64url-encoded secret of Mixed
	// (secret_base64_encoded true); the signing key is its decoded bytes,
	// [GatewaySecretBase64Key].
	GatewaySecretBase64 = "ZmFrZS1iNjQtZ2F0ZXdheS1rZXktYnl0ZXMtMDEyMzQ1Njc4OQ"
	// GatewayAudience and GatewaySubject are the gateway JWT's aud and sub.
	GatewayAudience = "urn:MySmsGateway"
	GatewaySubject  = "urn:Auth0"
	// GatewayPath is the path of gateway_url on the fake's [Gateway].
	GatewayPath = "/sms"

	// TwilioSID and TwilioAuthToken are the Twilio account of every
	// scenario (known to the fake Twilio API); TwilioFrom its sender.
	TwilioSID       = "ACf0e1d2c3b4a5968778695a4b3c2d1e0f"
	TwilioAuthToken = "fa4e0c0ffee0twilio0token00000001"
	TwilioFrom      = "+15005550006"

	// SMSFrom is the Passwordless connections' "from".
	SMSFrom = "+15005550006"
	// GatewayTemplate is LegacyGateway's md_with_macros template.
	GatewayTemplate = "Your ACME verification code is: @@password@@"
	// TwilioTemplate is LegacyTwilio's Liquid template.
	TwilioTemplate = "{{ code }} is your ACME login code. It expires in 5 minutes."
	// MFAEnrollmentMessage and MFAVerificationMessage are the legacy
	// Guardian templates of MFATwilio and Mixed.
	MFAEnrollmentMessage   = "{{code}} is your ACME enrollment code."
	MFAVerificationMessage = "{{code}} is your ACME verification code."
	// UnifiedVerifyText and UnifiedEnrollText are Unified's otp_verify and
	// otp_enroll template texts.
	UnifiedVerifyText = "Your ACME code is {{ code }}."
	UnifiedEnrollText = "Use {{ code }} to enroll your phone with ACME."
)

// GatewaySecretBase64Key returns the key bytes of [GatewaySecretBase64].
func GatewaySecretBase64Key() []byte {
	b, err := base64.RawURLEncoding.DecodeString(GatewaySecretBase64)
	if err != nil {
		panic(err) // constant
	}
	return b
}

// Auth0's default legacy Guardian texts.
const (
	defaultEnrollmentMessage   = "{{code}} is your verification code for {{tenant.friendly_name}}. Please enter this code to verify your enrollment."
	defaultVerificationMessage = "{{code}} is your verification code for {{tenant.friendly_name}}"
)

func allFactors(smsEnabled bool) []Factor {
	// In the order Auth0 lists them (recorded).
	names := []string{"sms", "push-notification", "otp", "email", "duo", "webauthn-roaming", "webauthn-platform", "recovery-code"}
	out := make([]Factor, 0, len(names))
	for _, n := range names {
		out = append(out, Factor{Name: n, Enabled: n == "sms" && smsEnabled || n == "otp"})
	}
	return out
}

func baseTenantSettings(upe bool) map[string]any {
	out := map[string]any{
		"friendly_name":         TenantFriendlyName,
		"support_email":         "support@acme.example",
		"support_url":           "https://acme.example/support",
		"picture_url":           "https://acme.example/logo.png",
		"default_audience":      "",
		"default_directory":     "",
		"enabled_locales":       []any{"en", "fr"},
		"sandbox_version":       "18",
		"session_lifetime":      168.0,
		"idle_session_lifetime": 72.0,
		"flags":                 map[string]any{"enable_client_connections": false, "revoke_refresh_token_grant": false, "disable_clickjack_protection_headers": false},
	}
	// Recorded: legacy tenants usually do not have the key at all (absent
	// means off); the Unified scenario has it true.
	if upe {
		out["phone_consolidated_experience"] = true
	}
	return out
}

func dbConnection() Connection {
	return Connection{
		ID:       "con_Db5kR2nW8qLx3TzP",
		Name:     "Username-Password-Authentication",
		Strategy: "auth0",
		Options: map[string]any{
			"mfa":                    map[string]any{"active": true, "return_enroll_settings": true},
			"passwordPolicy":         "good",
			"brute_force_protection": true,
			"strategy_version":       2.0,
		},
		Realms:         []string{"Username-Password-Authentication"},
		EnabledClients: []string{AppClientID},
	}
}

func gatewayConnection(id, gatewayURL string, base64Secret bool) Connection {
	auth := map[string]any{
		"method":                "bearer",
		"subject":               GatewaySubject,
		"audience":              GatewayAudience,
		"secret":                GatewaySecret,
		"secret_base64_encoded": false,
	}
	if base64Secret {
		auth["secret"] = GatewaySecretBase64
		auth["secret_base64_encoded"] = true
	}
	return Connection{
		ID:       id,
		Name:     "sms",
		Strategy: "sms",
		Options: map[string]any{
			"name":                   "sms",
			"provider":               "sms_gateway",
			"gateway_url":            gatewayURL,
			"gateway_authentication": auth,
			"forward_req_info":       true,
			"from":                   SMSFrom,
			"syntax":                 "md_with_macros",
			"template":               GatewayTemplate,
			"totp":                   map[string]any{"time_step": 300.0, "length": 6.0},
			"brute_force_protection": true,
			"disable_signup":         false,
			"custom_flag":            "keep-me",
			"upstream_params":        map[string]any{"screen_hint": map[string]any{"value": "sms"}},
		},
		Realms:         []string{"sms"},
		EnabledClients: []string{AppClientID},
	}
}

func twilioConnection() Connection {
	return Connection{
		ID:       "con_Tw3hJ6cV9mQs1KeY",
		Name:     "sms",
		Strategy: "sms",
		Options: map[string]any{
			"name":                   "sms",
			"twilio_sid":             TwilioSID,
			"twilio_token":           TwilioAuthToken,
			"from":                   SMSFrom,
			"messaging_service_sid":  nil,
			"syntax":                 "liquid",
			"template":               TwilioTemplate,
			"totp":                   map[string]any{"time_step": 180.0, "length": 6.0},
			"brute_force_protection": true,
			"disable_signup":         true,
		},
		Realms:         []string{"sms"},
		EnabledClients: []string{AppClientID},
	}
}

const seedTime = "2025-01-15T09:30:00.000Z"

// seed builds the initial state of sc. gatewayURL is the gateway_url of the
// gateway scenarios.
func seed(sc Scenario, gatewayURL string) (*State, error) {
	st := &State{
		TenantSettings: baseTenantSettings(false),
		Connections:    []Connection{dbConnection()},
		Guardian: Guardian{
			Factors:          allFactors(false),
			MessageTypes:     []string{},
			SelectedProvider: "auth0",
			Templates:        GuardianTemplates{EnrollmentMessage: defaultEnrollmentMessage, VerificationMessage: defaultVerificationMessage},
		},
	}
	mfaTwilio := func() {
		st.Guardian.Factors = allFactors(true)
		st.Guardian.MessageTypes = []string{"sms", "voice"}
		st.Guardian.SelectedProvider = "twilio"
		st.Guardian.Twilio = GuardianTwilio{SID: TwilioSID, From: TwilioFrom, AuthToken: TwilioAuthToken}
		st.Guardian.Templates = GuardianTemplates{EnrollmentMessage: MFAEnrollmentMessage, VerificationMessage: MFAVerificationMessage}
	}
	switch sc {
	case Empty:
	case LegacyGateway:
		st.Connections = append(st.Connections, gatewayConnection("con_Gw7tQ2mN8xLp4RvZ", gatewayURL, false))
	case LegacyTwilio:
		st.Connections = append(st.Connections, twilioConnection())
	case MFATwilio:
		mfaTwilio()
	case Mixed:
		st.Connections = append(st.Connections, gatewayConnection("con_Mx9pL4wE2rT7yU3i", gatewayURL, true))
		mfaTwilio()
		st.Guardian.MessageTypes = []string{"sms"}
		// A tenant whose switch was turned off again has the key, false.
		st.TenantSettings["phone_consolidated_experience"] = false
	case Unified:
		st.TenantSettings = baseTenantSettings(true)
		st.Connections = append(st.Connections, Connection{
			ID: "con_Un4fH8kD1sZc6VbN", Name: "sms", Strategy: "sms",
			Options: map[string]any{
				"name": "sms", "totp": map[string]any{"time_step": 300.0, "length": 6.0},
				"brute_force_protection": true, "disable_signup": false,
			},
			Realms: []string{"sms"}, EnabledClients: []string{AppClientID},
		})
		st.Guardian.Factors = allFactors(true)
		st.Guardian.MessageTypes = []string{"sms"}
		st.PhoneProviders = []PhoneProvider{{
			ID: "pro_8mQ3vR6tY1uI4oPa", Tenant: TenantName, Name: "twilio", Channel: "phone",
			Configuration: ProviderConfiguration{SID: TwilioSID, DefaultFrom: TwilioFrom, DeliveryMethods: []string{"text", "voice"}},
			Credentials:   ProviderCredentials{AuthToken: TwilioAuthToken},
			CreatedAt:     seedTime, UpdatedAt: seedTime,
		}}
		st.PhoneTemplates = []PhoneTemplate{
			{ID: "tem_2xC5vB8nM1qW4eRt", Channel: "phone", Tenant: TenantName, Type: "otp_verify",
				Content:   PhoneTemplateContent{Syntax: "liquid", From: TwilioFrom, Body: PhoneTemplateBody{Text: UnifiedVerifyText, Voice: UnifiedVerifyText}},
				CreatedAt: seedTime, UpdatedAt: seedTime},
			{ID: "tem_7yU0iO3pA6sD9fGh", Channel: "phone", Tenant: TenantName, Type: "otp_enroll",
				Content:   PhoneTemplateContent{Syntax: "liquid", From: TwilioFrom, Body: PhoneTemplateBody{Text: UnifiedEnrollText, Voice: UnifiedEnrollText}},
				CreatedAt: seedTime, UpdatedAt: seedTime},
		}
	default:
		return nil, fmt.Errorf("phonemigratetest: %w %q", ErrUnknownScenario, sc)
	}
	st.normalize()
	return st, nil
}
