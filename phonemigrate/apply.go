package phonemigrate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/unifiedphone/unifiedphone/delivery"
	"github.com/unifiedphone/unifiedphone/phonemigrate/redact"

	"github.com/looplab/fsm"
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
	// run drops d after the provider test (a wait).
	d     *Discovery
	steps []Transition
	// remigrating is set when a completed migration runs again on a
	// tenant put back on its legacy settings (remigrate): what it wrote
	// then may have been reset since, and is written again.
	remigrating bool
	// twilioReady is set once o.TwilioAuthToken holds the token the plan
	// chose and Twilio accepted it (see resolveTwilio).
	twilioReady bool
	// ownedChecked is set once checkOwned found every object the
	// checkpoint records as created to be this migration's.
	ownedChecked bool
}

// fresh reports whether this run discovered the tenant itself (see d).
func (r *run) fresh() bool { return r.d != nil }

func (m *Migrator) newCheckpoint() *Checkpoint {
	return &Checkpoint{Version: checkpointVersion, Tenant: m.tenant, State: StateNew}
}

// load reads the checkpoint and checks it belongs to this tenant.
func (m *Migrator) load(ctx context.Context) (*Checkpoint, error) {
	cp, err := m.store.Load(ctx)
	if err != nil {
		return nil, err
	}
	if m.tenant != "" && cp.Tenant != "" && cp.Tenant != m.tenant {
		path := ""
		if fs, ok := m.store.(interface{ Path() string }); ok {
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
// A run that starts by discovering (or from the reads of
// [Options.Planned]) reads each thing once: until the provider test — a
// wait, after which it re-reads like a resumed run and takes the template
// texts again from where the plan found them — its steps write from what
// discovery read, and verify each write from Auth0's answer to it; each
// connection, whose options are written whole, is read right before its
// write. A run that resumes from a later state re-reads what each step
// depends on before it writes, and recognises resources created by calls
// whose answers were lost.
//
// On a completed migration Apply writes nothing and returns a Result with
// AlreadyDone set. On a tenant already on the
// Unified Phone Experience it returns the state already_unified and
// [ErrAlreadyUnified]. Options are validated (before any write) unless the
// migration is already completed.
//
// The result is non-nil whenever the run got past the store lock and
// read the checkpoint, also when an error is returned. A rollback that
// did not finish is a [*MigrationUnderwayError]: only Rollback goes on.
//
// With [Options.Canary] it watches delivery before completing, and fails
// with a [*CanaryBreachError] (rolling back when Canary.AutoRollback) when
// a path breaks.
func (m *Migrator) Apply(ctx context.Context, o Options) (*Result, error) {
	// The Twilio connections this run opened are not kept: a fleet runs
	// thousands of Migrators, each with its own Twilio client.
	defer m.twilioHTTP.CloseIdleConnections()
	res, _, err := m.session(ctx, &Session{Options: o})
	return m.afterCanary(ctx, o, res, err)
}

// applyFrom runs the migration from checkpoint cp (read under the store
// lock, which the caller holds): it checks a completed one again, refuses
// while a rollback is under way, resumes one stopped part-way, and starts
// any other afresh.
func (m *Migrator) applyFrom(ctx context.Context, cp *Checkpoint, o Options) (*Result, error) {
	start := cp.State
	next := cp.Next()
	if next == NextNone {
		o.AcceptedDifferences = addAccepted(cp.Accepted, o.AcceptedDifferences)
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
		return nil, &MigrationUnderwayError{State: cp.State, Next: NextRollback}
	case NextApply:
		start = cp.ResumePoint()
		if err := sameChoices(cp.Intent, &o); err != nil {
			return nil, err
		}
	}
	if cp.Intent != nil && m.steps.stateOrder(start) <= m.steps.stateOrder(statePlanned) && cp.Intent.Twilio != nil && o.TwilioAuthToken == "" &&
		(cp.Intent.TwilioTokenSource == "" || cp.Intent.TwilioTokenSource == tokenSourceOptions) {
		return nil, ErrTwilioTokenRequired
	}
	cp.Accepted = addAccepted(cp.Accepted, o.AcceptedDifferences)
	r := &run{m: m, cp: cp, machine: m.steps.newMachine(start), o: &o}
	if start == StateNew {
		r.d = m.plannedDiscovery(&o)
	}
	if start != cp.State {
		m.log.InfoContext(ctx, "resuming migration", "tenant", cp.Tenant, "from", start)
	}
	err := r.forward(ctx)
	res := &Result{State: State(r.machine.Current()), Plan: r.cp.Plan, Steps: r.steps, Checkpoint: r.cp}
	if err == nil && res.State == StateAlreadyUnified {
		err = ErrAlreadyUnified
	}
	return res, err
}

// addAccepted returns have with each finding of more it does not hold.
func addAccepted(have, more []Finding) []Finding {
	out := slices.Clone(have)
	for _, f := range more {
		if !slices.ContainsFunc(out, f.sameAs) {
			out = append(out, f)
		}
	}
	return out
}

// stepFunc performs the Auth0 calls that lead out of a state; it returns
// the event to fire.
type stepFunc func(ctx context.Context) (event, error)

func (r *run) forward(ctx context.Context) error {
	for {
		cur := State(r.machine.Current())
		st := r.m.steps.nextStep(cur, r.cp.Intent)
		if st == nil {
			return nil // completed or already_unified
		}
		if cur != StateNew && cur != stateDiscovered && r.cp.Intent == nil {
			return r.fail(ctx, cur, time.Now(), &CheckpointError{Problem: fmt.Sprintf("state %s without a recorded plan", cur)})
		}
		began := time.Now()
		event, err := st.apply(r, ctx)
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
func (r *run) transition(ctx context.Context, event event, began time.Time, stepErr error) error {
	from := State(r.machine.Current())
	if err := r.machine.Event(context.WithoutCancel(ctx), string(event)); err != nil {
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
	err = redact.Error(fmt.Errorf("phonemigrate: %s: %w", r.m.steps.stepName(cur), err), r.secrets()...)
	r.cp.LastGood = cur
	r.cp.Error = err.Error()
	if terr := r.transition(ctx, eventFail, began, err); terr != nil {
		return errors.Join(err, terr)
	}
	return err
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

// The first two steps: discover the tenant, then plan.

func init() {
	register(discoverStep())
	register(planStep())
}

func discoverStep() *step {
	return &step{order: 10, event: eventDiscover, to: stateDiscovered, does: "discover",
		apply: (*run).discover}
}

func planStep() *step {
	return &step{order: 20, event: eventPlan, to: statePlanned, does: "plan",
		apply: (*run).planMigration}
}

func (r *run) discover(ctx context.Context) (event, error) {
	if r.d != nil {
		return eventDiscover, nil // the reads of Options.Planned
	}
	d, err := r.m.discover(ctx)
	if err != nil {
		return "", err
	}
	r.d = d
	return eventDiscover, nil
}

func (r *run) planMigration(ctx context.Context) (event, error) {
	if r.d == nil {
		d, err := r.m.discover(ctx)
		if err != nil {
			return "", err
		}
		r.d = d
	}
	p, in, err := r.m.plan(ctx, r.d, r.o)
	if errors.Is(err, ErrAlreadyUnified) {
		return eventAlreadyUnified, nil
	}
	if err != nil {
		return "", err
	}
	// Check the Twilio credentials now, before the plan is recorded: the
	// first write that sends them follows at once.
	if err := r.resolveTwilioFor(ctx, in); err != nil {
		return "", err
	}
	// A copied send-phone-message Action needs every secret value, and a
	// proof without differences (or their acceptance), before any write.
	registerActionSecrets(r.m.secrets, in, r.o)
	if err := checkActionSecrets(in, r.o); err != nil {
		return "", err
	}
	if err := proofRefusal(in, p.Proof, r.o); err != nil {
		return "", err
	}
	r.cp.Plan, r.cp.Intent = p, in
	return eventPlan, nil
}

// creating records, before a create request is sent, that its outcome is
// unknown (mark sets the Unconfirmed entry), and returns done, to call
// with the request's error: a definite answer — success, or a 4xx
// refusal — clears the entry (clear), an unknown outcome keeps it, so
// that only then may a later run adopt what it finds.
func (r *run) creating(ctx context.Context, mark, clear func(*unconfirmedCreates)) (done func(error) error, err error) {
	mark(&r.cp.Created.Unconfirmed)
	if r.cp.Created.Unconfirmed.Since.IsZero() {
		r.cp.Created.Unconfirmed.Since = r.m.now().UTC()
	}
	if err := r.save(ctx); err != nil {
		return nil, err
	}
	return func(err error) error {
		if err != nil && !definiteRefusal(err) {
			return nil
		}
		clear(&r.cp.Created.Unconfirmed)
		if u := &r.cp.Created.Unconfirmed; !u.Action && !u.Provider && len(u.TemplateTypes) == 0 {
			u.Since = time.Time{}
		}
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
func sameChoices(in *migrationIntent, o *Options) error {
	if in == nil {
		return nil
	}
	var diffs []string
	if o.Provider != "" && o.Provider != providerAuto && o.Provider != in.Provider {
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

// firstPoll is the wait before the second read of something Auth0
// finishes later (an Action's build or deploy, a test message's Twilio
// status): on the fake, and often on Auth0, it is done by then. Each
// further wait doubles, up to the Migrator's poll interval.
const firstPoll = 100 * time.Millisecond

// pollWait is the wait after the n-th read (n from 0) of a poll: firstPoll
// doubled n times, at most m.poll.
func (m *Migrator) pollWait(n int) time.Duration {
	d := firstPoll
	for i := 0; i < n && d < m.poll; i++ {
		d *= 2
	}
	return min(d, m.poll)
}

// sleep waits pollWait(n) or until ctx is done.
func (m *Migrator) sleep(ctx context.Context, n int) error {
	t := time.NewTimer(m.pollWait(n))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// confirmStaleAfter is how long may pass between reads and a write made
// from them before they are stale: a person answering a question
// (Repair's confirmation) or the time between Plan and Apply
// (Options.Planned). An automatic answer (a callback that accepts at once)
// is faster; a person is not. Each Migrator holds it (staleAfter), which
// its package's tests set to zero to make every answer a person's.
const confirmStaleAfter = time.Second

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
	var in *migrationIntent
	if d.UPE {
		in, _, err = m.converge(ctx, d, o)
		var ue *UnhealthyError
		if errors.As(err, &ue) && cp.Intent != nil && !cp.Intent.Keep && remigratable(d) &&
			(!d.MFAEnabled || cp.Intent.TwilioTokenSource != tokenSourceGuardian) && (&Health{Findings: ue.Findings}).Broken() {
			// What the migration set up is gone (the provider or the
			// Action deleted, say), and it can be set up again from the
			// connections' legacy settings: migrate again within the
			// same checkpoint.
			return m.remigrate(ctx, cp, o)
		}
	} else if cp.Intent != nil && !cp.Intent.Keep && remigratable(d) {
		// Legacy again (an IaC import from before the migration, say):
		// migrate it again within the same checkpoint.
		return m.remigrate(ctx, cp, o)
	} else if h := m.steps.check(d); h.State != "legacy" || cp.Intent != nil {
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
	r := &run{m: m, cp: cp, machine: m.steps.newMachine(cp.State), o: o, d: d}
	if len(in.Connections) > 0 {
		m.log.InfoContext(ctx, "migration completed, but connections were switched back since; switching them again", "tenant", cp.Tenant, "connections", len(in.Connections))
		if err := r.switchConnectionsOf(ctx, in.Connections, in.UsePhoneProvider); err != nil {
			return &Result{State: cp.State, Plan: cp.Plan, Checkpoint: cp}, err
		}
	}
	if len(in.Templates) > 0 {
		m.log.InfoContext(ctx, "migration completed, but the Passwordless words changed since; writing the legacy text to the template again", "tenant", cp.Tenant)
		if err := r.convergeTemplates(ctx, in.Templates, in.Delivery.Has(delivery.Voice)); err != nil {
			return &Result{State: cp.State, Plan: cp.Plan, Checkpoint: cp}, err
		}
	}
	return &Result{State: cp.State, Plan: cp.Plan, Checkpoint: cp}, r.save(ctx)
}

// remigratable reports whether a tenant whose migration completed but
// which is not switched any more can be migrated again from what it
// holds: every Passwordless connection still has its legacy settings.
func remigratable(d *Discovery) bool {
	for i := range d.SMSConnections {
		if connectionPath(&d.SMSConnections[i]) == nil {
			return false
		}
	}
	return true
}

// remigrate runs the migration's steps again, from planned, within the
// completed checkpoint cp: each step re-reads what it depends on and
// writes only what differs from the recorded intent (the provider and
// Action are taken over or recreated, connections switched, templates
// written, the tenant switched). The originals recorded by the first run
// stay, so a rollback still restores the tenant as it was before it.
func (m *Migrator) remigrate(ctx context.Context, cp *Checkpoint, o *Options) (*Result, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	m.log.InfoContext(ctx, "migration completed, but the tenant is on its legacy phone settings again; migrating it again within the same checkpoint", "tenant", cp.Tenant)
	// What the first run created and someone deleted since is created
	// again (and recorded anew); a rollback then deletes the new one.
	if cp.Created.ActionID != "" {
		as, err := m.c.ListActionsByTrigger(ctx, TriggerCustomPhoneProvider)
		if err != nil {
			return nil, fmt.Errorf("phonemigrate: read custom-phone-provider actions: %w", err)
		}
		if !slices.ContainsFunc(as, func(a Action) bool { return a.ID == cp.Created.ActionID }) {
			cp.Created.ActionID, cp.Created.ActionCodeSHA256 = "", ""
		}
	}
	if cp.Created.ProviderID != "" {
		ps, err := m.c.ListPhoneProviders(ctx)
		if err != nil {
			return nil, fmt.Errorf("phonemigrate: read phone providers: %w", err)
		}
		if !slices.ContainsFunc(ps, func(p PhoneProvider) bool { return p.ID == cp.Created.ProviderID }) {
			cp.Created.ProviderID = ""
			if cp.Intent != nil {
				cp.Intent.ProviderID = ""
			}
		}
	}
	r := &run{m: m, cp: cp, machine: m.steps.newMachine(statePlanned), o: o, remigrating: true}
	err := r.forward(ctx)
	return &Result{State: State(r.machine.Current()), Plan: cp.Plan, Steps: r.steps, Checkpoint: cp}, err
}

// convergeTemplates writes tis (the Passwordless legacy text) within a
// completed checkpoint, from a read made right before: a template the
// migration created is rewritten (rollback still deletes it), any other
// one has its original recorded first (rollback restores it).
// With voice, a template's voice text is the legacy text too, as the
// templates step writes it.
func (r *run) convergeTemplates(ctx context.Context, tis []templateIntent, voice bool) error {
	c := r.m.c
	ts, err := c.ListPhoneTemplates(ctx)
	if err != nil {
		return fmt.Errorf("list phone templates: %w", err)
	}
	for _, ti := range tis {
		ex, write := needsTemplateWrite(ts, ti)
		if !write {
			continue
		}
		if ex == nil {
			content := PhoneTemplateContent{Syntax: "liquid", From: ti.From, Text: ti.Text}
			if voice {
				content.Voice = ti.Text
			}
			t, err := c.CreatePhoneTemplate(ctx, PhoneTemplate{Type: ti.Type, Content: content})
			if err != nil {
				return fmt.Errorf("create %s template: %w", ti.Type, err)
			}
			r.cp.Created.TemplateIDs = append(r.cp.Created.TemplateIDs, t.ID)
			if err := verifyTemplate(t, ti); err != nil {
				return err
			}
			r.recordTemplate(ti)
			continue
		}
		if !slices.Contains(r.cp.Created.TemplateIDs, ex.ID) && findOriginalTemplate(r.cp.Originals.Templates, ex.ID) == nil {
			r.cp.Originals.Templates = append(r.cp.Originals.Templates, originalTemplate{ID: ex.ID, Type: ex.Type, Disabled: ex.Disabled,
				Syntax: ex.Content.Syntax, From: ex.Content.From, Text: ex.Content.Text, Voice: ex.Content.Voice})
			if err := r.save(ctx); err != nil {
				return err
			}
		}
		content := ex.Content
		content.Text = ti.Text
		if voice && slices.Contains(r.cp.Created.TemplateIDs, ex.ID) {
			// A template the migration created reads the legacy text
			// in voice too, as created (rollback deletes it); another
			// one keeps its voice text, which rollback cannot restore.
			content.Voice = ti.Text
		}
		if ti.From != "" {
			content.From = ti.From
		}
		t, err := c.UpdatePhoneTemplate(ctx, ex.ID, content, false)
		if err != nil {
			return fmt.Errorf("update %s template %s: %w", ti.Type, ex.ID, err)
		}
		if err := verifyTemplate(t, ti); err != nil {
			return err
		}
		ti.Existed = !slices.Contains(r.cp.Created.TemplateIDs, ex.ID)
		r.recordTemplate(ti)
	}
	return nil
}

// recordTemplate makes ti the checkpoint's record of what the migration
// wrote to its type's template, so that rollback's drift check takes this
// tool's own rewrite for the migration's, not for someone's edit.
func (r *run) recordTemplate(ti templateIntent) {
	in := r.cp.Intent
	if in == nil {
		return
	}
	for i := range in.Templates {
		if in.Templates[i].Type == ti.Type {
			in.Templates[i].Text, in.Templates[i].From, in.Templates[i].Source = ti.Text, ti.From, ti.Source
			return
		}
	}
	in.Templates = append(in.Templates, ti)
}

func appendOnce(ss []string, s string) []string {
	if slices.Contains(ss, s) {
		return ss
	}
	return append(ss, s)
}

func removeString(ss []string, s string) []string {
	return slices.DeleteFunc(slices.Clone(ss), func(x string) bool { return x == s })
}
