package phonemigratetest

import (
	"encoding/json"
	"fmt"
)

// State is the whole fake tenant: what GET /__fake/state answers and what
// [Server.State] returns. Unlike the Management API it shows every secret
// (the Management API returns the legacy ones too — connection
// twilio_token and gateway secret inside connection options, Guardian
// Twilio auth token — but never phone provider credentials or Action secret
// values): it is a fake, and tests need to see exactly what was written.
//
// The JSON keys are fixed (tests and other tools read them):
//
//	tenant_settings, connections, guardian{factors, message_types,
//	selected_provider, twilio, templates}, phone_providers, phone_templates,
//	actions, trigger_bindings
//
// Slices are never nil in a State returned by the server, so an empty tenant
// serializes as [] rather than null. Timestamps are RFC 3339 strings; use
// cmpopts.IgnoreFields (or compare only what matters) when diffing.
type State struct {
	// TenantSettings is GET /api/v2/tenants/settings, as a raw map (Auth0
	// has dozens of keys; the fake keeps whatever was seeded or PATCHed).
	// "phone_consolidated_experience" is the Unified Phone Experience switch.
	TenantSettings map[string]any `json:"tenant_settings"`
	// Connections are the tenant's connections in creation order, as GET
	// /api/v2/connections/{id} returns them.
	Connections []Connection `json:"connections"`
	// Guardian is the MFA configuration.
	Guardian Guardian `json:"guardian"`
	// PhoneProviders are the tenant-level phone providers (at most one),
	// credentials included.
	PhoneProviders []PhoneProvider `json:"phone_providers"`
	// PhoneTemplates are the tenant phone templates.
	PhoneTemplates []PhoneTemplate `json:"phone_templates"`
	// Actions are the tenant's Actions, secret values included.
	Actions []Action `json:"actions"`
	// TriggerBindings maps a trigger id (e.g. "custom-phone-provider") to
	// its bindings in execution order.
	TriggerBindings map[string][]Binding `json:"trigger_bindings"`
}

// Connection is a connection as Auth0 returns it. Options is the raw options
// map: PATCH replaces it as a whole, unknown keys included.
type Connection struct {
	ID                 string         `json:"id"`
	Name               string         `json:"name"`
	DisplayName        string         `json:"display_name,omitempty"`
	Strategy           string         `json:"strategy"`
	Options            map[string]any `json:"options"`
	Realms             []string       `json:"realms"`
	EnabledClients     []string       `json:"enabled_clients"`
	IsDomainConnection bool           `json:"is_domain_connection"`
	ShowAsButton       *bool          `json:"show_as_button,omitempty"`
	Metadata           map[string]any `json:"metadata,omitempty"`
}

// Guardian is the MFA configuration of the tenant.
type Guardian struct {
	// Factors are the MFA factors (name "sms" is the phone factor, SMS and
	// voice).
	Factors []Factor `json:"factors"`
	// MessageTypes are the phone factor's message types: "sms", "voice".
	MessageTypes []string `json:"message_types"`
	// SelectedProvider is the legacy phone provider: "auth0", "twilio" or
	// "phone-message-hook".
	SelectedProvider string `json:"selected_provider"`
	// Twilio is the legacy Guardian Twilio configuration.
	Twilio GuardianTwilio `json:"twilio"`
	// Templates are the legacy Guardian phone message templates.
	Templates GuardianTemplates `json:"templates"`
}

// Factor is one MFA factor.
type Factor struct {
	Name         string `json:"name"`
	Enabled      bool   `json:"enabled"`
	TrialExpired bool   `json:"trial_expired"`
}

// GuardianTwilio is the legacy Guardian Twilio setting, auth token
// included.
type GuardianTwilio struct {
	SID                 string `json:"sid,omitempty"`
	From                string `json:"from,omitempty"`
	MessagingServiceSID string `json:"messaging_service_sid,omitempty"`
	AuthToken           string `json:"auth_token,omitempty"`
}

// GuardianTemplates are the legacy Guardian phone message templates
// (Liquid-like, {{code}}).
type GuardianTemplates struct {
	EnrollmentMessage   string `json:"enrollment_message"`
	VerificationMessage string `json:"verification_message"`
}

// PhoneProvider is a tenant-level phone provider, credentials included.
type PhoneProvider struct {
	ID            string                `json:"id"`
	Tenant        string                `json:"tenant"`
	Name          string                `json:"name"` // "twilio" or "custom"
	Channel       string                `json:"channel"`
	Disabled      bool                  `json:"disabled"`
	Configuration ProviderConfiguration `json:"configuration"`
	Credentials   ProviderCredentials   `json:"credentials"`
	CreatedAt     string                `json:"created_at"`
	UpdatedAt     string                `json:"updated_at"`
}

// ProviderConfiguration is a phone provider's configuration; SID,
// DefaultFrom and MSSID apply to Twilio only.
type ProviderConfiguration struct {
	SID             string   `json:"sid,omitempty"`
	DefaultFrom     string   `json:"default_from,omitempty"`
	MSSID           string   `json:"mssid,omitempty"`
	DeliveryMethods []string `json:"delivery_methods"`
}

