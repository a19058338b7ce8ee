package phonemigrate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/unifiedphone/unifiedphone/delivery"
)

// Invariant names one property of a healthy tenant on the Unified Phone
// Experience. The values are stable (they appear in `check --json`).
type Invariant string

// The invariants [Migrator.Check] evaluates.
const (
	// InvariantProviderPresent: with the tenant switched, a phone provider
	// exists (else MFA and switched Passwordless connections route to
	// nothing).
	InvariantProviderPresent Invariant = "provider_present"
	// InvariantProviderEnabled: the provider is not disabled.
	InvariantProviderEnabled Invariant = "provider_enabled"
	// InvariantProviderCoversFactors: the provider's delivery methods
	// cover every factor in use (text for Passwordless, the MFA message
	// types).
	InvariantProviderCoversFactors Invariant = "provider_covers_factors"
	// InvariantCustomActionBound: a custom provider has a deployed
	// custom-phone-provider Action bound to the trigger.
	InvariantCustomActionBound Invariant = "custom_action_bound"
	// InvariantConnectionsUseProvider: with the tenant switched, every
	// Passwordless SMS connection has options.use_phone_provider.
	InvariantConnectionsUseProvider Invariant = "connections_use_provider"
	// InvariantTenantSwitched: a connection set to use the provider (or a
	// provider set up for it) has the tenant switched, else the setting
	// has no effect yet.
	InvariantTenantSwitched Invariant = "tenant_switched"
)

// Finding is one violated invariant: what is wrong, what users experience
// because of it, and what fixes it.
type Finding struct {
	Invariant Invariant `json:"invariant"`
	// Problem says what is wrong, naming the connection or provider.
	Problem string `json:"problem"`
	// Consequence says what users experience, e.g. "Passwordless users of
	// connection "sms" get no code".
	Consequence string `json:"consequence"`
	// Fix says what a person (or `phonemigrate apply`) can do.
	Fix string `json:"fix"`
	// Broken is true when users get no code at all because of it (rather
	// than getting it another way than intended).
	Broken bool `json:"broken"`
	// LikelyCause names how a migrated tenant usually gets into this
	// state, when one is known: a Terraform or auth0-deploy-cli run with a
	// configuration from before the migration (see iacexport).
	LikelyCause string `json:"likely_cause,omitempty"`
	// Consumer is the delivery model's ID of the one consumer a finding
	// is about ("passwordless/sms/text/otp_verify"), for the findings of
	// [InvariantSameWords] and [InvariantSameRequest]: the consumers whose
	// difference a person may accept ([Options.AcceptedDifferences]).
	Consumer string `json:"consumer,omitempty"`
}

// acceptable reports whether a person may accept finding f, so that Check
// no longer counts it: only a difference in what a consumer receives (the
// words, the request to the gateway), never a consumer without a code.
func (f Finding) acceptable() bool {
	return !f.Broken && f.Consumer != "" && f.Problem != "" &&
		(f.Invariant == InvariantSameWords || f.Invariant == InvariantSameRequest)
}

// Likely causes of findings on a tenant that was migrated: infrastructure
// as code written before the migration, applied after it.
const (
	causeConnectionRewritten = "a Terraform (auth0_connection) or auth0-deploy-cli run with a configuration from before the migration rewrites the connection's whole options without use_phone_provider; 'phonemigrate export' writes the code that keeps it"
	causeTenantSwitchedOff   = "Terraform's phone_consolidated_experience = false (as 'auth0 tf generate' writes it) or a deploy-cli tenant import from before the migration turns the switch off"
	causeProviderDeleted     = "auth0-deploy-cli with AUTH0_ALLOW_DELETE=true and an export from before the migration (phoneProviders: []) deletes the provider"
	causeMessageTypes        = "Terraform's auth0_guardian phone.message_types or a deploy-cli import from before the migration sets the MFA message types"
)

