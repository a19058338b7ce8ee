package phonemigrate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Rollback restores what the migration changed, from the checkpoint's
// recorded originals, in an order that keeps every consumer served:
//
//  1. each SMS connection's use_phone_provider back to its exact original
//     (absent, or its original value), whole options re-sent and verified;
//  2. the tenant switch back to its original value;
//  3. the MFA message types back to their original set;
//  4. the tenant phone templates: updated ones restored, created ones
//     deleted;
//  5. only then what the migration created or replaced: the phone provider
//     it created is deleted (a replaced one gets its configuration back),
//     the trigger bindings are restored and the Action it created is
//     deleted.
//
// Every step re-reads and writes only what differs, so Rollback can be run
// again after a failure. It needs a checkpoint ([ErrNoCheckpoint]
// otherwise) in state completed or failed; a migration interrupted in
// another forward state is first marked failed. A rolled-back migration
// returns AlreadyDone.
//
// Before any write it checks what changed on the tenant since the
// migration that the rollback would undo or break — a Passwordless
// connection relying on the provider that the migration did not switch,
// a template the migration wrote and someone edited since, the provider
// changed since — and refuses with a [*DriftError] naming each, the
// checkpoint untouched, unless [RollbackOptions.Force].
func (m *Migrator) Rollback(ctx context.Context, opts ...RollbackOptions) (*Result, error) {
	var ro RollbackOptions
	for _, o := range opts {
		ro.Force = ro.Force || o.Force
	}
	unlock, err := m.lock(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	cp, err := m.load(ctx)
	if err != nil {
		return nil, err
	}
	r := &run{m: m, cp: cp, machine: newMachine(cp.State), o: &Options{}}
	result := func(err error) (*Result, error) {
		return &Result{State: State(r.machine.Current()), Plan: cp.Plan, Steps: r.steps, Checkpoint: cp}, err
	}
	switch {
	case cp.State == StateRolledBack:
		return &Result{State: cp.State, AlreadyDone: true, Plan: cp.Plan, Checkpoint: cp}, nil
	case cp.State == StateAlreadyUnified:
		return nil, fmt.Errorf("phonemigrate: nothing to roll back: the tenant was already on the Unified Phone Experience")
	}
	if !ro.Force {
		if err := r.checkDrift(ctx); err != nil {
			return nil, err
		}
	}
	switch {
	case cp.State == StateRollingBack || (cp.State != StateCompleted && cp.State != StateFailed):
		// Interrupted (a crash, not a recorded failure): record it first.
		cp.LastGood = cp.State
		cp.Error = ErrInterrupted.Error()
		if err := r.transition(ctx, EventFail, time.Now(), ErrInterrupted); err != nil {
			return result(err)
		}
	}
	began := time.Now()
	if err := ctx.Err(); err != nil {
		return result(err)
	}
	if err := r.transition(ctx, EventRollback, began, nil); err != nil {
		return result(err)
	}
	began = time.Now()
	err = r.restore(ctx)
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		return result(r.fail(ctx, StateRollingBack, began, err))
	}
	return result(r.transition(ctx, EventFinishRollback, began, nil))
}

func (r *run) restore(ctx context.Context) error {
	for _, f := range []func(context.Context) error{
		r.adoptLost, r.checkCreated, r.restoreConnections, r.restoreTenant, r.restoreMFA, r.restoreTemplates, r.restoreProvider, r.restoreAction,
	} {
		if err := f(ctx); err != nil {
			return err
		}
	}
	return nil
}

