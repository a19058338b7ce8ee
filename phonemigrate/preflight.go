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
	twilio twilioSettings
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
		t := twilioSettings{SID: sid, MSSID: optString(c.Options, "messaging_service_sid")}
		if t.MSSID == "" {
			t.From = optString(c.Options, "from")
		}
		return &legacyPath{kind: targetTwilio, twilio: t, conn: c}
	}
	return nil
}

// preflight checks the tenant and the options and decides the migration.
// It performs no I/O. The returned warnings go into the plan.
func (m *Migrator) preflight(d *Discovery, o *Options) (*migrationIntent, []string, error) {
	if err := o.validate(); err != nil {
		return nil, nil, err
	}
	if d.UPE {
		return nil, nil, ErrAlreadyUnified
	}
	pf := &preflightRun{d: d, o: o}
	// Each decision builds on the ones before it; the first refusal wins.
	for _, decide := range []func() error{
		pf.passwordless, pf.mfaFactor, pf.eligible, pf.oneTwilioAccount, pf.providerKind,
		pf.targets, pf.delivery, pf.existingResources, pf.templates,
	} {
		if err := decide(); err != nil {
			return nil, nil, err
		}
	}
	return pf.in, pf.warnings, nil
}

// preflightRun is one preflight: the tenant and options it decides from,
// what it decided so far, and the warnings for the plan.
type preflightRun struct {
	d        *Discovery
	o        *Options
	warnings []string

	pwl      *legacyPath     // where Passwordless sends today (nil: no connection with SMS settings)
	conns    []connectionRef // the connections to switch
	mfa      *legacyPath     // where MFA sends today (nil: off, or nothing to build from)
	mfaTypes delivery.Set    // the MFA message types in use
	// otherAccount: the Passwordless sender belongs to a Twilio account
	// not used after the switch.
	otherAccount bool
	// def is the provider's default target (MFA's path when there is one);
	// over the Passwordless path when it differs (a routing Action).
	def, over *legacyPath
	in        *migrationIntent
}

func (pf *preflightRun) warn(format string, a ...any) {
	pf.warnings = append(pf.warnings, fmt.Sprintf(format, a...))
}

// passwordless finds the one path the Passwordless SMS connections send
// through: connections without SMS settings are left alone; two different
// paths cannot both be served by one tenant-level provider.
func (pf *preflightRun) passwordless() error {
	for i := range pf.d.SMSConnections {
		c := &pf.d.SMSConnections[i]
		p := connectionPath(c)
		if p == nil {
			pf.warn("SMS connection %q has no SMS provider configured; it is left untouched.", c.Name)
			continue
		}
		if pf.pwl != nil && !pf.pwl.same(p) {
			return fmt.Errorf("%w: SMS connections %q and %q send through different providers (%s; %s), and one tenant-level provider cannot serve both: "+
				"make them send the same way, or delete the connection no application uses any more (or remove its SMS provider settings), then run again",
				ErrNotEligible, pf.pwl.conn.Name, c.Name, pf.pwl.describe(), p.describe())
		}
		if pf.pwl == nil {
			pf.pwl = p
		}
		pf.conns = append(pf.conns, connectionRef{ID: c.ID, Name: c.Name})
	}
	return nil
}

// mfaFactor finds the path MFA's phone factor sends through, and its
// message types (Guardian's default is SMS).
func (pf *preflightRun) mfaFactor() error {
	d := pf.d
	if !d.MFAEnabled {
		return nil
	}
	pf.mfaTypes = mfaTypesInUse(d)
	switch d.MFAProvider {
	case mfaProviderTwilio:
		if d.LegacyTwilio == nil {
			pf.warn("MFA selects Twilio but no legacy Twilio settings are configured.")
			return nil
		}
		t := twilioSettings{SID: d.LegacyTwilio.SID, MSSID: d.LegacyTwilio.MessagingServiceSID}
		if t.MSSID == "" {
			t.From = d.LegacyTwilio.From
		}
		pf.mfa = &legacyPath{kind: targetTwilio, twilio: t}
	case mfaProviderHook:
		if d.HookAction == nil {
			pf.warn("MFA selects phone-message-hook but no deployed Action is bound to the send-phone-message trigger; after the switch MFA messages go through the new provider.")
			return nil
		}
		pf.mfa = &legacyPath{kind: targetHook, hook: d.HookAction}
	default:
		pf.warn("MFA sends through Auth0's built-in provider; after the switch MFA messages go through the new provider.")
	}
	return nil
}

// eligible refuses a tenant with nothing to migrate, or nothing to build
// a provider from.
func (pf *preflightRun) eligible() error {
	if pf.pwl == nil && !pf.d.MFAEnabled {
		return fmt.Errorf("%w: neither the MFA phone factor nor a Passwordless SMS connection is enabled and configured", ErrNotEligible)
	}
	if pf.pwl == nil && pf.mfa == nil {
		return fmt.Errorf("%w: MFA is enabled but sends through %q, and there are no Twilio or SMS gateway settings to build a tenant-level provider from",
			ErrNotEligible, pf.d.MFAProvider)
	}
	return nil
}

