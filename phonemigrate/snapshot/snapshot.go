// Package snapshot reads everything a phone migration depends on in an Auth0
// tenant into a [Snapshot], through a [phonemigrate.Client] and with read
// calls only, every secret replaced by a stable placeholder: a file safe to
// share, which `phonemigrate snapshot` writes and
// phonemigratetest.NewServerFrom serves as a fake tenant to rehearse on.
package snapshot

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/unifiedphone/unifiedphone/delivery"
	"github.com/unifiedphone/unifiedphone/phonemigrate"
	"github.com/unifiedphone/unifiedphone/phonemigrate/redact"
)

// Version is the version of the snapshot file format
// [Take] writes and [Parse] reads.
const Version = 1

// ErrVersion is wrapped by [Parse] for a file of another
// format version.
var ErrVersion = errors.New("unsupported snapshot version")

// PlaceholderPrefix starts every placeholder a snapshot writes in place of
// a secret.
const PlaceholderPrefix = "PLACEHOLDER-"

// Snapshot is everything a migration depends on in a tenant, read through
// the [phonemigrate.Client] and only read: the tenant flag, the Passwordless SMS
// connections with their whole options, the Guardian phone factor and its
// legacy settings, the phone providers and customised templates, and the
// custom-phone-provider Actions and bindings. Secrets are replaced by
// stable placeholders listed in Placeholders, so a snapshot is safe to
// share; package phonemigratetest serves a fake tenant from one
// (phonemigratetest.NewServerFrom).
//
// Its JSON form (snake_case keys, versioned) is the file `phonemigrate
// snapshot` writes.
type Snapshot struct {
	Version int `json:"version"`
	// Tenant is the tenant's name as [Take] was told.
	Tenant string `json:"tenant,omitempty"`
	// PhoneConsolidatedExperience is tenant_settings
	// phone_consolidated_experience (nil when absent).
	PhoneConsolidatedExperience *bool `json:"phone_consolidated_experience,omitempty"`
	// FriendlyName is tenant_settings friendly_name, which phone texts may
	// show ("" when unset).
	FriendlyName string `json:"friendly_name,omitempty"`
	// Connections are the Passwordless SMS connections, by name.
	Connections []Connection `json:"connections"`
	// Guardian is the MFA phone factor and its settings.
	Guardian Guardian `json:"guardian"`
	// PhoneProviders are the tenant-level phone providers (credentials are
	// never readable; a Twilio provider's token is a placeholder).
	PhoneProviders []Provider `json:"phone_providers"`
	// PhoneTemplates are the tenant's customised phone templates (Auth0's
	// built-in defaults, which have no id, are not part of the tenant).
	PhoneTemplates []Template `json:"phone_templates"`
	// Actions are the custom-phone-provider Actions.
	Actions []Action `json:"actions"`
	// Bindings are the custom-phone-provider trigger's bindings, in order.
	Bindings []Binding `json:"bindings"`
	// Placeholders say which secrets were replaced, where, and by what.
	Placeholders []Placeholder `json:"placeholders"`
}

// Connection is a Passwordless SMS connection with its whole
// options (secrets as placeholders).
type Connection struct {
	ID      string         `json:"id"`
	Name    string         `json:"name"`
	Options map[string]any `json:"options"`
}

// Guardian is the MFA configuration a migration reads. Legacy
// settings are nil when Auth0 answered 404 or 403 (the latter under the
// Unified Phone Experience).
type Guardian struct {
	Factors []Factor `json:"factors"`
	// MessageTypes are the phone message types (nil: not configured).
	MessageTypes     []string           `json:"message_types"`
	SelectedProvider *string            `json:"selected_provider,omitempty"`
	Twilio           *GuardianTwilio    `json:"twilio,omitempty"`
	Templates        *GuardianTemplates `json:"templates,omitempty"`
}

// Factor is one MFA factor.
type Factor struct {
	Name    string `json:"name"`
	Enabled bool   `json:"enabled"`
}

// GuardianTwilio is the legacy Guardian Twilio setting; AuthToken
// is a placeholder.
type GuardianTwilio struct {
	SID                 string `json:"sid,omitempty"`
	From                string `json:"from,omitempty"`
	MessagingServiceSID string `json:"messaging_service_sid,omitempty"`
	AuthToken           string `json:"auth_token,omitempty"`
}

