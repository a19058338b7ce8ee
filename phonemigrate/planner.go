package phonemigrate

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
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
	kind   string // targetGateway or targetTwilio
	twilio TwilioSettings
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
	if p.kind == targetTwilio {
		return p.twilio == q.twilio
	}
	return p.url == q.url
}

// describe names the path with every setting that tells two paths apart
// (same compares the same ones), so that two different paths are never
// printed alike. A gateway URL is shown without credentials or query.
func (p *legacyPath) describe() string {
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
			warnings = append(warnings, "MFA sends through a send-phone-message hook, which cannot be migrated automatically; after the switch MFA messages go through the new provider.")
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
	needCustom := def.kind == targetGateway || over != nil
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
			in.Twilio = &t
		}
		if p != nil && p.kind == targetGateway {
			in.GatewayConnectionID = p.conn.ID
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
	if d.Provider != nil {
		if !o.AllowReplace {
			return nil, nil, &ExistingResourceError{Kind: "phone provider", ID: d.Provider.ID, Name: d.Provider.Name}
		}
		in.ReplaceProviderID = d.Provider.ID
		warnings = append(warnings, fmt.Sprintf("The existing %s phone provider %s is replaced; rollback restores its configuration but not its credentials.", d.Provider.Name, d.Provider.ID))
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
		warnings = append(warnings, fmt.Sprintf("options.%s is undocumented by Auth0 (terraform-provider-auth0#1549); each connection is read back to verify it, and every other option must stay unchanged.", UsePhoneProviderKey))
	}
	return in, warnings, nil
}

func describePath(p *legacyPath) string {
	if p == nil {
		return "nothing"
	}
	return p.describe()
}

// Template conversion.
var (
	mdMacro     = regexp.MustCompile(`@@([^@\s]+)@@`)
	liquidOut   = regexp.MustCompile(`\{\{-?\s*([A-Za-z_][A-Za-z0-9_]*)`)
	liquidBlock = regexp.MustCompile(`\{[{%].*?[}%]\}`)
	liquidPwd   = regexp.MustCompile(`(^|[^.\w])password\b`)
)

// convertTemplate turns a legacy connection template into tenant template
// Liquid: md_with_macros @@password@@ and Liquid password become {{ code }}.
// Macros and variables with no known equivalent are kept verbatim and
// reported.
func convertTemplate(syntax, text, source string) (string, []string) {
	var warnings []string
	if syntax == "liquid" {
		out := liquidBlock.ReplaceAllStringFunc(text, func(block string) string {
			return liquidPwd.ReplaceAllString(block, "${1}code")
		})
		seen := map[string]bool{}
		for _, mm := range liquidOut.FindAllStringSubmatch(out, -1) {
			v := mm[1]
			if !upeVariables[v] && !seen[v] {
				seen[v] = true
				warnings = append(warnings, fmt.Sprintf("The %s uses Liquid variable %q, which tenant phone templates do not have%s; it is kept verbatim and renders empty — edit the migrated template.", source, v, closest(v)))
			}
		}
		return out, warnings
	}
	// md_with_macros text is literal apart from its macros: "{{" and "{%"
	// in it were sent as written, and must not become live Liquid.
	if escaped := escapeLiquid(text); escaped != text {
		warnings = append(warnings, fmt.Sprintf("The %s contains \"{{\" or \"{%%\", which md_with_macros sent as written; they are escaped (as {{ \"{{\" }} and {{ \"{%%\" }}) so that users still read them literally — check the migrated template.", source))
		text = escaped
	}
	seen := map[string]bool{}
	out := mdMacro.ReplaceAllStringFunc(text, func(s string) string {
		name := mdMacro.FindStringSubmatch(s)[1]
		if name == "password" {
			return "{{ code }}"
		}
		if !seen[name] {
			seen[name] = true
			warnings = append(warnings, fmt.Sprintf("The %s uses macro @@%s@@, which has no tenant template equivalent%s; it is kept verbatim — edit the migrated template.", source, name, closest(name)))
		}
		return s
	})
	return out, warnings
}

// escapeLiquid makes every "{{" and "{%" of text print literally under
// Liquid, as the string literal outputs {{ "{{" }} and {{ "{%" }}.
func escapeLiquid(text string) string {
	if !strings.Contains(text, "{{") && !strings.Contains(text, "{%") {
		return text
	}
	var b strings.Builder
	for i := 0; i < len(text); i++ {
		if text[i] == '{' && i+1 < len(text) && (text[i+1] == '{' || text[i+1] == '%') {
			b.WriteString(`{{ "{` + string(text[i+1]) + `" }}`)
			i++
			continue
		}
		b.WriteByte(text[i])
	}
	return b.String()
}

