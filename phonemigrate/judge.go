package phonemigrate

import (
	"fmt"
	"slices"
	"strings"

	"github.com/unifiedphone/unifiedphone/phonemigrate/outcome"
)

// Invariants the delivery model (package outcome) decides.
const (
	// InvariantConsumersGetCodes: every consumer — each Passwordless SMS
	// connection, each MFA message type in use — gets a code through some
	// route.
	InvariantConsumersGetCodes Invariant = "consumers_get_codes"
	// InvariantSameWords: a Passwordless connection served by the
	// tenant-level provider reads the words of its legacy template.
	InvariantSameWords Invariant = "same_words"
	// InvariantSameRequest: a Passwordless connection whose gateway is now
	// called by the custom provider's Action receives the request its
	// legacy settings made (JWT audience and subject, sender, forwarded
	// request info).
	InvariantSameRequest Invariant = "same_request"
)

// who names the users of deliveries ds, each once: `Passwordless users of
// connection "sms"`, "MFA users (text)" — "MFA users" when ds holds every
// MFA consumer of all.
func who(ds []outcome.Delivery, all []outcome.Delivery) string {
	mfa := func(ds []outcome.Delivery) int {
		n := 0
		for _, x := range ds {
			if x.Consumer.Product == outcome.ProductMFA {
				n++
			}
		}
		return n
	}
	allMFA := mfa(ds) == mfa(all)
	var names []string
	for _, x := range ds {
		n := x.Consumer.String()
		if x.Consumer.Product == outcome.ProductMFA {
			n = fmt.Sprintf("MFA users (%s)", x.Consumer.Method)
			if allMFA {
				n = "MFA users"
			}
		}
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	return strings.Join(names, " and ")
}

// noCode returns the deliveries of consumers who get no code. A route the
// model cannot follow to its end (Guardian's send-phone-message hook) is
// not counted as none.
func noCode(ds []outcome.Delivery) []outcome.Delivery {
	var out []outcome.Delivery
	for _, x := range ds {
		if !x.Gets() && x.Route != outcome.LegacyHook {
			out = append(out, x)
		}
	}
	return out
}

// judge adds to h what the delivery model says of d: who gets no code
// (naming them in the findings that explain why, or in a finding of its
// own), and, for Passwordless connections the tenant-level provider
// serves, whether they still read their legacy words and, through a
// generated Action, reach their gateway with the request their legacy
// settings made.
func judge(d *Discovery, h *Health) {
	cfg := d.Config()
	ds := outcome.Of(cfg)
	none := noCode(ds)
	explained := false
	for i := range h.Findings {
		if h.Findings[i].Broken && len(none) > 0 {
			h.Findings[i].Consequence = who(none, ds) + " get no code"
			explained = true
		}
	}
	if !explained {
		// Group by reason: one finding each.
		var reasons []string
		by := map[string][]outcome.Delivery{}
		for _, x := range none {
			if _, ok := by[x.Reason]; !ok {
				reasons = append(reasons, x.Reason)
			}
			by[x.Reason] = append(by[x.Reason], x)
		}
		for _, r := range reasons {
			f := Finding{Invariant: InvariantConsumersGetCodes, Broken: true,
				Problem:     who(by[r], ds) + ": " + r,
				Consequence: who(by[r], ds) + " get no code",
				Fix:         "run phonemigrate apply"}
			if !d.UPE && slices.ContainsFunc(by[r], func(x outcome.Delivery) bool { return x.Consumer.Product == outcome.ProductPasswordless }) {
				f.LikelyCause = causeTenantSwitchedOff
				if bare := unservable(d, by[r]); len(bare) > 0 {
					// Never switched, no provider and no legacy settings:
					// apply refuses, nothing was turned off.
					f.Fix = fmt.Sprintf("give connection %s an SMS provider (Twilio or an SMS gateway), or delete it if no application uses it: with no provider settings and no tenant-level phone provider, no migration can serve it", strings.Join(bare, ", "))
					f.LikelyCause = ""
				}
			}
			if x := by[r][0]; x.Drops != "" {
				f.Problem = who(by[r], ds) + ": " + x.Drops
			}
			h.Findings = append(h.Findings, f)
		}
	}
	for _, x := range ds {
		if x.Consumer.Product != outcome.ProductPasswordless || !x.Route.Provider() || !x.Gets() {
			continue
		}
		i := slices.IndexFunc(d.SMSConnections, func(c Connection) bool { return c.Name == x.Consumer.Connection })
		if i < 0 {
			continue
		}
		c := &d.SMSConnections[i]
		if tpl := optString(c.Options, "template"); tpl != "" {
			legacy, _ := convertTemplate(optString(c.Options, "syntax"), tpl, "")
			if legacy != x.Words.Text {
				h.Findings = append(h.Findings, Finding{Invariant: InvariantSameWords, Consumer: x.Consumer.ID(),
					Problem:     fmt.Sprintf("%s read %s %q, not the text of their legacy template %q", x.Consumer, x.Words.Source, x.Words.Text, legacy),
					Consequence: fmt.Sprintf("%s get their code with other words than before the migration", x.Consumer),
					Fix:         "run phonemigrate apply (it writes the legacy text to the tenant template otp_verify, nothing else), or edit the template (Branding > Phone Templates)",
					LikelyCause: "a Terraform or auth0-deploy-cli run, or a person, reset or rewrote the tenant phone template"})
			}
		}
		if x.Route == outcome.ProviderCustom && x.Request != nil && x.Request.GatewayURL != "" && connectionPath(c) != nil && connectionPath(c).kind == targetGateway {
			if diff := requestDifference(c, x); diff != "" {
				fix := "roll the migration back (phonemigrate rollback): one Action cannot reproduce two connections' different gateway settings"
				if gatewayConnections(d) < 2 {
					// One gateway connection: the Action was made from its
					// settings, so the Action, or the connection's
					// settings, changed since.
					fix = fmt.Sprintf("the Action %q no longer sends what the connection's gateway settings say (someone edited the Action, or the connection, since the migration): roll the migration back and apply it again to generate the Action from the connection's settings (phonemigrate rollback --force, which deletes the edited Action, then phonemigrate apply)", x.Action)
				}
				h.Findings = append(h.Findings, Finding{Invariant: InvariantSameRequest, Consumer: x.Consumer.ID(),
					Problem:     fmt.Sprintf("the custom provider's Action sends %s's codes with %s", x.Consumer, diff),
					Consequence: fmt.Sprintf("the gateway receives %s's codes in another request than before the migration, and may reject them", x.Consumer),
					Fix:         fix})
			}
		}
	}
	judgeMFAWords(d, ds, h)
	judgeTwilioSender(d, ds, h)
	if len(h.Findings) > 0 {
		h.State = "inconsistent"
	}
}

// judgeMFAWords adds a finding for each MFA consumer the tenant-level
// provider serves that reads other words than its legacy Guardian message
// (as a migration converts it). Only Guardian's own Twilio and Auth0
// senders read those messages; a send-phone-message hook wrote its own.
func judgeMFAWords(d *Discovery, ds []outcome.Delivery, h *Health) {
	if d.LegacyTemplates == nil || (d.MFAProvider != "" && d.MFAProvider != "twilio" && d.MFAProvider != "auth0") {
		return
	}
	planned, _, _ := planTemplates(d, true)
	for _, x := range ds {
		if x.Consumer.Product != outcome.ProductMFA || !x.Route.Provider() || !x.Gets() {
			continue
		}
		msg, what := d.LegacyTemplates.VerificationMessage, "verification"
		if x.Consumer.MessageType == "otp_enroll" {
			msg, what = d.LegacyTemplates.EnrollmentMessage, "enrollment"
		}
		if msg == "" {
			continue
		}
		legacy := convertGuardian(msg)
		if legacy == x.Words.Text {
			continue
		}
		f := Finding{Invariant: InvariantSameWords, Consumer: x.Consumer.ID(),
			Problem:     fmt.Sprintf("%s read %s %q, not the text of their legacy Guardian %s message %q", who([]outcome.Delivery{x}, nil), x.Words.Source, x.Words.Text, what, legacy),
			Consequence: fmt.Sprintf("%s get their code with other words than before the migration", who([]outcome.Delivery{x}, nil)),
			Fix:         fmt.Sprintf("run phonemigrate apply (it writes the legacy text to the tenant template %s, nothing else), or edit the template (Branding > Phone Templates)", x.Consumer.MessageType),
			LikelyCause: "a Terraform or auth0-deploy-cli run, or a person, reset or rewrote the tenant phone template"}
		if i := slices.IndexFunc(planned, func(t templateIntent) bool { return t.Type == x.Consumer.MessageType }); i < 0 || planned[i].Text != legacy {
			// The tenant has one otp_verify template, and the Passwordless
			// connections' words hold it: apply would not change it.
			f.Fix = fmt.Sprintf("edit the tenant template %s (Branding > Phone Templates) to words both Passwordless and MFA users may read, or roll the migration back (phonemigrate rollback)", x.Consumer.MessageType)
			f.LikelyCause = "the tenant has one otp_verify template, and the Passwordless connections' legacy text holds it"
		}
		h.Findings = append(h.Findings, f)
	}
}

// requestDifference compares what a generated Action sends for x with what
// the connection's legacy gateway settings sent: "" when the same.
func requestDifference(c *Connection, x outcome.Delivery) string {
	var diffs []string
	var aud, sub string
	if auth, ok := c.Options["gateway_authentication"].(map[string]any); ok {
		aud, _ = auth["audience"].(string)
		sub, _ = auth["subject"].(string)
	}
	if aud != x.Request.JWTAudience {
		diffs = append(diffs, fmt.Sprintf("JWT audience %q instead of %q", x.Request.JWTAudience, aud))
	}
	if sub != x.Request.JWTSubject {
		diffs = append(diffs, fmt.Sprintf("JWT subject %q instead of %q", x.Request.JWTSubject, sub))
	}
	if from := optString(c.Options, "from"); from != "" && from != x.Sender {
		diffs = append(diffs, fmt.Sprintf("sender %q instead of %q", x.Sender, from))
	}
	return strings.Join(diffs, ", ")
}

// judgeTwilioSender adds a finding for each consumer the Twilio phone
// provider serves from another sender than before the migration: a
// Passwordless connection's own Twilio from (or messaging service), else
// the Twilio settings the migration made the provider from. A tenant
// template's from, set since, is the usual cause.
func judgeTwilioSender(d *Discovery, ds []outcome.Delivery, h *Health) {
	for _, x := range ds {
		if x.Route != outcome.ProviderTwilio || !x.Gets() {
			continue
		}
		var legacy string
		if tw := d.migratedTwilio; tw != nil {
			legacy = nonEmpty(tw.From, tw.MSSID)
		}
		if x.Consumer.Product == outcome.ProductPasswordless {
			i := slices.IndexFunc(d.SMSConnections, func(c Connection) bool { return c.Name == x.Consumer.Connection })
			if i < 0 {
				continue
			}
			if p := connectionPath(&d.SMSConnections[i]); p != nil && p.kind == targetTwilio {
				legacy = nonEmpty(p.twilio.From, p.twilio.MSSID)
			}
		}
		if legacy == "" || x.Sender == legacy {
			continue
		}
		name := x.Consumer.String()
		if x.Consumer.Product == outcome.ProductMFA {
			name = who([]outcome.Delivery{x}, nil)
		}
		h.Findings = append(h.Findings, Finding{Invariant: InvariantSameRequest, Consumer: x.Consumer.ID(),
			Problem:     fmt.Sprintf("the twilio phone provider sends %s's codes with sender %q instead of %q", name, x.Sender, legacy),
			Consequence: fmt.Sprintf("%s get their code from another number than before the migration", name),
			Fix:         fmt.Sprintf("set the from of the tenant template %s back to %q, or remove it so that the provider's own sender is used (Branding > Phone Templates)", x.Consumer.MessageType, legacy),
			LikelyCause: "a person or an IaC run set a from on the tenant phone template, or changed the provider's sender"})
	}
}

// unservable names (quoted) the connections of Passwordless deliveries ds
// that nothing can serve on a tenant not switched: no legacy SMS provider
// settings and no tenant-level phone provider to switch to. Nil unless
// every Passwordless delivery of ds is one.
func unservable(d *Discovery, ds []outcome.Delivery) []string {
	if d.UPE || d.Provider != nil {
		return nil
	}
	var out []string
	for _, x := range ds {
		if x.Consumer.Product != outcome.ProductPasswordless {
			continue
		}
		i := slices.IndexFunc(d.SMSConnections, func(c Connection) bool { return c.Name == x.Consumer.Connection })
		if i < 0 || connectionPath(&d.SMSConnections[i]) != nil {
			return nil
		}
		out = append(out, quote(x.Consumer.Connection))
	}
	return out
}

// gatewayConnections counts the Passwordless connections with legacy SMS
// gateway settings.
func gatewayConnections(d *Discovery) int {
	n := 0
	for i := range d.SMSConnections {
		if p := connectionPath(&d.SMSConnections[i]); p != nil && p.kind == targetGateway {
			n++
		}
	}
	return n
}