// GuardianTemplates are the legacy Guardian phone templates.
type GuardianTemplates struct {
	EnrollmentMessage   string `json:"enrollment_message"`
	VerificationMessage string `json:"verification_message"`
}

// Provider is a tenant-level phone provider. AuthToken is a
// placeholder for a Twilio provider (Auth0 never returns credentials).
type Provider struct {
	ID              string   `json:"id"`
	Name            string   `json:"name"`
	Disabled        bool     `json:"disabled"`
	SID             string   `json:"sid,omitempty"`
	DefaultFrom     string   `json:"default_from,omitempty"`
	MSSID           string   `json:"mssid,omitempty"`
	DeliveryMethods []string `json:"delivery_methods"`
	AuthToken       string   `json:"auth_token,omitempty"`
}

// Template is a customised tenant phone template.
type Template struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Disabled bool   `json:"disabled"`
	Syntax   string `json:"syntax,omitempty"`
	From     string `json:"from,omitempty"`
	Text     string `json:"text,omitempty"`
	Voice    string `json:"voice,omitempty"`
}

// Action is a custom-phone-provider Action. Secrets map each
// secret's name to its placeholder (Auth0 never returns the values).
type Action struct {
	ID                string            `json:"id"`
	Name              string            `json:"name"`
	Runtime           string            `json:"runtime"`
	Code              string            `json:"code"`
	Status            string            `json:"status"`
	Deployed          bool              `json:"deployed"`
	SupportedTriggers []string          `json:"supported_triggers"`
	Secrets           map[string]string `json:"secrets"`
}

// Binding is one Action bound to the custom-phone-provider
// trigger.
type Binding struct {
	ID          string `json:"id"`
	ActionID    string `json:"action_id"`
	ActionName  string `json:"action_name"`
	DisplayName string `json:"display_name"`
}

// Placeholder says that the secret at Where was replaced by Value.
type Placeholder struct {
	// Where names the secret: "connection sms options.twilio_token",
	// "guardian twilio auth_token", "phone provider twilio auth_token",
	// "action NAME secret KEY".
	Where string `json:"where"`
	// Value is the placeholder written in its place (PlaceholderPrefix...;
	// base64url-encoded where the tenant stores the secret encoded).
	Value string `json:"value"`
	// Note says why a value was not even readable, when it was not.
	Note string `json:"note,omitempty"`
}

