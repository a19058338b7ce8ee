package phonemigrate

import (
	"context"
	"errors"
	"fmt"

	"github.com/unifiedphone/unifiedphone/delivery"
)

// The MFA step: the phone message types within the delivery methods.

// The states this step reaches and the events that lead there (see
// [State] and [event]).
const (
	stateMFAAligned State = "mfa_aligned"
	eventAlignMFA   event = "align_mfa"
)

func init() { register(mfaStep()) }

func mfaStep() *step {
	return &step{order: 80, event: eventAlignMFA, to: stateMFAAligned, does: "align MFA message types",
		doc:         mfaDoc,
		establishes: []*invariant{providerCoversFactors},
		plan:        planMFAStep,
		apply:       func(r *run, ctx context.Context) (event, error) { return r.observeThen(r.alignMFA)(ctx) },
		undo:        &undo{title: "Restore the MFA phone message types", restore: (*run).restoreMFA},
	}
}

// needsMFAWrite is the MFA step's rule, for plan and apply: with the MFA
// phone factor enabled and the provider not kept as it is, the message
// types are written unless Auth0 has them configured (not a 404) equal to
// the planned ones.
func needsMFAWrite(in *migrationIntent, cur delivery.Set, configured bool) bool {
	return in.MFAEnabled && !in.Keep && (!configured || cur != in.MFAMessageTypes)
}

func planMFAStep(pc *planContext) Step {
	in, d := pc.in, pc.d
	st := Step{Title: "Align the MFA phone message types with the provider's delivery methods"}
	switch {
	case in.Keep:
		st.Title = "MFA message types left as they are: the provider serves them"
	case !in.MFAEnabled:
		st.Title = "MFA phone factor not enabled: message types left as they are"
	case needsMFAWrite(in, d.MFAMessageTypes, d.MFAMessageTypesConfigured):
		var before any
		if d.MFAMessageTypesConfigured {
			before = map[string]any{"message_types": nonNil(d.MFAMessageTypes.MessageTypes())}
		}
		st.Writes = []plannedWrite{{Method: "PUT", Path: "/guardian/factors/phone/message-types",
			Before: before, After: map[string]any{"message_types": nonNil(in.MFAMessageTypes.MessageTypes())}}}
	default:
		st.Title = fmt.Sprintf("MFA message types (%s) already within the delivery methods (%s): verified, not rewritten", in.MFAMessageTypes, in.Delivery)
	}
	return st
}

func (m *Migrator) messageTypes(ctx context.Context) (delivery.Set, error) {
	t, err := m.c.PhoneMessageTypes(ctx)
	if errors.Is(err, ErrNotFound) {
		return 0, nil
	}
	return t, err
}

func (r *run) alignMFA(ctx context.Context) (event, error) {
	in := r.cp.Intent
	if !in.MFAEnabled || in.Keep {
		return eventAlignMFA, nil // no read needed: needsMFAWrite is false
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
	if !needsMFAWrite(in, cur, !notFound) {
		return eventAlignMFA, nil
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
	return eventAlignMFA, nil
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

// mfaDoc is the step as docs/how-it-works.md lists it (Markdown;
// TestStepProse -update writes it there).
const mfaDoc = "**MFA**: `PUT /guardian/factors/phone/message-types` when the message types " +
	"must change to stay a subset of the delivery methods."