// ProviderCredentials are a phone provider's credentials (empty for a
// custom provider).
type ProviderCredentials struct {
	AuthToken string `json:"auth_token,omitempty"`
}

// PhoneTemplate is a tenant phone template.
//
// State holds only customised templates (those with an id). Types without
// one are answered with Auth0's built-in default, which has no id (see
// [DefaultPhoneTemplate]).
type PhoneTemplate struct {
	ID        string               `json:"id"`
	Channel   string               `json:"channel"`
	Tenant    string               `json:"tenant"`
	Type      string               `json:"type"`
	Disabled  bool                 `json:"disabled"`
	Content   PhoneTemplateContent `json:"content"`
	CreatedAt string               `json:"created_at,omitempty"`
	UpdatedAt string               `json:"updated_at,omitempty"`
}

// PhoneTemplateContent is a phone template's content.
type PhoneTemplateContent struct {
	Syntax string            `json:"syntax,omitempty"`
	From   string            `json:"from,omitempty"`
	Body   PhoneTemplateBody `json:"body"`
}

// PhoneTemplateBody holds a phone template's text and voice bodies.
type PhoneTemplateBody struct {
	Text  string `json:"text,omitempty"`
	Voice string `json:"voice,omitempty"`
}

// Action is an Action, secret values included.
type Action struct {
	ID                 string         `json:"id"`
	Name               string         `json:"name"`
	Code               string         `json:"code"`
	Runtime            string         `json:"runtime"`
	Dependencies       []Dependency   `json:"dependencies"`
	Secrets            []ActionSecret `json:"secrets"`
	Status             string         `json:"status"` // building, built
	Deployed           bool           `json:"deployed"`
	AllChangesDeployed bool           `json:"all_changes_deployed"`
	// DeployedVersion is the number of the deployed version (0: none).
	DeployedVersion   int       `json:"deployed_version"`
	SupportedTriggers []Trigger `json:"supported_triggers"`
	CreatedAt         string    `json:"created_at"`
	UpdatedAt         string    `json:"updated_at"`
	BuiltAt           string    `json:"built_at,omitempty"`
}

// Dependency is an npm dependency of an Action.
type Dependency struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// ActionSecret is an Action secret with its value.
type ActionSecret struct {
	Name      string `json:"name"`
	Value     string `json:"value"`
	UpdatedAt string `json:"updated_at,omitempty"`
}

// Trigger identifies an Action trigger and its version.
type Trigger struct {
	ID      string `json:"id"`
	Version string `json:"version,omitempty"`
}

// Binding is an Action bound to a trigger.
type Binding struct {
	ID          string `json:"id"`
	TriggerID   string `json:"trigger_id"`
	ActionID    string `json:"action_id"`
	ActionName  string `json:"action_name"`
	DisplayName string `json:"display_name"`
	CreatedAt   string `json:"created_at"`
	UpdatedAt   string `json:"updated_at"`
}

// clone deep-copies st through JSON (the state is small; this keeps the raw
// option maps independent of the server's) and normalizes nil slices.
func (st *State) clone() State {
	b, err := json.Marshal(st)
	if err != nil {
		panic(fmt.Sprintf("phonemigratetest: state does not marshal: %v", err))
	}
	var out State
	if err := json.Unmarshal(b, &out); err != nil {
		panic(fmt.Sprintf("phonemigratetest: state does not unmarshal: %v", err))
	}
	out.normalize()
	return out
}

func (st *State) normalize() {
	if st.TenantSettings == nil {
		st.TenantSettings = map[string]any{}
	}
	if st.Connections == nil {
		st.Connections = []Connection{}
	}
	for i := range st.Connections {
		c := &st.Connections[i]
		if c.Options == nil {
			c.Options = map[string]any{}
		}
		if c.Realms == nil {
			c.Realms = []string{}
		}
		if c.EnabledClients == nil {
			c.EnabledClients = []string{}
		}
	}
	if st.Guardian.Factors == nil {
		st.Guardian.Factors = []Factor{}
	}
	if st.Guardian.MessageTypes == nil {
		st.Guardian.MessageTypes = []string{}
	}
	if st.PhoneProviders == nil {
		st.PhoneProviders = []PhoneProvider{}
	}
	for i := range st.PhoneProviders {
		if st.PhoneProviders[i].Configuration.DeliveryMethods == nil {
			st.PhoneProviders[i].Configuration.DeliveryMethods = []string{}
		}
	}
	if st.PhoneTemplates == nil {
		st.PhoneTemplates = []PhoneTemplate{}
	}
	if st.Actions == nil {
		st.Actions = []Action{}
	}
	for i := range st.Actions {
		a := &st.Actions[i]
		if a.Dependencies == nil {
			a.Dependencies = []Dependency{}
		}
		if a.Secrets == nil {
			a.Secrets = []ActionSecret{}
		}
		if a.SupportedTriggers == nil {
			a.SupportedTriggers = []Trigger{}
		}
	}
	if st.TriggerBindings == nil {
		st.TriggerBindings = map[string][]Binding{}
	}
}

// deepCopyMap copies a JSON-like map.
func deepCopyMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return map[string]any{}
	}
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return out
}
