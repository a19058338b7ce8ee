package phonemigrate

import (
	"errors"
	"fmt"

	"github.com/unifiedphone/unifiedphone/delivery"
)

// Sentinel errors of the migration. Match them with errors.Is; every error
// the package returns wraps at most one of them together with details.
var (
	// ErrNotEligible is returned by Plan and Apply when the tenant has
	// neither an enabled and configured MFA phone factor nor a configured
	// Passwordless SMS connection (nothing to migrate), or when its legacy
	// setup cannot be served by one tenant-level provider. Nothing is written.
	ErrNotEligible = errors.New("tenant not eligible for the phone migration")

	// ErrAlreadyUnified is returned by Plan and Apply when the tenant is
	// already on the Unified Phone Experience (phone_consolidated_experience
	// is on, or the legacy Guardian endpoints answer 403). There is nothing
	// to do; [ExitCode] maps it to 0.
	ErrAlreadyUnified = errors.New("tenant already on the Unified Phone Experience")

	// ErrTwilioTokenRequired is returned by Plan and Apply when a Twilio
	// provider or a Twilio target inside a custom Action is needed and
	// [Options.TwilioAuthToken] is empty and the tenant's legacy settings
	// hold no token for the Twilio account (Auth0 returns legacy tokens, so
	// this happens only when they were never set or were removed).
	ErrTwilioTokenRequired = errors.New("a Twilio auth token is required")

	// ErrNoCheckpoint is returned by [Store.Load], [Migrator.Status] and
	// [Migrator.Rollback] when no checkpoint exists.
	ErrNoCheckpoint = errors.New("no migration checkpoint")

	// ErrLocked is returned by [Store.Lock] (and so by Apply and Rollback)
	// while another run holds the store's lock.
	ErrLocked = errors.New("another migration run holds the checkpoint lock")

	// ErrInterrupted is the Err of the transition to failed that
	// [Migrator.Rollback] records, before rolling back, for a run that
	// stopped in a forward state (or while rolling back) without recording
	// a failure: a crash or a kill. It is bookkeeping, not a new failure.
	ErrInterrupted = errors.New("interrupted")

	// errTestNotConfirmed is returned by Apply when [Options.Confirm]
	// answers false for a test message. The migration stops in state failed
	// with LastGood provider_configured; nothing after provider_tested is
	// written.
	errTestNotConfirmed = errors.New("test message not confirmed")

	// ErrConcurrentChange is returned by Apply when a step finds what it
	// writes changed by someone else during the migration: a connection's
	// other options differing after its write from the read just before, a
	// template or provider this migration wrote holding neither what it
	// wrote nor its original. The step fails (state failed, the checkpoint
	// kept, exit 1) instead of writing over the change; check it, then run
	// Apply again or roll back.
	ErrConcurrentChange = errors.New("changed by someone else during the migration")

	// errCustomProviderRequired is returned by Plan and Apply when
	// [Options.Provider] is twilio but a legacy path uses a custom SMS
	// gateway (or Passwordless and MFA use different providers), which only a
	// custom provider can serve.
	errCustomProviderRequired = errors.New("a custom phone provider is required")
)

// InputError reports bad [Options] (or other caller input). It is returned
// before any write.
type InputError struct {
	Field   string // the Options field, e.g. "TestRecipients"
	Problem string // what is wrong, in one sentence
}

func (e *InputError) Error() string {
	return fmt.Sprintf("invalid %s: %s", e.Field, e.Problem)
}

// deliveryConflictError is returned by Plan and Apply when the desired
// provider delivery methods do not cover the phone factors in use
// (Passwordless needs text; MFA message types must be a subset). The user
// must update the factors, or choose other delivery methods, first.
type deliveryConflictError struct {
	Decision delivery.Decision
}

func (e *deliveryConflictError) Error() string {
	return "delivery conflict: " + e.Decision.Reason
}

