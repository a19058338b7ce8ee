package phonemigrate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/unifiedphone/unifiedphone/delivery"
	"github.com/unifiedphone/unifiedphone/phonemigrate/outcome"
)

// The repair of a tenant that was switched to the Unified Phone Experience
// and leaves users without codes now (no provider, a disabled one, one that
// misses a factor in use, a custom provider without a bound Action).
//
// Such a tenant cannot be migrated from where it is: the legacy Guardian
// settings a migration is planned from answer 403 while the tenant is
// switched. The fastest safe repair is to switch it back — one write, which
// Auth0 honours at once and which changes nothing else — so that codes flow
// through the legacy settings again and those settings become readable;
// then migrate properly. [repairFor] is the one rule that decides when a
// tenant calls for it; Plan, Apply (and its recheck of a completed
// migration), Check and Repair all ask it.

// repairTitle heads the text form of every repair proposal ([Plan.Title]).
const repairTitle = "Repair plan"

// repairFor is the one rule of which findings call for which repair. A
// tenant calls for the repair when its tenant flag phone_consolidated_experience
// is on and at least one finding of h is Broken: users get no code at
// all, and only switching back makes codes flow again without a decision
// a person must take (which provider, which delivery methods, which
// Action). Findings that are not broken (connections merely not using the
// provider) call for no repair: Plan and Apply converge them. A tenant
// whose flag is already off calls for none either, even if Auth0 still
// treats it as switched (its legacy endpoints answering 403): the write
// would change nothing.
//
// The proposal is one write, PATCH /tenants/settings
// {"phone_consolidated_experience": false}, with warnings that say what
// happens after it, consumer by consumer, and the next step (migrate
// properly). It never shows connection options: only connection names and
// the kind of legacy settings they hold. It returns nil when no repair is
// called for. It does no I/O.
func repairFor(tenant string, d *Discovery, h *Health) *Plan {
	if d == nil || h == nil || !h.Broken() {
		return nil
	}
	if f := fixFor(d); f != nil {
		var notes []string
		for _, fd := range h.Findings {
			if fd.Broken {
				notes = append(notes, "Now: "+fd.Problem+": "+fd.Consequence+".")
			}
		}
		notes = append(notes, "After it, by the delivery model, every consumer gets a code again through the route the migration set up. Nothing else is written.")
		return &Plan{Tenant: tenant, Title: repairTitle, Warnings: notes,
			Steps: append(slices.Clone(f.steps), Step{Title: "Read the tenant again and check it (GET requests only)", Writes: []plannedWrite{}})}
	}
	if !flagOn(d.PhoneConsolidatedExperience) {
		return nil
	}
	var legacy, noSettings, unchanged []string
	for i := range d.SMSConnections {
		c := &d.SMSConnections[i]
		switch p := connectionPath(c); {
		case usesProvider(*c) && p != nil:
			legacy = append(legacy, fmt.Sprintf("%q (%s)", c.Name, legacyKind(p)))
		case usesProvider(*c):
			noSettings = append(noSettings, quote(c.Name))
		case p != nil:
			unchanged = append(unchanged, quote(c.Name))
		}
	}
	var notes []string
	for _, f := range h.Findings {
		if f.Broken {
			notes = append(notes, "Now: "+f.Problem+": "+f.Consequence+".")
		}
	}
	if len(legacy) > 0 {
		notes = append(notes, fmt.Sprintf("After it, Passwordless connection(s) %s send their codes through their legacy settings again (options.%s has no effect while the tenant is not switched).",
			strings.Join(legacy, ", "), UsePhoneProviderKey))
	}
	if len(noSettings) > 0 {
		notes = append(notes, fmt.Sprintf("The repair does not help Passwordless connection(s) %s: set to use the tenant-level provider, they have no legacy SMS settings, so their users get no code either way; give them SMS settings (Authentication > Passwordless > SMS) or fix the provider.",
			strings.Join(noSettings, ", ")))
	}
	if len(unchanged) > 0 {
		notes = append(notes, fmt.Sprintf("Passwordless connection(s) %s already send through their legacy settings, and keep doing so.", strings.Join(unchanged, ", ")))
	}
	if d.MFAEnabled {
		types := d.MFAMessageTypes
		if types.Empty() {
			types = delivery.Of(delivery.Text)
		}
		notes = append(notes, fmt.Sprintf("After it, MFA (%s) goes back to the Guardian phone settings in place before the switch (selected provider, Twilio settings, templates). Auth0 does not show them while the tenant is switched (its legacy Guardian endpoints answer 403), so the repair reads the tenant again right after the write and shows where each factor's codes go.", types))
	}
	notes = append(notes, "Nothing else is written: the phone provider, the Action, the connections, the MFA message types and the phone templates stay as they are.",
		"Next: run 'phonemigrate apply' (Migrator.Apply) to migrate properly, planned from the legacy settings the re-read shows. A checkpoint of a completed migration of this tenant is rolled back first ('phonemigrate rollback'), which restores what that migration changed.")
	return &Plan{
		Tenant:   tenant,
		Title:    repairTitle,
		Warnings: notes,
		Steps: []Step{
			{Title: "Switch the tenant back to its legacy phone settings so that codes flow again",
				Writes: []plannedWrite{{Method: "PATCH", Path: "/tenants/settings",
					Before: map[string]any{"phone_consolidated_experience": true},
					After:  map[string]any{"phone_consolidated_experience": false},
					Note:   "the only write; verified from Auth0's answer"}}},
			{Title: "Read the tenant again, the legacy Guardian settings included, and check it (GET requests only)", Writes: []plannedWrite{}},
		},
	}
}

