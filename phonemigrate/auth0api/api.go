package auth0api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/auth0/go-auth0/v3/management"
	"github.com/auth0/go-auth0/v3/management/option"

	"github.com/unifiedphone/unifiedphone/delivery"
	"github.com/unifiedphone/unifiedphone/phonemigrate"
)

// ErrInvalidRequest is matched by the error of a call refused before any
// HTTP because its arguments cannot make a valid request (an empty id, an
// unknown provider name, no delivery methods, a Twilio provider created
// without an auth token, ...).
var ErrInvalidRequest = errors.New("auth0api: invalid request")

// maxItems bounds how many items a paginated listing collects, so that a
// server which keeps answering the same page cannot loop forever.
const maxItems = 100_000

func invalid(method, path, format string, args ...any) error {
	return fmt.Errorf("auth0api: %s %s: %w: %s", method, path, ErrInvalidRequest, fmt.Sprintf(format, args...))
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func esc(id string) string { return url.PathEscape(id) }

// ---- Tenants ----

// TenantSettings implements [phonemigrate.Tenants]: GET /tenants/settings.
func (c *Client) TenantSettings(ctx context.Context) (phonemigrate.TenantSettings, error) {
	const method, path = http.MethodGet, "/tenants/settings"
	s, err := c.m.Tenants.Settings.Get(ctx, &management.GetTenantSettingsRequestParameters{})
	if err != nil {
		return phonemigrate.TenantSettings{}, c.fail(ctx, method, path, err)
	}
	return phonemigrate.TenantSettings{PhoneConsolidatedExperience: s.PhoneConsolidatedExperience, FriendlyName: s.GetFriendlyName()}, nil
}

// SetPhoneConsolidatedExperience implements [phonemigrate.Tenants]: PATCH
// /tenants/settings {"phone_consolidated_experience": enabled}, returning
// the settings Auth0 answered with (an empty 2xx body gives a nil flag).
// The request sets a value, so it is retried after 5xx and dropped
// connections.
func (c *Client) SetPhoneConsolidatedExperience(ctx context.Context, enabled bool) (phonemigrate.TenantSettings, error) {
	const method, path = http.MethodPatch, "/tenants/settings"
	req := &management.UpdateTenantSettingsRequestContent{}
	req.SetPhoneConsolidatedExperience(&enabled)
	s, err := c.m.Tenants.Settings.Update(emptyOK(replaySafe(ctx)), req)
	if err != nil {
		return phonemigrate.TenantSettings{}, c.fail(ctx, method, path, err)
	}
	return phonemigrate.TenantSettings{PhoneConsolidatedExperience: s.PhoneConsolidatedExperience, FriendlyName: s.GetFriendlyName()}, nil
}

// ---- Connections ----

// ListSMSConnections implements [phonemigrate.Connections]: GET
// /connections?strategy=sms, following the "next" checkpoint to the end.
func (c *Client) ListSMSConnections(ctx context.Context) ([]phonemigrate.Connection, error) {
	const method, path = http.MethodGet, "/connections"
	ctx = withListBudget(ctx)
	take := 50
	page, err := c.m.Connections.List(ctx, &management.ListConnectionsQueryParameters{
		Strategy: []*management.ConnectionStrategyEnum{management.ConnectionStrategyEnumSms.Ptr()},
		Take:     &take,
	})
	if err != nil {
		return nil, c.fail(ctx, method, path, err)
	}
	out := []phonemigrate.Connection{}
	it := page.Iterator()
	for it.Next(ctx) {
		if len(out) >= maxItems {
			return nil, fmt.Errorf("auth0api: %s %s: %w: more than %d connections; the server keeps paging", method, path, ErrListTooLarge, maxItems)
		}
		cn := it.Current()
		if cn == nil {
			continue
		}
		out = append(out, c.connection(cn.ID, cn.Name, cn.Strategy, cn.Options))
	}
	if err := it.Err(); err != nil {
		return nil, c.fail(ctx, method, path, err)
	}
	return out, nil
}

// connection builds a phonemigrate.Connection; options stay the raw map
// Auth0 sent (never round-tripped through go-auth0's typed SMS options,
// which drop unknown keys).
// The secret values among the options (see [redact.OptionSecrets])
// are remembered for redaction.
func (c *Client) connection(id, name, strategy *string, opts *management.ConnectionOptions) phonemigrate.Connection {
	cn := phonemigrate.Connection{ID: str(id), Name: str(name), Strategy: str(strategy)}
	if opts != nil {
		cn.Options = *opts
		c.secrets.AddOptions(cn.Options)
	}
	return cn
}

// GetConnection implements [phonemigrate.Connections]: GET /connections/{id}.
func (c *Client) GetConnection(ctx context.Context, id string) (phonemigrate.Connection, error) {
	method, path := http.MethodGet, "/connections/"+esc(id)
	if id == "" {
		return phonemigrate.Connection{}, invalid(method, path, "empty connection id")
	}
	cn, err := c.m.Connections.Get(ctx, id, &management.GetConnectionRequestParameters{})
	if err != nil {
		return phonemigrate.Connection{}, c.fail(ctx, method, path, err)
	}
	return c.connection(cn.ID, cn.Name, cn.Strategy, cn.Options), nil
}

// ReplaceConnectionOptions implements [phonemigrate.Connections]: PATCH
// /connections/{id} with exactly {"options": options}. The map is sent as
// given (go-auth0's typed UpdateConnectionOptions has no SMS fields and
// would refuse several keys); a nil map is refused, since Auth0 would
// replace the options with nothing. The request sets a value, so it is
// retried after 5xx and dropped connections.
func (c *Client) ReplaceConnectionOptions(ctx context.Context, id string, options map[string]any) (phonemigrate.Connection, error) {
	method, path := http.MethodPatch, "/connections/"+esc(id)
	if id == "" {
		return phonemigrate.Connection{}, invalid(method, path, "empty connection id")
	}
	if options == nil {
		return phonemigrate.Connection{}, invalid(method, path, "nil options (PATCH replaces the whole options object)")
	}
	c.secrets.AddOptions(options)
	cn, err := c.m.Connections.Update(replaySafe(ctx), id, nil,
		option.WithBodyProperties(map[string]any{"options": options}))
	if err != nil {
		return phonemigrate.Connection{}, c.fail(ctx, method, path, err)
	}
	return c.connection(cn.ID, cn.Name, cn.Strategy, cn.Options), nil
}

// ---- Guardian ----

// GuardianFactors implements [phonemigrate.Guardian]: GET /guardian/factors.
func (c *Client) GuardianFactors(ctx context.Context) ([]phonemigrate.GuardianFactor, error) {
	const method, path = http.MethodGet, "/guardian/factors"
	fs, err := c.m.Guardian.Factors.List(ctx)
	if err != nil {
		return nil, c.fail(ctx, method, path, err)
	}
	out := make([]phonemigrate.GuardianFactor, 0, len(fs))
	for _, f := range fs {
		if f == nil {
			continue
		}
		g := phonemigrate.GuardianFactor{Enabled: f.Enabled}
		if f.Name != nil {
			g.Name = string(*f.Name)
		}
		out = append(out, g)
	}
	return out, nil
}

// PhoneMessageTypes implements [phonemigrate.Guardian]: GET
// /guardian/factors/phone/message-types. An unknown message type is an
// error wrapping a [*delivery.UnknownError].
func (c *Client) PhoneMessageTypes(ctx context.Context) (delivery.Set, error) {
	const method, path = http.MethodGet, "/guardian/factors/phone/message-types"
	r, err := c.m.Guardian.Factors.Phone.GetMessageTypes(ctx)
	if err != nil {
		return 0, c.fail(ctx, method, path, err)
	}
	types := make([]string, len(r.MessageTypes))
	for i, t := range r.MessageTypes {
		types[i] = string(t)
	}
	set, err := delivery.FromMessageTypes(types)
	if err != nil {
		return 0, fmt.Errorf("auth0api: %s %s: %w", method, path, err)
	}
	return set, nil
}

// SetPhoneMessageTypes implements [phonemigrate.Guardian]: PUT
// /guardian/factors/phone/message-types {"message_types": [...]} ("sms",
// "voice"; an empty set sends []).
func (c *Client) SetPhoneMessageTypes(ctx context.Context, types delivery.Set) error {
	const method, path = http.MethodPut, "/guardian/factors/phone/message-types"
	mts := []management.GuardianFactorPhoneFactorMessageTypeEnum{}
	for _, t := range types.MessageTypes() {
		mts = append(mts, management.GuardianFactorPhoneFactorMessageTypeEnum(t))
	}
	_, err := c.m.Guardian.Factors.Phone.SetMessageTypes(emptyOK(ctx),
		&management.SetGuardianFactorPhoneMessageTypesRequestContent{MessageTypes: mts})
	if err != nil {
		return c.fail(ctx, method, path, err)
	}
	return nil
}

// SelectedPhoneProvider implements [phonemigrate.Guardian]: GET
// /guardian/factors/phone/selected-provider (403 under UPE).
func (c *Client) SelectedPhoneProvider(ctx context.Context) (string, error) {
	const method, path = http.MethodGet, "/guardian/factors/phone/selected-provider"
	r, err := c.m.Guardian.Factors.Phone.GetSelectedProvider(emptyMeansUnset(ctx))
	if err != nil {
		return "", c.fail(ctx, method, path, err)
	}
	if r.Provider == nil {
		return "", nil
	}
	return string(*r.Provider), nil
}

// LegacyTwilio implements [phonemigrate.Guardian]: GET
// /guardian/factors/phone/providers/twilio (403 under UPE). Auth0 returns
// the auth token (recorded traffic); it is kept as a [phonemigrate.Secret].
func (c *Client) LegacyTwilio(ctx context.Context) (phonemigrate.LegacyTwilio, error) {
	const method, path = http.MethodGet, "/guardian/factors/phone/providers/twilio"
	r, err := c.m.Guardian.Factors.Phone.GetTwilioProvider(emptyMeansUnset(ctx))
	if err != nil {
		return phonemigrate.LegacyTwilio{}, c.fail(ctx, method, path, err)
	}
	// The legacy token is a secret from the moment it is read.
	c.secrets.Add(str(r.AuthToken))
	return phonemigrate.LegacyTwilio{SID: str(r.Sid), From: str(r.From), MessagingServiceSID: str(r.MessagingServiceSid), AuthToken: phonemigrate.Secret(str(r.AuthToken))}, nil
}

// LegacyPhoneTemplates implements [phonemigrate.Guardian]: GET
// /guardian/factors/phone/templates (403 under UPE). An untouched tenant's
// 204 with no body, or {}, is no templates (recorded).
func (c *Client) LegacyPhoneTemplates(ctx context.Context) (phonemigrate.LegacyPhoneTemplates, error) {
	const method, path = http.MethodGet, "/guardian/factors/phone/templates"
	r, err := c.m.Guardian.Factors.Phone.GetTemplates(emptyMeansUnset(ctx))
	if err != nil {
		return phonemigrate.LegacyPhoneTemplates{}, c.fail(ctx, method, path, err)
	}
	return phonemigrate.LegacyPhoneTemplates{EnrollmentMessage: r.EnrollmentMessage, VerificationMessage: r.VerificationMessage}, nil
}

// ---- Phone providers ----

// ListPhoneProviders implements [phonemigrate.PhoneProviders]: GET
// /branding/phone/providers. The kind of each provider is taken from its
// name: go-auth0 decodes every configuration as Twilio's, custom ones
// included.
func (c *Client) ListPhoneProviders(ctx context.Context) ([]phonemigrate.PhoneProvider, error) {
	const method, path = http.MethodGet, "/branding/phone/providers"
	r, err := c.m.Branding.Phone.Providers.List(ctx, &management.ListBrandingPhoneProvidersRequestParameters{})
	if err != nil {
		return nil, c.fail(ctx, method, path, err)
	}
	out := make([]phonemigrate.PhoneProvider, 0, len(r.Providers))
	for _, p := range r.Providers {
		if p == nil {
			continue
		}
		pp := phoneProvider(p.ID, p.Name, p.Disabled, p.Configuration)
		pp.CreatedAt = timeOf(p.CreatedAt)
		out = append(out, pp)
	}
	return out, nil
}

// phoneProvider converts a go-auth0 provider. The union decodes a custom
// configuration into TwilioProviderConfiguration (Twilio is tried first and
// accepts any object), so the kind comes from name and the Twilio-only
// fields are read only for Twilio providers.
func phoneProvider(id *string, name management.PhoneProviderNameEnum, disabled *bool, cfg *management.PhoneProviderConfiguration) phonemigrate.PhoneProvider {
	p := phonemigrate.PhoneProvider{ID: str(id), Name: string(name), Disabled: disabled != nil && *disabled}
	if cfg == nil {
		return p
	}
	var methods []string
	switch {
	case cfg.TwilioProviderConfiguration != nil:
		tc := cfg.TwilioProviderConfiguration
		for _, m := range tc.DeliveryMethods {
			methods = append(methods, string(m))
		}
		if p.Name == phonemigrate.ProviderTwilio {
			p.Configuration.SID = tc.Sid
			p.Configuration.DefaultFrom = str(tc.DefaultFrom)
			p.Configuration.MSSID = str(tc.Mssid)
		}
	case cfg.CustomProviderConfiguration != nil:
		for _, m := range cfg.CustomProviderConfiguration.DeliveryMethods {
			methods = append(methods, string(m))
		}
	}
	for _, m := range methods {
		p.Configuration.DeliveryMethods |= delivery.Of(delivery.Method(m))
	}
	return p
}

// providerBody builds the configuration and credentials of a provider
// create or update from scratch (never from a GET answer, which would
// carry a custom provider's configuration as Twilio's with sid "").
func providerBody(method, path string, req phonemigrate.PhoneProviderRequest, create bool) (*management.PhoneProviderConfiguration, *management.PhoneProviderCredentials, error) {
	ms := req.Configuration.DeliveryMethods.Methods()
	if len(ms) == 0 {
		return nil, nil, invalid(method, path, "no delivery methods")
	}
	switch req.Name {
	case phonemigrate.ProviderTwilio:
		cfg := req.Configuration
		if cfg.SID == "" {
			return nil, nil, invalid(method, path, "twilio provider without sid")
		}
		if cfg.DefaultFrom == "" && cfg.MSSID == "" {
			return nil, nil, invalid(method, path, "twilio provider needs default_from or mssid")
		}
		tc := &management.TwilioProviderConfiguration{Sid: cfg.SID}
		for _, m := range ms {
			tc.DeliveryMethods = append(tc.DeliveryMethods, management.TwilioProviderDeliveryMethodEnum(m))
		}
		if cfg.DefaultFrom != "" {
			tc.DefaultFrom = &cfg.DefaultFrom
		}
		if cfg.MSSID != "" {
			tc.Mssid = &cfg.MSSID
		}
		var creds *management.PhoneProviderCredentials
		switch {
		case req.AuthToken != "":
			// The caller remembers req.AuthToken for redaction.
			creds = &management.PhoneProviderCredentials{TwilioProviderCredentials: &management.TwilioProviderCredentials{AuthToken: req.AuthToken.Reveal()}}
		case create:
			return nil, nil, invalid(method, path, "twilio provider created without an auth token")
		}
		return &management.PhoneProviderConfiguration{TwilioProviderConfiguration: tc}, creds, nil
	case phonemigrate.ProviderCustom:
		if req.AuthToken != "" {
			return nil, nil, invalid(method, path, "custom provider takes no auth token")
		}
		cc := &management.CustomProviderConfiguration{}
		for _, m := range ms {
			cc.DeliveryMethods = append(cc.DeliveryMethods, management.CustomProviderDeliveryMethodEnum(m))
		}
		// Auth0 requires "credentials": {} for a custom provider.
		return &management.PhoneProviderConfiguration{CustomProviderConfiguration: cc},
			&management.PhoneProviderCredentials{CustomProviderCredentials: &management.CustomProviderCredentials{}}, nil
	}
	return nil, nil, invalid(method, path, "unknown provider name %q (want %q or %q)", req.Name, phonemigrate.ProviderTwilio, phonemigrate.ProviderCustom)
}

// CreatePhoneProvider implements [phonemigrate.PhoneProviders]: POST
// /branding/phone/providers. A Twilio request needs SID, DefaultFrom or
// MSSID, and AuthToken (sent as credentials.auth_token); a custom request
// sends credentials {} and must have no AuthToken. Invalid requests are
// refused with [ErrInvalidRequest] before any HTTP. A POST is not retried
// after a 5xx or after a connection that broke once the request was written.
func (c *Client) CreatePhoneProvider(ctx context.Context, req phonemigrate.PhoneProviderRequest) (phonemigrate.PhoneProvider, error) {
	const method, path = http.MethodPost, "/branding/phone/providers"
	c.secrets.Add(req.AuthToken.Reveal())
	cfg, creds, err := providerBody(method, path, req, true)
	if err != nil {
		return phonemigrate.PhoneProvider{}, err
	}
	body := &management.CreateBrandingPhoneProviderRequestContent{
		Name:          management.PhoneProviderNameEnum(req.Name),
		Disabled:      &req.Disabled,
		Configuration: cfg,
		Credentials:   creds,
	}
	r, err := c.m.Branding.Phone.Providers.Create(ctx, body)
	if err != nil {
		return phonemigrate.PhoneProvider{}, c.fail(ctx, method, path, err)
	}
	if str(r.ID) == "" {
		return phonemigrate.PhoneProvider{}, incomplete(method, path, "provider id")
	}
	return phoneProvider(r.ID, r.Name, r.Disabled, r.Configuration), nil
}

// UpdatePhoneProvider implements [phonemigrate.PhoneProviders]: PATCH
// /branding/phone/providers/{id} with name, disabled and a configuration
// built from req. A Twilio update sends credentials only when AuthToken is
// set; a custom one always sends credentials {}.
func (c *Client) UpdatePhoneProvider(ctx context.Context, id string, req phonemigrate.PhoneProviderRequest) (phonemigrate.PhoneProvider, error) {
	method, path := http.MethodPatch, "/branding/phone/providers/"+esc(id)
	if id == "" {
		return phonemigrate.PhoneProvider{}, invalid(method, path, "empty provider id")
	}
	c.secrets.Add(req.AuthToken.Reveal())
	cfg, creds, err := providerBody(method, path, req, false)
	if err != nil {
		return phonemigrate.PhoneProvider{}, err
	}
	name := management.PhoneProviderNameEnum(req.Name)
	body := &management.UpdateBrandingPhoneProviderRequestContent{
		Name:          &name,
		Disabled:      &req.Disabled,
		Configuration: cfg,
		Credentials:   creds,
	}
	r, err := c.m.Branding.Phone.Providers.Update(replaySafe(ctx), id, body)
	if err != nil {
		return phonemigrate.PhoneProvider{}, c.fail(ctx, method, path, err)
	}
	return phoneProvider(r.ID, r.Name, r.Disabled, r.Configuration), nil
}

// DeletePhoneProvider implements [phonemigrate.PhoneProviders]: DELETE
// /branding/phone/providers/{id}.
func (c *Client) DeletePhoneProvider(ctx context.Context, id string) error {
	method, path := http.MethodDelete, "/branding/phone/providers/"+esc(id)
	if id == "" {
		return invalid(method, path, "empty provider id")
	}
	if err := c.m.Branding.Phone.Providers.Delete(ctx, id); err != nil {
		return c.fail(ctx, method, path, err)
	}
	return nil
}

// TestPhoneProvider implements [phonemigrate.PhoneProviders]: POST
// /branding/phone/providers/{id}/try {"to": to, "delivery_method": method}.
// It is never retried after a 5xx or a broken connection (the message may
// have gone out).
func (c *Client) TestPhoneProvider(ctx context.Context, id, to string, m delivery.Method) error {
	method, path := http.MethodPost, "/branding/phone/providers/"+esc(id)+"/try"
	switch {
	case id == "":
		return invalid(method, path, "empty provider id")
	case to == "":
		return invalid(method, path, "empty recipient")
	case !m.Valid():
		return invalid(method, path, "unknown delivery method %q", string(m))
	}
	dm := management.PhoneProviderDeliveryMethodEnum(m)
	_, err := c.m.Branding.Phone.Providers.Test(emptyOK(ctx), id,
		&management.CreatePhoneProviderSendTestRequestContent{To: to, DeliveryMethod: &dm})
	if err != nil {
		return c.fail(ctx, method, path, err)
	}
	return nil
}

// timeOf is t, or the zero time when absent.
func timeOf(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

// extraTime reads an RFC 3339 time go-auth0 keeps among a type's extra
// properties (the phone templates' created_at, which its types do not
// declare); the zero time when absent or malformed.
func extraTime(props map[string]any, key string) time.Time {
	s, _ := props[key].(string)
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t
}

// ---- Phone templates ----

func phoneTemplate(id *string, typ management.PhoneTemplateNotificationTypeEnum, disabled bool, content *management.PhoneTemplateContent) phonemigrate.PhoneTemplate {
	t := phonemigrate.PhoneTemplate{ID: str(id), Type: string(typ), Disabled: disabled}
	if content != nil {
		t.Content.Syntax = str(content.Syntax)
		t.Content.From = str(content.From)
		if content.Body != nil {
			t.Content.Text = str(content.Body.Text)
			t.Content.Voice = str(content.Body.Voice)
		}
	}
	return t
}

func templateBody(c phonemigrate.PhoneTemplateContent) *management.PhoneTemplateBody {
	b := &management.PhoneTemplateBody{}
	if c.Text != "" {
		b.Text = &c.Text
	}
	if c.Voice != "" {
		b.Voice = &c.Voice
	}
	return b
}

// ListPhoneTemplates implements [phonemigrate.PhoneTemplates]: GET
// /branding/phone/templates.
func (c *Client) ListPhoneTemplates(ctx context.Context) ([]phonemigrate.PhoneTemplate, error) {
	const method, path = http.MethodGet, "/branding/phone/templates"
	r, err := c.m.Branding.Phone.Templates.List(ctx, &management.ListPhoneTemplatesRequestParameters{})
	if err != nil {
		return nil, c.fail(ctx, method, path, err)
	}
	out := make([]phonemigrate.PhoneTemplate, 0, len(r.Templates))
	for _, t := range r.Templates {
		if t == nil {
			continue
		}
		pt := phoneTemplate(t.ID, t.Type, t.Disabled, t.Content)
		pt.CreatedAt = extraTime(t.GetExtraProperties(), "created_at")
		out = append(out, pt)
	}
	return out, nil
}

// CreatePhoneTemplate implements [phonemigrate.PhoneTemplates]: POST
// /branding/phone/templates {"type", "disabled", "content": {"syntax",
// "from", "body": {"text", "voice"}}}; empty strings are omitted.
func (c *Client) CreatePhoneTemplate(ctx context.Context, t phonemigrate.PhoneTemplate) (phonemigrate.PhoneTemplate, error) {
	const method, path = http.MethodPost, "/branding/phone/templates"
	if t.Type == "" {
		return phonemigrate.PhoneTemplate{}, invalid(method, path, "empty template type")
	}
	typ := management.PhoneTemplateNotificationTypeEnum(t.Type)
	content := &management.PhoneTemplateContent{Body: templateBody(t.Content)}
	if t.Content.Syntax != "" {
		content.Syntax = &t.Content.Syntax
	}
	if t.Content.From != "" {
		content.From = &t.Content.From
	}
	r, err := c.m.Branding.Phone.Templates.Create(ctx, &management.CreatePhoneTemplateRequestContent{
		Type: &typ, Disabled: &t.Disabled, Content: content,
	})
	if err != nil {
		return phonemigrate.PhoneTemplate{}, c.fail(ctx, method, path, err)
	}
	if str(r.ID) == "" {
		return phonemigrate.PhoneTemplate{}, incomplete(method, path, "template id")
	}
	return phoneTemplate(r.ID, r.Type, r.Disabled, r.Content), nil
}

// UpdatePhoneTemplate implements [phonemigrate.PhoneTemplates]: PATCH
// /branding/phone/templates/{id} {"content": {"from", "body": {"text",
// "voice"}}, "disabled"}; content.Syntax is not sent (Auth0 refuses it
// there) and empty strings are omitted.
func (c *Client) UpdatePhoneTemplate(ctx context.Context, id string, content phonemigrate.PhoneTemplateContent, disabled bool) (phonemigrate.PhoneTemplate, error) {
	method, path := http.MethodPatch, "/branding/phone/templates/"+esc(id)
	if id == "" {
		return phonemigrate.PhoneTemplate{}, invalid(method, path, "empty template id")
	}
	pc := &management.PartialPhoneTemplateContent{Body: templateBody(content)}
	if content.From != "" {
		pc.From = &content.From
	}
	r, err := c.m.Branding.Phone.Templates.Update(replaySafe(ctx), id, &management.UpdatePhoneTemplateRequestContent{
		Content: pc, Disabled: &disabled,
	})
	if err != nil {
		return phonemigrate.PhoneTemplate{}, c.fail(ctx, method, path, err)
	}
	return phoneTemplate(r.ID, r.Type, r.Disabled, r.Content), nil
}

// DeletePhoneTemplate implements [phonemigrate.PhoneTemplates]: DELETE
// /branding/phone/templates/{id}.
func (c *Client) DeletePhoneTemplate(ctx context.Context, id string) error {
	method, path := http.MethodDelete, "/branding/phone/templates/"+esc(id)
	if id == "" {
		return invalid(method, path, "empty template id")
	}
	if err := c.m.Branding.Phone.Templates.Delete(ctx, id); err != nil {
		return c.fail(ctx, method, path, err)
	}
	return nil
}

// ---- Actions ----

func action(a *management.Action) phonemigrate.Action {
	out := phonemigrate.Action{ID: str(a.ID), Name: str(a.Name), Runtime: str(a.Runtime), Code: str(a.Code), CreatedAt: timeOf(a.CreatedAt)}
	if a.Status != nil {
		out.Status = string(*a.Status)
	}
	if dv := a.DeployedVersion; dv != nil {
		out.Deployed = dv.Deployed == nil || *dv.Deployed
	}
	for _, t := range a.SupportedTriggers {
		if t != nil {
			out.SupportedTriggers = append(out.SupportedTriggers, string(t.ID))
		}
	}
	for _, s := range a.Secrets {
		if s != nil && s.Name != nil {
			out.SecretNames = append(out.SecretNames, *s.Name)
		}
	}
	for _, d := range a.Dependencies {
		if d != nil && d.Name != nil {
			out.Dependencies = append(out.Dependencies, phonemigrate.ActionDependency{Name: *d.Name, Version: str(d.Version)})
		}
	}
	return out
}

// asAction copies the fields shared by go-auth0's Create/Get/Update action
// answers into a management.Action.
func asAction(id, name, runtime, code *string, status *management.ActionBuildStatusEnum, dv *management.ActionDeployedVersion, trig []*management.ActionTrigger, secrets []*management.ActionSecretResponse, deps []*management.ActionVersionDependency) *management.Action {
	return &management.Action{ID: id, Name: name, Runtime: runtime, Code: code, Status: status, DeployedVersion: dv, SupportedTriggers: trig, Secrets: secrets, Dependencies: deps}
}

// CreateAction implements [phonemigrate.Actions]: POST /actions/actions
// with supported_triggers [{"id": "custom-phone-provider", "version":
// "v1"}], the code, runtime (omitted when empty), dependencies and secrets
// (values sent only here, as Action secrets). Never retried after a 5xx or
// a broken connection: a second POST could create a second Action.
func (c *Client) CreateAction(ctx context.Context, req phonemigrate.ActionRequest) (phonemigrate.Action, error) {
	const method, path = http.MethodPost, "/actions/actions"
	switch {
	case req.Name == "":
		return phonemigrate.Action{}, invalid(method, path, "empty action name")
	case req.Code == "":
		return phonemigrate.Action{}, invalid(method, path, "empty action code")
	}
	version := phonemigrate.TriggerVersion
	body := &management.CreateActionRequestContent{
		Name: req.Name,
		SupportedTriggers: []*management.ActionTrigger{{
			ID:      management.ActionTriggerTypeEnum(phonemigrate.TriggerCustomPhoneProvider),
			Version: &version,
		}},
		Code: &req.Code,
	}
	if req.Runtime != "" {
		body.Runtime = &req.Runtime
	}
	for _, d := range req.Dependencies {
		if d.Name == "" {
			return phonemigrate.Action{}, invalid(method, path, "dependency without a name")
		}
		body.Dependencies = append(body.Dependencies, &management.ActionVersionDependency{Name: &d.Name, Version: &d.Version})
	}
	for _, s := range req.Secrets {
		if s.Name == "" {
			return phonemigrate.Action{}, invalid(method, path, "secret without a name")
		}
		v := s.Value.Reveal()
		c.secrets.Add(v)
		body.Secrets = append(body.Secrets, &management.ActionSecretRequest{Name: &s.Name, Value: &v})
	}
	r, err := c.m.Actions.Create(ctx, body)
	if err != nil {
		return phonemigrate.Action{}, c.fail(ctx, method, path, err)
	}
	if str(r.ID) == "" {
		return phonemigrate.Action{}, incomplete(method, path, "action id")
	}
	return action(asAction(r.ID, r.Name, r.Runtime, r.Code, r.Status, r.DeployedVersion, r.SupportedTriggers, r.Secrets, r.Dependencies)), nil
}

// GetAction implements [phonemigrate.Actions]: GET /actions/actions/{id}.
func (c *Client) GetAction(ctx context.Context, id string) (phonemigrate.Action, error) {
	method, path := http.MethodGet, "/actions/actions/"+esc(id)
	if id == "" {
		return phonemigrate.Action{}, invalid(method, path, "empty action id")
	}
	r, err := c.m.Actions.Get(ctx, id)
	if err != nil {
		return phonemigrate.Action{}, c.fail(ctx, method, path, err)
	}
	return action(asAction(r.ID, r.Name, r.Runtime, r.Code, r.Status, r.DeployedVersion, r.SupportedTriggers, r.Secrets, r.Dependencies)), nil
}

// DeployAction implements [phonemigrate.Actions]: POST
// /actions/actions/{id}/deploy (no body). Deploying the same code twice
// only adds a version, but the POST is still not retried after a broken
// connection; callers re-read the Action instead.
func (c *Client) DeployAction(ctx context.Context, id string) error {
	method, path := http.MethodPost, "/actions/actions/"+esc(id)+"/deploy"
	if id == "" {
		return invalid(method, path, "empty action id")
	}
	if _, err := c.m.Actions.Deploy(emptyOK(ctx), id); err != nil {
		return c.fail(ctx, method, path, err)
	}
	return nil
}

// ListActionsByTrigger implements [phonemigrate.Actions]: GET
// /actions/actions?triggerId=trigger&page=0&per_page=100, following pages
// while they come back full (see offsetPages). (go-auth0 starts at page 1
// when given a nil request; an empty one is passed so page 0 is read.)
func (c *Client) ListActionsByTrigger(ctx context.Context, trigger string) ([]phonemigrate.Action, error) {
	const method, path = http.MethodGet, "/actions/actions"
	if trigger == "" {
		return nil, invalid(method, path, "empty trigger")
	}
	ctx = withListBudget(ctx)
	perPage := 100
	page, err := c.m.Actions.List(ctx, &management.ListActionsRequestParameters{
		TriggerID: management.ActionTriggerTypeEnum(trigger).Ptr(),
		PerPage:   &perPage,
	})
	if err != nil {
		return nil, c.fail(ctx, method, path, err)
	}
	as, err := offsetPages(ctx, page, perPage, func(r *management.ListActionsPaginatedResponseContent) (*float64, *float64) {
		if r == nil {
			return nil, nil
		}
		return r.PerPage, r.Total
	})
	if err != nil {
		return nil, c.failPaging(ctx, method, path, "actions", err)
	}
	out := []phonemigrate.Action{}
	for _, a := range as {
		if a != nil {
			out = append(out, action(a))
		}
	}
	return out, nil
}

// DeleteAction implements [phonemigrate.Actions]: DELETE
// /actions/actions/{id}?force=true|false (force also removes bindings).
func (c *Client) DeleteAction(ctx context.Context, id string, force bool) error {
	method, path := http.MethodDelete, "/actions/actions/"+esc(id)
	if id == "" {
		return invalid(method, path, "empty action id")
	}
	// go-auth0 drops force=false (omitempty); false is Auth0's default.
	if err := c.m.Actions.Delete(ctx, id, &management.DeleteActionRequestParameters{Force: &force}); err != nil {
		return c.fail(ctx, method, path, err)
	}
	return nil
}

func binding(b *management.ActionBinding) phonemigrate.Binding {
	out := phonemigrate.Binding{ID: str(b.ID), DisplayName: str(b.DisplayName)}
	if b.Action != nil {
		out.ActionID = str(b.Action.ID)
		out.ActionName = str(b.Action.Name)
	}
	return out
}

// TriggerBindings implements [phonemigrate.Actions]: GET
// /actions/triggers/{trigger}/bindings?page=0&per_page=50, following pages
// while they come back full (see offsetPages).
func (c *Client) TriggerBindings(ctx context.Context, trigger string) ([]phonemigrate.Binding, error) {
	method, path := http.MethodGet, "/actions/triggers/"+esc(trigger)+"/bindings"
	if trigger == "" {
		return nil, invalid(method, path, "empty trigger")
	}
	ctx = withListBudget(ctx)
	perPage := 50
	page, err := c.m.Actions.Triggers.Bindings.List(ctx, management.ActionTriggerTypeEnum(trigger).Ptr(),
		&management.ListActionTriggerBindingsRequestParameters{PerPage: &perPage})
	if err != nil {
		return nil, c.fail(ctx, method, path, err)
	}
	bs, err := offsetPages(ctx, page, perPage, func(r *management.ListActionBindingsPaginatedResponseContent) (*float64, *float64) {
		if r == nil {
			return nil, nil
		}
		return r.PerPage, r.Total
	})
	if err != nil {
		return nil, c.failPaging(ctx, method, path, "bindings", err)
	}
	out := []phonemigrate.Binding{}
	for _, b := range bs {
		if b != nil {
			out = append(out, binding(b))
		}
	}
	return out, nil
}

// SetTriggerBindings implements [phonemigrate.Actions]: PATCH
// /actions/triggers/{trigger}/bindings {"bindings": [{"ref": {"type":
// "action_id", "value": id}, "display_name": name}, ...]}; no refs sends
// "bindings": [] (unbinds everything). The request sets the list, so it is
// retried after 5xx and dropped connections.
func (c *Client) SetTriggerBindings(ctx context.Context, trigger string, refs []phonemigrate.BindingRef) ([]phonemigrate.Binding, error) {
	method, path := http.MethodPatch, "/actions/triggers/"+esc(trigger)+"/bindings"
	if trigger == "" {
		return nil, invalid(method, path, "empty trigger")
	}
	bs := []*management.ActionBindingWithRef{}
	for _, r := range refs {
		if r.ActionID == "" {
			return nil, invalid(method, path, "binding ref without an action id")
		}
		ref := &management.ActionBindingWithRef{Ref: &management.ActionBindingRef{
			Type:  management.ActionBindingRefTypeEnumActionID.Ptr(),
			Value: &r.ActionID,
		}}
		if r.DisplayName != "" {
			ref.DisplayName = &r.DisplayName
		}
		bs = append(bs, ref)
	}
	req := &management.UpdateActionBindingsRequestContent{}
	req.SetBindings(bs)
	resp, err := c.m.Actions.Triggers.Bindings.UpdateMany(replaySafe(ctx), management.ActionTriggerTypeEnum(trigger).Ptr(), req)
	if err != nil {
		return nil, c.fail(ctx, method, path, err)
	}
	out := []phonemigrate.Binding{}
	for _, b := range resp.Bindings {
		if b != nil {
			out = append(out, binding(b))
		}
	}
	return out, nil
}