// adoptLost records, before anything is restored, the resources created by a
// call whose answer was lost (a crash or timeout after the write landed, so
// the checkpoint never got their ids), by the same rules Apply uses to adopt
// them on resume: an Action with the planned name, the only phone provider
// with the planned kind when the plan saw none, a template of a type the
// plan saw none of — each only when this run sent that creation and got no
// definite answer ([Unconfirmed]). After a definite refusal (a 409 when
// another run won a race) what is there belongs to someone else, and
// rollback leaves it alone. Without this, rolling back a run whose answer
// was lost would leave its resources behind.
func (r *run) adoptLost(ctx context.Context) error {
	in, c := r.cp.Intent, r.m.c
	if in == nil {
		return nil
	}
	adopted := false
	if r.cp.Created.ActionID == "" && in.ActionName != "" && r.cp.Created.Unconfirmed.Action {
		as, err := c.ListActionsByTrigger(ctx, TriggerCustomPhoneProvider)
		if err != nil {
			return fmt.Errorf("list actions: %w", err)
		}
		for _, a := range as {
			if a.Name == in.ActionName {
				r.cp.Created.ActionID, adopted = a.ID, true
			}
		}
	}
	if r.cp.Created.ProviderID == "" && in.ReplaceProviderID == "" && r.cp.Created.Unconfirmed.Provider {
		ps, err := c.ListPhoneProviders(ctx)
		if err != nil {
			return fmt.Errorf("list phone providers: %w", err)
		}
		if len(ps) == 1 && ps[0].Name == intentProviderName(in) {
			r.cp.Created.ProviderID, adopted = ps[0].ID, true
		}
	}
	var missing []string
	for _, ti := range in.Templates {
		if !ti.Existed && slices.Contains(r.cp.Created.Unconfirmed.TemplateTypes, ti.Type) {
			missing = append(missing, ti.Type)
		}
	}
	if len(missing) > 0 {
		ts, err := c.ListPhoneTemplates(ctx)
		if err != nil {
			return fmt.Errorf("list phone templates: %w", err)
		}
		for _, t := range ts {
			if t.Customized() && slices.Contains(missing, t.Type) && !slices.Contains(r.cp.Created.TemplateIDs, t.ID) {
				r.cp.Created.TemplateIDs, adopted = append(r.cp.Created.TemplateIDs, t.ID), true
			}
		}
	}
	if adopted {
		return r.save(ctx)
	}
	return nil
}

func (r *run) restoreConnections(ctx context.Context) error {
	for _, oo := range r.cp.Originals.ConnectionOptions {
		c, err := r.m.c.GetConnection(ctx, oo.ConnectionID)
		if errors.Is(err, ErrNotFound) {
			r.m.log.WarnContext(ctx, "rollback: connection no longer exists", "connection", oo.Connection)
			continue
		}
		if err != nil {
			return fmt.Errorf("read connection %q: %w", oo.Connection, err)
		}
		cur, present := c.Options[oo.Key]
		if present == oo.Present && (!present || sameValue(cur, oo.Value)) {
			continue
		}
		if err := r.m.setOption(ctx, c, oo.Key, oo.Present, oo.Value); err != nil {
			return err
		}
		r.m.log.InfoContext(ctx, "rollback: connection restored", "connection", oo.Connection, "key", oo.Key)
	}
	return nil
}

func (r *run) restoreTenant(ctx context.Context) error {
	o := r.cp.Originals.PhoneConsolidatedExperience
	if o == nil {
		return nil
	}
	want := flagOn(o.Value)
	ts, err := r.m.c.TenantSettings(ctx)
	if err != nil {
		return fmt.Errorf("read tenant settings: %w", err)
	}
	if flagOn(ts.PhoneConsolidatedExperience) == want {
		return nil
	}
	if err := r.m.setUPE(ctx, want); err != nil {
		return fmt.Errorf("restore tenant switch: %w", err)
	}
	r.m.log.InfoContext(ctx, "rollback: tenant switch restored", "phone_consolidated_experience", want)
	return nil
}

func (r *run) restoreMFA(ctx context.Context) error {
	o := r.cp.Originals.MFAMessageTypes
	if o == nil {
		return nil
	}
	if r.cp.Originals.MFAMessageTypesNotFound {
		// Auth0 had no message types at all (404); no API call makes them
		// absent again.
		r.m.log.WarnContext(ctx, "rollback: MFA message types were not configured before the migration and are left as aligned")
		return nil
	}
	cur, err := r.m.messageTypes(ctx)
	if err != nil {
		return fmt.Errorf("read MFA message types: %w", err)
	}
	if cur == *o {
		return nil
	}
	if err := r.m.c.SetPhoneMessageTypes(ctx, *o); err != nil {
		return fmt.Errorf("restore MFA message types to %s: %w", *o, err)
	}
	r.m.log.InfoContext(ctx, "rollback: MFA message types restored", "message_types", o.String())
	return nil
}

