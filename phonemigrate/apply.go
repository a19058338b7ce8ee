package phonemigrate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/looplab/fsm"
	"github.com/unifiedphone/unifiedphone/delivery"
)

// run is one Apply or Rollback: the checkpoint, the machine positioned at
// its state, and what this run did.
type run struct {
	m       *Migrator
	cp      *Checkpoint
	machine *fsm.FSM
	o       *Options
	// d is set once this run has discovered the tenant. Nothing but this
	// run's own writes has changed the tenant since (each step changes what
	// no later step reads), so while d is set the steps use it instead of
	// re-reading before they write. A run that resumes after a failure
	// starts without d, and each step then re-reads what it depends on; a
	// run that waited for a person to confirm a test message drops d.
	d     *Discovery
	steps []Transition
	// twilioReady is set once o.TwilioAuthToken holds the token the plan
	// chose and Twilio accepted it (see resolveTwilio).
	twilioReady bool
}

// fresh reports whether this run discovered the tenant itself (see d).
func (r *run) fresh() bool { return r.d != nil }

func (m *Migrator) newCheckpoint() *Checkpoint {
	return &Checkpoint{Version: CheckpointVersion, Tenant: m.tenant, State: StateNew}
}

// load reads the checkpoint and checks it belongs to this tenant.
func (m *Migrator) load(ctx context.Context) (*Checkpoint, error) {
	cp, err := m.store.Load(ctx)
	if err != nil {
		return nil, err
	}
	if m.tenant != "" && cp.Tenant != "" && cp.Tenant != m.tenant {
		path := ""
		if fs, ok := m.store.(*FileStore); ok {
			path = fs.Path()
		}
		return nil, &CheckpointError{Path: path, Problem: fmt.Sprintf("belongs to tenant %q, not %q", cp.Tenant, m.tenant)}
	}
	return cp, nil
}

func (m *Migrator) lock(ctx context.Context) (func(), error) {
	unlock, err := m.store.Lock(ctx)
	if err != nil {
		return nil, err
	}
	return func() {
		if err := unlock(); err != nil {
			m.log.Warn("release checkpoint lock", "err", err)
		}
	}, nil
}

// Apply runs the migration to completion, or resumes it.
//
// Without a checkpoint (or after a rollback) it starts at new: it
// discovers, runs preflight and plans (failing with the typed errors listed
// at [Migrator.Plan] before any write), then runs each step of the forward
// path. Each step is idempotent: it writes only when needed and verifies
// the result. The checkpoint is saved after every transition and right after
// each resource is created.
//
// When a step fails the migration moves to [StateFailed] with
// [Checkpoint.LastGood] set to the state it failed from, and Apply returns
// the error; calling Apply again resumes from LastGood, following the plan
// recorded in the checkpoint.
//
// A run that starts by discovering reads each thing once: until the end of
// that run (or until an Options.Confirm call takes a second or more — a
// person answering —, after which it re-reads like a resumed run) its steps
// write from what discovery read, and verify
// each write
// from Auth0's answer to it (connection option writes, which replace the
// whole options map, are verified by reading the connection back). A run
// that resumes from a later state re-reads what each step depends on before
// it writes, and recognises resources created by calls whose answers were
// lost.
//
// On a completed migration Apply writes nothing and returns a Result with
// AlreadyDone set. On a tenant already on the
// Unified Phone Experience it returns the state already_unified and
// [ErrAlreadyUnified]. Options are validated (before any write) unless the
// migration is already completed.
//
// The result is non-nil whenever the run got past the store lock, also
// when an error is returned.
//
// With [Options.Canary] it watches delivery before completing, and fails
// with a [*CanaryBreachError] (rolling back when Canary.AutoRollback) when
// a path breaks.
func (m *Migrator) Apply(ctx context.Context, o Options) (*Result, error) {
	res, err := m.apply(ctx, o)
	return m.afterCanary(ctx, o, res, err)
}