var guardianTenantName = regexp.MustCompile(`\btenant\.friendly_name\b`)

// convertGuardian turns a legacy Guardian template into a tenant template:
// both are Liquid with {{code}}; only the tenant's friendly name moved from
// tenant.friendly_name to friendly_name.
func convertGuardian(text string) string {
	return liquidBlock.ReplaceAllStringFunc(text, func(block string) string {
		return guardianTenantName.ReplaceAllString(block, "friendly_name")
	})
}

// planTemplates decides the tenant phone templates: otp_verify from the
// Passwordless connection template (or, without Passwordless, the legacy
// Guardian verification message) with the connection's from; otp_enroll from
// the legacy Guardian enrollment message when MFA is enabled. mfaVerify is
// the converted legacy MFA verification message when it differs from the
// otp_verify template (which the Passwordless text won), else "".
func planTemplates(d *Discovery, passwordless bool) (out []TemplateIntent, warnings []string, mfaVerify string) {
	var verify *TemplateIntent
	if passwordless {
		for i := range d.SMSConnections {
			c := &d.SMSConnections[i]
			if connectionPath(c) == nil {
				continue
			}
			tpl := optString(c.Options, "template")
			if tpl == "" {
				continue
			}
			source := fmt.Sprintf("template of connection %q", c.Name)
			text, w := convertTemplate(optString(c.Options, "syntax"), tpl, source)
			ti := TemplateIntent{Type: "otp_verify", Source: "connection " + c.Name, From: optString(c.Options, "from"), Text: text}
			if len(ti.From) > 16 {
				warnings = append(warnings, fmt.Sprintf("The from %q of connection %q is longer than the 16 characters a tenant template allows; it is not carried.", ti.From, c.Name))
				ti.From = ""
			}
			if verify == nil {
				verify = &ti
				warnings = append(warnings, w...)
			} else if verify.Text != ti.Text || verify.From != ti.From {
				warnings = append(warnings, fmt.Sprintf("Connection %q has a different template or from than %s; the tenant has one otp_verify template, so %s's is used.", c.Name, verify.Source, verify.Source))
			}
		}
	}
	if d.MFAEnabled && d.LegacyTemplates != nil {
		if v := d.LegacyTemplates.VerificationMessage; v != "" {
			if verify == nil {
				verify = &TemplateIntent{Type: "otp_verify", Source: "guardian verification message", Text: convertGuardian(v)}
			} else if convertGuardian(v) != verify.Text {
				mfaVerify = convertGuardian(v)
			}
		}
	}
	if verify != nil {
		out = append(out, *verify)
	}
	if d.MFAEnabled && d.LegacyTemplates != nil && d.LegacyTemplates.EnrollmentMessage != "" {
		out = append(out, TemplateIntent{Type: "otp_enroll", Source: "guardian enrollment message", Text: convertGuardian(d.LegacyTemplates.EnrollmentMessage)})
	}
	return out, warnings, mfaVerify
}

// mfaTextWarning is the plan warning when MFA verification messages take
// the Passwordless text.
func mfaTextWarning(source, why string) string {
	return fmt.Sprintf("The legacy MFA verification message differs from the Passwordless template; the tenant has one otp_verify template, so %s's is used for both%s.", source, why)
}

// Plan discovers the tenant, checks it against o (preflight) and returns
// every write the migration would make, in order. It writes nothing, to the
// tenant or to the store. Preflight failures are typed: [*InputError],
// [*InvalidRecipientError], [ErrAlreadyUnified], [ErrNotEligible],
// [ErrCustomProviderRequired], [ErrTwilioTokenRequired],
// [*DeliveryConflictError], [*ExistingResourceError].
func (m *Migrator) Plan(ctx context.Context, o Options) (*Plan, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	d, err := m.discover(ctx)
	if err != nil {
		return nil, err
	}
	p, _, err := m.plan(ctx, d, &o)
	return p, err
}

