package phonemigrate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/unifiedphone/unifiedphone/phonemigrate/redact"
)

// The Action step (custom provider): create, build, deploy and bind the
// custom-phone-provider Action.

// The states this step reaches and the events that lead there (see
// [State] and [event]).
const (
	stateActionDeployed State = "action_deployed"
	eventDeployAction   event = "deploy_action"
)

func init() { register(actionStep()) }

func actionStep() *step {
	return &step{order: 30, event: eventDeployAction, to: stateActionDeployed, does: "deploy action",
		doc: actionDoc,
		// Only a custom provider that this run sets up needs an Action.
		skip:        func(in *migrationIntent) bool { return in == nil || in.Provider != ProviderKindCustom || in.Keep },
		establishes: []*invariant{customActionBound},
		plan:        planActionStep,
		apply:       (*run).deployAction,
		undo: &undo{title: "Restore the custom-phone-provider trigger bindings and delete the Action the migration created",
			adopt: (*run).adoptAction, owned: (*run).ownedAction, drift: (*run).actionDrift, restore: (*run).restoreAction},
	}
}

// customActionBound is the invariant the Action step establishes: an
// enabled custom provider has a deployed custom-phone-provider Action
// bound to its trigger.
var customActionBound = &invariant{name: InvariantCustomActionBound, findings: func(t *checkedTenant) []Finding {
	p := t.d.Provider
	if !t.d.UPE || p == nil || p.Disabled || p.Name != ProviderCustom || actionBound(t.d) {
		return nil
	}
	return []Finding{{Invariant: InvariantCustomActionBound, Broken: t.users != "",
		Problem:     "the custom phone provider has no deployed custom-phone-provider Action bound to its trigger",
		Consequence: nonEmpty(t.users, "no one") + " get no code",
		Fix:         "deploy and bind a custom-phone-provider Action, or run phonemigrate apply"}}
}}

// actionBound reports whether a deployed custom-phone-provider Action is
// bound to the trigger.
func actionBound(d *Discovery) bool {
	for _, b := range d.Bindings {
		for _, a := range d.Actions {
			if a.ID == b.ActionID && a.Deployed {
				return true
			}
		}
	}
	return false
}

// actionWrites is the Action step's rule, for plan and apply: which of
// its writes are needed, given the Action this migration created (nil:
// none yet) and the trigger's bindings. A new Action is created, deployed
// and bound; the created one is deployed unless a version is, and bound
// unless it is the trigger's only binding.
type actionWrites struct{ create, deploy, bind bool }

func needsActionWrites(a *Action, bs []Binding) actionWrites {
	if a == nil {
		return actionWrites{create: true, deploy: true, bind: true}
	}
	return actionWrites{deploy: !a.Deployed, bind: !onlyBinding(bs, a.ID)}
}

// planActionStep shows the Action this run creates, builds, deploys and
// binds (the step is skipped unless the intent sets one up; a plan never
// has one created yet).
func planActionStep(pc *planContext) Step {
	in, act := pc.in, pc.act
	need := needsActionWrites(nil, pc.d.Bindings)
	st := Step{Title: "Create, build, deploy and bind the custom-phone-provider Action (" + routingTitle(in) + ")"}
	if need.create {
		secrets := map[string]string{}
		for _, s := range act.Secrets {
			secrets[s.Name] = redact.Mark
		}
		after := map[string]any{
			"name":               act.Name,
			"runtime":            act.Runtime,
			"supported_triggers": []map[string]string{{"id": TriggerCustomPhoneProvider, "version": TriggerVersion}},
			"secrets":            secrets,
		}
		if len(act.Dependencies) > 0 {
			deps := []map[string]string{}
			for _, d := range act.Dependencies {
				deps = append(deps, map[string]string{"name": d.Name, "version": d.Version})
			}
			after["dependencies"] = deps
		}
		st.Writes = append(st.Writes, plannedWrite{Method: "POST", Path: "/actions/actions", After: after, Note: actionNote(in)})
	}
	if need.deploy {
		st.Writes = append(st.Writes, plannedWrite{Method: "POST", Path: "/actions/actions/" + newActionID + "/deploy"})
	}
	if need.bind {
		var before any
		if len(pc.d.Bindings) > 0 {
			before = bindingsView(pc.d.Bindings)
		}
		st.Writes = append(st.Writes, plannedWrite{Method: "PATCH", Path: "/actions/triggers/" + TriggerCustomPhoneProvider + "/bindings", Before: before,
			After: []map[string]any{{"ref": map[string]string{"type": "action_id", "value": newActionID}, "display_name": act.Name}}})
	}
	return st
}