// oneTwilioAccount: one tenant-level provider (or one Twilio target)
// serves one account. When Passwordless and MFA use two, the MFA
// (Guardian) one is taken for both, and the plan says what Passwordless
// users will notice. The connection's own sender belongs to the other
// account, so it is not carried into the otp_verify template (Twilio
// refuses a From the account does not own).
func (pf *preflightRun) oneTwilioAccount() error {
	pwl, mfa := pf.pwl, pf.mfa
	if pwl == nil || mfa == nil || pwl.kind != targetTwilio || mfa.kind != targetTwilio || pwl.twilio.SID == mfa.twilio.SID {
		return nil
	}
	pf.warn("Passwordless (connection %q) sends through %s and MFA through %s; one Twilio account serves both after the switch, and the MFA (Guardian) one is taken: Passwordless codes will come from %s, not from the connection's sender, which belongs to the other account. "+
		"To keep the Passwordless sender, move MFA to the connection's account in Guardian's Twilio settings first, then run again.",
		pwl.conn.Name, pwl.describe(), mfa.describe(), mfa.describe())
	pf.pwl, pf.otherAccount = mfa, true
	return nil
}

// providerKind decides the provider: Twilio when every consumer sends
// through one Twilio target, else a custom-phone-provider Action (a
// gateway, a send-phone-message Action, or two different paths to route).
func (pf *preflightRun) providerKind() error {
	pf.def = pf.mfa
	if pf.def == nil {
		pf.def = pf.pwl
	} else if pf.pwl != nil && !pf.pwl.same(pf.mfa) {
		pf.over = pf.pwl
	}
	needCustom := pf.def.kind == targetGateway || pf.def.kind == targetHook || pf.over != nil
	kind := pf.o.Provider
	switch kind {
	case "", providerAuto:
		kind = ProviderKindTwilio
		if needCustom {
			kind = ProviderKindCustom
		}
	case ProviderKindTwilio:
		if needCustom {
			return fmt.Errorf("%w: Passwordless uses %s and MFA uses %s", errCustomProviderRequired, describePath(pf.pwl), describePath(pf.mfa))
		}
	}
	pf.in = &migrationIntent{
		Provider:         kind,
		Connections:      pf.conns,
		UsePhoneProvider: pf.o.usePhoneProvider(),
		MFAEnabled:       pf.d.MFAEnabled,
		AllowReplace:     pf.o.AllowReplace,
	}
	if pf.d.MFAEnabled {
		pf.in.MFAMessageTypes = pf.mfaTypes
	}
	return nil
}

// targets records what the provider sends through (Twilio settings and
// where its token comes from, the gateway connection, the
// send-phone-message Action) and, for a custom provider, its targets.
func (pf *preflightRun) targets() error {
	in := pf.in
	usesTwilio := false
	for _, p := range []*legacyPath{pf.def, pf.over} {
		switch {
		case p == nil:
		case p.kind == targetTwilio:
			usesTwilio = true
			t := p.twilio
			if in.Twilio == nil {
				in.Twilio = &t
			} else if t != *in.Twilio {
				// Both targets on Twilio (one account: see otherAccount),
				// each with its own sender.
				in.PasswordlessTwilio = &t
			}
		case p.kind == targetGateway:
			in.GatewayConnectionID = p.conn.ID
		case p.kind == targetHook:
			in.Hook = hookIntent(p.hook)
			pf.warnings = append(pf.warnings, hookWarnings(p.hook, pf.o)...)
		}
	}
	if usesTwilio {
		if err := pf.twilioToken(); err != nil {
			return err
		}
	}
	if in.Provider == ProviderKindCustom {
		in.DefaultTarget = pf.def.kind
		if pf.over != nil {
			in.PasswordlessTarget = pf.over.kind
		}
	}
	return nil
}

// twilioToken decides where the Twilio auth token comes from.
func (pf *preflightRun) twilioToken() error {
	src, notes, err := chooseTwilioToken(pf.d, pf.in.Twilio.SID, pf.o)
	if err != nil {
		return err
	}
	pf.in.TwilioTokenSource = src
	pf.warnings = append(pf.warnings, notes...)
	if pf.o.SkipTwilioCheck {
		pf.warn("The Twilio credentials are not checked with Twilio before they are written (SkipTwilioCheck), and test messages get no delivery evidence: a wrong token shows only when codes fail to send.")
	}
	return nil
}