// Health is the result of [Migrator.Check].
type Health struct {
	// State is "legacy" (not switched, no connection set to use the provider),
	// "unified" (switched, every invariant holds) or "inconsistent"
	// (switched or half set up, with findings).
	State string `json:"state"`
	// Findings are the violated invariants, in a stable order.
	Findings []Finding `json:"findings"`
	// Repair is the fastest safe repair when a finding leaves users
	// without codes on a switched tenant (switch it back; see
	// [Migrator.Repair]), nil otherwise. [Migrator.Check] sets it.
	Repair *Plan `json:"repair,omitempty"`
	// Integrations, before the switch, are the applications that may break
	// when the tenant is switched ([Migrator.IntegrationsAtRisk]); nil
	// once switched.
	Integrations *IntegrationsReport `json:"integrations,omitempty"`
	// Accepted are the findings a person accepted when the migration was
	// applied ([Options.AcceptedDifferences], recorded in the checkpoint):
	// still true of the tenant, word for word, and not counted against
	// its health. A finding that differs in any way from what was
	// accepted (another value, another consumer) stays in Findings.
	Accepted []Finding `json:"accepted,omitempty"`
}

// accept moves each finding of h equal to one in accepted (same
// invariant, consumer and problem) to h.Accepted, and makes a switched
// tenant left with no other finding "unified".
func (h *Health) accept(accepted []Finding) {
	if len(accepted) == 0 {
		return
	}
	kept := h.Findings[:0:0]
	for _, f := range h.Findings {
		if f.acceptable() && slices.ContainsFunc(accepted, f.sameAs) {
			h.Accepted = append(h.Accepted, f)
			continue
		}
		kept = append(kept, f)
	}
	h.Findings = kept
	if len(kept) == 0 && h.State == "inconsistent" {
		h.State = "unified"
	}
}

// sameAs reports whether f and g state the same difference of the same
// consumer.
func (f Finding) sameAs(g Finding) bool {
	return f.Invariant == g.Invariant && f.Consumer == g.Consumer && f.Problem == g.Problem
}

// Healthy reports whether no invariant is violated.
func (h *Health) Healthy() bool { return len(h.Findings) == 0 }

// Broken reports whether a finding leaves users without codes.
func (h *Health) Broken() bool {
	for _, f := range h.Findings {
		if f.Broken {
			return true
		}
	}
	return false
}

// UnhealthyError is returned by Plan and Apply for a tenant already
// switched to the Unified Phone Experience that violates invariants they
// cannot converge by themselves (a provider missing, disabled or not
// covering a factor in use, a custom provider without a bound Action, the
// switch turned off after a completed migration), instead of
// [ErrAlreadyUnified]: such a tenant is not "nothing to do". Connections
// merely left on their legacy settings are converged instead (see
// [migrationIntent.Keep]).
//
// When a finding leaves users without codes now (Broken) and the tenant
// flag is on, Repair holds the fastest safe repair, the proposal
// [Migrator.Repair] performs: one write switching the tenant back, with
// warnings saying what happens after it. Repair is nil when switching back
// is not called for (nothing is broken, or the flag is off already); the
// findings' fixes then say what to do.
type UnhealthyError struct {
	Findings []Finding
	Repair   *Plan
}

// RepairOf returns the repair that err, an error of Plan or Apply,
// proposes (an [*UnhealthyError] of a tenant whose users get no code now),
// or nil.
func RepairOf(err error) *Plan {
	var ue *UnhealthyError
	if errors.As(err, &ue) {
		return ue.Repair
	}
	return nil
}

func (e *UnhealthyError) Error() string {
	parts := make([]string, 0, len(e.Findings))
	for _, f := range e.Findings {
		parts = append(parts, f.Problem+" ("+f.Consequence+"; "+f.Fix+")")
	}
	msg := "the tenant's phone delivery is not healthy: " + strings.Join(parts, "; ")
	if e.Repair != nil {
		msg += "; fastest safe repair: switch the tenant back (phone_consolidated_experience false) so codes flow again through the legacy settings, then migrate"
	}
	return msg
}

