package phonemigrate

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/unifiedphone/unifiedphone/actiongen"
	"github.com/unifiedphone/unifiedphone/delivery"
)

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