// deployAction is the Action step: create the custom-phone-provider
// Action (or adopt the one a lost answer created), wait for its build,
// deploy it and bind it to the trigger, each only when needed.
func (r *run) deployAction(ctx context.Context) (event, error) {
	if r.cp.Created.ActionID == "" && !r.fresh() {
		if err := r.adoptLostAction(ctx); err != nil {
			return "", err
		}
	}
	var created *Action
	if r.cp.Created.ActionID == "" {
		var err error
		if created, err = r.createAction(ctx); err != nil {
			return "", err
		}
	}
	a, err := r.deployed(ctx, created)
	if err != nil {
		return "", err
	}
	if err := r.bindAction(ctx, &a); err != nil {
		return "", err
	}
	return eventDeployAction, nil
}

// adoptLostAction records as ours an Action of the planned name that a
// create whose answer was lost made: the plan chose a name no Action had.
// (A fresh run's discovery saw no Action at all: preflight refuses one.)
func (r *run) adoptLostAction(ctx context.Context) error {
	existing, err := r.m.c.ListActionsByTrigger(ctx, TriggerCustomPhoneProvider)
	if err != nil {
		return fmt.Errorf("list actions: %w", err)
	}
	created := &r.cp.Created
	for _, a := range existing {
		if a.Name == r.cp.Intent.ActionName && created.Unconfirmed.Action && created.Unconfirmed.Adoptable(a.CreatedAt) {
			created.ActionID, created.ActionCodeSHA256 = a.ID, codeHash(a.Code)
			created.Unconfirmed.Action = false
			if err := r.save(ctx); err != nil {
				return err
			}
		}
	}
	return nil
}

// createAction generates the Action from the legacy settings (the
// gateway connection, Twilio, the send-phone-message Action) and creates
// it, recording it in the checkpoint; it returns Auth0's answer.
func (r *run) createAction(ctx context.Context) (*Action, error) {
	req, err := r.actionRequest(ctx)
	if err != nil {
		return nil, err
	}
	done, err := r.creating(ctx, func(u *unconfirmedCreates) { u.Action = true }, func(u *unconfirmedCreates) { u.Action = false })
	if err != nil {
		return nil, err
	}
	a, err := r.m.c.CreateAction(ctx, req)
	if serr := done(err); serr != nil {
		return nil, serr
	}
	if err != nil {
		return nil, fmt.Errorf("create action: %w", err)
	}
	if a.ID == "" {
		return nil, errors.New("create action: Auth0 answered without an action id")
	}
	r.cp.Created.ActionID, r.cp.Created.ActionCodeSHA256 = a.ID, codeHash(req.Code)
	if err := r.save(ctx); err != nil {
		return nil, err
	}
	return &a, nil
}

// actionRequest generates the Action the intent calls for, with its
// secrets' values and dependencies.
func (r *run) actionRequest(ctx context.Context) (ActionRequest, error) {
	in := r.cp.Intent
	var gw map[string]any
	if in.GatewayConnectionID != "" {
		conn, err := r.connection(ctx, connectionRef{ID: in.GatewayConnectionID, Name: in.GatewayConnectionID})
		if err != nil {
			return ActionRequest{}, fmt.Errorf("read gateway connection: %w", err)
		}
		gw = conn.Options
	}
	if err := r.resolveTwilio(ctx); err != nil {
		return ActionRequest{}, err
	}
	var hook *Action
	if in.Hook != nil {
		var err error
		if hook, err = r.hookAction(ctx); err != nil {
			return ActionRequest{}, err
		}
	}
	registerActionSecrets(r.m.secrets, in, r.o)
	act, err := generateAction(in, r.o, gw, hook, true)
	if err != nil {
		return ActionRequest{}, err
	}
	req := ActionRequest{Name: act.Name, Runtime: act.Runtime, Code: act.Code}
	for _, s := range act.Secrets {
		req.Secrets = append(req.Secrets, ActionSecret{Name: s.Name, Value: Secret(s.Value)})
	}
	for _, dep := range act.Dependencies {
		req.Dependencies = append(req.Dependencies, ActionDependency{Name: dep.Name, Version: dep.Version})
	}
	return req, nil
}

