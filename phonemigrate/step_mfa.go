package phonemigrate

import (
	"context"
	"errors"
	"fmt"

	"github.com/unifiedphone/unifiedphone/delivery"
)

// The MFA step: the phone message types within the delivery methods.

func (m *Migrator) messageTypes(ctx context.Context) (delivery.Set, error) {
	t, err := m.c.PhoneMessageTypes(ctx)
	if errors.Is(err, ErrNotFound) {
		return 0, nil
	}
	return t, err
}

func (r *run) alignMFA(ctx context.Context) (Event, error) {
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