func (m *Migrator) apply(ctx context.Context, o Options) (*Result, error) {
	unlock, err := m.lock(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()

	cp, err := m.load(ctx)
	switch {
	case errors.Is(err, ErrNoCheckpoint):
		cp = m.newCheckpoint()
	case err != nil:
		return nil, err
	}
	start := cp.State
	next := cp.Next()
	if next == NextNone {
		return m.recheck(ctx, cp, &o)
	}
	if err := o.validate(); err != nil {
		return nil, err
	}
	switch next {
	case NextStart:
		if cp.State != StateNew {
			cp = m.newCheckpoint()
		}
		start = StateNew
	case NextRollback:
		return nil, errors.New("phonemigrate: a rollback did not finish; run Rollback again to finish it")
	case NextApply:
		start = cp.ResumePoint()
		if err := sameChoices(cp.Intent, &o); err != nil {
			return nil, err
		}
	}
	if cp.Intent != nil && stateOrder(start) <= stateOrder(StatePlanned) && cp.Intent.Twilio != nil && o.TwilioAuthToken == "" &&
		(cp.Intent.TwilioTokenSource == "" || cp.Intent.TwilioTokenSource == TokenSourceOptions) {
		return nil, ErrTwilioTokenRequired
	}
	r := &run{m: m, cp: cp, machine: newMachine(start), o: &o}
	if start != cp.State {
		m.log.InfoContext(ctx, "resuming migration", "tenant", cp.Tenant, "from", start)
	}
	err = r.forward(ctx)
	res := &Result{State: State(r.machine.Current()), Plan: r.cp.Plan, Steps: r.steps, Checkpoint: r.cp}
	if err == nil && res.State == StateAlreadyUnified {
		err = ErrAlreadyUnified
	}
	return res, err
}

// stepFunc performs the Auth0 calls that lead out of a state; it returns
// the event to fire.
type stepFunc func(ctx context.Context) (string, error)

func (r *run) stepFor(s State) stepFunc {
	switch s {
	case StateNew:
		return r.discover
	case StateDiscovered:
		return r.planStep
	case StatePlanned:
		if r.cp.Intent.Provider == ProviderKindCustom && !r.cp.Intent.Keep {
			return r.deployAction
		}
		return r.configureProvider
	case StateActionDeployed:
		return r.configureProvider
	case StateProviderConfigured:
		return r.testProvider
	case StateProviderTested:
		return r.switchTenant
	case StateTenantSwitched:
		return r.switchConnections
	case StateConnectionsSwitched:
		return r.observeThen(r.alignMFA)
	case StateMFAAligned:
		return r.migrateTemplates
	case StateTemplatesMigrated:
		return r.watchStep
	}
	return nil
}

func (r *run) forward(ctx context.Context) error {
	for {
		cur := State(r.machine.Current())
		step := r.stepFor(cur)
		if step == nil {
			return nil // completed or already_unified
		}
		if cur != StateNew && cur != StateDiscovered && r.cp.Intent == nil {
			return r.fail(ctx, cur, time.Now(), &CheckpointError{Problem: fmt.Sprintf("state %s without a recorded plan", cur)})
		}
		began := time.Now()
		event, err := step(ctx)
		if err == nil {
			err = ctx.Err()
		}
		if err != nil {
			return r.fail(ctx, cur, began, err)
		}
		if err := r.transition(ctx, event, began, nil); err != nil {
			return err
		}
	}
}

// transition fires event (the step's work is already done), saves the
// checkpoint and reports. The machine never runs callbacks and is given a
// context that cannot be cancelled, so it cannot wedge (looplab/fsm#115);
// cancellation is checked by the caller before.
func (r *run) transition(ctx context.Context, event string, began time.Time, stepErr error) error {
	from := State(r.machine.Current())
	if err := r.machine.Event(context.WithoutCancel(ctx), event); err != nil {
		return fmt.Errorf("phonemigrate: internal: transition %s from %s: %w", event, from, err)
	}
	to := State(r.machine.Current())
	r.cp.State = to
	if stepErr == nil {
		r.cp.LastGood, r.cp.Error = "", ""
	}
	r.cp.UpdatedAt = r.m.now().UTC()
	r.noteSwitch(to)
	saveErr := r.save(ctx)
	t := Transition{From: from, To: to, Event: event, Duration: time.Since(began), Err: stepErr}
	r.steps = append(r.steps, t)
	r.m.report(ctx, r.cp.Tenant, t)
	if saveErr != nil {
		return fmt.Errorf("phonemigrate: save checkpoint after %s: %w", to, saveErr)
	}
	return nil
}

func (r *run) save(ctx context.Context) error {
	return r.m.store.Save(context.WithoutCancel(ctx), r.cp)
}

// fail moves the machine from cur to failed, records the error and returns
// it (wrapped with the step it failed in).
func (r *run) fail(ctx context.Context, cur State, began time.Time, err error) error {
	// The error is recorded and returned without any secret this run
	// knows of, whatever the Client put in it.
	err = RedactError(fmt.Errorf("phonemigrate: %s: %w", stepName(cur), err), r.secrets()...)
	r.cp.LastGood = cur
	r.cp.Error = err.Error()
	if terr := r.transition(ctx, EventFail, began, err); terr != nil {
		return errors.Join(err, terr)
	}
	return err
}

func stepName(s State) string {
	switch s {
	case StateNew:
		return "discover"
	case StateDiscovered:
		return "plan"
	case StatePlanned:
		return "deploy action or configure provider"
	case StateActionDeployed:
		return "configure provider"
	case StateProviderConfigured:
		return "test provider"
	case StateProviderTested:
		return "switch tenant"
	case StateTenantSwitched:
		return "switch connections"
	case StateConnectionsSwitched:
		return "align MFA message types"
	case StateMFAAligned:
		return "migrate templates"
	case StateRollingBack:
		return "rollback"
	}
	return string(s)
}

func (m *Migrator) report(ctx context.Context, tenant string, t Transition) {
	attrs := []any{"tenant", tenant, "from", t.From, "to", t.To, "event", t.Event, "duration", t.Duration}
	if t.Err != nil {
		m.log.ErrorContext(ctx, "migration step failed", append(attrs, "err", t.Err)...)
	} else {
		m.log.InfoContext(ctx, "migration transition", attrs...)
	}
	if m.observer != nil {
		m.observer(t)
	}
}

// Forward steps.

func (r *run) discover(ctx context.Context) (string, error) {
	d, err := r.m.discover(ctx)
	if err != nil {
		return "", err
	}
	r.d = d
	return EventDiscover, nil
}

func (r *run) planStep(ctx context.Context) (string, error) {
	if r.d == nil {
		d, err := r.m.discover(ctx)
		if err != nil {
			return "", err
		}
		r.d = d
	}
	p, in, err := r.m.plan(ctx, r.d, r.o)
	if errors.Is(err, ErrAlreadyUnified) {
		return EventAlreadyUnified, nil
	}
	if err != nil {
		return "", err
	}
	// Check the Twilio credentials now, before the plan is recorded: the
	// first write that sends them follows at once.
	if err := r.resolveTwilioFor(ctx, in); err != nil {
		return "", err
	}
	r.cp.Plan, r.cp.Intent = p, in
	return EventPlan, nil
}

// keepProvider is the provider step of a converging run (Intent.Keep): it
// writes nothing and checks the provider the plan kept is still there.
func (r *run) keepProvider(ctx context.Context) (string, error) {
	in := r.cp.Intent
	if r.fresh() && r.d.Provider != nil && r.d.Provider.ID == in.ProviderID {
		return EventConfigureProvider, nil
	}
	ps, err := r.m.c.ListPhoneProviders(ctx)
	if err != nil {
		return "", fmt.Errorf("list phone providers: %w", err)
	}
	for _, p := range ps {
		if p.ID == in.ProviderID && !p.Disabled {
			return EventConfigureProvider, nil
		}
	}
	return "", fmt.Errorf("phonemigrate: the phone provider %s the plan kept is gone or disabled; run apply again to plan afresh", in.ProviderID)
}

// creating records, before a create request is sent, that its outcome is
// unknown (mark sets the Unconfirmed entry), and returns done, to call
// with the request's error: a definite answer — success, or a 4xx
// refusal — clears the entry (clear), an unknown outcome keeps it, so
// that only then may a later run adopt what it finds.
func (r *run) creating(ctx context.Context, mark, clear func(*Unconfirmed)) (done func(error) error, err error) {
	mark(&r.cp.Created.Unconfirmed)
	if err := r.save(ctx); err != nil {
		return nil, err
	}
	return func(err error) error {
		if err != nil && !definiteRefusal(err) {
			return nil
		}
		clear(&r.cp.Created.Unconfirmed)
		return r.save(ctx)
	}, nil
}

// definiteRefusal reports whether err is Auth0's answer refusing a request
// (a 4xx): the request certainly did not create anything.
func definiteRefusal(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.StatusCode >= 400 && ae.StatusCode < 500
}

// sameChoices refuses to resume a migration with choices other than the
// ones its plan was made with (the plan is followed; silently ignoring a
// changed --delivery would migrate to something else than asked).
func sameChoices(in *Intent, o *Options) error {
	if in == nil {
		return nil
	}
	var diffs []string
	if o.Provider != "" && o.Provider != ProviderAuto && o.Provider != in.Provider {
		diffs = append(diffs, fmt.Sprintf("the provider is %s, not %s", in.Provider, o.Provider))
	}
	if !o.Delivery.Empty() && o.Delivery != in.Delivery {
		diffs = append(diffs, fmt.Sprintf("the delivery methods are %s, not %s", in.Delivery, o.Delivery))
	}
	if o.AllowReplace && !in.AllowReplace {
		diffs = append(diffs, "it was planned without allowing a provider to be replaced")
	}
	if len(diffs) == 0 {
		return nil
	}
	return &InputError{Field: "Options", Problem: "the migration under way was planned with other choices: " + strings.Join(diffs, "; ") +
		"; resume it with the same ones (or none), or roll it back and apply again"}
}

// poll waits one poll interval or until ctx is done.
func (m *Migrator) sleep(ctx context.Context) error {
	t := time.NewTimer(m.poll)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (r *run) deployAction(ctx context.Context) (string, error) {
	in, c := r.cp.Intent, r.m.c
	if r.cp.Created.ActionID == "" && !r.fresh() {
		// The plan chose a name no Action had; an Action with it now is
		// ours, created by a call whose answer was lost. Adopt it. (A fresh
		// run's discovery saw no Action at all: preflight refuses one.)
		existing, err := c.ListActionsByTrigger(ctx, TriggerCustomPhoneProvider)
		if err != nil {
			return "", fmt.Errorf("list actions: %w", err)
		}
		for _, a := range existing {
			if a.Name == in.ActionName && r.cp.Created.Unconfirmed.Action {
				r.cp.Created.ActionID = a.ID
				r.cp.Created.Unconfirmed.Action = false
				if err := r.save(ctx); err != nil {
					return "", err
				}
			}
		}
	}
	var created *Action
	if r.cp.Created.ActionID == "" {
		var gw map[string]any
		if in.GatewayConnectionID != "" {
			conn, err := r.connection(ctx, ConnectionRef{ID: in.GatewayConnectionID, Name: in.GatewayConnectionID})
			if err != nil {
				return "", fmt.Errorf("read gateway connection: %w", err)
			}
			gw = conn.Options
		}
		if err := r.resolveTwilio(ctx); err != nil {
			return "", err
		}
		act, err := generateAction(in, r.o, gw)
		if err != nil {
			return "", err
		}
		req := ActionRequest{Name: act.Name, Runtime: act.Runtime, Code: act.Code}
		for _, s := range act.Secrets {
			req.Secrets = append(req.Secrets, ActionSecret{Name: s.Name, Value: Secret(s.Value)})
		}
		for _, dep := range act.Dependencies {
			req.Dependencies = append(req.Dependencies, ActionDependency{Name: dep.Name, Version: dep.Version})
		}
		done, err := r.creating(ctx, func(u *Unconfirmed) { u.Action = true }, func(u *Unconfirmed) { u.Action = false })
		if err != nil {
			return "", err
		}
		a, err := c.CreateAction(ctx, req)
		if serr := done(err); serr != nil {
			return "", serr
		}
		if err != nil {
			return "", fmt.Errorf("create action: %w", err)
		}
		if a.ID == "" {
			return "", errors.New("create action: Auth0 answered without an action id")
		}
		r.cp.Created.ActionID = a.ID
		if err := r.save(ctx); err != nil {
			return "", err
		}
		created = &a
	}
	id := r.cp.Created.ActionID
	var a Action
	if created != nil && created.Status == "built" {
		a = *created
	} else {
		var err error
		if a, err = r.waitAction(ctx, id, func(a Action) bool { return a.Status == "built" }); err != nil {
			return "", err
		}
	}
	if !a.Deployed {
		// Deploying is not synchronous: Auth0 answers 200 with a version
		// whose deployed is false (recorded), so the deploy is complete
		// only once the Action reads back with a deployed version. Binding
		// an undeployed Action is refused.
		if err := c.DeployAction(ctx, id); err != nil {
			return "", fmt.Errorf("deploy action %s: %w", id, err)
		}
		if _, err := r.waitAction(ctx, id, func(a Action) bool { return a.Deployed }); err != nil {
			return "", err
		}
	}
	var bs []Binding
	if r.fresh() && r.d.actionsRead {
		bs = r.d.Bindings
	} else {
		var err error
		if bs, err = c.TriggerBindings(ctx, TriggerCustomPhoneProvider); err != nil {
			return "", fmt.Errorf("read trigger bindings: %w", err)
		}
	}
	if onlyBinding(bs, id) {
		return EventDeployAction, nil
	}
	if len(bs) > 0 && !in.AllowReplace {
		return "", &ExistingResourceError{Kind: "action", ID: bs[0].ActionID, Name: bs[0].ActionName}
	}
	if r.cp.Originals.Bindings == nil {
		ob := &OriginalBindings{Refs: []OriginalBinding{}}
		for _, b := range bs {
			if b.ActionID != id {
				ob.Refs = append(ob.Refs, OriginalBinding{ActionID: b.ActionID, DisplayName: b.DisplayName})
			}
		}
		r.cp.Originals.Bindings = ob
		if err := r.save(ctx); err != nil {
			return "", err
		}
	}
	got, err := c.SetTriggerBindings(ctx, TriggerCustomPhoneProvider, []BindingRef{{ActionID: id, DisplayName: in.ActionName}})
	if err != nil {
		return "", fmt.Errorf("bind action %s: %w", id, err)
	}
	if !onlyBinding(got, id) {
		return "", fmt.Errorf("verify trigger bindings: Auth0 answered the binding with %d binding(s), not action %s alone", len(got), id)
	}
	return EventDeployAction, nil
}

// connection returns the connection ref names: from this run's discovery
// when fresh, else read from Auth0.
func (r *run) connection(ctx context.Context, ref ConnectionRef) (Connection, error) {
	if r.fresh() {
		for _, c := range r.d.SMSConnections {
			if c.ID == ref.ID {
				c.Options = cloneOptions(c.Options)
				return c, nil
			}
		}
	}
	return r.m.c.GetConnection(ctx, ref.ID)
}

// cloneOptions copies an options map one level deep (writes replace
// top-level keys only).
func cloneOptions(o map[string]any) map[string]any {
	if o == nil {
		return nil
	}
	out := make(map[string]any, len(o))
	for k, v := range o {
		out[k] = v
	}
	return out
}

func onlyBinding(bs []Binding, id string) bool {
	return len(bs) == 1 && bs[0].ActionID == id
}

// waitAction polls the Action until ok, failing on a failed build.
func (r *run) waitAction(ctx context.Context, id string, ok func(Action) bool) (Action, error) {
	for {
		a, err := r.m.c.GetAction(ctx, id)
		if err != nil {
			return Action{}, fmt.Errorf("read action %s: %w", id, err)
		}
		if ok(a) {
			return a, nil
		}
		if a.Status == "failed" {
			return Action{}, fmt.Errorf("action %s build failed", id)
		}
		if err := r.m.sleep(ctx); err != nil {
			return Action{}, fmt.Errorf("wait for action %s (status %q): %w", id, a.Status, err)
		}
	}
}

func (r *run) configureProvider(ctx context.Context) (string, error) {
	in, c := r.cp.Intent, r.m.c
	if in.Keep {
		return r.keepProvider(ctx)
	}
	if in.Provider == ProviderKindTwilio {
		if err := r.resolveTwilio(ctx); err != nil {
			return "", err
		}
	}
	req := providerRequest(in, r.o)
	var ps []PhoneProvider
	if r.fresh() {
		if r.d.Provider != nil {
			ps = []PhoneProvider{*r.d.Provider}
		}
	} else {
		var err error
		if ps, err = c.ListPhoneProviders(ctx); err != nil {
			return "", fmt.Errorf("list phone providers: %w", err)
		}
	}
	var id string
	if len(ps) == 0 {
		done, err := r.creating(ctx, func(u *Unconfirmed) { u.Provider = true }, func(u *Unconfirmed) { u.Provider = false })
		if err != nil {
			return "", err
		}
		p, err := c.CreatePhoneProvider(ctx, req)
		if serr := done(err); serr != nil {
			return "", serr
		}
		if err != nil {
			return "", fmt.Errorf("create phone provider: %w", err)
		}
		if p.ID == "" {
			return "", errors.New("verify phone provider: Auth0 answered the create without a provider id")
		}
		id = p.ID
		r.cp.Created.ProviderID = id
		in.ProviderID = id
		if err := r.save(ctx); err != nil {
			return "", err
		}
		if !providerMatches(p, req) {
			return "", fmt.Errorf("verify phone provider %s: the configuration Auth0 answered with differs from what was written", id)
		}
		return EventConfigureProvider, nil
	}
	p := ps[0]
	id = p.ID
	if r.cp.Created.ProviderID == "" && in.ReplaceProviderID == "" && r.cp.Created.Unconfirmed.Provider && providerMatches(p, req) {
		// The plan saw no provider and a create went without an answer:
		// this one, matching what was sent, is ours. Adopt it. (After a
		// definite refusal, it is someone else's.)
		r.cp.Created.ProviderID = p.ID
		r.cp.Created.Unconfirmed.Provider = false
		if err := r.save(ctx); err != nil {
			return "", err
		}
	}
	ours := p.ID == r.cp.Created.ProviderID
	if !ours {
		if !in.AllowReplace {
			return "", &ExistingResourceError{Kind: "phone provider", ID: p.ID, Name: p.Name}
		}
		if r.cp.Originals.Provider == nil {
			r.cp.Originals.Provider = &OriginalProvider{ID: p.ID, Name: p.Name, Disabled: p.Disabled, SID: p.Configuration.SID,
				DefaultFrom: p.Configuration.DefaultFrom, MSSID: p.Configuration.MSSID, DeliveryMethods: p.Configuration.DeliveryMethods}
			if err := r.save(ctx); err != nil {
				return "", err
			}
		}
	}
	// A replaced provider is always written: its credentials are unknown.
	if !ours || !providerMatches(p, req) {
		got, err := c.UpdatePhoneProvider(ctx, id, req)
		if err != nil {
			return "", fmt.Errorf("update phone provider %s: %w", id, err)
		}
		if got.ID != id || !providerMatches(got, req) {
			return "", fmt.Errorf("verify phone provider %s: the configuration Auth0 answered with differs from what was written", id)
		}
	}
	in.ProviderID = id
	return EventConfigureProvider, nil
}

func providerMatches(p PhoneProvider, req PhoneProviderRequest) bool {
	return p.Name == req.Name && !p.Disabled && p.Configuration == req.Configuration
}

func (r *run) testProvider(ctx context.Context) (string, error) {
	if r.o.SkipTest {
		r.m.log.InfoContext(ctx, "provider test skipped (SkipTest)", "tenant", r.cp.Tenant)
		return EventTestProvider, nil
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
			began := time.Now()
			ok, err := r.o.Confirm(ctx, TestMessage{Recipient: to, Method: meth, ProviderID: id, TwilioStatus: out.Status})
			if time.Since(began) >= confirmStaleAfter {
				// A person took a while to answer, long enough for someone
				// else to change the tenant: from here on this run re-reads
				// before each write like a resumed one, so that no
				// whole-options write sends back a stale map.
				r.d = nil
			}
			if err != nil {
				return "", fmt.Errorf("confirm test message (%s) to %s: %w", meth, to, err)
			}
			if !ok {
				return "", fmt.Errorf("%w: %s message to %s", ErrTestNotConfirmed, meth, to)
			}
			r.cp.Tests[len(r.cp.Tests)-1].Confirmed = true
		}
	}
	return EventTestProvider, nil
}

// confirmStaleAfter is how long an Options.Confirm call may take before
// the run stops trusting its discovery snapshot. An automatic answer (a
// callback that accepts at once) keeps it; a person does not answer that
// fast.
var confirmStaleAfter = time.Second

func flagOn(v *bool) bool { return v != nil && *v }

func (r *run) switchTenant(ctx context.Context) (string, error) {
	var cur *bool
	if r.fresh() {
		cur = r.d.PhoneConsolidatedExperience
	} else {
		ts, err := r.m.c.TenantSettings(ctx)
		if err != nil {
			return "", fmt.Errorf("read tenant settings: %w", err)
		}
		cur = ts.PhoneConsolidatedExperience
	}
	if flagOn(cur) {
		return EventSwitchTenant, nil
	}
	if r.cp.Originals.PhoneConsolidatedExperience == nil {
		r.cp.Originals.PhoneConsolidatedExperience = &OriginalFlag{Value: cur}
		if err := r.save(ctx); err != nil {
			return "", err
		}
	}
	if err := r.m.setUPE(ctx, true); err != nil {
		return "", fmt.Errorf("switch tenant: %w", err)
	}
	return EventSwitchTenant, nil
}

// setUPE writes phone_consolidated_experience and verifies it from Auth0's
// answer to the PATCH; only when the answer does not carry the flag is the
// tenant read back.
func (m *Migrator) setUPE(ctx context.Context, want bool) error {
	ts, err := m.c.SetPhoneConsolidatedExperience(ctx, want)
	if err != nil {
		return err
	}
	if ts.PhoneConsolidatedExperience == nil {
		if ts, err = m.c.TenantSettings(ctx); err != nil {
			return fmt.Errorf("verify tenant switch: %w", err)
		}
	}
	if flagOn(ts.PhoneConsolidatedExperience) != want {
		return fmt.Errorf("verify tenant switch: phone_consolidated_experience is not %v after setting it", want)
	}
	return nil
}

// normalize round-trips v through JSON so values read from Auth0 and
// values built in Go compare equal.
func normalize(v any) any {
	data, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var out any
	if err := json.Unmarshal(data, &out); err != nil {
		return v
	}
	return out
}

func sameValue(a, b any) bool { return reflect.DeepEqual(normalize(a), normalize(b)) }

// needsProviderSwitch reports whether connection c must be written so
// that options.use_phone_provider holds value: the one rule the plan and
// the connections step use.
func needsProviderSwitch(c Connection, value any) bool {
	cur, present := c.Options[UsePhoneProviderKey]
	return !present || !sameValue(cur, value)
}

// setOption writes connection c's options with key set to value (or
// removed), c being the connection as read right before: Auth0's PATCH
// replaces options whole and has no conditional write, so the caller reads
// it immediately before to keep the window for a concurrent edit as short
// as possible. The write is verified by reading the connection back: key
// must hold value and every other key must equal c's; any other
// difference is someone else's write (or Auth0's), and the step stops
// rather than write the connection again. Errors name keys, never values
// (options hold secrets).
func (m *Migrator) setOption(ctx context.Context, c Connection, key string, present bool, value any) error {
	opts := make(map[string]any, len(c.Options)+1)
	for k, v := range c.Options {
		opts[k] = v
	}
	if present {
		opts[key] = value
	} else {
		delete(opts, key)
	}
	if _, err := m.c.ReplaceConnectionOptions(ctx, c.ID, opts); err != nil {
		return fmt.Errorf("write options of connection %q: %w", c.Name, err)
	}
	after, err := m.c.GetConnection(ctx, c.ID)
	if err != nil {
		return fmt.Errorf("verify options of connection %q: %w", c.Name, err)
	}
	got, ok := after.Options[key]
	if ok != present || (present && !sameValue(got, value)) {
		return fmt.Errorf("verify options of connection %q: %s did not take the written value", c.Name, key)
	}
	var changed []string
	keys := map[string]bool{}
	for k := range c.Options {
		keys[k] = true
	}
	for k := range after.Options {
		keys[k] = true
	}
	for k := range keys {
		if k == key {
			continue
		}
		bv, bok := c.Options[k]
		av, aok := after.Options[k]
		if bok != aok || !sameValue(bv, av) {
			changed = append(changed, k)
		}
	}
	if len(changed) > 0 {
		sort.Strings(changed)
		return fmt.Errorf("verify options of connection %q: options %s differ from what was read just before writing %s (someone else edited the connection meanwhile, or Auth0 altered them); the migration stops rather than write the connection again: check it, then run again", c.Name, strings.Join(changed, ", "), key)
	}
	return nil
}

func (r *run) switchConnections(ctx context.Context) (string, error) {
	if err := r.switchConnectionsOf(ctx, r.cp.Intent.Connections, r.cp.Intent.UsePhoneProvider); err != nil {
		return "", err
	}
	return EventSwitchConnections, nil
}

// recheck is Apply on a completed migration: it reads the tenant and checks
// the invariants again, since Terraform, deploy-cli or a person may have
// changed it since. Healthy: nothing to do (AlreadyDone). When the only
// fault is connections back on their legacy settings, it switches them
// again within the completed checkpoint (their originals are already
// recorded, so a rollback still restores them). Anything else: an
// [*UnhealthyError], nothing written.
func (m *Migrator) recheck(ctx context.Context, cp *Checkpoint, o *Options) (*Result, error) {
	done := &Result{State: cp.State, AlreadyDone: true, Plan: cp.Plan, Checkpoint: cp}
	d, err := m.discover(ctx)
	if err != nil {
		return nil, err
	}
	var in *Intent
	if d.UPE {
		in, _, err = m.converge(ctx, d, o)
	} else if h := checkDiscovery(d); h.State != "legacy" || cp.Intent != nil {
		// Completed, yet not switched: the switch was turned off since.
		h.Findings = append(h.Findings, Finding{Invariant: InvariantTenantSwitched, Broken: false,
			Problem:     "the migration completed, but the tenant is no longer switched to the Unified Phone Experience",
			Consequence: "codes go through the legacy settings again, and connections set to use the provider may not be served",
			Fix:         "switch it on again (phone_consolidated_experience true) or roll the migration back (phonemigrate rollback)",
			LikelyCause: causeTenantSwitchedOff})
		err = &UnhealthyError{Findings: h.Findings}
	}
	switch {
	case errors.Is(err, ErrAlreadyUnified):
		m.log.InfoContext(ctx, "migration already completed, and the tenant is healthy; nothing to do", "tenant", cp.Tenant)
		return done, nil
	case err != nil:
		return done, err
	case in == nil:
		return done, nil
	}
	r := &run{m: m, cp: cp, machine: newMachine(cp.State), o: o, d: d}
	m.log.InfoContext(ctx, "migration completed, but connections were switched back since; switching them again", "tenant", cp.Tenant, "connections", len(in.Connections))
	if err := r.switchConnectionsOf(ctx, in.Connections, in.UsePhoneProvider); err != nil {
		return &Result{State: cp.State, Plan: cp.Plan, Checkpoint: cp}, err
	}
	return &Result{State: cp.State, Plan: cp.Plan, Checkpoint: cp}, r.save(ctx)
}

// switchConnectionsOf sets use_phone_provider to value on each connection
// of refs that does not hold it, recording the original first.
func (r *run) switchConnectionsOf(ctx context.Context, refs []ConnectionRef, value any) error {
	for _, ref := range refs {
		// Always the latest options, never the discovery snapshot: the
		// PATCH replaces options whole, so writing an older read would
		// revert whatever someone changed since (a lost update).
		c, err := r.m.c.GetConnection(ctx, ref.ID)
		if err != nil {
			return fmt.Errorf("read connection %q: %w", ref.Name, err)
		}
		if !needsProviderSwitch(c, value) {
			continue
		}
		cur, present := c.Options[UsePhoneProviderKey]
		if findOriginalOption(r.cp.Originals.ConnectionOptions, ref.ID, UsePhoneProviderKey) == nil {
			oo := OriginalOption{ConnectionID: ref.ID, Connection: ref.Name, Key: UsePhoneProviderKey, Present: present}
			if present {
				oo.Value = normalize(cur)
			}
			r.cp.Originals.ConnectionOptions = append(r.cp.Originals.ConnectionOptions, oo)
			if err := r.save(ctx); err != nil {
				return err
			}
		}
		if err := r.m.setOption(ctx, c, UsePhoneProviderKey, true, value); err != nil {
			return err
		}
	}
	return nil
}

func findOriginalOption(os []OriginalOption, id, key string) *OriginalOption {
	for i := range os {
		if os[i].ConnectionID == id && os[i].Key == key {
			return &os[i]
		}
	}
	return nil
}

func (m *Migrator) messageTypes(ctx context.Context) (delivery.Set, error) {
	t, err := m.c.PhoneMessageTypes(ctx)
	if errors.Is(err, ErrNotFound) {
		return 0, nil
	}
	return t, err
}

func (r *run) alignMFA(ctx context.Context) (string, error) {
	in := r.cp.Intent
	if !in.MFAEnabled || in.Keep {
		return EventAlignMFA, nil
	}
	var cur delivery.Set
	var notFound bool
	if r.fresh() {
		cur, notFound = r.d.MFAMessageTypes, !r.d.MFAMessageTypesConfigured
	} else {
		var err error
		cur, err = r.m.c.PhoneMessageTypes(ctx)
		notFound = errors.Is(err, ErrNotFound)
		if err != nil && !notFound {
			return "", fmt.Errorf("read MFA message types: %w", err)
		}
	}
	if !notFound && cur == in.MFAMessageTypes {
		return EventAlignMFA, nil
	}
	if r.cp.Originals.MFAMessageTypes == nil {
		orig := cur
		r.cp.Originals.MFAMessageTypes = &orig
		r.cp.Originals.MFAMessageTypesNotFound = notFound
		if err := r.save(ctx); err != nil {
			return "", err
		}
	}
	if err := r.m.c.SetPhoneMessageTypes(ctx, in.MFAMessageTypes); err != nil {
		return "", fmt.Errorf("set MFA message types to %s: %w", in.MFAMessageTypes, err)
	}
	// Read back: the Client's SetPhoneMessageTypes returns no body.
	got, err := r.m.messageTypes(ctx)
	if err != nil {
		return "", fmt.Errorf("verify MFA message types: %w", err)
	}
	if got != in.MFAMessageTypes {
		return "", fmt.Errorf("verify MFA message types: read back %s, want %s", got, in.MFAMessageTypes)
	}
	return EventAlignMFA, nil
}

func (r *run) migrateTemplates(ctx context.Context) (string, error) {
	in, c := r.cp.Intent, r.m.c
	if len(in.Templates) == 0 {
		return EventMigrateTemplates, nil
	}
	var ts []PhoneTemplate
	if r.fresh() && !templatesToUpdate(r.d.Templates, in.Templates) {
		// Only creations: the discovery snapshot is enough (a POST of a
		// type someone customised meanwhile gets 409, it overwrites
		// nothing).
		ts = r.d.Templates
	} else {
		// A PATCH sends the template's content whole, so it starts from
		// the latest read, never the snapshot: a colleague's edit made
		// since discovery is kept.
		var err error
		if ts, err = c.ListPhoneTemplates(ctx); err != nil {
			return "", fmt.Errorf("list phone templates: %w", err)
		}
	}
	for _, ti := range in.Templates {
		ex := findTemplate(ts, ti.Type)
		if ex == nil {
			content := PhoneTemplateContent{Syntax: "liquid", From: ti.From, Text: ti.Text}
			if in.Delivery.Has(delivery.Voice) {
				content.Voice = ti.Text
			}
			typ := ti.Type
			done, err := r.creating(ctx, func(u *Unconfirmed) { u.TemplateTypes = appendOnce(u.TemplateTypes, typ) },
				func(u *Unconfirmed) { u.TemplateTypes = removeString(u.TemplateTypes, typ) })
			if err != nil {
				return "", err
			}
			t, err := c.CreatePhoneTemplate(ctx, PhoneTemplate{Type: ti.Type, Content: content})
			if serr := done(err); serr != nil {
				return "", serr
			}
			if err != nil {
				return "", fmt.Errorf("create %s template: %w", ti.Type, err)
			}
			if t.ID != "" {
				r.cp.Created.TemplateIDs = append(r.cp.Created.TemplateIDs, t.ID)
				if err := r.save(ctx); err != nil {
					return "", err
				}
			}
			if err := verifyTemplate(t, ti); err != nil {
				return "", err
			}
			continue
		}
		if !ti.Existed && !containsString(r.cp.Created.TemplateIDs, ex.ID) && containsString(r.cp.Created.Unconfirmed.TemplateTypes, ti.Type) && holdsTemplate(*ex, ti) {
			// The plan saw no template of this type and a create went
			// without an answer: this one, holding what was sent, was
			// created by it. Adopt it.
			r.cp.Created.TemplateIDs = append(r.cp.Created.TemplateIDs, ex.ID)
			r.cp.Created.Unconfirmed.TemplateTypes = removeString(r.cp.Created.Unconfirmed.TemplateTypes, ti.Type)
			if err := r.save(ctx); err != nil {
				return "", err
			}
		}
		if holdsTemplate(*ex, ti) {
			continue
		}
		if !containsString(r.cp.Created.TemplateIDs, ex.ID) && findOriginalTemplate(r.cp.Originals.Templates, ex.ID) == nil {
			r.cp.Originals.Templates = append(r.cp.Originals.Templates, OriginalTemplate{ID: ex.ID, Type: ex.Type, Disabled: ex.Disabled,
				Syntax: ex.Content.Syntax, From: ex.Content.From, Text: ex.Content.Text, Voice: ex.Content.Voice})
			if err := r.save(ctx); err != nil {
				return "", err
			}
		}
		// The template as read right before (see above), with only the
		// fields this step owns changed.
		content := ex.Content
		content.Text = ti.Text
		if ti.From != "" {
			content.From = ti.From
		}
		t, err := c.UpdatePhoneTemplate(ctx, ex.ID, content, false)
		if err != nil {
			return "", fmt.Errorf("update %s template %s: %w", ti.Type, ex.ID, err)
		}
		if err := verifyTemplate(t, ti); err != nil {
			return "", err
		}
	}
	return EventMigrateTemplates, nil
}

// templatesToUpdate reports whether any template of ts (customised) must be
// PATCHed to hold what tis describe.
func templatesToUpdate(ts []PhoneTemplate, tis []TemplateIntent) bool {
	for _, ti := range tis {
		if ex := findTemplate(ts, ti.Type); ex != nil && !holdsTemplate(*ex, ti) {
			return true
		}
	}
	return false
}

// holdsTemplate reports whether t already is the template ti describes.
// A legacy text without a sender (Guardian's) leaves the template's own
// sender as it is: Auth0 keeps a from that a PATCH leaves out.
func holdsTemplate(t PhoneTemplate, ti TemplateIntent) bool {
	return t.Type == ti.Type && t.Content.Text == ti.Text && (ti.From == "" || t.Content.From == ti.From) && !t.Disabled
}

// verifyTemplate checks Auth0's answer to a template write.
func verifyTemplate(t PhoneTemplate, ti TemplateIntent) error {
	if t.ID == "" || !holdsTemplate(t, ti) {
		return fmt.Errorf("verify phone templates: Auth0's answer shows %s does not hold the migrated text", ti.Type)
	}
	return nil
}

func appendOnce(ss []string, s string) []string {
	if containsString(ss, s) {
		return ss
	}
	return append(ss, s)
}

func removeString(ss []string, s string) []string {
	var out []string
	for _, x := range ss {
		if x != s {
			out = append(out, x)
		}
	}
	return out
}

func containsString(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func findOriginalTemplate(ts []OriginalTemplate, id string) *OriginalTemplate {
	for i := range ts {
		if ts[i].ID == id {
			return &ts[i]
		}
	}
	return nil
}
