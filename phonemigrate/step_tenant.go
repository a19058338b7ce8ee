package phonemigrate

import (
	"context"
	"fmt"

	"github.com/unifiedphone/unifiedphone/phonemigrate/outcome"
)

// The tenant switch step: phone_consolidated_experience.

// The states this step reaches and the events that lead there (see
// [State] and [event]).
const (
	stateTenantSwitched State = "tenant_switched"
	eventSwitchTenant   event = "switch_tenant"
)

func init() { register(tenantStep()) }

func tenantStep() *step {
	return &step{order: 60, event: eventSwitchTenant, to: stateTenantSwitched, does: "switch tenant",
		doc:         tenantDoc,
		establishes: []*invariant{tenantSwitched},
		plan:        planTenantStep,
		apply:       (*run).switchTenant,
		undo:        &undo{routes: true, title: "Switch the tenant back", restore: (*run).restoreTenant},
	}
}

// tenantSwitched is the invariant the tenant step establishes: a
// connection set to use the provider has the tenant switched, else the
// setting has no effect yet (its users still get codes through its legacy
// settings; those who get none the delivery model names).
var tenantSwitched = &invariant{name: InvariantTenantSwitched, findings: func(t *checkedTenant) []Finding {
	if t.d.UPE {
		return nil
	}
	var out []Finding
	for _, c := range t.switched {
		if !outcome.For(t.d.Config(), outcome.Consumer{Product: outcome.ProductPasswordless, Connection: c.Name, Method: "text", MessageType: "otp_verify"}).Gets() {
			continue // judge names its users: they get no code
		}
		out = append(out, Finding{Invariant: InvariantTenantSwitched,
			Problem:     fmt.Sprintf("connection %q is set to use the tenant-level provider, but the tenant is not switched to the Unified Phone Experience", c.Name),
			Consequence: fmt.Sprintf("Passwordless users of connection %q still get their codes through its legacy settings", c.Name),
			Fix:         "run phonemigrate apply to finish the migration, or remove use_phone_provider from the connection",
			LikelyCause: causeTenantSwitchedOff})
	}
	return out
}}

func flagOn(v *bool) bool { return v != nil && *v }

// needsTenantSwitch is the tenant step's rule, for plan and apply: the
// switch is written unless it is on (absent means off: most legacy tenants
// do not have the key).
func needsTenantSwitch(cur *bool) bool { return !flagOn(cur) }

func planTenantStep(pc *planContext) Step {
	cur := pc.d.PhoneConsolidatedExperience
	if !needsTenantSwitch(cur) {
		return Step{Title: "The tenant is already switched to the Unified Phone Experience"}
	}
	sw := plannedWrite{Method: "PATCH", Path: "/tenants/settings",
		Before: map[string]any{"phone_consolidated_experience": false},
		After:  map[string]any{"phone_consolidated_experience": true},
	}
	if cur == nil {
		sw.Note = "the tenant has no phone_consolidated_experience setting yet (absent means off)"
	}
	return Step{Title: "Switch the tenant to the Unified Phone Experience", Writes: []plannedWrite{sw}}
}

func (r *run) switchTenant(ctx context.Context) (event, error) {
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
	if !needsTenantSwitch(cur) {
		return eventSwitchTenant, nil
	}
	if r.cp.Originals.PhoneConsolidatedExperience == nil {
		r.cp.Originals.PhoneConsolidatedExperience = &originalFlag{Value: cur}
		if err := r.save(ctx); err != nil {
			return "", err
		}
	}
	if err := r.m.setUPE(ctx, true); err != nil {
		return "", fmt.Errorf("switch tenant: %w", err)
	}
	return eventSwitchTenant, nil
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

// tenantDoc is the step as docs/how-it-works.md lists it (Markdown;
// TestStepProse -update writes it there).
const tenantDoc = "**Tenant switch**: `PATCH /tenants/settings " +
	"{\"phone_consolidated_experience\": true}`. The legacy Guardian endpoints " +
	"(selected provider, Twilio, templates) are only ever read, before this point: " +
	"they answer 403 afterwards."
