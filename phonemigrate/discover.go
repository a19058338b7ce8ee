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
	// configured: Auth0 answered 404). Read only when MFAEnabled.
	MFAMessageTypes delivery.Set
	// MFAMessageTypesConfigured is false when Auth0 answered 404 (or MFA is
	// not enabled, so they were not read).
	MFAMessageTypesConfigured bool
	// MFAProvider is the selected legacy provider: auth0, twilio or
	// phone-message-hook ("" when unknown, under UPE, or MFA not enabled).
	MFAProvider string
	// LegacyTwilio is the legacy Guardian Twilio setting (nil when not
	// configured, under UPE, or not read because MFA does not select
	// Twilio).
	LegacyTwilio *LegacyTwilio
	// HookAction is the deployed Action bound to the send-phone-message
	// trigger, with its code, secret names and dependencies, when MFA sends
	// through phone-message-hook (nil otherwise, or when none is bound).
	HookAction *Action
	// LegacyTemplates are the legacy Guardian phone templates (nil when
	// not configured, under UPE, or MFA not enabled).
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

	// migratedTwilio are the legacy Twilio settings a completed migration
	// to a Twilio provider carried over (from its checkpoint, see
	// [Migrator.recallMigration]): the sender every consumer had.
	migratedTwilio *twilioSettings

	// actionsRead is true once Actions and Bindings were read. Planning
	// reads them only when the migration needs a custom provider.
	actionsRead bool
}

// Discover reads the tenant's phone setup through the Client, each thing
// once: the tenant flag, every SMS connection (raw options), the Guardian
// factors; when the MFA phone factor is enabled, its message types and the
// legacy selected provider, Twilio settings (only when Twilio is selected)
// and templates — legacy endpoints are read only while the tenant is not
// on UPE, and a 403 there means UPE is on; then the tenant-level provider,
// the custom-phone-provider Actions and bindings, and the tenant phone
// templates. Legacy settings that cannot matter (MFA disabled, or a
// selected provider other than Twilio) are not read. It writes nothing.
func (m *Migrator) Discover(ctx context.Context) (*Discovery, error) {
	d, err := m.discover(ctx)
	if err != nil {
		return nil, err
	}
	if err := m.discoverActions(ctx, d); err != nil {
		return nil, err
	}
	return d, nil
}

// discover is Discover without the custom-phone-provider Actions and
// bindings, which only a custom provider needs (see discoverActions).
func (m *Migrator) discover(ctx context.Context) (*Discovery, error) {
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
	for _, c := range d.SMSConnections {
		m.secrets.AddOptions(c.Options)
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
	if d.MFAEnabled {
		types, err := m.c.PhoneMessageTypes(ctx)
		switch {
		case err == nil:
			d.MFAMessageTypes, d.MFAMessageTypesConfigured = types, true
		case errors.Is(err, ErrNotFound):
		default:
			return nil, fmt.Errorf("discover phone message types: %w", err)
		}
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
	if d.Templates, err = m.c.ListPhoneTemplates(ctx); err != nil {
		return nil, fmt.Errorf("discover phone templates: %w", err)
	}
	sort.SliceStable(d.Templates, func(i, j int) bool { return d.Templates[i].Type < d.Templates[j].Type })
	return d, nil
}

// discoverActions reads the custom-phone-provider Actions and trigger
// bindings into d, once.
func (m *Migrator) discoverActions(ctx context.Context, d *Discovery) error {
	if d.actionsRead {
		return nil
	}
	var err error
	if d.Actions, err = m.c.ListActionsByTrigger(ctx, TriggerCustomPhoneProvider); err != nil {
		return fmt.Errorf("discover custom-phone-provider actions: %w", err)
	}
	if len(d.Actions) > 0 {
		a := d.Actions[0]
		d.Action = &a
	}
	if d.Bindings, err = m.c.TriggerBindings(ctx, TriggerCustomPhoneProvider); err != nil {
		return fmt.Errorf("discover custom-phone-provider bindings: %w", err)
	}
	d.actionsRead = true
	return nil
}

// discoverHook reads the Action bound first to the send-phone-message
// trigger (the one Auth0 runs for phone-message-hook), in full.
func (m *Migrator) discoverHook(ctx context.Context, d *Discovery) error {
	bs, err := m.c.TriggerBindings(ctx, triggerSendPhoneMessage)
	if err != nil {
		return fmt.Errorf("discover send-phone-message bindings: %w", err)
	}
	for _, b := range bs {
		a, err := m.c.GetAction(ctx, b.ActionID)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("discover send-phone-message action %s: %w", b.ActionID, err)
		}
		if a.Deployed {
			d.HookAction = &a
			return nil
		}
	}
	return nil
}

// discoverLegacy reads the legacy Guardian endpoints that matter: with the
// MFA phone factor enabled, the selected provider, the Twilio settings when
// it is Twilio, and the templates. With MFA disabled none of them can
// change the migration, and none is read: an absent tenant flag means off
// (real tenants omit it in most recorded answers), so no probe is needed.
// A 403 from any of them means the tenant is on UPE, a 404 that the
// setting is absent.
func (m *Migrator) discoverLegacy(ctx context.Context, d *Discovery) error {
	if !d.MFAEnabled {
		return nil
	}
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
	if sel == mfaProviderHook {
		if err := m.discoverHook(ctx, d); err != nil {
			return err
		}
	}
	if sel == mfaProviderTwilio {
		tw, err := m.c.LegacyTwilio(ctx)
		switch {
		case err == nil:
			m.secrets.AddSecret(tw.AuthToken)
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
