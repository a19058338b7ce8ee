package phonemigrate

import (
	"context"
	"errors"
	"fmt"

	"github.com/unifiedphone/unifiedphone/phonemigrate/redact"

	"github.com/unifiedphone/unifiedphone/delivery"
)

// The provider steps: configure (or keep) the tenant-level phone provider,
// then test it.

// The states this step reaches and the events that lead there (see
// [State] and [event]).
const (
	stateProviderConfigured State = "provider_configured"
	stateProviderTested     State = "provider_tested"
	eventConfigureProvider  event = "configure_provider"
	eventTestProvider       event = "test_provider"
)

func init() {
	register(providerStep())
	register(testStep())
}

func providerStep() *step {
	return &step{order: 40, event: eventConfigureProvider, to: stateProviderConfigured, does: "configure provider",
		doc:         providerDoc,
		establishes: []*invariant{providerPresent, providerEnabled, providerCoversFactors},
		plan:        planProviderStep,
		apply:       (*run).configureProvider,
		undo: &undo{title: "Delete the phone provider the migration created (or give a replaced one its configuration back)",
			adopt: (*run).adoptProvider, owned: (*run).ownedProvider, drift: (*run).providerDrift, restore: (*run).restoreProvider},
	}
}

// The invariants the provider step establishes: on a switched tenant a
// provider exists, is enabled and delivers every method in use.
var (
	providerPresent = &invariant{name: InvariantProviderPresent, findings: func(t *checkedTenant) []Finding {
		d := t.d
		if !d.UPE || d.Provider != nil || t.users == "" {
			return nil
		}
		problem := "the tenant is switched to the Unified Phone Experience but has no phone provider"
		if d.actionsRead && len(d.Actions) == 0 && len(t.switched) > 0 {
			problem += ", and no custom-phone-provider Action exists"
		}
		return []Finding{{Invariant: InvariantProviderPresent, Broken: true,
			Problem:     problem,
			Consequence: t.users + " get no code",
			Fix:         "switch the tenant back (phone_consolidated_experience false) so codes flow again, then run phonemigrate apply",
			LikelyCause: causeProviderDeleted}}
	}}
	providerEnabled = &invariant{name: InvariantProviderEnabled, findings: func(t *checkedTenant) []Finding {
		p := t.d.Provider
		if !t.d.UPE || p == nil || !p.Disabled {
			return nil
		}
		return []Finding{{Invariant: InvariantProviderEnabled, Broken: t.users != "",
			Problem:     fmt.Sprintf("the %s phone provider %s is disabled", p.Name, p.ID),
			Consequence: nonEmpty(t.users, "no one") + " get no code",
			Fix:         "enable the provider (PATCH /branding/phone/providers/" + p.ID + " {\"disabled\": false})"}}
	}}
	providerCoversFactors = &invariant{name: InvariantProviderCoversFactors, findings: func(t *checkedTenant) []Finding {
		p := t.d.Provider
		if !t.d.UPE || p == nil || p.Disabled {
			return nil
		}
		missing := t.inUse.Minus(p.Configuration.DeliveryMethods)
		if missing.Empty() {
			return nil
		}
		return []Finding{{Invariant: InvariantProviderCoversFactors, Broken: true,
			Problem:     fmt.Sprintf("the %s phone provider delivers %s, but %s is in use", p.Name, p.Configuration.DeliveryMethods, missing),
			Consequence: fmt.Sprintf("users who get their codes by %s get none", missing),
			Fix:         fmt.Sprintf("add %s to the provider's delivery methods, or remove it from the MFA message types", missing),
			LikelyCause: causeMessageTypes}}
	}}
)

// providerWrite is the provider step's rule, for plan and apply: p is the
// tenant's provider (nil: none), req what the plan writes, ours whether
// this migration created p, and orig the provider it replaces as recorded
// before an earlier attempt wrote it (nil: none recorded). It reports
// whether to write: without a provider one is created; a provider not
// ours is replaced, always written the first time (its credentials are
// unknown) and again only while it still is the original (the earlier
// write did not land); ours, or one already replaced, is not written when
// it matches req. A provider this migration wrote that holds neither what
// it wrote nor its original was changed by someone else meanwhile: that is
// [ErrConcurrentChange], and nothing is written over it.
func providerWrite(p *PhoneProvider, req PhoneProviderRequest, ours bool, orig *originalProvider) (bool, error) {
	switch {
	case p == nil:
		return true, nil
	case (ours || orig != nil) && providerMatches(*p, req):
		return false, nil
	case !ours && orig == nil:
		return true, nil
	case !ours && orig.is(*p):
		return true, nil
	}
	return false, fmt.Errorf("phone provider %s (%s) was changed since this migration wrote it: %w; the migration stops rather than write over the change: check it, then run again (or roll back)", p.ID, p.Name, ErrConcurrentChange)
}

