package phonemigrate

import (
	"github.com/unifiedphone/unifiedphone/delivery"
)

// Discovery is what [Migrator.Discover] found on the tenant. It is read
// only; nothing is written to discover.
type Discovery struct {
	// UPE is true when phone_consolidated_experience is on, or the legacy
	// Guardian endpoints answered 403 (which they do under UPE).
	UPE bool
	// PhoneConsolidatedExperience is the raw tenant flag (nil when absent).
	PhoneConsolidatedExperience *bool
	// SMSConnections are the Passwordless SMS connections with raw options.
	SMSConnections []Connection
	// MFAEnabled is true when the Guardian "sms" (phone) factor is enabled.
	MFAEnabled bool
	// MFAMessageTypes are the phone message types (zero when not
	// configured: Auth0 answered 404).
	MFAMessageTypes delivery.Set
	// MFAMessageTypesConfigured is false when Auth0 answered 404.
	MFAMessageTypesConfigured bool
	// MFAProvider is the selected legacy provider: auth0, twilio or
	// phone-message-hook ("" when unknown or under UPE).
	MFAProvider string
	// LegacyTwilio is the legacy Guardian Twilio setting (nil when not
	// configured or under UPE).
	LegacyTwilio *LegacyTwilio
	// LegacyTemplates are the legacy Guardian phone templates (nil when
	// not configured or under UPE).
	LegacyTemplates *LegacyPhoneTemplates
	// Provider is the existing tenant-level phone provider, if any.
	Provider *PhoneProvider
	// Action is the first existing custom-phone-provider Action, if any;
	// Actions lists them all.
	Action  *Action
	Actions []Action
	// Bindings are the custom-phone-provider trigger bindings.
	Bindings []Binding
	// Templates are the tenant phone templates.
	Templates []PhoneTemplate
}