// deployed waits for the Action's build (created is the create's answer,
// nil when the Action existed already), deploys it when needed and
// returns it as built.
func (r *run) deployed(ctx context.Context, created *Action) (Action, error) {
	id := r.cp.Created.ActionID
	var a Action
	if created != nil && created.Status == "built" {
		a = *created
	} else {
		var err error
		if a, err = r.waitAction(ctx, id, func(a Action) bool { return a.Status == "built" }); err != nil {
			return Action{}, err
		}
	}
	if !needsActionWrites(&a, nil).deploy {
		return a, nil
	}
	// Deploying is not synchronous: Auth0 answers 200 with a version
	// whose deployed is false (recorded), so the deploy is complete only
	// once the Action reads back with a deployed version. Binding an
	// undeployed Action is refused.
	if err := r.m.c.DeployAction(ctx, id); err != nil {
		return Action{}, fmt.Errorf("deploy action %s: %w", id, err)
	}
	if _, err := r.waitAction(ctx, id, func(a Action) bool { return a.Deployed }); err != nil {
		return Action{}, err
	}
	return a, nil
}

// bindAction binds Action a alone to the trigger unless it is already,
// recording the bindings it replaces first (an existing binding of
// another Action needs AllowReplace), and verifies Auth0's answer.
func (r *run) bindAction(ctx context.Context, a *Action) error {
	in, c, id := r.cp.Intent, r.m.c, r.cp.Created.ActionID
	var bs []Binding
	if r.fresh() && r.d.actionsRead {
		bs = r.d.Bindings
	} else {
		var err error
		if bs, err = c.TriggerBindings(ctx, TriggerCustomPhoneProvider); err != nil {
			return fmt.Errorf("read trigger bindings: %w", err)
		}
	}
	if !needsActionWrites(a, bs).bind {
		return nil
	}
	if len(bs) > 0 && !in.AllowReplace {
		return &ExistingResourceError{Kind: "action", ID: bs[0].ActionID, Name: bs[0].ActionName}
	}
	if r.cp.Originals.Bindings == nil {
		ob := &originalBindings{Refs: []originalBinding{}}
		for _, b := range bs {
			if b.ActionID != id {
				ob.Refs = append(ob.Refs, originalBinding{ActionID: b.ActionID, DisplayName: b.DisplayName})
			}
		}
		r.cp.Originals.Bindings = ob
		if err := r.save(ctx); err != nil {
			return err
		}
	}
	got, err := c.SetTriggerBindings(ctx, TriggerCustomPhoneProvider, []BindingRef{{ActionID: id, DisplayName: in.ActionName}})
	if err != nil {
		return fmt.Errorf("bind action %s: %w", id, err)
	}
	if !onlyBinding(got, id) {
		return fmt.Errorf("verify trigger bindings: Auth0 answered the binding with %d binding(s), not action %s alone", len(got), id)
	}
	return nil
}