func (r *run) restoreTemplates(ctx context.Context) error {
	c := r.m.c
	if len(r.cp.Originals.Templates) == 0 && len(r.cp.Created.TemplateIDs) == 0 {
		return nil
	}
	ts, err := c.ListPhoneTemplates(ctx)
	if err != nil {
		return fmt.Errorf("list phone templates: %w", err)
	}
	for _, ot := range r.cp.Originals.Templates {
		var cur *PhoneTemplate
		for i := range ts {
			if ts[i].ID == ot.ID {
				cur = &ts[i]
			}
		}
		if cur == nil {
			return fmt.Errorf("restore %s template: template %s no longer exists", ot.Type, ot.ID)
		}
		if cur.Content.Text == ot.Text && cur.Content.From == ot.From && cur.Disabled == ot.Disabled {
			continue
		}
		content := cur.Content
		content.From, content.Text = ot.From, ot.Text
		if _, err := c.UpdatePhoneTemplate(ctx, ot.ID, content, ot.Disabled); err != nil {
			return fmt.Errorf("restore %s template: %w", ot.Type, err)
		}
	}
	for _, id := range r.cp.Created.TemplateIDs {
		if err := c.DeletePhoneTemplate(ctx, id); err != nil && !errors.Is(err, ErrNotFound) {
			return fmt.Errorf("delete created template %s: %w", id, err)
		}
	}
	return nil
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
		if len(ps) == 1 && ps[0].ID == op.ID && ps[0].Name == req.Name && ps[0].Disabled == req.Disabled && ps[0].Configuration == req.Configuration {
			return nil
		}
		if _, err := c.UpdatePhoneProvider(ctx, op.ID, req); err != nil {
			return fmt.Errorf("restore replaced phone provider %s (credentials cannot be restored): %w", op.ID, err)
		}
	}
	return nil
}

func (r *run) restoreAction(ctx context.Context) error {
	c := r.m.c
	id := r.cp.Created.ActionID
	ob := r.cp.Originals.Bindings
	if id == "" && ob == nil {
		return nil
	}
	bs, err := c.TriggerBindings(ctx, TriggerCustomPhoneProvider)
	if err != nil {
		return fmt.Errorf("read trigger bindings: %w", err)
	}
	var want []BindingRef
	if ob != nil {
		for _, b := range ob.Refs {
			want = append(want, BindingRef{ActionID: b.ActionID, DisplayName: b.DisplayName})
		}
	} else {
		for _, b := range bs {
			if b.ActionID != id {
				want = append(want, BindingRef{ActionID: b.ActionID, DisplayName: b.DisplayName})
			}
		}
	}
	same := len(bs) == len(want)
	for i := 0; same && i < len(bs); i++ {
		same = bs[i].ActionID == want[i].ActionID
	}
	if !same {
		if want == nil {
			want = []BindingRef{}
		}
		if _, err := c.SetTriggerBindings(ctx, TriggerCustomPhoneProvider, want); err != nil {
			return fmt.Errorf("restore trigger bindings: %w", err)
		}
	}
	if id != "" {
		if err := c.DeleteAction(ctx, id, true); err != nil && !errors.Is(err, ErrNotFound) {
			return fmt.Errorf("delete created action %s: %w", id, err)
		}
		r.m.log.InfoContext(ctx, "rollback: action deleted", "action", id)
	}
	return nil
}

// NotCreatedError is returned by Rollback when the checkpoint names, as
// created by this migration, an Action, phone provider or phone template
// that is not the one the migration created (another name, trigger, kind
// or type than its recorded plan): it is left alone, since deleting it
// could remove someone else's work. The checkpoint may have been edited or
// belong to another migration.
type NotCreatedError struct {
	Kind    string // "action", "phone provider" or "phone template"
	ID      string
	Problem string // how it differs from what the migration created
}

func (e *NotCreatedError) Error() string {
	return fmt.Sprintf("the checkpoint names %s %s as created by this migration, but %s; it was left alone (check the checkpoint file)", e.Kind, e.ID, e.Problem)
}

// intentProviderName is the phone provider name the plan creates.
func intentProviderName(in *Intent) string {
	if in.Provider == ProviderKindTwilio {
		return ProviderTwilio
	}
	return ProviderCustom
}

