package phonemigrate

import (
	"time"

	"github.com/unifiedphone/unifiedphone/delivery"
)

// Names used on the wire.
const (
	// TriggerCustomPhoneProvider is the Action trigger id of the tenant-level
	// custom phone provider.
	TriggerCustomPhoneProvider = "custom-phone-provider"
	// TriggerVersion is the version of that trigger.
	TriggerVersion = "v1"
	// triggerSendPhoneMessage is the trigger of the legacy MFA
	// phone-message-hook Action, which the migration copies (never changes).
	triggerSendPhoneMessage = "send-phone-message"

	ProviderTwilio = "twilio" // PhoneProvider.Name of a Twilio provider
	ProviderCustom = "custom" // PhoneProvider.Name of a custom (Action) provider

	StrategySMS = "sms" // Connection.Strategy of Passwordless SMS
)

// TenantSettings is the part of GET /tenants/settings the migration reads.
type TenantSettings struct {
	// PhoneConsolidatedExperience is the Unified Phone Experience switch;
	// nil when Auth0 did not return the field.
	PhoneConsolidatedExperience *bool
	// FriendlyName is the tenant's friendly name, which phone texts may
	// show ({{ tenant.friendly_name }}); "" when unset.
	FriendlyName string
}

// Connection is a connection with its raw options map. Options is kept as
// Auth0 sent it (unknown keys included) so that a whole-options write can
// preserve every key it does not mean to change.
type Connection struct {
	ID       string
	Name     string
	Strategy string
	Options  map[string]any
}

// GuardianFactor is one MFA factor of GET /guardian/factors.
type GuardianFactor struct {
	Name    string // "sms" is the phone (SMS and voice) factor
	Enabled bool
}

// LegacyTwilio is the legacy Guardian Twilio setting. Auth0 returns the
// auth token (the Dashboard masks it); it is a [Secret].
type LegacyTwilio struct {
	SID                 string
	From                string
	MessagingServiceSID string
	AuthToken           Secret
}

// LegacyPhoneTemplates are the legacy Guardian phone message templates.
type LegacyPhoneTemplates struct {
	EnrollmentMessage   string
	VerificationMessage string
}

// PhoneProvider is the tenant-level phone provider as Auth0 returns it
// (credentials are never returned).
type PhoneProvider struct {
	ID            string
	Name          string // ProviderTwilio or ProviderCustom
	Disabled      bool
	Configuration ProviderConfiguration
	// CreatedAt is when Auth0 created it (zero when the answer does not
	// say); see [unconfirmedCreates.Adoptable].
	CreatedAt time.Time
}

// ProviderConfiguration is a phone provider's configuration. SID,
// DefaultFrom and MSSID apply to Twilio only.
type ProviderConfiguration struct {
	SID             string
	DefaultFrom     string
	MSSID           string
	DeliveryMethods delivery.Set
}

// PhoneProviderRequest is the body of a create or update. For a Twilio
// provider AuthToken is sent as credentials.auth_token (and omitted from an
// update when empty); a custom provider always sends credentials {}.
type PhoneProviderRequest struct {
	Name          string
	Disabled      bool
	Configuration ProviderConfiguration
	AuthToken     Secret
}

// PhoneTemplate is a tenant phone template.
type PhoneTemplate struct {
	ID       string
	Type     string // otp_verify, otp_enroll, change_password, blocked_account, password_breach
	Disabled bool
	Content  PhoneTemplateContent
	// CreatedAt is when the tenant customised the type (zero for Auth0's
	// defaults, or when the answer does not say).
	CreatedAt time.Time
}

// Customized reports whether t is a template the tenant customised. Auth0
// lists its built-in default texts, without an id, for every type the
// tenant has not customised; those are not customised.
func (t PhoneTemplate) Customized() bool { return t.ID != "" }

// PhoneTemplateContent is a phone template's content.
type PhoneTemplateContent struct {
	Syntax string // "liquid"
	From   string
	Text   string // content.body.text
	Voice  string // content.body.voice
}

// Action is an Action as Auth0 returns it. Secret values are never
// returned, only their names.
type Action struct {
	ID                string
	Name              string
	Runtime           string
	Code              string
	Status            string // pending, building, packaged, built, retrying, failed
	Deployed          bool   // a version of the Action is deployed
	SupportedTriggers []string
	SecretNames       []string
	// Dependencies are the Action's npm packages with their versions.
	Dependencies []ActionDependency
	// CreatedAt is when Auth0 created it (zero when the answer does not
	// say).
	CreatedAt time.Time
}

// ActionRequest is the body of POST /actions/actions for a
// custom-phone-provider Action (trigger TriggerCustomPhoneProvider, version
// TriggerVersion).
type ActionRequest struct {
	Name         string
	Runtime      string
	Code         string
	Secrets      []ActionSecret
	Dependencies []ActionDependency
}

// ActionSecret is an Action secret; its value travels only as an Action
// secret.
type ActionSecret struct {
	Name  string
	Value Secret
}

// ActionDependency is an npm dependency of an Action.
type ActionDependency struct {
	Name    string
	Version string
}

// Binding is one Action bound to a trigger.
type Binding struct {
	ID          string
	ActionID    string
	ActionName  string
	DisplayName string
}

// ClientGrant is one application's grant for an API.
type ClientGrant struct {
	ID       string
	ClientID string
	Audience string
	Scope    []string
}

// BindingRef names an Action to bind, by id.
type BindingRef struct {
	ActionID    string
	DisplayName string
}