// delivery decides the provider's delivery methods: the ones asked for,
// else the factors in use, which they must cover.
func (pf *preflightRun) delivery() error {
	d := pf.d
	var factors delivery.Set
	if pf.pwl != nil {
		factors = delivery.Of(delivery.Text)
	}
	if d.MFAEnabled {
		factors = factors.Union(pf.mfaTypes)
	}
	desired := pf.o.Delivery
	if desired.Empty() {
		desired = factors
	}
	var current delivery.Set
	if d.Provider != nil {
		current = d.Provider.Configuration.DeliveryMethods
	}
	dec, err := delivery.Decide(factors, current, desired)
	if err != nil {
		return fmt.Errorf("decide delivery methods: %w", err)
	}
	if dec.Action != delivery.NoAction {
		if pf.pwl != nil && dec.Missing.Has(delivery.Text) && !(d.MFAEnabled && pf.mfaTypes.Has(delivery.Text)) {
			// Only Passwordless needs text: "phone factor" is MFA's word.
			dec.Reason = fmt.Sprintf("Passwordless SMS (connection %q) sends its codes as text messages, which delivery by %s alone cannot carry; include text in the delivery methods (--delivery text or text,voice).", pf.conns[0].Name, desired)
		}
		return &deliveryConflictError{Decision: dec}
	}
	pf.in.Delivery = desired
	if pf.def.kind == targetGateway && desired.Has(delivery.Voice) {
		if factors.Has(delivery.Voice) {
			return fmt.Errorf("%w: MFA voice messages are in use, but the only legacy settings to build a provider from are the SMS gateway of connection %q, which cannot place calls",
				ErrNotEligible, pf.def.conn.Name)
		}
		pf.warn("The legacy SMS gateway never received voice messages; the generated Action drops voice deliveries.")
	}
	return nil
}

// existingResources decides what happens to a phone provider or
// custom-phone-provider Action the tenant already has.
func (pf *preflightRun) existingResources() error {
	in, o := pf.in, pf.o
	if p := pf.d.Provider; p != nil {
		// A half-migrated tenant: someone set up the very provider this
		// migration writes (in the Dashboard, say) but did not switch.
		// Taking it over changes nothing but its credentials, which Auth0
		// never shows, so they are written again.
		same := providerMatches(*p, providerRequest(in, &Options{}))
		switch {
		case same:
			pf.warn("The existing %s phone provider %s already has the configuration this migration writes (set up for it, but the tenant was not switched): it is taken over and written again with the credentials, which Auth0 does not show; rollback restores its configuration but not its credentials.", p.Name, p.ID)
		case !o.AllowReplace:
			return &ExistingResourceError{Kind: "phone provider", ID: p.ID, Name: p.Name}
		default:
			pf.warn("The existing %s phone provider %s is replaced; rollback restores its configuration but not its credentials.", p.Name, p.ID)
		}
		in.ReplaceProviderID = p.ID
	}
	if in.Provider != ProviderKindCustom {
		return nil
	}
	// Auth0 allows one Action for the trigger, so a second cannot be
	// created, and an existing one cannot be overwritten without losing
	// its secrets for good: the user removes it first.
	if len(pf.d.Actions) > 0 {
		a := pf.d.Actions[0]
		return &ExistingResourceError{Kind: "action", ID: a.ID, Name: a.Name, CannotReplace: true}
	}
	if len(pf.d.Bindings) > 0 {
		b := pf.d.Bindings[0]
		return &ExistingResourceError{Kind: "action", ID: b.ActionID, Name: b.ActionName, CannotReplace: true}
	}
	in.ActionName = actiongen.DefaultName
	return nil
}

// templates decides the phone templates that carry the legacy words, and
// warns about what the switch changes for the connections and MFA.
func (pf *preflightRun) templates() error {
	in := pf.in
	tpls, tw, mfaVerify := planTemplates(pf.d, pf.pwl != nil)
	for i := range tpls {
		tpls[i].Existed = findTemplate(pf.d.Templates, tpls[i].Type) != nil
		if pf.otherAccount && strings.HasPrefix(tpls[i].Source, "connection ") {
			tpls[i].From = ""
		}
	}
	in.Templates = tpls
	pf.warnings = append(pf.warnings, tw...)
	if mfaVerify != "" {
		if in.Provider == ProviderKindCustom && in.PasswordlessTarget != "" {
			// The routing Action's MFA target renders the legacy MFA text
			// itself, so MFA users keep it (plan checks actiongen accepts it).
			in.DefaultText = &targetText{Verify: mfaVerify}
		} else {
			pf.warnings = append(pf.warnings, mfaTextWarning(tpls[0].Source, ""))
		}
	}
	if len(pf.conns) > 0 {
		pf.warn("options.%s is undocumented by Auth0 (terraform-provider-auth0#1549); each connection write is verified from Auth0's answer, and every other option must stay unchanged.", UsePhoneProviderKey)
	}
	return nil
}

func describePath(p *legacyPath) string {
	if p == nil {
		return "nothing"
	}
	return p.describe()
}