// is reports whether p still is the recorded original provider.
func (o *originalProvider) is(p PhoneProvider) bool {
	return p.ID == o.ID && p.Name == o.Name && p.Disabled == o.Disabled && p.Configuration == ProviderConfiguration{
		SID: o.SID, DefaultFrom: o.DefaultFrom, MSSID: o.MSSID, DeliveryMethods: o.DeliveryMethods}
}

func planProviderStep(pc *planContext) Step {
	in, d := pc.in, pc.d
	if in.Keep {
		return Step{Title: fmt.Sprintf("Keep the existing %s phone provider %s: it serves every factor in use", in.Provider, in.ProviderID)}
	}
	req := providerRequest(in, pc.o)
	var p *PhoneProvider
	if in.ReplaceProviderID != "" {
		p = d.Provider
	}
	st := Step{Title: fmt.Sprintf("Configure the tenant-level %s phone provider", in.Provider)}
	switch write, _ := providerWrite(p, req, false, nil); { // a plan has written nothing: no conflict
	case !write:
	case p == nil:
		st.Writes = []plannedWrite{{Method: "POST", Path: "/branding/phone/providers", After: providerView(req)}}
	default:
		st.Writes = []plannedWrite{{Method: "PATCH", Path: "/branding/phone/providers/" + p.ID, Before: providerView(PhoneProviderRequest{
			Name: p.Name, Disabled: p.Disabled, Configuration: p.Configuration}), After: providerView(req)}}
	}
	return st
}

func testStep() *step {
	return &step{order: 50, event: eventTestProvider, to: stateProviderTested, does: "test provider",
		doc:  testDoc,
		plan: planTestStep, apply: (*run).testProvider}
}

func planTestStep(pc *planContext) Step {
	in, o := pc.in, pc.o
	st := Step{Title: "Send a test message per delivery method to each recipient (Auth0 reports no delivery; confirm receipt)"}
	switch {
	case o.SkipTest:
		st.Title = "Provider test skipped (SkipTest)"
	case in.Provider == ProviderKindTwilio && !o.SkipTwilioCheck:
		st.Title = "Send a test message per delivery method to each recipient and follow its status in the Twilio account (Auth0 reports no delivery)"
	}
	for _, r := range o.TestRecipients {
		for _, meth := range in.Delivery.Methods() {
			st.Writes = append(st.Writes, plannedWrite{Method: "POST", Path: "/branding/phone/providers/" + pc.providerID() + "/try",
				After: map[string]string{"to": r, "delivery_method": string(meth)}})
		}
	}
	return st
}

// configureProvider is the provider step: create the tenant-level
// provider, or write the one the tenant has (ours, one a lost answer
// created, or one to replace), each write verified from Auth0's answer.
func (r *run) configureProvider(ctx context.Context) (event, error) {
	in := r.cp.Intent
	if in.Keep {
		return r.keepProvider(ctx)
	}
	if in.Provider == ProviderKindTwilio {
		if err := r.resolveTwilio(ctx); err != nil {
			return "", err
		}
	}
	req := providerRequest(in, r.o)
	ps, err := r.providers(ctx)
	if err != nil {
		return "", err
	}
	if len(ps) == 0 {
		err = r.createProvider(ctx, req)
	} else {
		err = r.updateProvider(ctx, ps[0], req)
	}
	if err != nil {
		return "", err
	}
	return eventConfigureProvider, nil
}