// Take reads a [Snapshot] of the tenant through c, with read
// methods only: nothing is written. Legacy Guardian endpoints that answer
// 403 (the tenant is on the Unified Phone Experience) or 404 are recorded
// as absent. tenant names the tenant in the snapshot (may be empty).
func Take(ctx context.Context, c phonemigrate.Client, tenant string) (*Snapshot, error) {
	s := &Snapshot{Version: Version, Tenant: tenant, Connections: []Connection{}, PhoneProviders: []Provider{},
		PhoneTemplates: []Template{}, Actions: []Action{}, Bindings: []Binding{}, Placeholders: []Placeholder{}}
	ts, err := c.TenantSettings(ctx)
	if err != nil {
		return nil, fmt.Errorf("snapshot tenant settings: %w", err)
	}
	s.PhoneConsolidatedExperience, s.FriendlyName = ts.PhoneConsolidatedExperience, ts.FriendlyName

	conns, err := c.ListSMSConnections(ctx)
	if err != nil {
		return nil, fmt.Errorf("snapshot SMS connections: %w", err)
	}
	sort.SliceStable(conns, func(i, j int) bool { return conns[i].Name < conns[j].Name })
	for _, cn := range conns {
		opts := cn.Options
		if opts == nil {
			opts = map[string]any{}
		}
		opts = s.placeholdOptions(cn, opts)
		s.Connections = append(s.Connections, Connection{ID: cn.ID, Name: cn.Name, Options: opts})
	}

	factors, err := c.GuardianFactors(ctx)
	if err != nil {
		return nil, fmt.Errorf("snapshot guardian factors: %w", err)
	}
	s.Guardian.Factors = []Factor{}
	for _, f := range factors {
		s.Guardian.Factors = append(s.Guardian.Factors, Factor{Name: f.Name, Enabled: f.Enabled})
	}
	if err := s.readGuardian(ctx, c); err != nil {
		return nil, err
	}

	providers, err := c.ListPhoneProviders(ctx)
	if err != nil {
		return nil, fmt.Errorf("snapshot phone providers: %w", err)
	}
	for _, p := range providers {
		sp := Provider{ID: p.ID, Name: p.Name, Disabled: p.Disabled, SID: p.Configuration.SID, DefaultFrom: p.Configuration.DefaultFrom,
			MSSID: p.Configuration.MSSID, DeliveryMethods: methodNames(p.Configuration.DeliveryMethods)}
		if p.Name == phonemigrate.ProviderTwilio {
			sp.AuthToken = twilioPlaceholder(sp.SID)
			s.Placeholders = append(s.Placeholders, Placeholder{Where: "phone provider " + p.Name + " auth_token", Value: sp.AuthToken,
				Note: "Auth0 never returns phone provider credentials"})
		}
		s.PhoneProviders = append(s.PhoneProviders, sp)
	}
	tpls, err := c.ListPhoneTemplates(ctx)
	if err != nil {
		return nil, fmt.Errorf("snapshot phone templates: %w", err)
	}
	for _, t := range tpls {
		if !t.Customized() {
			continue
		}
		s.PhoneTemplates = append(s.PhoneTemplates, Template{ID: t.ID, Type: t.Type, Disabled: t.Disabled,
			Syntax: t.Content.Syntax, From: t.Content.From, Text: t.Content.Text, Voice: t.Content.Voice})
	}
	sort.SliceStable(s.PhoneTemplates, func(i, j int) bool { return s.PhoneTemplates[i].Type < s.PhoneTemplates[j].Type })

	actions, err := c.ListActionsByTrigger(ctx, phonemigrate.TriggerCustomPhoneProvider)
	if err != nil {
		return nil, fmt.Errorf("snapshot custom-phone-provider actions: %w", err)
	}
	for _, a := range actions {
		sa := Action{ID: a.ID, Name: a.Name, Runtime: a.Runtime, Code: a.Code, Status: a.Status, Deployed: a.Deployed,
			SupportedTriggers: append([]string{}, a.SupportedTriggers...), Secrets: map[string]string{}}
		for _, n := range a.SecretNames {
			sa.Secrets[n] = PlaceholderPrefix + "action-secret-" + n
			s.Placeholders = append(s.Placeholders, Placeholder{Where: "action " + a.Name + " secret " + n, Value: sa.Secrets[n],
				Note: "Auth0 never returns Action secret values"})
		}
		s.Actions = append(s.Actions, sa)
	}
	bindings, err := c.TriggerBindings(ctx, phonemigrate.TriggerCustomPhoneProvider)
	if err != nil {
		return nil, fmt.Errorf("snapshot custom-phone-provider bindings: %w", err)
	}
	for _, b := range bindings {
		s.Bindings = append(s.Bindings, Binding{ID: b.ID, ActionID: b.ActionID, ActionName: b.ActionName, DisplayName: b.DisplayName})
	}
	return s, nil
}

// readGuardian reads the phone message types and the legacy settings.
func (s *Snapshot) readGuardian(ctx context.Context, c phonemigrate.Client) error {
	types, err := c.PhoneMessageTypes(ctx)
	switch {
	case err == nil:
		s.Guardian.MessageTypes = messageTypeNames(types)
	case errors.Is(err, phonemigrate.ErrNotFound):
	default:
		return fmt.Errorf("snapshot phone message types: %w", err)
	}
	absent := func(err error) bool {
		return errors.Is(err, phonemigrate.ErrNotFound) || errors.Is(err, phonemigrate.ErrForbidden)
	}
	sel, err := c.SelectedPhoneProvider(ctx)
	switch {
	case err == nil:
		s.Guardian.SelectedProvider = &sel
	case absent(err):
	default:
		return fmt.Errorf("snapshot selected phone provider: %w", err)
	}
	tw, err := c.LegacyTwilio(ctx)
	switch {
	case err == nil:
		if tw.SID != "" || tw.From != "" || tw.MessagingServiceSID != "" || tw.AuthToken != "" {
			g := &GuardianTwilio{SID: tw.SID, From: tw.From, MessagingServiceSID: tw.MessagingServiceSID}
			if tw.AuthToken != "" {
				g.AuthToken = twilioPlaceholder(tw.SID)
				s.Placeholders = append(s.Placeholders, Placeholder{Where: "guardian twilio auth_token", Value: g.AuthToken})
			}
			s.Guardian.Twilio = g
		}
	case absent(err):
	default:
		return fmt.Errorf("snapshot legacy Twilio settings: %w", err)
	}
	tpl, err := c.LegacyPhoneTemplates(ctx)
	switch {
	case err == nil:
		s.Guardian.Templates = &GuardianTemplates{EnrollmentMessage: tpl.EnrollmentMessage, VerificationMessage: tpl.VerificationMessage}
	case absent(err):
	default:
		return fmt.Errorf("snapshot legacy phone templates: %w", err)
	}
	return nil
}

