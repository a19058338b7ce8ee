package phonemigrate

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/unifiedphone/unifiedphone/actiongen"
	"github.com/unifiedphone/unifiedphone/delivery"
)

// Legacy MFA selected providers.
const (
	mfaProviderAuth0  = "auth0"
	mfaProviderTwilio = "twilio"
	mfaProviderHook   = "phone-message-hook"
)

// legacyPath is where one legacy consumer (Passwordless or MFA) sends its
// messages today.
type legacyPath struct {
	kind   string // targetGateway, targetTwilio or targetHook
	twilio TwilioSettings
	hook   *Action     // the send-phone-message Action
	conn   *Connection // the gateway connection
	url    string
}

func (p *legacyPath) same(q *legacyPath) bool {
	if p == nil || q == nil {
		return p == q
	}
	if p.kind != q.kind {
		return false
	}
	switch p.kind {
	case targetTwilio:
		return p.twilio == q.twilio
	case targetHook:
		return p.hook.ID == q.hook.ID
	}
	return p.url == q.url
}

// describe names the path with every setting that tells two paths apart
// (same compares the same ones), so that two different paths are never
// printed alike. A gateway URL is shown without credentials or query.
func (p *legacyPath) describe() string {
	if p.kind == targetHook {
		return fmt.Sprintf("the send-phone-message Action %q (%s)", p.hook.Name, p.hook.ID)
	}
	if p.kind == targetTwilio {
		s := "Twilio account " + p.twilio.SID
		if p.twilio.MSSID != "" {
			return s + " with messaging service " + p.twilio.MSSID
		}
		return s + " from " + p.twilio.From
	}
	shown := "(no URL)"
	if u, err := url.Parse(p.url); err == nil && u.Host != "" {
		shown = u.Scheme + "://" + u.Host + u.EscapedPath()
	}
	return "the SMS gateway " + shown + " of connection " + quote(p.conn.Name)
}

func optString(opts map[string]any, key string) string {
	s, _ := opts[key].(string)
	return s
}

// connectionPath classifies a Passwordless SMS connection; nil means it has
// no provider configured.
func connectionPath(c *Connection) *legacyPath {
	provider := optString(c.Options, "provider")
	switch {
	case provider == "sms_gateway":
		return &legacyPath{kind: targetGateway, conn: c, url: optString(c.Options, "gateway_url")}
	case provider == "twilio" || (provider == "" && optString(c.Options, "twilio_sid") != ""):
		sid := optString(c.Options, "twilio_sid")
		if sid == "" {
			return nil
		}
		t := TwilioSettings{SID: sid, MSSID: optString(c.Options, "messaging_service_sid")}
		if t.MSSID == "" {
			t.From = optString(c.Options, "from")
		}
		return &legacyPath{kind: targetTwilio, twilio: t, conn: c}
	}
	return nil
}

