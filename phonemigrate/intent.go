package phonemigrate

import "github.com/unifiedphone/unifiedphone/delivery"

// migrationIntent is the machine-readable decision behind a [Plan], recorded in the
// checkpoint so that a resumed Apply (when the legacy settings may no longer
// be readable) and Rollback follow exactly what was planned. It holds no
// secret values: gateway secrets are re-read from the connection and the
// Twilio token from [Options] or the legacy setting TwilioTokenSource names
// when the Action or provider is written.
type migrationIntent struct {
	Provider ProviderKind `json:"provider"`
	Delivery delivery.Set `json:"delivery"`
	// Keep is set for a tenant already switched to the Unified Phone
	// Experience whose provider (and Action) serve every factor in use but
	// some Passwordless connections still use their legacy settings: the
	// run converges it by switching those connections only. The provider
	// (ProviderID), Action, tenant switch, MFA message types and templates
	// are kept as they are, and rollback leaves them alone.
	Keep bool `json:"keep,omitempty"`

	// ReplaceProviderID is an existing provider to PATCH (AllowReplace);
	// "" means create one.
	ReplaceProviderID string `json:"replace_provider_id,omitempty"`
	// ProviderID is the provider configured by the migration (created or
	// replaced), known once provider_configured is reached.
	ProviderID string `json:"provider_id,omitempty"`

	// Twilio holds the non-secret Twilio settings of the Twilio provider or
	// of a Twilio target inside the custom Action.
	Twilio *twilioSettings `json:"twilio,omitempty"`
	// TwilioTokenSource is where the Twilio auth token comes from:
	// [tokenSourceOptions], [tokenSourceGuardian] or
	// [tokenSourceConnectionPrefix] + connection id (never the value; a
	// resumed Apply re-reads the legacy token from there).
	TwilioTokenSource string `json:"twilio_token_source,omitempty"`

	// Custom provider: the Action name, the connection whose gateway
	// options feed it ("" when there is no gateway), which target serves by
	// default and which one serves Passwordless ("gateway" or "twilio").
	ActionName          string `json:"action_name,omitempty"`
	GatewayConnectionID string `json:"gateway_connection_id,omitempty"`
	DefaultTarget       string `json:"default_target,omitempty"`
	PasswordlessTarget  string `json:"passwordless_target,omitempty"`
	// PasswordlessTwilio is the sender of a Passwordless target "twilio"
	// that differs from the Default one in Twilio (the same account, so
	// the same token: Passwordless on a Messaging Service, say, and MFA on
	// a From number that can also place calls); nil when the two share
	// Twilio.
	PasswordlessTwilio *twilioSettings `json:"passwordless_twilio,omitempty"`
	AllowReplace       bool            `json:"allow_replace,omitempty"`
	// DefaultText, for a routing Action (PasswordlessTarget set), holds the
	// texts the Default (MFA) target renders itself instead of the tenant's
	// phone templates, which the Passwordless texts won; nil when the
	// templates already carry MFA's legacy texts.
	DefaultText *targetText `json:"default_text,omitempty"`

	// Hook is the send-phone-message Action whose copy serves the Default
	// target "hook" (MFA through phone-message-hook); nil otherwise.
	Hook *hookCopyIntent `json:"hook,omitempty"`

	// Connections are the SMS connections to switch, and the option key and
	// value to write.
	Connections      []connectionRef `json:"connections,omitempty"`
	UsePhoneProvider any             `json:"use_phone_provider,omitempty"`

	// MFA message types to leave in place (only when MFA is enabled).
	MFAEnabled      bool         `json:"mfa_enabled,omitempty"`
	MFAMessageTypes delivery.Set `json:"mfa_message_types"`

	// Templates are the tenant phone templates to write.
	Templates []templateIntent `json:"templates,omitempty"`
}

// twilioSettings are the non-secret Twilio settings copied from the legacy
// configuration. Exactly one of From and MSSID is set.
type twilioSettings struct {
	SID   string `json:"sid"`
	From  string `json:"from,omitempty"`
	MSSID string `json:"mssid,omitempty"`
}

// targetText is a routed Action target's own otp_verify and otp_enroll
// texts (Liquid with {{ code }}; "" keeps the tenant's template), converted
// from the legacy Guardian messages. See
// [github.com/unifiedphone/unifiedphone/actiongen.MessageText].
type targetText struct {
	Verify string `json:"verify,omitempty"`
	Enroll string `json:"enroll,omitempty"`
}

// hookCopyIntent names the legacy send-phone-message Action the custom Action
// carries, as planned: a resumed Apply reads it again and goes on only if
// its code is still the one planned (CodeSHA256). It holds secret names,
// never values.
type hookCopyIntent struct {
	ActionID     string             `json:"action_id"`
	ActionName   string             `json:"action_name"`
	Runtime      string             `json:"runtime,omitempty"`
	CodeSHA256   string             `json:"code_sha256"`
	SecretNames  []string           `json:"secret_names"`
	Dependencies []ActionDependency `json:"dependencies"`
}

// connectionRef names a connection.
type connectionRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// templateIntent is a tenant phone template the migration writes.
type templateIntent struct {
	Type   string `json:"type"`
	Source string `json:"source"` // where the text comes from, e.g. "connection sms"
	From   string `json:"from,omitempty"`
	Text   string `json:"text"`
	// Existed is true when the tenant had a template of this type at plan
	// time (it is updated, and restored on rollback).
	Existed bool `json:"existed,omitempty"`
}

// Target names used in [migrationIntent].
const (
	targetGateway = "gateway"
	targetTwilio  = "twilio"
	targetHook    = "hook" // a copy of the send-phone-message Action (MFA only)
)

// UsePhoneProviderKey is the SMS connection option the migration sets so
// that Passwordless uses the tenant-level provider. It is undocumented by
// Auth0 (terraform-provider-auth0 issue #1549); the migration verifies it
// from Auth0's answer to the write.
const UsePhoneProviderKey = "use_phone_provider"
