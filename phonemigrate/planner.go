package phonemigrate

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/unifiedphone/unifiedphone/actiongen"
)

// Plan discovers the tenant, checks it against o (preflight) and returns
// every write the migration would make, in order. It writes nothing, to the
// tenant or to the store. Preflight failures are typed: [*InputError],
// [*invalidRecipientError], [ErrAlreadyUnified], [ErrNotEligible],
// [errCustomProviderRequired], [ErrTwilioTokenRequired],
// [*deliveryConflictError], [*ExistingResourceError].
func (m *Migrator) Plan(ctx context.Context, o Options) (*Plan, error) {
	m.secrets.AddSecret(o.TwilioAuthToken)
	if err := o.validate(); err != nil {
		return nil, err
	}
	d, err := m.discover(ctx)
	if err != nil {
		return nil, err
	}
	at := time.Now()
	p, in, err := m.plan(ctx, d, &o)
	registerActionSecrets(m.secrets, in, &o)
	m.planned = nil
	if p != nil {
		m.planned = &planReads{p: p, d: d, at: at}
	}
	if err != nil || d.UPE {
		return p, err
	}
	// Before the switch: who still calls the Guardian endpoints that stop
	// working.
	if p.Integrations, err = m.IntegrationsAtRisk(ctx); err != nil {
		return nil, err
	}
	if p.Integrations.AtRisk() {
		p.Warnings = append(p.Warnings, fmt.Sprintf("%d application(s) may call Guardian phone endpoints that answer 403 after the switch (see 'Integrations at risk'): move them to the /branding/phone endpoints first.", atRiskApps(p.Integrations)))
	}
	return p, nil
}

// atRiskApps counts the distinct applications of a report.
func atRiskApps(r *IntegrationsReport) int {
	seen := map[string]bool{}
	for _, g := range r.Grants {
		if !g.Self {
			seen[g.ClientID] = true
		}
	}
	for _, c := range r.Calls {
		if !c.Self {
			seen[c.ClientID] = true
		}
	}
	return len(seen)
}

// switchedAhead reports whether d is a tenant switched to the Unified
// Phone Experience before any phone provider existed, whose every
// consumer the migration can still plan from readable settings: no MFA
// phone factor (its legacy Guardian settings answer 403 while switched)
// and every Passwordless connection with legacy SMS settings.
func switchedAhead(d *Discovery) bool {
	if !d.UPE || d.Provider != nil || d.MFAEnabled || len(d.SMSConnections) == 0 || !flagOn(d.PhoneConsolidatedExperience) {
		return false
	}
	for i := range d.SMSConnections {
		if connectionPath(&d.SMSConnections[i]) == nil {
			return false
		}
	}
	return true
}

// planReads are the reads the Migrator's last plan p was made from, which
// Apply may start from ([Options.Planned]).
type planReads struct {
	p  *Plan
	d  *Discovery
	at time.Time
}

// plannedDiscovery returns the discovery behind o.Planned when Apply may
// start from it instead of reading the tenant again: the plan was made by
// this Migrator less than confirmStaleAfter ago (no person stood between),
// and its reads were not used yet. Otherwise nil: Apply discovers.
func (m *Migrator) plannedDiscovery(o *Options) *Discovery {
	r := m.planned
	if o.Planned == nil || r == nil || r.p != o.Planned {
		return nil
	}
	m.planned = nil // once: the run that uses them changes the tenant
	if time.Since(r.at) >= m.staleAfter {
		return nil
	}
	return r.d
}