// providers are the tenant's phone providers: from this run's discovery
// when fresh, else read.
func (r *run) providers(ctx context.Context) ([]PhoneProvider, error) {
	if r.fresh() {
		if r.d.Provider != nil {
			return []PhoneProvider{*r.d.Provider}, nil
		}
		return nil, nil
	}
	ps, err := r.m.c.ListPhoneProviders(ctx)
	if err != nil {
		return nil, fmt.Errorf("list phone providers: %w", err)
	}
	return ps, nil
}

// createProvider creates the provider, recording it as ours.
func (r *run) createProvider(ctx context.Context, req PhoneProviderRequest) error {
	done, err := r.creating(ctx, func(u *unconfirmedCreates) { u.Provider = true }, func(u *unconfirmedCreates) { u.Provider = false })
	if err != nil {
		return err
	}
	p, err := r.m.c.CreatePhoneProvider(ctx, req)
	if serr := done(err); serr != nil {
		return serr
	}
	if err != nil {
		return fmt.Errorf("create phone provider: %w", err)
	}
	if p.ID == "" {
		return errors.New("verify phone provider: Auth0 answered the create without a provider id")
	}
	r.cp.Created.ProviderID = p.ID
	r.cp.Intent.ProviderID = p.ID
	if err := r.save(ctx); err != nil {
		return err
	}
	if !providerMatches(p, req) {
		return fmt.Errorf("verify phone provider %s: the configuration Auth0 answered with differs from what was written", p.ID)
	}
	return nil
}

// updateProvider writes req to the tenant's provider p when the
// provider step's rule (providerWrite) says so: ours, or adopted from a
// create whose answer was lost, or one the plan replaces (its original
// recorded first); anyone else's needs AllowReplace.
func (r *run) updateProvider(ctx context.Context, p PhoneProvider, req PhoneProviderRequest) error {
	in, created := r.cp.Intent, &r.cp.Created
	if created.ProviderID == "" && in.ReplaceProviderID == "" && created.Unconfirmed.Provider && providerMatches(p, req) && created.Unconfirmed.Adoptable(p.CreatedAt) {
		// The plan saw no provider and a create went without an answer:
		// this one, matching what was sent, is ours. Adopt it. (After a
		// definite refusal, it is someone else's.)
		created.ProviderID = p.ID
		created.Unconfirmed.Provider = false
		if err := r.save(ctx); err != nil {
			return err
		}
	}
	ours := p.ID == created.ProviderID
	if !ours && !in.AllowReplace && p.ID != in.ReplaceProviderID {
		return &ExistingResourceError{Kind: "phone provider", ID: p.ID, Name: p.Name}
	}
	write, err := providerWrite(&p, req, ours, r.cp.Originals.Provider)
	if err != nil {
		return err
	}
	if !ours && r.cp.Originals.Provider == nil {
		r.cp.Originals.Provider = &originalProvider{ID: p.ID, Name: p.Name, Disabled: p.Disabled, SID: p.Configuration.SID,
			DefaultFrom: p.Configuration.DefaultFrom, MSSID: p.Configuration.MSSID, DeliveryMethods: p.Configuration.DeliveryMethods}
		if err := r.save(ctx); err != nil {
			return err
		}
	}
	if write {
		got, err := r.m.c.UpdatePhoneProvider(ctx, p.ID, req)
		if err != nil {
			return fmt.Errorf("update phone provider %s: %w", p.ID, err)
		}
		if got.ID != p.ID || !providerMatches(got, req) {
			return fmt.Errorf("verify phone provider %s: the configuration Auth0 answered with differs from what was written", p.ID)
		}
	}
	in.ProviderID = p.ID
	return nil
}

// keepProvider is the provider step of a converging run (Intent.Keep): it
// writes nothing and checks the provider the plan kept is still there.
func (r *run) keepProvider(ctx context.Context) (event, error) {
	in := r.cp.Intent
	if r.fresh() && r.d.Provider != nil && r.d.Provider.ID == in.ProviderID {
		return eventConfigureProvider, nil
	}
	ps, err := r.m.c.ListPhoneProviders(ctx)
	if err != nil {
		return "", fmt.Errorf("list phone providers: %w", err)
	}
	for _, p := range ps {
		if p.ID == in.ProviderID && !p.Disabled {
			return eventConfigureProvider, nil
		}
	}
	return "", fmt.Errorf("phonemigrate: the phone provider %s the plan kept is gone or disabled; run apply again to plan afresh", in.ProviderID)
}

