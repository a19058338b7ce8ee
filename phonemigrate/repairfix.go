package phonemigrate

import (
	"context"
	"fmt"
	"slices"

	"github.com/unifiedphone/unifiedphone/delivery"
	"github.com/unifiedphone/unifiedphone/phonemigrate/outcome"
)

// repairFix is one repair: the write(s) that make codes flow again. The
// delivery model decides which one applies: the first, in this order,
// after which every consumer who gets a code now still gets one and every
// consumer who gets none gets one — through the migrated route where the
// tenant still holds it (switch on, enable the provider, add the missing
// delivery method, deploy or bind the Action, create the custom provider
// for the Action); switching the tenant back is the fallback, when the
// tenant flag is on.
type repairFix struct {
	kind string // one of the fix* constants
	// what the write says, for a person ("switched the tenant on (...)")
	did   string
	title string
	steps []Step
	// provider / action the write concerns
	providerID string
	methods    delivery.Set
	actionID   string
	bind       bool
}

const (
	fixSwitchOn       = "switch_on"
	fixEnableProvider = "enable_provider"
	fixAddMethods     = "add_delivery_methods"
	fixDeployAction   = "deploy_action"
	fixBindAction     = "bind_action"
	fixCreateProvider = "create_provider"
	fixSwitchBack     = "switch_back"
)

// restores reports whether after gives a code to every consumer of before
// (the same consumers).
func restores(before, after []outcome.Delivery) bool {
	if len(before) != len(after) {
		return false
	}
	for i := range before {
		if !after[i].Gets() && after[i].Route != outcome.LegacyHook {
			return false
		}
	}
	return true
}

// methodsOf are the delivery methods of ds.
func methodsOf(ds []outcome.Delivery) delivery.Set {
	var s delivery.Set
	for _, x := range ds {
		s = s.Union(delivery.Of(delivery.Method(x.Consumer.Method)))
	}
	return s
}

// fixFor returns the first fix after which, by the delivery model, every
// consumer of d gets a code; nil when none does (or nobody lacks one).
func fixFor(d *Discovery) *repairFix {
	cfg := d.Config()
	before := outcome.Of(cfg)
	none := noCode(before)
	if len(none) == 0 {
		return nil
	}
	try := func(f *repairFix, change func(c *outcome.Config)) *repairFix {
		c := d.Config()
		change(&c)
		if restores(before, outcome.Of(c)) {
			return f
		}
		return nil
	}
	p := d.Provider
	var bound []string
	for _, b := range d.Bindings {
		bound = append(bound, b.ActionID)
	}
	if !d.UPE {
		if f := try(&repairFix{kind: fixSwitchOn, did: "switched the tenant on (phone_consolidated_experience true), so that the tenant-level provider serves its users again",
			title: "Switch the tenant on again so that the tenant-level provider serves its users",
			steps: []Step{{Title: "Switch the tenant on (phone_consolidated_experience true)", Writes: []plannedWrite{{Method: "PATCH", Path: "/tenants/settings",
				Before: map[string]any{"phone_consolidated_experience": false}, After: map[string]any{"phone_consolidated_experience": true},
				Note: "the only write; verified from Auth0's answer"}}}}},
			func(c *outcome.Config) { c.Switched = true }); f != nil {
			return f
		}
	}
	if p != nil && p.Disabled {
		if f := try(&repairFix{kind: fixEnableProvider, providerID: p.ID, did: fmt.Sprintf("enabled the %s phone provider %s", p.Name, p.ID),
			title: "Enable the phone provider",
			steps: []Step{{Title: fmt.Sprintf("Enable the %s phone provider %s", p.Name, p.ID), Writes: []plannedWrite{{Method: "PATCH", Path: "/branding/phone/providers/" + p.ID,
				Before: map[string]any{"disabled": true}, After: map[string]any{"disabled": false}, Note: "the only write"}}}}},
			func(c *outcome.Config) { c.Provider.Disabled = false }); f != nil {
			return f
		}
	}
	if p != nil && !p.Disabled {
		want := p.Configuration.DeliveryMethods.Union(methodsOf(none))
		if want != p.Configuration.DeliveryMethods {
			if f := try(&repairFix{kind: fixAddMethods, providerID: p.ID, methods: want,
				did:   fmt.Sprintf("set the %s phone provider %s to deliver %s", p.Name, p.ID, want),
				title: "Add the missing delivery methods to the phone provider",
				steps: []Step{{Title: fmt.Sprintf("Let the %s phone provider %s deliver %s", p.Name, p.ID, want), Writes: []plannedWrite{{Method: "PATCH", Path: "/branding/phone/providers/" + p.ID,
					Before: map[string]any{"configuration": map[string]any{"delivery_methods": p.Configuration.DeliveryMethods.Methods()}},
					After:  map[string]any{"configuration": map[string]any{"delivery_methods": want.Methods()}}, Note: "the only write; every other setting is sent unchanged"}}}}},
				func(c *outcome.Config) {
					c.Provider.DeliveryMethods = nil
					for _, m := range want.Methods() {
						c.Provider.DeliveryMethods = append(c.Provider.DeliveryMethods, string(m))
					}
				}); f != nil {
				return f
			}
		}
	}
	for _, a := range d.Actions {
		if !a.Deployed {
			f := &repairFix{kind: fixDeployAction, actionID: a.ID, bind: !slices.Contains(bound, a.ID),
				did: fmt.Sprintf("deployed the custom-phone-provider Action %q", a.Name), title: "Deploy the custom-phone-provider Action"}
			st := Step{Title: fmt.Sprintf("Deploy the Action %q", a.Name), Writes: []plannedWrite{{Method: "POST", Path: "/actions/actions/" + a.ID + "/deploy"}}}
			if f.bind {
				f.did += " and bound it to the trigger"
				st.Writes = append(st.Writes, plannedWrite{Method: "PATCH", Path: "/actions/triggers/" + TriggerCustomPhoneProvider + "/bindings",
					After: map[string]any{"bindings": []string{a.Name}}})
			}
			f.steps = []Step{st}
			if f := try(f, func(c *outcome.Config) {
				for i := range c.Actions {
					if c.Actions[i].ID == a.ID {
						c.Actions[i].Deployed = true
					}
				}
				if !slices.Contains(c.Bindings, a.ID) {
					c.Bindings = append([]string{a.ID}, c.Bindings...)
				}
			}); f != nil {
				return f
			}
		} else if !slices.Contains(bound, a.ID) {
			if f := try(&repairFix{kind: fixBindAction, actionID: a.ID, bind: true,
				did: fmt.Sprintf("bound the custom-phone-provider Action %q to the trigger", a.Name), title: "Bind the custom-phone-provider Action",
				steps: []Step{{Title: fmt.Sprintf("Bind the Action %q to the custom-phone-provider trigger", a.Name), Writes: []plannedWrite{{Method: "PATCH",
					Path: "/actions/triggers/" + TriggerCustomPhoneProvider + "/bindings", After: map[string]any{"bindings": []string{a.Name}}, Note: "the only write"}}}}},
				func(c *outcome.Config) { c.Bindings = append([]string{a.ID}, c.Bindings...) }); f != nil {
				return f
			}
		}
	}
	if p == nil && d.UPE && actionBound(d) {
		want := methodsOf(none)
		if f := try(&repairFix{kind: fixCreateProvider, methods: want,
			did:   fmt.Sprintf("created the custom phone provider (%s) for the bound custom-phone-provider Action", want),
			title: "Create the custom phone provider for the bound Action",
			steps: []Step{{Title: fmt.Sprintf("Create the custom phone provider (%s); the bound Action sends its messages", want), Writes: []plannedWrite{{Method: "POST", Path: "/branding/phone/providers",
				After: map[string]any{"name": ProviderCustom, "configuration": map[string]any{"delivery_methods": want.Methods()}, "credentials": map[string]any{}}, Note: "the only write"}}}}},
			func(c *outcome.Config) {
				c.Provider = &outcome.Provider{Name: ProviderCustom}
				for _, m := range want.Methods() {
					c.Provider.DeliveryMethods = append(c.Provider.DeliveryMethods, string(m))
				}
			}); f != nil {
			return f
		}
	}
	return nil
}