// connection returns the connection ref names: from this run's discovery
// when fresh, else read from Auth0.
func (r *run) connection(ctx context.Context, ref connectionRef) (Connection, error) {
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

// waitAction polls the Action until ok, failing on a failed build; the
// waits start short and back off (see pollWait).
func (r *run) waitAction(ctx context.Context, id string, ok func(Action) bool) (Action, error) {
	for n := 0; ; n++ {
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
		if err := r.m.sleep(ctx, n); err != nil {
			return Action{}, fmt.Errorf("wait for action %s (status %q): %w", id, a.Status, err)
		}
	}
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

func actionNote(in *migrationIntent) string {
	note := "code generated by actiongen; secret values travel only as Action secrets"
	if h := in.Hook; h != nil {
		note += fmt.Sprintf("; MFA messages go to a copy of the send-phone-message Action %q (%s), its code unchanged, behind the adapter that builds the legacy event", h.ActionName, h.ActionID)
	}
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

func routingTitle(in *migrationIntent) string {
	name := func(k string) string {
		if k == targetTwilio {
			return "Twilio"
		}
		if k == targetHook {
			return "the copied send-phone-message Action " + quote(in.Hook.ActionName)
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

// adoptAction records the Action a create whose answer was lost made: the
// one with the planned name that appeared after the attempt
// ([unconfirmedCreates.Adoptable]), when this run sent that creation and got no
// definite answer. After a definite refusal what is there
// is someone else's, and it is left alone.
func (r *run) adoptAction(ctx context.Context) (bool, error) {
	in := r.cp.Intent
	if r.cp.Created.ActionID != "" || in.ActionName == "" || !r.cp.Created.Unconfirmed.Action {
		return false, nil
	}
	as, err := r.m.c.ListActionsByTrigger(ctx, TriggerCustomPhoneProvider)
	if err != nil {
		return false, fmt.Errorf("list actions: %w", err)
	}
	for _, a := range as {
		if a.Name == in.ActionName && r.cp.Created.Unconfirmed.Adoptable(a.CreatedAt) {
			r.cp.Created.ActionID, r.cp.Created.ActionCodeSHA256 = a.ID, codeHash(a.Code)
			return true, nil
		}
	}
	return false, nil
}

// ownedAction checks the Action the checkpoint records as created.
func (r *run) ownedAction(ctx context.Context) error {
	if id := r.cp.Created.ActionID; id != "" {
		return r.createdAction(ctx, id)
	}
	return nil
}

// actionDrift reports the Action this migration created edited since
// (its code no longer the code sent: deleting it would throw the edit
// away), and the trigger bindings changed since it bound its Action alone
// (restoring the bindings from before would unbind whatever someone bound
// since).
func (r *run) actionDrift(ctx context.Context) ([]string, error) {
	id := r.cp.Created.ActionID
	if id == "" {
		return nil, nil
	}
	var changes []string
	if sum := r.cp.Created.ActionCodeSHA256; sum != "" {
		a, err := r.m.c.GetAction(ctx, id)
		switch {
		case errors.Is(err, ErrNotFound):
		case err != nil:
			return nil, fmt.Errorf("read created action %s: %w", id, err)
		case codeHash(a.Code) != sum:
			changes = append(changes, fmt.Sprintf("the Action %q (%s) was edited after the migration: rolling back would delete it, edit and all", a.Name, id))
		}
	}
	if r.cp.Originals.Bindings == nil {
		return changes, nil
	}
	bs, err := r.m.c.TriggerBindings(ctx, TriggerCustomPhoneProvider)
	if err != nil {
		return nil, fmt.Errorf("read trigger bindings: %w", err)
	}
	var others []string
	for _, b := range bs {
		if b.ActionID != id && !slices.ContainsFunc(r.cp.Originals.Bindings.Refs, func(o originalBinding) bool { return o.ActionID == b.ActionID }) {
			others = append(others, fmt.Sprintf("%q (%s)", nonEmpty(b.ActionName, b.DisplayName), b.ActionID))
		}
	}
	if len(others) > 0 {
		changes = append(changes, fmt.Sprintf("the %s trigger binds action(s) %s since the migration: rolling back would unbind them", TriggerCustomPhoneProvider, strings.Join(others, ", ")))
	}
	return changes, nil
}

// codeHash is the SHA-256 (hex) of an Action's code.
func codeHash(code string) string {
	sum := sha256.Sum256([]byte(code))
	return hex.EncodeToString(sum[:])
}

// actionDoc is the step as docs/how-it-works.md lists it (Markdown;
// TestStepProse -update writes it there).
const actionDoc = "**Action** (custom provider only): `POST /actions/actions` with the generated " +
	"code and its secrets (gateway URL, gateway secret, Twilio SID/token travel " +
	"only as Action secrets), poll until built, `POST " +
	"/actions/actions/{id}/deploy`, poll until the version is deployed (Auth0 " +
	"answers the deploy before it is), and `PATCH " +
	"/actions/triggers/custom-phone-provider/bindings`."
