package phonemigrate

import (
	"context"

	"github.com/unifiedphone/unifiedphone/phonemigrate/watch"

	"github.com/unifiedphone/unifiedphone/delivery"
)

//go:generate go tool mockgen -typed -source=client.go -destination=mock_phonemigrate/mock_client.go -package=mock_phonemigrate

// Client is the part of the Auth0 Management API the migration uses, in
// this package's own types. [github.com/unifiedphone/unifiedphone/phonemigrate/auth0api]
// implements it over go-auth0 v3; package mock_phonemigrate holds gomock
// mocks of it; package phonemigratetest serves a fake tenant it can talk to.
//
// Every method takes a context first and returns an error that wraps an
// [*APIError] when Auth0 answered with a non-2xx status, so callers can use
// errors.Is with [ErrNotFound], [ErrForbidden], [ErrConflict] and friends.
type Client interface {
	Tenants
	Connections
	Guardian
	PhoneProviders
	PhoneTemplates
	Actions
	watch.TenantLogs
	ClientGrants
}

// ClientGrants reads which applications may call which API, for the
// integrations at risk (see [IntegrationsReport]).
type ClientGrants interface {
	// ClientGrants returns GET /client-grants, following pagination to the
	// end.
	ClientGrants(ctx context.Context) ([]ClientGrant, error)
	// ClientName returns the name of application clientID (GET
	// /clients/{id}?fields=name).
	ClientName(ctx context.Context, clientID string) (string, error)
}

// Tenants reads and writes the tenant settings the migration touches.
// See https://auth0.com/docs/api/management/v2/tenants/tenant-settings-route.
type Tenants interface {
	// TenantSettings returns GET /tenants/settings.
	TenantSettings(ctx context.Context) (TenantSettings, error)
	// SetPhoneConsolidatedExperience sends PATCH /tenants/settings
	// {"phone_consolidated_experience": enabled} and returns the settings
	// Auth0 answered with (PhoneConsolidatedExperience is nil when the
	// answer did not include it).
	SetPhoneConsolidatedExperience(ctx context.Context, enabled bool) (TenantSettings, error)
}

// Connections reads SMS (Passwordless) connections with their raw options
// and replaces their options as a whole.
type Connections interface {
	// ListSMSConnections returns every connection with strategy "sms",
	// following pagination to the end.
	ListSMSConnections(ctx context.Context) ([]Connection, error)
	// GetConnection returns GET /connections/{id}.
	GetConnection(ctx context.Context, id string) (Connection, error)
	// ReplaceConnectionOptions sends PATCH /connections/{id} with
	// {"options": options}. Auth0 replaces the whole options object, so
	// options must be the complete map (read it first). It returns the
	// connection as Auth0 answered.
	ReplaceConnectionOptions(ctx context.Context, id string, options map[string]any) (Connection, error)
}

// Guardian reads the MFA phone factor and its legacy settings, and sets the
// phone message types. The legacy endpoints (selected provider, Twilio,
// templates) answer 403 once the tenant is on the Unified Phone Experience;
// the migration only ever reads them, and before the switch.
type Guardian interface {
	// GuardianFactors returns GET /guardian/factors.
	GuardianFactors(ctx context.Context) ([]GuardianFactor, error)
	// PhoneMessageTypes returns GET /guardian/factors/phone/message-types.
	PhoneMessageTypes(ctx context.Context) (delivery.Set, error)
	// SetPhoneMessageTypes sends PUT /guardian/factors/phone/message-types.
	SetPhoneMessageTypes(ctx context.Context, types delivery.Set) error
	// SelectedPhoneProvider returns the "provider" of GET
	// /guardian/factors/phone/selected-provider: "auth0", "twilio" or
	// "phone-message-hook".
	SelectedPhoneProvider(ctx context.Context) (string, error)
	// LegacyTwilio returns GET /guardian/factors/phone/providers/twilio,
	// auth token included.
	LegacyTwilio(ctx context.Context) (LegacyTwilio, error)
	// LegacyPhoneTemplates returns GET /guardian/factors/phone/templates.
	LegacyPhoneTemplates(ctx context.Context) (LegacyPhoneTemplates, error)
}

// PhoneProviders manages the tenant-level phone provider (Branding > Phone
// Provider). A tenant has at most one.
type PhoneProviders interface {
	// ListPhoneProviders returns GET /branding/phone/providers.
	ListPhoneProviders(ctx context.Context) ([]PhoneProvider, error)
	// CreatePhoneProvider sends POST /branding/phone/providers.
	CreatePhoneProvider(ctx context.Context, req PhoneProviderRequest) (PhoneProvider, error)
	// UpdatePhoneProvider sends PATCH /branding/phone/providers/{id}.
	UpdatePhoneProvider(ctx context.Context, id string, req PhoneProviderRequest) (PhoneProvider, error)
	// DeletePhoneProvider sends DELETE /branding/phone/providers/{id}.
	DeletePhoneProvider(ctx context.Context, id string) error
	// TestPhoneProvider sends POST /branding/phone/providers/{id}/try. Auth0
	// answers 202 and gives no delivery feedback.
	TestPhoneProvider(ctx context.Context, id, to string, method delivery.Method) error
}

// PhoneTemplates manages the tenant phone templates (Liquid) used under the
// Unified Phone Experience.
type PhoneTemplates interface {
	// ListPhoneTemplates returns GET /branding/phone/templates.
	ListPhoneTemplates(ctx context.Context) ([]PhoneTemplate, error)
	// CreatePhoneTemplate sends POST /branding/phone/templates.
	CreatePhoneTemplate(ctx context.Context, t PhoneTemplate) (PhoneTemplate, error)
	// UpdatePhoneTemplate sends PATCH /branding/phone/templates/{id} with the
	// content's from and body and the disabled flag (the only fields Auth0
	// accepts there).
	UpdatePhoneTemplate(ctx context.Context, id string, content PhoneTemplateContent, disabled bool) (PhoneTemplate, error)
	// DeletePhoneTemplate sends DELETE /branding/phone/templates/{id}.
	DeletePhoneTemplate(ctx context.Context, id string) error
}

// Actions manages the custom-phone-provider Action and its trigger binding.
type Actions interface {
	// CreateAction sends POST /actions/actions.
	CreateAction(ctx context.Context, req ActionRequest) (Action, error)
	// GetAction returns GET /actions/actions/{id} (Status tells the build).
	GetAction(ctx context.Context, id string) (Action, error)
	// DeployAction sends POST /actions/actions/{id}/deploy.
	DeployAction(ctx context.Context, id string) error
	// ListActionsByTrigger returns every Action supporting the trigger,
	// following pagination to the end.
	ListActionsByTrigger(ctx context.Context, trigger string) ([]Action, error)
	// DeleteAction sends DELETE /actions/actions/{id}?force=...
	DeleteAction(ctx context.Context, id string, force bool) error
	// TriggerBindings returns GET /actions/triggers/{trigger}/bindings,
	// following pagination to the end.
	TriggerBindings(ctx context.Context, trigger string) ([]Binding, error)
	// SetTriggerBindings sends PATCH /actions/triggers/{trigger}/bindings,
	// replacing the trigger's bindings with refs (by action id), and returns
	// the bindings Auth0 answered with.
	SetTriggerBindings(ctx context.Context, trigger string, refs []BindingRef) ([]Binding, error)
}