// fixOf is the repair a broken tenant d calls for (see repairFor):
// [fixFor]'s, else switching the tenant back.
func fixOf(d *Discovery) *repairFix {
	if f := fixFor(d); f != nil {
		return f
	}
	return &repairFix{kind: fixSwitchBack, did: "switched back to its legacy phone settings (phone_consolidated_experience false)"}
}

// do performs the fix's write(s), each verified from Auth0's answer.
func (f *repairFix) do(ctx context.Context, m *Migrator, d *Discovery) error {
	switch f.kind {
	case fixSwitchOn:
		return m.setUPE(ctx, true)
	case fixSwitchBack:
		return m.setUPE(ctx, false)
	case fixEnableProvider, fixAddMethods:
		p := *d.Provider
		req := PhoneProviderRequest{Name: p.Name, Configuration: p.Configuration}
		if f.kind == fixAddMethods {
			req.Configuration.DeliveryMethods = f.methods
		}
		got, err := m.c.UpdatePhoneProvider(ctx, p.ID, req)
		if err != nil {
			return err
		}
		if got.Disabled || got.Configuration.DeliveryMethods != req.Configuration.DeliveryMethods {
			return fmt.Errorf("verify the phone provider %s: Auth0's answer does not hold the write", p.ID)
		}
		return nil
	case fixDeployAction, fixBindAction:
		if f.kind == fixDeployAction {
			if err := m.c.DeployAction(ctx, f.actionID); err != nil {
				return err
			}
		}
		if !f.bind {
			return nil
		}
		refs := []BindingRef{{ActionID: f.actionID, DisplayName: actionName(d, f.actionID)}}
		for _, b := range d.Bindings {
			if b.ActionID != f.actionID {
				refs = append(refs, BindingRef{ActionID: b.ActionID, DisplayName: b.DisplayName})
			}
		}
		got, err := m.c.SetTriggerBindings(ctx, TriggerCustomPhoneProvider, refs)
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(got, func(b Binding) bool { return b.ActionID == f.actionID }) {
			return fmt.Errorf("verify the trigger bindings: Auth0's answer does not bind the Action")
		}
		return nil
	case fixCreateProvider:
		_, err := m.c.CreatePhoneProvider(ctx, PhoneProviderRequest{Name: ProviderCustom, Configuration: ProviderConfiguration{DeliveryMethods: f.methods}})
		return err
	}
	return fmt.Errorf("phonemigrate: unknown repair %q", f.kind)
}

func actionName(d *Discovery, id string) string {
	for _, a := range d.Actions {
		if a.ID == id {
			return a.Name
		}
	}
	return id
}