// plan runs preflight and builds the plan for discovery d. When the
// migration needs a custom provider and d does not hold the
// custom-phone-provider Actions and bindings yet, it reads them (once) and
// runs preflight again with them; a Twilio provider never needs them.
func (m *Migrator) plan(ctx context.Context, d *Discovery, o *Options) (*Plan, *migrationIntent, error) {
	if switchedAhead(d) {
		// Switched by hand before any provider existed: everything the
		// migration is planned from is still readable. Plan it as for a
		// legacy tenant; the tenant step finds the switch already on.
		dd := *d
		dd.UPE = false
		d = &dd
	}
	if d.UPE {
		// Switched already: nothing to do when healthy; when only some
		// connections miss the switch, converge by switching them.
		in, warnings, err := m.converge(ctx, d, o)
		if err != nil {
			return nil, nil, err
		}
		return buildPlan(m.steps, m.tenant, d, in, o, nil, warnings), in, nil
	}
	if f := fixFor(d); f != nil && f.kind == fixSwitchOn {
		// Switched off since it was unified (an IaC run): consumers get no
		// code, and the one write that brings them back is the switch.
		h := m.steps.check(d)
		return nil, nil, &UnhealthyError{Findings: h.Findings, Repair: repairFor(m.tenant, d, h)}
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
	if in.TwilioTokenSource != "" && in.TwilioTokenSource != tokenSourceOptions {
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
		act, err = generateAction(in, o, gw, d.HookAction, false)
		var ve *actiongen.ValidationError
		if err != nil && in.DefaultText != nil && errors.As(err, &ve) && strings.HasPrefix(ve.Field, "Default.Text") {
			// actiongen cannot render this legacy text (an unsupported
			// Liquid construct): MFA takes the template's text, as without
			// a routing Action, and the plan says why.
			in.DefaultText = nil
			warnings = append(warnings, mfaTextWarning(in.Templates[0].Source, "; the MFA text cannot be rendered by the Action: "+ve.Problem))
			act, err = generateAction(in, o, gw, d.HookAction, false)
		}
		if err != nil {
			return nil, nil, err
		}
	}
	p := buildPlan(m.steps, m.tenant, d, in, o, act, warnings)
	if in.Hook != nil && act != nil {
		p.ActionSecrets = nonNil(in.Hook.SecretNames)
		p.Hook = in.Hook.ActionName
		p.Proof = prove(ctx, m.tenant, d.HookAction, act.Code, in.Hook.SecretNames, in.MFAMessageTypes, proofTextsOf(d, in), o)
	}
	return p, in, nil
}

// gatewayAdvice says what a person can do about gateway settings a
// generated Action cannot use.
func gatewayAdvice(err error) string {
	var ve *actiongen.ValidationError
	if errors.As(err, &ve) && ve.Field == "gateway_url" && strings.Contains(ve.Problem, "https") {
		// Only the scheme problems: the URL must be one Auth0's cloud can
		// call. Other gateway_url problems (credentials, port, syntax) are
		// corrected in place.
		return "the Action calls the gateway from Auth0's cloud: serve it over https at an address the internet reaches, set the connection's gateway_url to that, then run again"
	}
	return "correct the connection's gateway settings in Auth0 (Authentication > Passwordless > SMS), then run again"
}

// generateAction builds the custom-phone-provider Action for in, with the
// gateway settings read from the connection options gw and the
// send-phone-message Action hook (for a "hook" target; with values, the
// values of its secrets must be in o).
func generateAction(in *migrationIntent, o *Options, gw map[string]any, hook *Action, values bool) (*actiongen.Action, error) {
	target := func(kind string, tw *twilioSettings) (actiongen.Target, error) {
		switch kind {
		case targetHook:
			return hookTarget(in, o, hook, values)
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
				AccountSID:          tw.SID,
				AuthToken:           o.TwilioAuthToken.Reveal(),
				From:                tw.From,
				MessagingServiceSID: tw.MSSID,
				APIBaseURL:          o.TwilioAPIBaseURL,
			}}, nil
		}
		return actiongen.Target{}, fmt.Errorf("unknown target %q", kind)
	}
	spec := actiongen.Spec{Name: in.ActionName}
	var err error
	if spec.Default, err = target(in.DefaultTarget, in.Twilio); err != nil {
		return nil, err
	}
	if in.DefaultText != nil {
		spec.Default.Text = &actiongen.MessageText{Verify: in.DefaultText.Verify, Enroll: in.DefaultText.Enroll}
	}
	if in.PasswordlessTarget != "" {
		tw := in.Twilio
		if in.PasswordlessTwilio != nil {
			tw = in.PasswordlessTwilio
		}
		t, err := target(in.PasswordlessTarget, tw)
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

// buildPlan is the plan for intent in on discovery d: its header, then
// each step of the table as its plan function shows it (see planSteps).
func buildPlan(steps stepTable, tenant string, d *Discovery, in *migrationIntent, o *Options, act *actiongen.Action, warnings []string) *Plan {
	p := &Plan{Tenant: tenant, Provider: in.Provider, Delivery: in.Delivery, Warnings: warnings}
	if in.Twilio != nil {
		p.TwilioToken = describeTokenSource(in.TwilioTokenSource, in.Twilio.SID, d)
		p.TwilioCheck = "skipped (SkipTwilioCheck)"
		if !o.SkipTwilioCheck {
			p.TwilioCheck = "GET /2010-04-01/Accounts/" + in.Twilio.SID + ".json with these credentials before the first write that sends them"
		}
	}
	p.Steps = steps.planSteps(&planContext{d: d, in: in, o: o, act: act})
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
