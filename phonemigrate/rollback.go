package phonemigrate

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Rollback restores what the migration changed, from the checkpoint's
// recorded originals, in an order that keeps every consumer served: first
// what routes codes, latest first, then the rest, latest first (derived
// from the step table, see undoOrder; written by TestStepProse -update):
//
//  1. Switch each Passwordless SMS connection back to its original use_phone_provider
//  2. Switch the tenant back
//  3. Restore the phone templates the migration updated and delete the ones it created
//  4. Restore the MFA phone message types
//  5. Delete the phone provider the migration created (or give a replaced one its configuration back)
//  6. Restore the custom-phone-provider trigger bindings and delete the Action the migration created
//
// Each connection gets back only the use_phone_provider it had (absent, or
// its original value), whole options re-sent and verified; after the tenant
// switch codes go the legacy way, so nothing undone later routes any.
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
// changed since, an Action bound to the trigger since — and refuses with a
// [*DriftError] naming each, the checkpoint untouched, unless
// [RollbackOptions.Force]. Before that it checks that what the checkpoint
// records as created is this migration's ([*NotCreatedError]).
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
	r := &run{m: m, cp: cp, machine: m.steps.newMachine(cp.State), o: &Options{}}
	result := func(err error) (*Result, error) {
		return &Result{State: State(r.machine.Current()), Plan: cp.Plan, Steps: r.steps, Checkpoint: cp}, err
	}
	switch {
	case cp.State == StateRolledBack:
		return &Result{State: cp.State, AlreadyDone: true, Plan: cp.Plan, Checkpoint: cp}, nil
	case cp.State == StateAlreadyUnified:
		return nil, fmt.Errorf("phonemigrate: nothing to roll back: the tenant was already on the Unified Phone Experience")
	}
	// What the checkpoint says this migration created must be its own
	// before anything else is judged: a checkpoint naming someone else's
	// objects is wrong, whatever changed since.
	if err := r.checkOwned(ctx); err != nil {
		return nil, err
	}
	if !ro.Force {
		if err := r.checkDrift(ctx); err != nil {
			return nil, err
		}
	}
	switch {
	case cp.State == stateRollingBack || (cp.State != StateCompleted && cp.State != StateFailed):
		// Interrupted (a crash, not a recorded failure): record it first.
		cp.LastGood = cp.State
		cp.Error = ErrInterrupted.Error()
		if err := r.transition(ctx, eventFail, time.Now(), ErrInterrupted); err != nil {
			return result(err)
		}
	}
	began := time.Now()
	if err := ctx.Err(); err != nil {
		return result(err)
	}
	if err := r.transition(ctx, eventRollback, began, nil); err != nil {
		return result(err)
	}
	began = time.Now()
	err = r.restore(ctx, nil)
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		return result(r.fail(ctx, stateRollingBack, began, err))
	}
	return result(r.transition(ctx, eventFinishRollback, began, nil))
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