// preflight checks the tenant and the options and decides the migration.
// It performs no I/O. The returned warnings go into the plan.
func (m *Migrator) preflight(d *Discovery, o *Options) (*Intent, []string, error) {
	if err := o.validate(); err != nil {
		return nil, nil, err
	}
	if d.UPE {
		return nil, nil, ErrAlreadyUnified
	}
	var warnings []string

	// Passwordless.
	var pwl *legacyPath
	var conns []ConnectionRef
	for i := range d.SMSConnections {
		c := &d.SMSConnections[i]
		p := connectionPath(c)
		if p == nil {
			warnings = append(warnings, fmt.Sprintf("SMS connection %q has no SMS provider configured; it is left untouched.", c.Name))
			continue
		}
		if pwl != nil && !pwl.same(p) {
			return nil, nil, fmt.Errorf("%w: SMS connections %q and %q send through different providers (%s; %s), and one tenant-level provider cannot serve both: "+
				"make them send the same way, or delete the connection no application uses any more (or remove its SMS provider settings), then run again",
				ErrNotEligible, pwl.conn.Name, c.Name, pwl.describe(), p.describe())
		}
		if pwl == nil {
			pwl = p
		}
		conns = append(conns, ConnectionRef{ID: c.ID, Name: c.Name})
	}

	// MFA.
	var mfa *legacyPath
	mfaTypes := d.MFAMessageTypes
	if d.MFAEnabled {
		if mfaTypes.Empty() {
			mfaTypes = delivery.Of(delivery.Text) // Guardian's default: SMS
		}
		switch d.MFAProvider {
		case mfaProviderTwilio:
			if d.LegacyTwilio != nil {
				t := TwilioSettings{SID: d.LegacyTwilio.SID, MSSID: d.LegacyTwilio.MessagingServiceSID}
				if t.MSSID == "" {
					t.From = d.LegacyTwilio.From
				}
				mfa = &legacyPath{kind: targetTwilio, twilio: t}
			} else {
				warnings = append(warnings, "MFA selects Twilio but no legacy Twilio settings are configured.")
			}
		case mfaProviderHook:
			if d.HookAction != nil {
				mfa = &legacyPath{kind: targetHook, hook: d.HookAction}
			} else {
				warnings = append(warnings, "MFA selects phone-message-hook but no deployed Action is bound to the send-phone-message trigger; after the switch MFA messages go through the new provider.")
			}
		default:
			warnings = append(warnings, "MFA sends through Auth0's built-in provider; after the switch MFA messages go through the new provider.")
		}
	}

	if pwl == nil && !d.MFAEnabled {
		return nil, nil, fmt.Errorf("%w: neither the MFA phone factor nor a Passwordless SMS connection is enabled and configured", ErrNotEligible)
	}
	if pwl == nil && mfa == nil {
		return nil, nil, fmt.Errorf("%w: MFA is enabled but sends through %q, and there are no Twilio or SMS gateway settings to build a tenant-level provider from",
			ErrNotEligible, d.MFAProvider)
	}
	otherAccount := false // the Passwordless sender belongs to a Twilio account not used after the switch
	if pwl != nil && mfa != nil && pwl.kind == targetTwilio && mfa.kind == targetTwilio && pwl.twilio.SID != mfa.twilio.SID {
		// One tenant-level provider (or one Twilio target) serves one
		// account: the MFA (Guardian) one is taken for both, and the plan
		// says what Passwordless users will notice. The connection's own
		// sender belongs to the other account, so it is not carried into
		// the otp_verify template (Twilio refuses a From the account does
		// not own).
		warnings = append(warnings, fmt.Sprintf("Passwordless (connection %q) sends through %s and MFA through %s; one Twilio account serves both after the switch, and the MFA (Guardian) one is taken: Passwordless codes will come from %s, not from the connection's sender, which belongs to the other account. "+
			"To keep the Passwordless sender, move MFA to the connection's account in Guardian's Twilio settings first, then run again.",
			pwl.conn.Name, pwl.describe(), mfa.describe(), mfa.describe()))
		pwl, otherAccount = mfa, true
	}

	// Provider kind.
	def, over := mfa, (*legacyPath)(nil)
	if def == nil {
		def = pwl
	} else if pwl != nil && !pwl.same(mfa) {
		over = pwl
	}
	needCustom := def.kind == targetGateway || def.kind == targetHook || over != nil
	kind := o.Provider
	switch kind {
	case "", ProviderAuto:
		kind = ProviderKindTwilio
		if needCustom {
			kind = ProviderKindCustom
		}
	case ProviderKindTwilio:
		if needCustom {
			return nil, nil, fmt.Errorf("%w: Passwordless uses %s and MFA uses %s", ErrCustomProviderRequired, describePath(pwl), describePath(mfa))
		}
	}
	in := &Intent{
		Provider:         kind,
		Connections:      conns,
		UsePhoneProvider: o.usePhoneProvider(),
		MFAEnabled:       d.MFAEnabled,
		AllowReplace:     o.AllowReplace,
	}
	if d.MFAEnabled {
		in.MFAMessageTypes = mfaTypes
	}
	usesTwilio := false
	for _, p := range []*legacyPath{def, over} {
		if p != nil && p.kind == targetTwilio {
			usesTwilio = true
			t := p.twilio
			if in.Twilio == nil {
				in.Twilio = &t
			} else if t != *in.Twilio {
				// Both targets on Twilio (one account: see otherAccount),
				// each with its own sender.
				in.PasswordlessTwilio = &t
			}
		}
		if p != nil && p.kind == targetGateway {
			in.GatewayConnectionID = p.conn.ID
		}
		if p != nil && p.kind == targetHook {
			in.Hook = hookIntent(p.hook)
			warnings = append(warnings, hookWarnings(p.hook, o)...)
		}
	}
	if usesTwilio {
		src, notes, err := chooseTwilioToken(d, in.Twilio.SID, o)
		if err != nil {
			return nil, nil, err
		}
		in.TwilioTokenSource = src
		warnings = append(warnings, notes...)
		if o.SkipTwilioCheck {
			warnings = append(warnings, "The Twilio credentials are not checked with Twilio before they are written (SkipTwilioCheck), and test messages get no delivery evidence: a wrong token shows only when codes fail to send.")
		}
	}
	if kind == ProviderKindCustom {
		in.DefaultTarget = def.kind
		if over != nil {
			in.PasswordlessTarget = over.kind
		}
	}

	// Delivery.
	var factors delivery.Set
	if pwl != nil {
		factors = delivery.Of(delivery.Text)
	}
	if d.MFAEnabled {
		factors = factors.Union(mfaTypes)
	}
	desired := o.Delivery
	if desired.Empty() {
		desired = factors
	}
	var current delivery.Set
	if d.Provider != nil {
		current = d.Provider.Configuration.DeliveryMethods
	}
	dec, err := delivery.Decide(factors, current, desired)
	if err != nil {
		return nil, nil, fmt.Errorf("decide delivery methods: %w", err)
	}
	if dec.Action != delivery.NoAction {
		if pwl != nil && dec.Missing.Has(delivery.Text) && !(d.MFAEnabled && mfaTypes.Has(delivery.Text)) {
			// Only Passwordless needs text: "phone factor" is MFA's word.
			dec.Reason = fmt.Sprintf("Passwordless SMS (connection %q) sends its codes as text messages, which delivery by %s alone cannot carry; include text in the delivery methods (--delivery text or text,voice).", conns[0].Name, desired)
		}
		return nil, nil, &DeliveryConflictError{Decision: dec}
	}
	in.Delivery = desired
	if def.kind == targetGateway && desired.Has(delivery.Voice) {
		if factors.Has(delivery.Voice) {
			return nil, nil, fmt.Errorf("%w: MFA voice messages are in use, but the only legacy settings to build a provider from are the SMS gateway of connection %q, which cannot place calls",
				ErrNotEligible, def.conn.Name)
		}
		warnings = append(warnings, "The legacy SMS gateway never received voice messages; the generated Action drops voice deliveries.")
	}

	// Existing resources.
	if p := d.Provider; p != nil {
		// A half-migrated tenant: someone set up the very provider this
		// migration writes (in the Dashboard, say) but did not switch.
		// Taking it over changes nothing but its credentials, which Auth0
		// never shows, so they are written again.
		same := providerMatches(*p, providerRequest(in, &Options{}))
		switch {
		case same:
			warnings = append(warnings, fmt.Sprintf("The existing %s phone provider %s already has the configuration this migration writes (set up for it, but the tenant was not switched): it is taken over and written again with the credentials, which Auth0 does not show; rollback restores its configuration but not its credentials.", p.Name, p.ID))
		case !o.AllowReplace:
			return nil, nil, &ExistingResourceError{Kind: "phone provider", ID: p.ID, Name: p.Name}
		default:
			warnings = append(warnings, fmt.Sprintf("The existing %s phone provider %s is replaced; rollback restores its configuration but not its credentials.", p.Name, p.ID))
		}
		in.ReplaceProviderID = p.ID
	}
	if kind == ProviderKindCustom {
		// Auth0 allows one Action for the trigger, so a second cannot be
		// created, and an existing one cannot be overwritten without losing
		// its secrets for good: the user removes it first.
		if len(d.Actions) > 0 {
			a := d.Actions[0]
			return nil, nil, &ExistingResourceError{Kind: "action", ID: a.ID, Name: a.Name, CannotReplace: true}
		}
		if len(d.Bindings) > 0 {
			b := d.Bindings[0]
			return nil, nil, &ExistingResourceError{Kind: "action", ID: b.ActionID, Name: b.ActionName, CannotReplace: true}
		}
		in.ActionName = actiongen.DefaultName
	}

	// Templates.
	tpls, tw, mfaVerify := planTemplates(d, pwl != nil)
	for i := range tpls {
		tpls[i].Existed = findTemplate(d.Templates, tpls[i].Type) != nil
		if otherAccount && strings.HasPrefix(tpls[i].Source, "connection ") {
			tpls[i].From = ""
		}
	}
	in.Templates = tpls
	warnings = append(warnings, tw...)
	if mfaVerify != "" {
		if kind == ProviderKindCustom && in.PasswordlessTarget != "" {
			// The routing Action's MFA target renders the legacy MFA text
			// itself, so MFA users keep it (plan checks actiongen accepts it).
			in.DefaultText = &TargetText{Verify: mfaVerify}
		} else {
			warnings = append(warnings, mfaTextWarning(tpls[0].Source, ""))
		}
	}
	if len(conns) > 0 {
		warnings = append(warnings, fmt.Sprintf("options.%s is undocumented by Auth0 (terraform-provider-auth0#1549); each connection write is verified from Auth0's answer, and every other option must stay unchanged.", UsePhoneProviderKey))
	}
	return in, warnings, nil
}

func describePath(p *legacyPath) string {
	if p == nil {
		return "nothing"
	}
	return p.describe()
}