func providerMatches(p PhoneProvider, req PhoneProviderRequest) bool {
	return p.Name == req.Name && !p.Disabled && p.Configuration == req.Configuration
}

func (r *run) testProvider(ctx context.Context) (event, error) {
	if r.o.SkipTest {
		r.m.log.InfoContext(ctx, "provider test skipped (SkipTest)", "tenant", r.cp.Tenant)
		return eventTestProvider, nil
	}
	id := r.cp.Intent.ProviderID
	tw, err := r.evidenceSource(ctx)
	if err != nil {
		return "", err
	}
	r.cp.Tests = nil
	claimed := map[string]bool{}
	for _, to := range r.o.TestRecipients {
		for _, meth := range r.cp.Intent.Delivery.Methods() {
			since := r.m.now()
			if err := r.m.c.TestPhoneProvider(ctx, id, to, meth); err != nil {
				return "", fmt.Errorf("test message (%s) to %s: %w", meth, to, err)
			}
			out, err := r.testOutcome(ctx, tw, to, meth, since, claimed)
			if err != nil {
				return "", err
			}
			if r.o.Confirm == nil {
				continue
			}
			ok, err := r.o.Confirm(ctx, TestMessage{Recipient: to, Method: meth, ProviderID: id, TwilioStatus: out.Status})
			if err != nil {
				return "", fmt.Errorf("confirm test message (%s) to %s: %w", meth, to, err)
			}
			if !ok {
				return "", fmt.Errorf("%w: %s message to %s", errTestNotConfirmed, meth, to)
			}
			r.cp.Tests[len(r.cp.Tests)-1].Confirmed = true
		}
	}
	// The test was a wait (the messages, their evidence at Twilio, a
	// person's answer), long enough for someone else to change the tenant:
	// from here on this run re-reads before each write like a resumed one,
	// so that no write sends back what was read before it, and the
	// template texts are taken again from where the plan found them.
	r.d = nil
	if err := r.refreshTemplateTexts(ctx); err != nil {
		return "", err
	}
	return eventTestProvider, nil
}

func (r *run) restoreProvider(ctx context.Context) error {
	c := r.m.c
	if id := r.cp.Created.ProviderID; id != "" {
		if err := c.DeletePhoneProvider(ctx, id); err != nil && !errors.Is(err, ErrNotFound) {
			return fmt.Errorf("delete created phone provider %s: %w", id, err)
		}
		r.m.log.InfoContext(ctx, "rollback: phone provider deleted", "provider", id)
	}
	if op := r.cp.Originals.Provider; op != nil {
		req := PhoneProviderRequest{Name: op.Name, Disabled: op.Disabled, Configuration: ProviderConfiguration{
			SID: op.SID, DefaultFrom: op.DefaultFrom, MSSID: op.MSSID, DeliveryMethods: op.DeliveryMethods}}
		ps, err := c.ListPhoneProviders(ctx)
		if err != nil {
			return fmt.Errorf("list phone providers: %w", err)
		}
		if len(ps) == 1 && op.is(ps[0]) {
			return nil
		}
		if _, err := c.UpdatePhoneProvider(ctx, op.ID, req); err != nil {
			return fmt.Errorf("restore replaced phone provider %s (credentials cannot be restored): %w", op.ID, err)
		}
	}
	return nil
}

// intentProviderName is the phone provider name the plan creates.
func intentProviderName(in *migrationIntent) string {
	if in.Provider == ProviderKindTwilio {
		return ProviderTwilio
	}
	return ProviderCustom
}

// createdProvider checks that phone provider id, if it still exists, is of
// the kind this migration created.
func (r *run) createdProvider(ctx context.Context, id string) error {
	in := r.cp.Intent
	if in == nil {
		return &NotCreatedError{Kind: "phone provider", ID: id, Problem: "the checkpoint records no plan"}
	}
	ps, err := r.m.c.ListPhoneProviders(ctx)
	if err != nil {
		return fmt.Errorf("list phone providers: %w", err)
	}
	for _, p := range ps {
		if p.ID == id && p.Name != intentProviderName(in) {
			return &NotCreatedError{Kind: "phone provider", ID: id, Problem: fmt.Sprintf("it is a %s provider, not %s", p.Name, intentProviderName(in))}
		}
	}
	return nil
}

