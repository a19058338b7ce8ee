package phonemigrate

import (
	"context"
	"errors"
	"fmt"
	"sort"

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

// Discover reads the tenant's phone setup through the Client: the tenant
// flag, every SMS connection (raw options), the Guardian phone factor and
// message types, the legacy selected provider, Twilio settings and
// templates (read only while the tenant is not on UPE; a 403 there means
// UPE is on), the tenant-level provider, custom-phone-provider Actions and
// bindings, and the tenant phone templates. It writes nothing.
func (m *Migrator) Discover(ctx context.Context) (*Discovery, error) {
	d := &Discovery{}
	ts, err := m.c.TenantSettings(ctx)
	if err != nil {
		return nil, fmt.Errorf("discover tenant settings: %w", err)
	}
	d.PhoneConsolidatedExperience = ts.PhoneConsolidatedExperience
	d.UPE = ts.PhoneConsolidatedExperience != nil && *ts.PhoneConsolidatedExperience

	if d.SMSConnections, err = m.c.ListSMSConnections(ctx); err != nil {
		return nil, fmt.Errorf("discover SMS connections: %w", err)
	}
	sort.SliceStable(d.SMSConnections, func(i, j int) bool { return d.SMSConnections[i].Name < d.SMSConnections[j].Name })

	factors, err := m.c.GuardianFactors(ctx)
	if err != nil {
		return nil, fmt.Errorf("discover guardian factors: %w", err)
	}
	for _, f := range factors {
		if f.Name == "sms" && f.Enabled {
			d.MFAEnabled = true
		}
	}
	types, err := m.c.PhoneMessageTypes(ctx)
	switch {
	case err == nil:
		d.MFAMessageTypes, d.MFAMessageTypesConfigured = types, true
	case errors.Is(err, ErrNotFound):
	default:
		return nil, fmt.Errorf("discover phone message types: %w", err)
	}

	if !d.UPE {
		if err := m.discoverLegacy(ctx, d); err != nil {
			return nil, err
		}
	}

	providers, err := m.c.ListPhoneProviders(ctx)
	if err != nil {
		return nil, fmt.Errorf("discover phone providers: %w", err)
	}
	if len(providers) > 0 {
		p := providers[0]
		d.Provider = &p
	}
	if d.Actions, err = m.c.ListActionsByTrigger(ctx, TriggerCustomPhoneProvider); err != nil {
		return nil, fmt.Errorf("discover custom-phone-provider actions: %w", err)
	}
	if len(d.Actions) > 0 {
		a := d.Actions[0]
		d.Action = &a
	}
	if d.Bindings, err = m.c.TriggerBindings(ctx, TriggerCustomPhoneProvider); err != nil {
		return nil, fmt.Errorf("discover custom-phone-provider bindings: %w", err)
	}
	if d.Templates, err = m.c.ListPhoneTemplates(ctx); err != nil {
		return nil, fmt.Errorf("discover phone templates: %w", err)
	}
	sort.SliceStable(d.Templates, func(i, j int) bool { return d.Templates[i].Type < d.Templates[j].Type })
	return d, nil
}

// discoverLegacy reads the legacy Guardian endpoints; a 403 from any of
// them means the tenant is on UPE, a 404 that the setting is absent.
func (m *Migrator) discoverLegacy(ctx context.Context, d *Discovery) error {
	sel, err := m.c.SelectedPhoneProvider(ctx)
	switch {
	case err == nil:
		d.MFAProvider = sel
	case errors.Is(err, ErrForbidden):
		d.UPE = true
		return nil
	case errors.Is(err, ErrNotFound):
	default:
		return fmt.Errorf("discover selected phone provider: %w", err)
	}
	tw, err := m.c.LegacyTwilio(ctx)
	switch {
	case err == nil:
		if tw.SID != "" {
			d.LegacyTwilio = &tw
		}
	case errors.Is(err, ErrForbidden):
		d.UPE = true
		return nil
	case errors.Is(err, ErrNotFound):
	default:
		return fmt.Errorf("discover legacy Twilio settings: %w", err)
	}
	tpl, err := m.c.LegacyPhoneTemplates(ctx)
	switch {
	case err == nil:
		if tpl.EnrollmentMessage != "" || tpl.VerificationMessage != "" {
			d.LegacyTemplates = &tpl
		}
	case errors.Is(err, ErrForbidden):
		d.UPE = true
	case errors.Is(err, ErrNotFound):
	default:
		return fmt.Errorf("discover legacy phone templates: %w", err)
	}
	return nil
}