// plan runs preflight and builds the plan for discovery d. When the
// migration needs a custom provider and d does not hold the
// custom-phone-provider Actions and bindings yet, it reads them (once) and
// runs preflight again with them; a Twilio provider never needs them.
func (m *Migrator) plan(ctx context.Context, d *Discovery, o *Options) (*Plan, *Intent, error) {
	if d.UPE {
		// Switched already: nothing to do when healthy; when only some
		// connections miss the switch, converge by switching them.
		in, warnings, err := m.converge(ctx, d, o)
		if err != nil {
			return nil, nil, err
		}
		return buildPlan(m.tenant, d, in, o, nil, warnings), in, nil
	}
	in, warnings, err := m.preflight(d, o)
	if err == nil && in.Provider == ProviderKindCustom && !d.actionsRead {
		if err := m.discoverActions(ctx, d); err != nil {
			return nil, nil, err
		}
		in, warnings, err = m.preflight(d, o)
	}
	if err != nil {
		return nil, nil, err
	}
	if in.TwilioTokenSource != "" && in.TwilioTokenSource != TokenSourceOptions {
		// Generate and show the writes with the legacy token the plan
		// carries over; the caller's Options stay as they were.
		oo := *o
		oo.TwilioAuthToken = tokenFromDiscovery(d, in.TwilioTokenSource)
		o = &oo
	}
	var act *actiongen.Action
	if in.Provider == ProviderKindCustom {
		var gw map[string]any
		if in.GatewayConnectionID != "" {
			for _, c := range d.SMSConnections {
				if c.ID == in.GatewayConnectionID {
					gw = c.Options
				}
			}
		}
		act, err = generateAction(in, o, gw)
		var ve *actiongen.ValidationError
		if err != nil && in.DefaultText != nil && errors.As(err, &ve) && strings.HasPrefix(ve.Field, "Default.Text") {
			// actiongen cannot render this legacy text (an unsupported
			// Liquid construct): MFA takes the template's text, as without
			// a routing Action, and the plan says why.
			in.DefaultText = nil
			warnings = append(warnings, mfaTextWarning(in.Templates[0].Source, "; the MFA text cannot be rendered by the Action: "+ve.Problem))
			act, err = generateAction(in, o, gw)
		}
		if err != nil {
			return nil, nil, err
		}
	}
	return buildPlan(m.tenant, d, in, o, act, warnings), in, nil
}

// gatewayAdvice says what a person can do about gateway settings a
// generated Action cannot use.
func gatewayAdvice(err error) string {
	var ve *actiongen.ValidationError
	if errors.As(err, &ve) && strings.HasPrefix(ve.Field, "gateway_url") {
		return "the Action calls the gateway from Auth0's cloud: serve it over https at an address the internet reaches, set the connection's gateway_url to that, then run again"
	}
	return "correct the connection's gateway settings in Auth0 (Authentication > Passwordless > SMS), then run again"
}

// generateAction builds the custom-phone-provider Action for in, with the
// gateway settings read from the connection options gw.
func generateAction(in *Intent, o *Options, gw map[string]any) (*actiongen.Action, error) {
	target := func(kind string) (actiongen.Target, error) {
		switch kind {
		case targetGateway:
			g, err := actiongen.GatewayFromOptions(gw)
			if err != nil {
				return actiongen.Target{}, fmt.Errorf("%w: gateway settings of connection %s: %w; %s", ErrNotEligible, in.GatewayConnectionID, err, gatewayAdvice(err))
			}
			return actiongen.Target{Gateway: g}, nil
		case targetTwilio:
			if o.TwilioAuthToken == "" {
				return actiongen.Target{}, ErrTwilioTokenRequired
			}
			return actiongen.Target{Twilio: &actiongen.Twilio{
				AccountSID:          in.Twilio.SID,
				AuthToken:           o.TwilioAuthToken.Reveal(),
				From:                in.Twilio.From,
				MessagingServiceSID: in.Twilio.MSSID,
				APIBaseURL:          o.TwilioAPIBaseURL,
			}}, nil
		}
		return actiongen.Target{}, fmt.Errorf("unknown target %q", kind)
	}
	spec := actiongen.Spec{Name: in.ActionName}
	var err error
	if spec.Default, err = target(in.DefaultTarget); err != nil {
		return nil, err
	}
	if in.DefaultText != nil {
		spec.Default.Text = &actiongen.MessageText{Verify: in.DefaultText.Verify, Enroll: in.DefaultText.Enroll}
	}
	if in.PasswordlessTarget != "" {
		t, err := target(in.PasswordlessTarget)
		if err != nil {
			return nil, err
		}
		spec.Passwordless = &t
	}
	a, err := actiongen.Generate(spec)
	if err != nil {
		return nil, fmt.Errorf("generate custom-phone-provider action: %w", err)
	}
	return a, nil
}