// providerRequest is the provider write for in.
func providerRequest(in *migrationIntent, o *Options) PhoneProviderRequest {
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
		v["credentials"] = map[string]any{"auth_token": redact.Mark}
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

// adoptProvider records the provider a create whose answer was lost made:
// the only phone provider, configured as sent and appeared after the
// attempt ([unconfirmedCreates.Adoptable]), when the plan saw none and this run
// sent that creation without a definite answer.
func (r *run) adoptProvider(ctx context.Context) (bool, error) {
	in := r.cp.Intent
	if r.cp.Created.ProviderID != "" || in.ReplaceProviderID != "" || !r.cp.Created.Unconfirmed.Provider {
		return false, nil
	}
	ps, err := r.m.c.ListPhoneProviders(ctx)
	if err != nil {
		return false, fmt.Errorf("list phone providers: %w", err)
	}
	// Credentials are not compared: Auth0 never shows them.
	if len(ps) == 1 && providerMatches(ps[0], providerRequest(in, &Options{})) && r.cp.Created.Unconfirmed.Adoptable(ps[0].CreatedAt) {
		r.cp.Created.ProviderID = ps[0].ID
		return true, nil
	}
	return false, nil
}

// ownedProvider checks the provider the checkpoint records as created.
func (r *run) ownedProvider(ctx context.Context) error {
	if id := r.cp.Created.ProviderID; id != "" {
		return r.createdProvider(ctx, id)
	}
	return nil
}

// providerDrift reports the provider this migration created or replaced,
// changed since (restoring it would undo the change), and a tenant
// switched since by someone else while this migration created the
// provider (deleting it would leave the factors it serves routing to
// nothing).
func (r *run) providerDrift(ctx context.Context) ([]string, error) {
	in := r.cp.Intent
	var changes []string
	if created := r.cp.Created.ProviderID; created != "" {
		// Deleting the created provider is safe only with the tenant
		// switched back: switched by someone else since (this migration
		// did not record switching it), MFA would route to nothing.
		on, err := r.switchedAfterRollback(ctx)
		if err != nil {
			return nil, err
		}
		if on {
			changes = append(changes, fmt.Sprintf("the tenant was switched to the Unified Phone Experience, but not by this migration: deleting the phone provider %s it created would leave every factor served by it without codes", created))
		}
	}
	id := in.ProviderID
	if id == "" || (id != r.cp.Created.ProviderID && r.cp.Originals.Provider == nil) {
		return changes, nil
	}
	ps, err := r.m.c.ListPhoneProviders(ctx)
	if err != nil {
		return nil, fmt.Errorf("list phone providers: %w", err)
	}
	want := providerRequest(in, &Options{})
	for _, p := range ps {
		// Another kind is not the provider this migration wrote: that is
		// ownedProvider's NotCreatedError, not drift.
		if p.ID == id && p.Name == want.Name && !providerMatches(p, want) {
			changes = append(changes, fmt.Sprintf("the %s phone provider %s was changed after the migration: rolling back would undo the change", p.Name, p.ID))
		}
	}
	return changes, nil
}

// providerDoc is the step as docs/how-it-works.md lists it (Markdown;
// TestStepProse -update writes it there).
const providerDoc = "**Provider**: `POST /branding/phone/providers` (Twilio: `sid`, `default_from` " +
	"or `mssid`, `delivery_methods`, `credentials.auth_token`; custom: " +
	"`delivery_methods`, `credentials: {}`). The tenant's providers are listed " +
	"first; replacing one the tool did not create needs `--allow-replace` and then " +
	"it is a `PATCH` — except a provider that already has exactly the configuration " +
	"written here (someone set it up for the migration but did not switch): it is " +
	"taken over by a `PATCH` that writes its credentials again, without the flag. " +
	"Rollback gives a replaced or taken-over provider its configuration back and " +
	"does not delete it."

// testDoc is the step as docs/how-it-works.md lists it (Markdown;
// TestStepProse -update writes it there).
const testDoc = "**Test**: `POST /branding/phone/providers/{id}/try` per delivery method per " +
	"`--test-to` number; for a Twilio provider the message (or call) is then " +
	"followed in the Twilio account; then the confirmation."