// legacyKind names the kind of legacy settings a path uses, without any
// value of them.
func legacyKind(p *legacyPath) string {
	if p.kind == targetHook {
		return "its send-phone-message Action"
	}
	if p.kind == targetTwilio {
		return "its Twilio settings"
	}
	return "its SMS gateway"
}

// RepairOutcome says what [Migrator.Repair] did. The values are stable
// (they appear in `repair --json`).
type RepairOutcome string

// The outcomes of a repair.
const (
	// RepairDone: the tenant was switched back (one write) and read
	// again.
	RepairDone RepairOutcome = "repaired"
	// RepairNotNeeded: no finding calls for the repair (nothing is broken,
	// or the tenant flag is off already — perhaps someone repaired it
	// between the proposal and the write). Nothing was written.
	RepairNotNeeded RepairOutcome = "not_needed"
	// RepairDeclined: [RepairOptions.Confirm] answered false. Nothing was
	// written.
	RepairDeclined RepairOutcome = "declined"
)

// RepairOptions configure [Migrator.Repair]. The zero value repairs
// without asking.
type RepairOptions struct {
	// Confirm, when set, is called with the proposed repair after the
	// tenant is read and before the write; false writes nothing (outcome
	// declined), an error stops the repair with nothing written. When the
	// answer takes a second or more (a person answering), Repair reads the
	// whole tenant again before writing and writes only if the repair is
	// still called for; otherwise it reads the tenant settings again.
	Confirm func(ctx context.Context, proposal *Plan) (bool, error)
}

// validate checks o. Every RepairOptions is valid today; the method keeps
// Repair's contract (options are checked before any request) for options
// to come.
func (o *RepairOptions) validate() error { return nil }

// Route says where one consumer's codes go: MFA, or one Passwordless SMS
// connection. It names kinds of settings and identifiers, never a secret.
type Route struct {
	// Consumer is "MFA" or `Passwordless connection "NAME"`.
	Consumer string `json:"consumer"`
	// Via says what sends the codes, e.g. "the legacy Guardian Twilio
	// provider (account AC…)".
	Via string `json:"via"`
	// NoCode is true when nothing sends them: users get no code.
	NoCode bool `json:"no_code,omitempty"`
}

// RepairResult is what [Migrator.Repair] did.
type RepairResult struct {
	Outcome RepairOutcome `json:"outcome"`
	// Did says what the write did, e.g. "switched back to its legacy
	// phone settings (phone_consolidated_experience false)", when Outcome
	// is repaired.
	Did string `json:"did,omitempty"`
	// Reason says, when nothing was written, why.
	Reason string `json:"reason,omitempty"`
	// Proposal is the repair that was proposed (and, when Outcome is
	// repaired, performed); nil when none was called for.
	Proposal *Plan `json:"proposal,omitempty"`
	// Before is the tenant's health as read before the write.
	Before *Health `json:"before"`
	// Health is the tenant's health now: read again after the write (or,
	// when someone else changed the tenant meanwhile, after noticing it);
	// Before when nothing was written for another reason.
	Health *Health `json:"health"`
	// Routes say where each consumer's codes go after the repair, from the
	// legacy settings the re-read shows (readable again once the tenant is
	// switched back). Set when Outcome is repaired.
	Routes []Route `json:"routes,omitempty"`
	// Discovery is the re-read after the write (nil otherwise). It holds
	// connection options and legacy credentials: do not print it.
	Discovery *Discovery `json:"-"`
}