// Check reads the tenant (as Discover does, writing nothing) and evaluates
// the invariants of a healthy tenant on the Unified Phone Experience. It
// works on any tenant, whoever migrated it (this tool, the Dashboard or a
// script): a tenant not switched with no connection set to use the
// provider is "legacy" with no findings (a phone provider created ahead of
// the switch serves no one yet). The legacy Guardian messages and Twilio
// settings are unreadable once switched: MFA's words and a Twilio
// provider's sender are judged against what the migration in the
// Migrator's store recorded of them, and without such a checkpoint they
// are not judged.
func (m *Migrator) Check(ctx context.Context) (*Health, error) {
	d, err := m.discover(ctx)
	if err != nil {
		return nil, err
	}
	if needsActions(d) {
		if err := m.discoverActions(ctx, d); err != nil {
			return nil, err
		}
	}
	m.recallMigration(ctx, d)
	h := m.steps.check(d)
	accepted, err := m.accepted(ctx)
	if err != nil {
		return nil, err
	}
	h.accept(accepted)
	h.Repair = repairFor(m.tenant, d, h)
	nameRepair(d, h)
	if !d.UPE {
		if h.Integrations, err = m.IntegrationsAtRisk(ctx); err != nil {
			return nil, err
		}
	}
	return h, nil
}

// recallMigration adds to a switched tenant's d what its legacy settings
// no longer show (Auth0 answers 403 for them) from the migration in the
// Migrator's store, so that judging d can tell whether users still get
// their legacy words from their legacy sender: the MFA texts the
// migration carried over (d.LegacyTemplates) and the Twilio settings a
// Twilio provider was made from. Without such a record it leaves d as it is.
func (m *Migrator) recallMigration(ctx context.Context, d *Discovery) {
	if !d.UPE {
		return
	}
	cp, err := m.load(ctx)
	if err != nil || cp.Intent == nil || cp.State == StateRolledBack {
		return
	}
	if cp.Intent.Provider == ProviderKindTwilio && cp.Intent.Twilio != nil {
		tw := *cp.Intent.Twilio
		d.migratedTwilio = &tw
	}
	if d.LegacyTemplates != nil || !d.MFAEnabled {
		return
	}
	var t LegacyPhoneTemplates
	for _, ti := range cp.Intent.Templates {
		switch ti.Source {
		case "guardian verification message":
			t.VerificationMessage = ti.Text
		case "guardian enrollment message":
			t.EnrollmentMessage = ti.Text
		}
	}
	if t.VerificationMessage != "" || t.EnrollmentMessage != "" {
		d.LegacyTemplates = &t
	}
}

// accepted returns the differences accepted when the migration in the
// Migrator's store was applied (none without a checkpoint).
func (m *Migrator) accepted(ctx context.Context) ([]Finding, error) {
	cp, err := m.load(ctx)
	switch {
	case errors.Is(err, ErrNoCheckpoint):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("phonemigrate: reading the accepted differences: %w", err)
	}
	return cp.Accepted, nil
}

// needsActions reports whether judging d needs the custom-phone-provider
// Actions and bindings: with a custom provider, and on a switched tenant
// without a provider (a bound Action may only miss its provider).
func needsActions(d *Discovery) bool {
	return (d.Provider != nil && d.Provider.Name == ProviderCustom) || (d.Provider == nil && d.UPE)
}

// nameRepair makes the fix of every broken finding name the repair, when
// it is not the switch back (whose words the findings already carry).
func nameRepair(d *Discovery, h *Health) {
	if h.Repair == nil {
		return
	}
	f := fixOf(d)
	if f.kind == fixSwitchBack {
		return
	}
	for i := range h.Findings {
		if h.Findings[i].Broken {
			h.Findings[i].Fix = "run 'phonemigrate repair': " + f.steps[0].Title
		}
	}
}