// messageTypeNames are the Guardian names of a set: "sms", "voice".
func messageTypeNames(set delivery.Set) []string {
	out := []string{}
	if set.Has(delivery.Text) {
		out = append(out, "sms")
	}
	if set.Has(delivery.Voice) {
		out = append(out, "voice")
	}
	return out
}

// twilioPlaceholder is the placeholder of a Twilio account's auth token:
// one per account, so that every setting using the account agrees.
func twilioPlaceholder(sid string) string {
	return PlaceholderPrefix + "twilio-auth-token-" + sid
}

// placeholdOptions returns a connection's options with every secret (by
// the rule of [redact.FindOptionSecrets]: values under secret keys, a URL's user
// info and secret query parameters) replaced by a placeholder, and records
// each. A Twilio token's placeholder names its account; a gateway secret
// stored base64url-encoded gets an encoded placeholder, so the options
// stay valid; a URL keeps its shape.
func (s *Snapshot) placeholdOptions(cn phonemigrate.Connection, opts map[string]any) map[string]any {
	return redact.ReplaceOptionSecrets(opts, func(sec redact.OptionSecret) string {
		path := "options." + sec.Path
		ph := PlaceholderPrefix + "connection-" + cn.Name + "-" + strings.ReplaceAll(path, ".", "-")
		parent, key := "", sec.Path
		if i := strings.LastIndex(sec.Path, "."); i >= 0 {
			parent, key = sec.Path[:i], sec.Path[i+1:]
		}
		if sec.Path == "twilio_token" {
			sid, _ := opts["twilio_sid"].(string)
			ph = twilioPlaceholder(sid)
		}
		if m, ok := lookupOption(opts, parent); ok && key == "secret" {
			if enc, _ := m["secret_base64_encoded"].(bool); enc {
				ph = base64.RawURLEncoding.EncodeToString([]byte(ph))
			}
		}
		s.Placeholders = append(s.Placeholders, Placeholder{Where: "connection " + cn.Name + " " + path, Value: ph})
		return ph
	})
}

// lookupOption returns the map at a dotted path of opts ("" is opts).
func lookupOption(opts map[string]any, path string) (map[string]any, bool) {
	m := opts
	if path == "" {
		return m, true
	}
	for _, k := range strings.Split(path, ".") {
		next, ok := m[k].(map[string]any)
		if !ok {
			return nil, false
		}
		m = next
	}
	return m, true
}

// Parse reads a snapshot file. It refuses another format version
// (wrapping [ErrVersion]) and malformed JSON.
func Parse(b []byte) (*Snapshot, error) {
	var probe struct {
		Version int `json:"version"`
	}
	if err := json.Unmarshal(b, &probe); err != nil {
		return nil, fmt.Errorf("snapshot: the snapshot is not JSON: %w", err)
	}
	if probe.Version != Version {
		return nil, fmt.Errorf("snapshot: %w %d (this version reads %d)", ErrVersion, probe.Version, Version)
	}
	var s Snapshot
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("snapshot: the snapshot does not parse: %w", err)
	}
	return &s, nil
}

// JSON returns the snapshot as indented JSON with a final newline.
func (s *Snapshot) JSON() ([]byte, error) {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("snapshot: marshal snapshot: %w", err)
	}
	return append(b, '\n'), nil
}

// methodNames are a set's delivery method names ("text", "voice").
func methodNames(s delivery.Set) []string {
	out := []string{}
	for _, m := range s.Methods() {
		out = append(out, string(m))
	}
	return out
}