// MigrationUnderwayError is returned by [Migrator.Repair] when the
// checkpoint records a migration stopped part-way or a rollback that did
// not finish: the checkpoint's own path back (Rollback restores the tenant
// switch with everything else the migration changed) or forward (Apply
// resumes) is the safe one, and switching the tenant back behind the
// checkpoint's back would make a resume skip it. [Migrator.Apply] and
// [Migrator.Run] return it (Next [NextRollback]) while a rollback did not
// finish. Nothing is written.
type MigrationUnderwayError struct {
	State State
	Next  Next
}

func (e *MigrationUnderwayError) Error() string {
	if e.Next == NextRollback {
		return fmt.Sprintf("a rollback of this tenant did not finish (checkpoint state %s): run Rollback (phonemigrate rollback) to finish it, which restores the legacy setup; nothing was written", e.State)
	}
	return fmt.Sprintf("a migration of this tenant is under way (checkpoint state %s): Rollback (phonemigrate rollback) restores the legacy setup so codes flow again, Apply (phonemigrate apply) resumes it; nothing was written", e.State)
}

// Repair performs the fastest safe repair of a tenant switched to the
// Unified Phone Experience that leaves users without codes now: it switches
// the tenant back (PATCH /tenants/settings {"phone_consolidated_experience":
// false}) so that codes flow through the legacy settings again, and reads
// the tenant again. It never writes anything else.
//
// It validates o, takes the store lock (as Apply does, so that no Apply or
// Rollback of this tenant runs meanwhile) and reads the checkpoint: a
// migration under way or an unfinished rollback is a
// [*MigrationUnderwayError] (use Apply or Rollback). Then it discovers the
// tenant and evaluates its health (as [Migrator.Check]). When no finding
// calls for the repair (the rule Plan and Apply use: the tenant flag on and
// a Broken finding), it writes nothing and returns the outcome
// [RepairNotNeeded] with a nil error — except when users get no code and
// switching back cannot help (the tenant flag is off already, yet Auth0
// treats the tenant as switched): then the result comes with an
// [*UnhealthyError] (exit 3).
//
// Otherwise it asks [RepairOptions.Confirm], if set, then reads the tenant
// settings once more right before the write (the whole tenant, when the
// answer took a person's time) and writes nothing when someone else
// switched the tenant back or fixed it meanwhile (outcome
// RepairNotNeeded, Reason says so). The write is verified from Auth0's
// answer (the tenant is read back only when the answer lacks the flag);
// then the tenant is discovered again, legacy Guardian settings included,
// and the result holds its health ([RepairResult.Health]: "legacy" when
// nothing else was set up, else the findings left, none of which leaves a
// factor routing nowhere unless a connection has no legacy settings) and
// where each consumer's codes go now ([RepairResult.Routes]).
//
// The result is non-nil whenever the tenant was read. An error after the
// write (reading the tenant again failed) comes with the outcome
// RepairDone: the tenant is switched back.
func (m *Migrator) Repair(ctx context.Context, o RepairOptions) (*RepairResult, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	unlock, err := m.lock(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	cp, err := m.load(ctx)
	switch {
	case errors.Is(err, ErrNoCheckpoint):
	case err != nil:
		return nil, err
	default:
		if next := cp.Next(); next == NextApply || next == NextRollback {
			return nil, &MigrationUnderwayError{State: cp.State, Next: next}
		}
	}

	d, h, p, err := m.proposeRepair(ctx)
	if err != nil {
		return nil, err
	}
	res := &RepairResult{Outcome: RepairNotNeeded, Proposal: p, Before: h, Health: h}
	if p == nil {
		if h.Broken() {
			res.Reason = "users get no code, but the tenant flag phone_consolidated_experience is already off, so switching it back cannot help"
			return res, &UnhealthyError{Findings: h.Findings}
		}
		res.Reason = "no finding leaves users without a code"
		m.log.InfoContext(ctx, "nothing to repair", "tenant", m.tenant, "state", h.State)
		return res, nil
	}

	slow := false
	if o.Confirm != nil {
		began := m.now()
		ok, err := o.Confirm(ctx, p)
		if err != nil {
			return res, fmt.Errorf("phonemigrate: repair: confirm: %w", err)
		}
		if !ok {
			res.Outcome, res.Reason = RepairDeclined, "the repair was not confirmed"
			return res, nil
		}
		slow = m.now().Sub(began) >= m.staleAfter
	}

	// Last look before the write: someone may have repaired the tenant
	// since it was read.
	if slow {
		d2, h2, p2, err := m.proposeRepair(ctx)
		if err != nil {
			return res, err
		}
		if p2 == nil || fixOf(d2).kind != fixOf(d).kind {
			res.Health, res.Reason = h2, "the tenant changed since the proposal and no longer calls for the repair"
			return res, nil
		}
		res.Proposal, res.Before, res.Health, d = p2, h2, h2, d2
	} else if fixOf(d).kind != fixSwitchBack {
		d2, h2, p2, err := m.proposeRepair(ctx)
		if err != nil {
			return res, err
		}
		if p2 == nil || fixOf(d2).kind != fixOf(d).kind {
			res.Health, res.Reason = h2, "the tenant changed since the proposal and no longer calls for this repair"
			return res, nil
		}
		res.Proposal, res.Before, res.Health, d = p2, h2, h2, d2
	} else {
		ts, err := m.c.TenantSettings(ctx)
		if err != nil {
			return res, fmt.Errorf("phonemigrate: repair: read tenant settings: %w", err)
		}
		if !flagOn(ts.PhoneConsolidatedExperience) {
			res.Reason = "someone switched the tenant back since it was read"
			_, h2, _, err := m.proposeRepair(ctx)
			if err != nil {
				return res, err
			}
			res.Health = h2
			return res, nil
		}
	}

	fix := fixOf(d)
	m.log.InfoContext(ctx, "repairing", "tenant", m.tenant, "repair", fix.kind)
	if err := fix.do(ctx, m, d); err != nil {
		return res, fmt.Errorf("phonemigrate: repair: %s: %w", fix.kind, err)
	}
	res.Outcome, res.Reason, res.Did = RepairDone, "", fix.did
	d, h, _, err = m.proposeRepair(ctx)
	if err != nil {
		return res, fmt.Errorf("phonemigrate: repair: the tenant is switched back, but reading it again failed: %w", err)
	}
	res.Discovery, res.Health, res.Routes = d, h, routesOf(d)
	return res, nil
}

// proposeRepair discovers the tenant (custom-phone-provider Actions
// included when the provider is custom), evaluates its health and asks
// repairFor.
func (m *Migrator) proposeRepair(ctx context.Context) (*Discovery, *Health, *Plan, error) {
	d, err := m.discover(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	if needsActions(d) {
		if err := m.discoverActions(ctx, d); err != nil {
			return nil, nil, nil, err
		}
	}
	// Judged as Check judges it: with what the migration recorded.
	m.recallMigration(ctx, d)
	h := m.steps.check(d)
	accepted, err := m.accepted(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	h.accept(accepted)
	p := repairFor(m.tenant, d, h)
	h.Repair = p
	return d, h, p, nil
}

// routesOf says where each consumer's codes go on tenant d, by the
// delivery model (package outcome): MFA (all its message types), then
// each Passwordless SMS connection. It names kinds of settings and Twilio
// account ids, never a secret or a gateway URL.
func routesOf(d *Discovery) []Route {
	var out []Route
	via := func(x outcome.Delivery) (string, bool) {
		switch x.Route {
		case outcome.None:
			return "nothing: " + x.Reason, true
		case outcome.LegacyTwilio:
			if x.Consumer.Product == outcome.ProductMFA {
				return "the legacy Guardian Twilio provider (account " + d.LegacyTwilio.SID + ")", false
			}
			return "its legacy Twilio settings (account " + x.Request.TwilioSID + ")", false
		case outcome.LegacyGateway:
			return "its legacy SMS gateway", false
		case outcome.LegacyAuth0:
			return "Auth0's built-in MFA phone provider", false
		case outcome.LegacyHook:
			return "the legacy send-phone-message hook", false
		}
		p := d.Provider
		s := fmt.Sprintf("the tenant-level %s phone provider %s (%s)", p.Name, p.ID, p.Configuration.DeliveryMethods)
		if x.Drops != "" {
			return s + ", but " + x.Drops, true
		}
		return s, false
	}
	ds := outcome.Of(d.Config())
	if d.MFAEnabled {
		types := d.MFAMessageTypes
		if types.Empty() {
			types = delivery.Of(delivery.Text)
		}
		r := Route{Consumer: "MFA"}
		for _, x := range ds {
			if x.Consumer.Product != outcome.ProductMFA {
				continue
			}
			v, no := via(x)
			if r.Via == "" || (no && !r.NoCode) {
				r.Via, r.NoCode = v, no
			}
		}
		r.Via += "; message types " + types.String()
		out = append(out, r)
	}
	for _, x := range ds {
		if x.Consumer.Product == outcome.ProductPasswordless {
			r := Route{Consumer: "Passwordless connection " + quote(x.Consumer.Connection)}
			r.Via, r.NoCode = via(x)
			out = append(out, r)
		}
	}
	return out
}
