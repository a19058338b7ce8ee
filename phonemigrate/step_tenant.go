package phonemigrate

import (
	"context"
	"fmt"
)

// The tenant switch step: phone_consolidated_experience.

func flagOn(v *bool) bool { return v != nil && *v }

func (r *run) switchTenant(ctx context.Context) (Event, error) {
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