// invariant is one property of a healthy tenant as the step that
// establishes it states it ([step.establishes]): its name, and how
// [Migrator.Check] evaluates it on a discovered tenant.
type invariant struct {
	name Invariant
	// findings are the violations of the invariant in t (none: it holds).
	findings func(t *checkedTenant) []Finding
}

// checkedTenant is a discovered tenant as the invariants look at it.
type checkedTenant struct {
	d        *Discovery
	switched []Connection // connections set to use the provider
	legacy   []Connection // Passwordless connections not set to, with legacy settings
	// inUse are the delivery methods in use that the provider must serve
	// once switched: text for a switched connection, the MFA message
	// types.
	inUse delivery.Set
	// users names who depends on the provider ("" when no one).
	users string
}

func newCheckedTenant(d *Discovery) *checkedTenant {
	t := &checkedTenant{d: d}
	for _, c := range d.SMSConnections {
		if usesProvider(c) {
			t.switched = append(t.switched, c)
		} else if connectionPath(&c) != nil {
			t.legacy = append(t.legacy, c)
		}
	}
	if len(t.switched) > 0 {
		t.inUse = delivery.Of(delivery.Text)
	}
	if d.MFAEnabled {
		t.inUse = t.inUse.Union(mfaTypesInUse(d))
	}
	t.users = usersOf(d, t.switched)
	return t
}

// mfaTypesInUse are the MFA phone message types in use: Guardian's
// default, SMS, when none is configured.
func mfaTypesInUse(d *Discovery) delivery.Set {
	if d.MFAMessageTypes.Empty() {
		return delivery.Of(delivery.Text)
	}
	return d.MFAMessageTypes
}

// invariants are the invariants the table's steps establish, each once,
// in the order of the first step establishing it.
func (t stepTable) invariants() []*invariant {
	var out []*invariant
	for _, s := range t {
		for _, inv := range s.establishes {
			if !slices.Contains(out, inv) {
				out = append(out, inv)
			}
		}
	}
	return out
}

// check evaluates on d (custom-phone-provider Actions and bindings read
// when the provider is custom) the invariants the steps establish, then
// what the delivery model says (judge).
func (t stepTable) check(d *Discovery) *Health {
	h := &Health{Findings: []Finding{}, State: "legacy"}
	ct := newCheckedTenant(d)
	for _, inv := range t.invariants() {
		h.Findings = append(h.Findings, inv.findings(ct)...)
	}
	if !d.UPE {
		judge(d, h)
		return h
	}
	h.State = "unified"
	judge(d, h)
	if !h.Healthy() {
		h.State = "inconsistent"
	}
	return h
}

// connectionFix is the fix of a connection still on its legacy settings:
// apply, and only when a provider would serve it, the Dashboard toggle
// (without one, the toggle would leave its users without codes).
func connectionFix(d *Discovery) string {
	if d.Provider == nil || d.Provider.Disabled || !d.Provider.Configuration.DeliveryMethods.Has(delivery.Text) {
		return "run phonemigrate apply (it sets up what serves the connection, then sets the option, keeping every other option)"
	}
	return "run phonemigrate apply (it sets the option, keeping every other option), or set it in the Dashboard"
}

// usesProvider reports whether connection c is set to use the tenant-level
// provider: options.use_phone_provider true (or a non-empty string other
// than "false", as one user report writes "unified").
func usesProvider(c Connection) bool {
	switch v := c.Options[UsePhoneProviderKey].(type) {
	case bool:
		return v
	case string:
		return v != "" && v != "false"
	}
	return false
}

// usersOf names who depends on the tenant-level provider: MFA users and
// the users of the switched connections ("" when no one).
func usersOf(d *Discovery, switched []Connection) string {
	var who []string
	if d.MFAEnabled {
		who = append(who, "MFA users")
	}
	for _, c := range switched {
		who = append(who, fmt.Sprintf("Passwordless users of connection %q", c.Name))
	}
	return strings.Join(who, " and ")
}

