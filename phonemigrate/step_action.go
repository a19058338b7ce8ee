package phonemigrate

import (
	"context"
	"errors"
	"fmt"
)

// The Action step (custom provider): create, build, deploy and bind the
// custom-phone-provider Action.

func (r *run) deployAction(ctx context.Context) (Event, error) {
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