// checkCreated checks, before anything is written, that every object the
// checkpoint records as created is the one this migration created; one
// that no longer exists is fine (its deletion is then a no-op).
func (r *run) checkCreated(ctx context.Context) error {
	cr := r.cp.Created
	if cr.ActionID != "" {
		if err := r.createdAction(ctx, cr.ActionID); err != nil {
			return err
		}
	}
	if cr.ProviderID != "" {
		if err := r.createdProvider(ctx, cr.ProviderID); err != nil {
			return err
		}
	}
	if len(cr.TemplateIDs) > 0 {
		ts, err := r.m.c.ListPhoneTemplates(ctx)
		if err != nil {
			return fmt.Errorf("list phone templates: %w", err)
		}
		for _, t := range ts {
			if slices.Contains(cr.TemplateIDs, t.ID) {
				if err := r.createdTemplate(t); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// createdAction checks that Action id, if it still exists, is the one this
// migration created: the planned name, for the custom-phone-provider
// trigger.
func (r *run) createdAction(ctx context.Context, id string) error {
	in := r.cp.Intent
	if in == nil || in.ActionName == "" {
		return &NotCreatedError{Kind: "action", ID: id, Problem: "the checkpoint records no planned Action"}
	}
	a, err := r.m.c.GetAction(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read created action %s: %w", id, err)
	}
	switch {
	case a.Name != in.ActionName:
		return &NotCreatedError{Kind: "action", ID: id, Problem: fmt.Sprintf("it is named %q, not %q", a.Name, in.ActionName)}
	case !slices.Contains(a.SupportedTriggers, TriggerCustomPhoneProvider):
		return &NotCreatedError{Kind: "action", ID: id, Problem: "it does not support the " + TriggerCustomPhoneProvider + " trigger"}
	}
	return nil
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

// createdTemplate checks that t is of a type the plan created (one the
// tenant did not have).
func (r *run) createdTemplate(t PhoneTemplate) error {
	if in := r.cp.Intent; in != nil {
		for _, ti := range in.Templates {
			if ti.Type == t.Type && !ti.Existed {
				return nil
			}
		}
	}
	return &NotCreatedError{Kind: "phone template", ID: t.ID, Problem: fmt.Sprintf("the plan created no %q template", t.Type)}
}

// RollbackOptions configure [Migrator.Rollback].
type RollbackOptions struct {
	// Force rolls back even when the tenant changed since the migration in
	// ways the rollback undoes or breaks (see [DriftError]).
	Force bool
}

// DriftError is returned by [Migrator.Rollback], before any write, when
// the tenant changed since the migration in ways the rollback would undo
// or break. Rolling back anyway needs [RollbackOptions.Force].
type DriftError struct {
	// Changes says what changed and what rolling back would do to it, one
	// sentence each.
	Changes []string
}

func (e *DriftError) Error() string {
	return "the tenant changed since the migration, and rolling back would undo or break it: " + strings.Join(e.Changes, "; ") +
		" (nothing was written; roll back with force — phonemigrate rollback --force — to do it anyway)"
}

// checkDrift compares the tenant with what the migration recorded and
// wrote, reading only.
func (r *run) checkDrift(ctx context.Context) error {
	in, c := r.cp.Intent, r.m.c
	if in == nil {
		return nil
	}
	var changes []string
	conns, err := c.ListSMSConnections(ctx)
	if err != nil {
		return fmt.Errorf("list connections: %w", err)
	}
	for _, conn := range conns {
		if usesProvider(conn) && findOriginalOption(r.cp.Originals.ConnectionOptions, conn.ID, UsePhoneProviderKey) == nil {
			changes = append(changes, fmt.Sprintf("connection %q uses the tenant-level provider but was not switched by this migration: its users would be left without codes", conn.Name))
		}
	}
	owned := map[string]bool{}
	for _, id := range r.cp.Created.TemplateIDs {
		owned[id] = true
	}
	for _, ot := range r.cp.Originals.Templates {
		owned[ot.ID] = true
	}
	if len(owned) > 0 {
		ts, err := c.ListPhoneTemplates(ctx)
		if err != nil {
			return fmt.Errorf("list phone templates: %w", err)
		}
		for _, t := range ts {
			if !owned[t.ID] {
				continue
			}
			for _, ti := range in.Templates {
				if ti.Type == t.Type && !holdsTemplate(t, ti) {
					changes = append(changes, fmt.Sprintf("the %s template %s was edited after the migration: rolling back would throw the edit away", t.Type, t.ID))
				}
			}
		}
	}
	if id := in.ProviderID; id != "" && (id == r.cp.Created.ProviderID || r.cp.Originals.Provider != nil) {
		ps, err := c.ListPhoneProviders(ctx)
		if err != nil {
			return fmt.Errorf("list phone providers: %w", err)
		}
		want := providerRequest(in, &Options{})
		for _, p := range ps {
			// Another kind is not the provider this migration wrote: that is
			// checkCreated's NotCreatedError, not drift.
			if p.ID == id && p.Name == want.Name && !providerMatches(p, want) {
				changes = append(changes, fmt.Sprintf("the %s phone provider %s was changed after the migration: rolling back would undo the change", p.Name, p.ID))
			}
		}
	}
	if len(changes) > 0 {
		return &DriftError{Changes: changes}
	}
	return nil
}