// Placeholders for ids not known before Apply.
const (
	newActionID   = "{new_action_id}"
	newProviderID = "{new_provider_id}"
	newTemplateID = "{new_template_id}"
)

func buildPlan(tenant string, d *Discovery, in *Intent, o *Options, act *actiongen.Action, warnings []string) *Plan {
	p := &Plan{Tenant: tenant, Provider: in.Provider, Delivery: in.Delivery, Warnings: warnings}
	if in.Twilio != nil {
		p.TwilioToken = describeTokenSource(in.TwilioTokenSource, in.Twilio.SID, d)
		p.TwilioCheck = "skipped (SkipTwilioCheck)"
		if !o.SkipTwilioCheck {
			p.TwilioCheck = "GET /2010-04-01/Accounts/" + in.Twilio.SID + ".json with these credentials before the first write that sends them"
		}
	}

	if in.Provider == ProviderKindCustom && !in.Keep {
		secrets := map[string]string{}
		for _, s := range act.Secrets {
			secrets[s.Name] = redacted
		}
		var before any
		if len(d.Bindings) > 0 {
			before = bindingsView(d.Bindings)
		}
		p.Steps = append(p.Steps, Step{
			State: StateActionDeployed,
			Title: "Create, build, deploy and bind the custom-phone-provider Action (" + routingTitle(in) + ")",
			Writes: []Write{
				{Method: "POST", Path: "/actions/actions", After: map[string]any{
					"name":               act.Name,
					"runtime":            act.Runtime,
					"supported_triggers": []map[string]string{{"id": TriggerCustomPhoneProvider, "version": TriggerVersion}},
					"secrets":            secrets,
				}, Note: actionNote(in)},
				{Method: "POST", Path: "/actions/actions/" + newActionID + "/deploy"},
				{Method: "PATCH", Path: "/actions/triggers/" + TriggerCustomPhoneProvider + "/bindings", Before: before,
					After: []map[string]any{{"ref": map[string]string{"type": "action_id", "value": newActionID}, "display_name": act.Name}}},
			},
		})
	}

	providerID := newProviderID
	if in.Keep {
		providerID = in.ProviderID
		p.Steps = append(p.Steps, Step{State: StateProviderConfigured, Title: fmt.Sprintf("Keep the existing %s phone provider %s: it serves every factor in use", in.Provider, in.ProviderID)})
	} else {
		after := providerView(providerRequest(in, o))
		w := Write{Method: "POST", Path: "/branding/phone/providers", After: after}
		if in.ReplaceProviderID != "" {
			providerID = in.ReplaceProviderID
			w = Write{Method: "PATCH", Path: "/branding/phone/providers/" + providerID, Before: providerView(PhoneProviderRequest{
				Name: d.Provider.Name, Disabled: d.Provider.Disabled, Configuration: d.Provider.Configuration}), After: after}
		}
		p.Steps = append(p.Steps, Step{State: StateProviderConfigured, Title: fmt.Sprintf("Configure the tenant-level %s phone provider", in.Provider), Writes: []Write{w}})
	}

	test := Step{State: StateProviderTested, Title: "Send a test message per delivery method to each recipient (Auth0 reports no delivery; confirm receipt)"}
	switch {
	case o.SkipTest:
		test.Title = "Provider test skipped (SkipTest)"
	case in.Provider == ProviderKindTwilio && !o.SkipTwilioCheck:
		test.Title = "Send a test message per delivery method to each recipient and follow its status in the Twilio account (Auth0 reports no delivery)"
	}
	for _, r := range o.TestRecipients {
		for _, meth := range in.Delivery.Methods() {
			test.Writes = append(test.Writes, Write{Method: "POST", Path: "/branding/phone/providers/" + providerID + "/try",
				After: map[string]string{"to": r, "delivery_method": string(meth)}})
		}
	}
	p.Steps = append(p.Steps, test)

	// Absent means off (most legacy tenants do not have the key): before
	// shows false, and the note says it was absent.
	sw := Write{Method: "PATCH", Path: "/tenants/settings",
		Before: map[string]any{"phone_consolidated_experience": false},
		After:  map[string]any{"phone_consolidated_experience": true},
	}
	if d.PhoneConsolidatedExperience == nil {
		sw.Note = "the tenant has no phone_consolidated_experience setting yet (absent means off)"
	}
	if flagOn(d.PhoneConsolidatedExperience) {
		p.Steps = append(p.Steps, Step{State: StateTenantSwitched, Title: "The tenant is already switched to the Unified Phone Experience"})
	} else {
		p.Steps = append(p.Steps, Step{State: StateTenantSwitched, Title: "Switch the tenant to the Unified Phone Experience", Writes: []Write{sw}})
	}

	cs := Step{State: StateConnectionsSwitched, Title: "Switch each Passwordless SMS connection to the tenant-level provider (whole options re-sent, read back and verified)"}
	for _, ref := range in.Connections {
		c := findConnection(d.SMSConnections, ref.ID)
		before := map[string]any{}
		note := fmt.Sprintf("connection %q: options.%s is absent before; every other option is re-sent unchanged", ref.Name, UsePhoneProviderKey)
		if !needsProviderSwitch(*c, in.UsePhoneProvider) { // the same rule apply uses
			continue
		}
		if v, ok := c.Options[UsePhoneProviderKey]; ok {
			before[UsePhoneProviderKey] = v
			note = fmt.Sprintf("connection %q: every other option is re-sent unchanged", ref.Name)
		}
		cs.Writes = append(cs.Writes, Write{Method: "PATCH", Path: "/connections/" + ref.ID,
			Before: map[string]any{"options": before},
			After:  map[string]any{"options": map[string]any{UsePhoneProviderKey: in.UsePhoneProvider}},
			Note:   note})
	}
	if len(in.Connections) == 0 {
		cs.Title = "No Passwordless SMS connection to switch"
	}
	p.Steps = append(p.Steps, cs)

	ms := Step{State: StateMFAAligned, Title: "Align the MFA phone message types with the provider's delivery methods"}
	switch {
	case in.Keep:
		ms.Title = "MFA message types left as they are: the provider serves them"
	case !in.MFAEnabled:
		ms.Title = "MFA phone factor not enabled: message types left as they are"
	case !d.MFAMessageTypesConfigured || d.MFAMessageTypes != in.MFAMessageTypes:
		var before any
		if d.MFAMessageTypesConfigured {
			before = map[string]any{"message_types": nonNil(d.MFAMessageTypes.MessageTypes())}
		}
		ms.Writes = append(ms.Writes, Write{Method: "PUT", Path: "/guardian/factors/phone/message-types",
			Before: before, After: map[string]any{"message_types": nonNil(in.MFAMessageTypes.MessageTypes())}})
	default:
		ms.Title = fmt.Sprintf("MFA message types (%s) already within the delivery methods (%s): verified, not rewritten", in.MFAMessageTypes, in.Delivery)
	}
	p.Steps = append(p.Steps, ms)

	ts := Step{State: StateTemplatesMigrated, Title: "Migrate the legacy message templates to tenant phone templates"}
	for _, ti := range in.Templates {
		existing := findTemplate(d.Templates, ti.Type)
		after := map[string]any{"text": ti.Text}
		if ti.From != "" {
			after["from"] = ti.From
		}
		note := "from the " + ti.Source + "; " + previewNote(ti)
		if existing == nil {
			ts.Writes = append(ts.Writes, Write{Method: "POST", Path: "/branding/phone/templates",
				After: map[string]any{"type": ti.Type, "content": after}, Note: note})
			continue
		}
		if holdsTemplate(*existing, ti) { // the same rule apply uses
			continue
		}
		ts.Writes = append(ts.Writes, Write{Method: "PATCH", Path: "/branding/phone/templates/" + existing.ID,
			Before: map[string]any{"content": map[string]any{"from": existing.Content.From, "text": existing.Content.Text}, "disabled": existing.Disabled},
			After:  map[string]any{"content": after, "disabled": false}, Note: note})
	}
	switch {
	case in.Keep:
		ts.Title = "Phone templates left as they are (the legacy texts cannot be read once the tenant is switched)"
	case len(in.Templates) == 0:
		ts.Title = "No legacy templates to migrate"
	}
	p.Steps = append(p.Steps, ts)
	for i := range p.Steps {
		if p.Steps[i].Writes == nil {
			p.Steps[i].Writes = []Write{}
		}
	}
	p.Warnings = append(p.Warnings, IaCRevertWarning)
	return p
}