// ExistingResourceError is returned by Plan and Apply when the tenant has a
// phone provider or a custom-phone-provider Action this migration did not
// create. A phone provider can be replaced by setting
// [Options.AllowReplace]. An existing custom-phone-provider Action cannot
// (CannotReplace is true): Auth0 allows one Action for that trigger, and its
// secrets cannot be read back, so a replaced Action could not be restored by
// Rollback. Its owner must delete it (or Reset the phone provider in the
// Dashboard) first.
type ExistingResourceError struct {
	Kind          string // "phone provider" or "action"
	ID            string
	Name          string
	CannotReplace bool // AllowReplace does not help; the user must remove it first
}

func (e *ExistingResourceError) Error() string {
	if e.CannotReplace {
		return fmt.Sprintf("tenant already has the %s Action %q (%s), which this migration did not create; Auth0 allows one such Action and its secrets cannot be read back to restore it later, so delete it first", TriggerCustomPhoneProvider, e.Name, e.ID)
	}
	return fmt.Sprintf("tenant already has a %s %q (%s) this migration did not create; set AllowReplace to replace it", e.Kind, e.Name, e.ID)
}

// invalidRecipientError is returned when a test recipient is not an E.164
// phone number (+ then 7 to 15 digits, the first not 0).
type invalidRecipientError struct {
	Recipient string
}

func (e *invalidRecipientError) Error() string {
	return fmt.Sprintf("invalid test recipient %q: want an E.164 number such as +15551234567", e.Recipient)
}

// CheckpointError is returned when a checkpoint cannot be used: it is not
// valid JSON, has an unknown version or state, or belongs to another tenant.
type CheckpointError struct {
	Path    string // file path, or "" for other stores
	Problem string
}

func (e *CheckpointError) Error() string {
	if e.Path == "" {
		return "checkpoint: " + e.Problem
	}
	return fmt.Sprintf("checkpoint %s: %s", e.Path, e.Problem)
}

// ExitCode maps an error of this package to a process exit code, for
// command-line front ends:
//
//   - 0: nil, or [ErrAlreadyUnified] (nothing to do);
//   - 2: bad input or usage: [*InputError], [*invalidRecipientError],
//     [*CheckpointError], [ErrTwilioTokenRequired], [*ActionSecretError];
//   - 3: not eligible, or the user must act first: [ErrNotEligible],
//     [*deliveryConflictError], [*ExistingResourceError],
//     [errCustomProviderRequired], [*twilioCredentialsError] (Twilio
//     rejected the credentials before they were written),
//     [*UnhealthyError] (switched already, but invariants are violated),
//     [*DriftError] (a rollback would undo or break changes made since),
//     [*MigrationUnderwayError] (a repair while the checkpoint records a
//     migration or rollback under way, an apply during a rollback), [*proofError] (the copy of the
//     send-phone-message Action behaves differently);
//   - 1: anything else (API failures, [ErrLocked], [errTestNotConfirmed],
//     [errTestNotDelivered], cancellation).
func ExitCode(err error) int {
	if err == nil || errors.Is(err, ErrAlreadyUnified) {
		return 0
	}
	var (
		ie *InputError
		re *invalidRecipientError
		ce *CheckpointError
		de *deliveryConflictError
		ee *ExistingResourceError
		te *twilioCredentialsError
		ue *UnhealthyError
		dr *DriftError
		mu *MigrationUnderwayError
		as *ActionSecretError
		pe *proofError
	)
	switch {
	case errors.As(err, &ie), errors.As(err, &re), errors.As(err, &ce), errors.Is(err, ErrTwilioTokenRequired), errors.As(err, &as):
		return 2
	case errors.Is(err, ErrNotEligible), errors.As(err, &de), errors.As(err, &ee), errors.Is(err, errCustomProviderRequired), errors.As(err, &te), errors.As(err, &ue), errors.As(err, &dr), errors.As(err, &mu), errors.As(err, &pe):
		return 3
	}
	return 1
}
