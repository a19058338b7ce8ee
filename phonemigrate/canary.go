package phonemigrate

import (
	"context"
	"errors"
	"fmt"

	"github.com/unifiedphone/unifiedphone/phonemigrate/watch"
)

// validateCanary refuses a canary configuration out of range.
func validateCanary(c watch.Canary) error {
	switch {
	case c.Window < 0:
		return &InputError{Field: "Canary.Window", Problem: "must not be negative"}
	case c.PollInterval < 0:
		return &InputError{Field: "Canary.PollInterval", Problem: "must not be negative"}
	case c.Threshold < 0 || c.Threshold > 1:
		return &InputError{Field: "Canary.Threshold", Problem: "must be between 0 and 1"}
	case c.MinFailures < 0:
		return &InputError{Field: "Canary.MinFailures", Problem: "must not be negative"}
	}
	return nil
}

// errDeliveryBreach is matched by a [*CanaryBreachError].
var errDeliveryBreach = errors.New("phone delivery broke after the switch")

// CanaryBreachError is Apply's error when the canary saw a delivery path
// break after the switch.
type CanaryBreachError struct {
	Record watch.Record
	// RolledBack says the automatic rollback ran and finished;
	// RollbackErr is its error when it did not.
	RolledBack  bool
	RollbackErr error
}

func (e *CanaryBreachError) Error() string {
	msg := fmt.Sprintf("phonemigrate: %s: %s", errDeliveryBreach, e.Record.Reason)
	switch {
	case e.RolledBack:
		msg += "; rolled back automatically"
	case e.RollbackErr != nil:
		msg += "; the automatic rollback failed: " + e.RollbackErr.Error()
	}
	return msg
}

func (e *CanaryBreachError) Is(target error) bool { return target == errDeliveryBreach }

func (e *CanaryBreachError) Unwrap() error { return e.RollbackErr }

// noteSwitch records when the tenant switched, for the canary window.
func (r *run) noteSwitch(to State) {
	if to == stateTenantSwitched && r.o.Canary.Window > 0 && r.cp.Watch == nil {
		r.cp.Watch = &watch.Record{SwitchedAt: r.o.Canary.Time().UTC()}
	}
}

// observeThen is next preceded, when the canary is on, by one look at the
// logs since the switch: a path already broken right after the
// connections switch fails the migration before the next writes.
func (r *run) observeThen(next stepFunc) stepFunc {
	return func(ctx context.Context) (event, error) {
		rec := r.cp.Watch
		if r.o.Canary.Window <= 0 || rec == nil || rec.SwitchedAt.IsZero() {
			return next(ctx)
		}
		look := *rec
		look.From, look.To = rec.SwitchedAt, rec.SwitchedAt.Add(r.o.Canary.Window)
		cr, err := r.o.Canary.Look(ctx, r.m.c, look)
		if err != nil {
			return "", err
		}
		if cr.Verdict == watch.VerdictBreach {
			r.cp.Watch = &cr
			return "", &CanaryBreachError{Record: cr}
		}
		return next(ctx)
	}
}

func init() { register(watchStep()) }

// watchStep is the step out of templates_migrated: with the canary on it
// watches delivery until the window ends (or a path breaks), then
// completes.
func watchStep() *step {
	return &step{order: 100, event: eventComplete, to: StateCompleted, does: "watch delivery",
		apply: (*run).watchDelivery}
}

func (r *run) watchDelivery(ctx context.Context) (event, error) {
	c := r.o.Canary.WithDefaults()
	if r.o.Canary.Window <= 0 {
		if w := r.cp.Watch; w != nil && w.Verdict == watch.VerdictWatching {
			w.Verdict, w.Reason = watch.VerdictSkipped, "the migration resumed without the watch"
		}
		return eventComplete, nil
	}
	rec := r.cp.Watch
	if rec == nil {
		// Switched by a run without the canary: watch from now.
		rec = &watch.Record{SwitchedAt: r.o.Canary.Time().UTC()}
		r.cp.Watch = rec
	}
	if rec.From.IsZero() {
		rec.From, rec.To = rec.SwitchedAt, rec.SwitchedAt.Add(r.o.Canary.Window)
	}
	rec.Threshold, rec.MinFailures, rec.Verdict = c.Threshold, c.MinFailures, watch.VerdictWatching
	rec.Breached, rec.Reason = nil, ""
	if err := r.save(ctx); err != nil {
		return "", fmt.Errorf("save checkpoint: %w", err)
	}
	cr, err := c.Observe(ctx, r.m.c, *rec)
	r.cp.Watch = &cr
	if err != nil {
		return "", err
	}
	if cr.Verdict == watch.VerdictBreach {
		return "", &CanaryBreachError{Record: cr}
	}
	return eventComplete, nil
}

// afterCanary runs the automatic rollback after a breach (the store lock
// is free again), and reports it in the breach error and the result.
func (m *Migrator) afterCanary(ctx context.Context, o Options, res *Result, err error) (*Result, error) {
	var be *CanaryBreachError
	if !errors.As(err, &be) || !o.Canary.AutoRollback {
		return res, err
	}
	m.log.WarnContext(ctx, "delivery broke after the switch; rolling back", "reason", be.Record.Reason)
	rb, rerr := m.Rollback(context.WithoutCancel(ctx))
	if rerr != nil {
		be.RollbackErr = rerr
	} else {
		be.RolledBack = true
	}
	if rb != nil && res != nil {
		res.State, res.Checkpoint = rb.State, rb.Checkpoint
		res.Steps = append(res.Steps, rb.Steps...)
	}
	return res, be
}