func nonEmpty(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// converge decides what a tenant already switched to the Unified Phone
// Experience needs: nothing when healthy ([ErrAlreadyUnified]); when the
// only violated invariant is Passwordless connections still on their
// legacy settings, an Intent that switches just those (Keep: the provider,
// Action, MFA and templates stay as they are); otherwise an
// [*UnhealthyError] with every finding and its fix, nothing planned — a
// person must act first — and, when a finding leaves users without codes,
// the repair [repairFor] proposes (switch the tenant back so codes flow,
// then migrate; [Migrator.Repair] does the first). It reads the custom-phone-provider Actions when the provider is
// custom.
func (m *Migrator) converge(ctx context.Context, d *Discovery, o *Options) (*migrationIntent, []string, error) {
	if needsActions(d) {
		if err := m.discoverActions(ctx, d); err != nil {
			return nil, nil, err
		}
	}
	m.recallMigration(ctx, d)
	h := m.steps.check(d)
	h.accept(o.AcceptedDifferences)
	if h.Healthy() {
		return nil, nil, ErrAlreadyUnified
	}
	for _, f := range h.Findings {
		if (f.Invariant != InvariantConnectionsUseProvider && f.Invariant != InvariantSameWords) || d.Provider == nil {
			return nil, nil, &UnhealthyError{Findings: h.Findings, Repair: repairFor(m.tenant, d, h)}
		}
	}
	if err := o.validate(); err != nil {
		return nil, nil, err
	}
	kind := ProviderKindTwilio
	if d.Provider.Name == ProviderCustom {
		kind = ProviderKindCustom
	}
	in := &migrationIntent{Provider: kind, Delivery: d.Provider.Configuration.DeliveryMethods, ProviderID: d.Provider.ID, Keep: true,
		UsePhoneProvider: o.usePhoneProvider(), MFAEnabled: d.MFAEnabled, MFAMessageTypes: d.MFAMessageTypes}
	var names []string
	for _, c := range d.SMSConnections {
		if !usesProvider(c) && connectionPath(&c) != nil {
			in.Connections = append(in.Connections, connectionRef{ID: c.ID, Name: c.Name})
			names = append(names, fmt.Sprintf("%q", c.Name))
		}
	}
	{
		// The Passwordless words: the connection's legacy text in the
		// tenant template otp_verify (planned as a migration plans it), so
		// that the connections it serves keep their words.
		// The MFA enrolment words likewise, when they changed.
		tis, _, _ := planTemplates(d, true)
		for _, ti := range tis {
			if ti.Type != "otp_verify" && !slices.ContainsFunc(h.Findings, func(f Finding) bool {
				return f.Invariant == InvariantSameWords && strings.HasSuffix(f.Consumer, "/"+ti.Type)
			}) {
				continue
			}
			if ex, write := needsTemplateWrite(d.Templates, ti); write {
				ti.Existed = ex != nil
				in.Templates = append(in.Templates, ti)
			}
		}
	}
	if len(in.Connections) == 0 && len(in.Templates) == 0 {
		return nil, nil, &UnhealthyError{Findings: h.Findings, Repair: repairFor(m.tenant, d, h)}
	}
	if len(names) == 0 {
		warnings := []string{fmt.Sprintf("The tenant is already on the Unified Phone Experience and its %s provider serves every factor in use, but the tenant phone template otp_verify no longer holds the Passwordless connections' legacy text: this run writes only that template (a rollback restores it).", d.Provider.Name)}
		return in, warnings, nil
	}
	warnings := []string{
		fmt.Sprintf("The tenant is already on the Unified Phone Experience and its %s provider serves every factor in use, but connection(s) %s still send through their legacy settings: this run switches only them (the provider, the tenant switch, the MFA message types and the phone templates are kept as they are, and a rollback leaves them alone).", d.Provider.Name, strings.Join(names, ", ")),
		fmt.Sprintf("options.%s is undocumented by Auth0 (terraform-provider-auth0#1549); each connection write is verified from Auth0's answer, and every other option must stay unchanged.", UsePhoneProviderKey),
	}
	return in, warnings, nil
}