// IaCRevertWarning ends every plan: infrastructure as code written before
// the migration undoes it (package iacexport writes the new code). It
// concerns the whole tenant, not one delivery path.
const IaCRevertWarning = "If Terraform (terraform-provider-auth0) or auth0-deploy-cli manages this tenant, its next run with a configuration written before the migration reverts it: the tenant switch (phone_consolidated_experience), use_phone_provider of the SMS connections, the MFA message types, the phone templates, and with deploy-cli's AUTH0_ALLOW_DELETE the phone provider and the Action; after apply, run 'phonemigrate export --format terraform' (or deploy-cli) and follow its EDITS.md."

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func actionNote(in *Intent) string {
	note := "code generated by actiongen; secret values travel only as Action secrets"
	if t := in.DefaultText; t != nil {
		var kinds []string
		if t.Verify != "" {
			kinds = append(kinds, fmt.Sprintf("otp_verify %q", t.Verify))
		}
		if t.Enroll != "" {
			kinds = append(kinds, fmt.Sprintf("otp_enroll %q", t.Enroll))
		}
		note += "; MFA messages keep the legacy Guardian text, rendered by the Action (" + strings.Join(kinds, ", ") + ") instead of the tenant template the Passwordless text takes"
	}
	return note
}

func routingTitle(in *Intent) string {
	name := func(k string) string {
		if k == targetTwilio {
			return "Twilio"
		}
		return "the SMS gateway"
	}
	if in.PasswordlessTarget == "" {
		return "every message → " + name(in.DefaultTarget)
	}
	return "Passwordless → " + name(in.PasswordlessTarget) + ", everything else → " + name(in.DefaultTarget)
}

func bindingsView(bs []Binding) []map[string]string {
	out := make([]map[string]string, 0, len(bs))
	for _, b := range bs {
		out = append(out, map[string]string{"action_id": b.ActionID, "display_name": b.DisplayName})
	}
	return out
}

// providerRequest is the provider write for in.
func providerRequest(in *Intent, o *Options) PhoneProviderRequest {
	req := PhoneProviderRequest{Name: ProviderCustom, Configuration: ProviderConfiguration{DeliveryMethods: in.Delivery}}
	if in.Provider == ProviderKindTwilio {
		req.Name = ProviderTwilio
		req.Configuration.SID = in.Twilio.SID
		req.Configuration.DefaultFrom = in.Twilio.From
		req.Configuration.MSSID = in.Twilio.MSSID
		req.AuthToken = o.TwilioAuthToken
	}
	return req
}

// providerView is the JSON shape of a provider write, credentials
// redacted.
func providerView(r PhoneProviderRequest) map[string]any {
	cfg := map[string]any{"delivery_methods": nonNil(methodNames(r.Configuration.DeliveryMethods))}
	if r.Configuration.SID != "" {
		cfg["sid"] = r.Configuration.SID
	}
	if r.Configuration.DefaultFrom != "" {
		cfg["default_from"] = r.Configuration.DefaultFrom
	}
	if r.Configuration.MSSID != "" {
		cfg["mssid"] = r.Configuration.MSSID
	}
	v := map[string]any{"name": r.Name, "disabled": r.Disabled, "configuration": cfg}
	switch {
	case r.Name == ProviderCustom:
		v["credentials"] = map[string]any{}
	case r.AuthToken != "":
		v["credentials"] = map[string]any{"auth_token": redacted}
	}
	return v
}

func methodNames(s delivery.Set) []string {
	var out []string
	for _, m := range s.Methods() {
		out = append(out, string(m))
	}
	return out
}

func findConnection(cs []Connection, id string) *Connection {
	for i := range cs {
		if cs[i].ID == id {
			return &cs[i]
		}
	}
	return &Connection{ID: id}
}

// findTemplate returns the tenant's customised template of type typ, or
// nil. Auth0 lists its built-in default of every type the tenant has not
// customised next to the customised ones, without an id (recorded): such
// an entry is not a template that can be PATCHed or deleted, and a type
// that only has it is customised by POST.
// previewNote says what users will read from the template ti writes.
func previewNote(ti TemplateIntent) string {
	conn, _ := strings.CutPrefix(ti.Source, "connection ")
	text, err := previewTemplate(ti.Text, conn)
	if err != nil {
		return err.Error()
	}
	return fmt.Sprintf("users will read (sample values): %q", text)
}

func findTemplate(ts []PhoneTemplate, typ string) *PhoneTemplate {
	for i := range ts {
		if ts[i].Type == typ && ts[i].Customized() {
			return &ts[i]
		}
	}
	return nil
}
