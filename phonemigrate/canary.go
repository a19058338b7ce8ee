package phonemigrate

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Canary configures the delivery watch Apply runs before it completes
// ([Options.Canary]): it reads the tenant logs from the moment the tenant
// switched to the Unified Phone Experience for Window, and fails the
// migration with a [*CanaryBreachError] when a delivery path breaks.
type Canary struct {
	// Window is how long after the tenant switch delivery is watched; 0
	// (the default) turns the canary off.
	Window time.Duration
	// PollInterval is how often the logs are read (one page per poll);
	// default 10s.
	PollInterval time.Duration
	// Threshold is the failure rate, above the path's rate in the
	// same-length window before the switch, that is a breach (default
	// 0.2: a path that failed 5% before breaches at 25%).
	Threshold float64
	// MinFailures is the least number of failed messages on a path for a
	// breach (default 5), so that one failure among two messages does not
	// roll a tenant back.
	MinFailures int
	// AutoRollback makes Apply run [Migrator.Rollback] at once after a
	// breach; the error then says whether it succeeded.
	AutoRollback bool
	// OnPoll, when set, is called after every read of the logs with what
	// the canary saw so far.
	OnPoll func(CanaryRecord)
}

func (c Canary) withDefaults() Canary {
	if c.PollInterval <= 0 {
		c.PollInterval = 10 * time.Second
	}
	if c.Threshold <= 0 {
		c.Threshold = 0.2
	}
	if c.MinFailures <= 0 {
		c.MinFailures = 5
	}
	return c
}

func (c Canary) validate() error {
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

// Canary verdicts ([CanaryRecord.Verdict]).
const (
	VerdictWatching = "watching" // the window has not ended
	VerdictHealthy  = "healthy"  // the window ended without a breach
	VerdictBreach   = "breach"   // a path broke: the migration failed
	VerdictSkipped  = "skipped"  // a resumed Apply ran without the canary before the window ended
)

// CanaryRecord is the canary's observation, kept in [Checkpoint.Watch] so
// that a resumed Apply continues the same window.
type CanaryRecord struct {
	// SwitchedAt is when the tenant switched; the window is [From, To).
	SwitchedAt  time.Time `json:"switched_at"`
	From        time.Time `json:"from"`
	To          time.Time `json:"to"`
	Threshold   float64   `json:"threshold"`
	MinFailures int       `json:"min_failures"`
	Verdict     string    `json:"verdict,omitempty"`
	// Breached lists the paths that broke, Reason says how.
	Breached []DeliveryPath `json:"breached,omitempty"`
	Reason   string         `json:"reason,omitempty"`
	// Observed is the health seen (current and baseline window).
	Observed *HealthReport `json:"observed,omitempty"`
	// Polls counts log reads, DecidedAt when the verdict was reached.
	Polls     int       `json:"polls"`
	DecidedAt time.Time `json:"decided_at,omitzero"`
}

// ErrDeliveryBreach is matched by a [*CanaryBreachError].
var ErrDeliveryBreach = errors.New("phone delivery broke after the switch")

// CanaryBreachError is Apply's error when the canary saw a delivery path
// break after the switch.
type CanaryBreachError struct {
	Record CanaryRecord
	// RolledBack says the automatic rollback ran and finished;
	// RollbackErr is its error when it did not.
	RolledBack  bool
	RollbackErr error
}

func (e *CanaryBreachError) Error() string {
	msg := fmt.Sprintf("phonemigrate: %s: %s", ErrDeliveryBreach, e.Record.Reason)
	switch {
	case e.RolledBack:
		msg += "; rolled back automatically"
	case e.RollbackErr != nil:
		msg += "; the automatic rollback failed: " + e.RollbackErr.Error()
	}
	return msg
}

func (e *CanaryBreachError) Is(target error) bool { return target == ErrDeliveryBreach }

func (e *CanaryBreachError) Unwrap() error { return e.RollbackErr }

// verdict decides on rep: a path breaches when it has at least
// MinFailures failures and a failure rate at least Threshold above its
// baseline, over the whole window or over its last messages (the recent
// counts, so that healthy messages early in the window do not hide a
// break); so do Action failures (which Auth0 may log without a
// per-message failure) at least MinFailures above the baseline.
func (c Canary) verdict(rep HealthReport) (paths []DeliveryPath, reason string) {
	var parts []string
	for _, p := range rep.Current.Paths {
		base := rep.Baseline.Path(p.Path)
		recentRate := 0.0
		if n := p.RecentSent + p.RecentFailed; n > 0 {
			recentRate = float64(p.RecentFailed) / float64(n)
		}
		whole := p.Failed >= c.MinFailures && p.FailureRate-base.FailureRate >= c.Threshold
		recent := p.RecentFailed >= c.MinFailures && recentRate-base.FailureRate >= c.Threshold
		if whole || recent {
			paths = append(paths, p.Path)
			s := fmt.Sprintf("%s failed %d of %d (%.0f%%, %.0f%% before the switch)", p.Path, p.Failed, p.Sent+p.Failed, 100*p.FailureRate, 100*base.FailureRate)
			if !whole {
				s = fmt.Sprintf("%s failed %d of its last %d messages (%.0f%%; %d of %d since the switch, %.0f%% before it)", p.Path,
					p.RecentFailed, p.RecentSent+p.RecentFailed, 100*recentRate, p.Failed, p.Sent+p.Failed, 100*base.FailureRate)
			}
			if len(p.TopErrors) > 0 {
				s += ": " + p.TopErrors[0].Reason
			}
			parts = append(parts, s)
		}
	}
	if n := rep.Current.ActionFailures - rep.Baseline.ActionFailures; len(paths) == 0 && n >= c.MinFailures {
		s := fmt.Sprintf("the custom-phone-provider Action failed %d times (%d before the switch)", rep.Current.ActionFailures, rep.Baseline.ActionFailures)
		if len(rep.Current.ActionErrors) > 0 {
			s += ": " + rep.Current.ActionErrors[0].Reason
		}
		parts = append(parts, s)
		paths = append(paths, "action")
	}
	sort.Slice(paths, func(i, j int) bool { return paths[i] < paths[j] })
	return paths, strings.Join(parts, "; ")
}

// noteSwitch records when the tenant switched, for the canary window.
func (r *run) noteSwitch(to State) {
	if to == StateTenantSwitched && r.o.Canary.Window > 0 && r.cp.Watch == nil {
		r.cp.Watch = &CanaryRecord{SwitchedAt: time.Now().UTC()}
	}
}

// observeThen is next preceded, when the canary is on, by one look at the
// logs since the switch: a path already broken right after the
// connections switch fails the migration before the next writes.
func (r *run) observeThen(next stepFunc) stepFunc {
	return func(ctx context.Context) (Event, error) {
		rec := r.cp.Watch
		if r.o.Canary.Window <= 0 || rec == nil || rec.SwitchedAt.IsZero() {
			return next(ctx)
		}
		look := *rec
		look.From, look.To = rec.SwitchedAt, rec.SwitchedAt.Add(r.o.Canary.Window)
		cr, err := watchCanary(ctx, r.m.c, r.o.Canary.withDefaults(), &look, true)
		if err != nil {
			return "", err
		}
		if cr.Verdict == VerdictBreach {
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
	return &step{order: 100, event: EventComplete, to: StateCompleted, does: "watch delivery",
		apply: (*run).watchDelivery}
}

func (r *run) watchDelivery(ctx context.Context) (Event, error) {
	c := r.o.Canary.withDefaults()
	if r.o.Canary.Window <= 0 {
		if w := r.cp.Watch; w != nil && w.Verdict == VerdictWatching {
			w.Verdict, w.Reason = VerdictSkipped, "the migration resumed without the watch"
		}
		return EventComplete, nil
	}
	rec := r.cp.Watch
	if rec == nil {
		// Switched by a run without the canary: watch from now.
		rec = &CanaryRecord{SwitchedAt: time.Now().UTC()}
		r.cp.Watch = rec
	}
	if rec.From.IsZero() {
		rec.From, rec.To = rec.SwitchedAt, rec.SwitchedAt.Add(r.o.Canary.Window)
	}
	rec.Threshold, rec.MinFailures, rec.Verdict = c.Threshold, c.MinFailures, VerdictWatching
	rec.Breached, rec.Reason = nil, ""
	if err := r.save(ctx); err != nil {
		return "", fmt.Errorf("save checkpoint: %w", err)
	}
	cr, err := watchCanary(ctx, r.m.c, c, rec, false)
	r.cp.Watch = &cr
	if err != nil {
		return "", err
	}
	if cr.Verdict == VerdictBreach {
		return "", &CanaryBreachError{Record: cr}
	}
	return EventComplete, nil
}

// watchCanary observes [rec.From, rec.To): it reads the baseline and what
// is already logged since From, then follows the logs one page per poll
// until a breach or the end of the window. With once it decides on what is
// logged so far and returns (verdict watching unless a breach).
func watchCanary(ctx context.Context, logs TenantLogs, c Canary, rec *CanaryRecord, once bool) (CanaryRecord, error) {
	out := *rec
	out.Verdict, out.Breached, out.Reason = VerdictWatching, nil, ""
	follow, err := NewLogFollower(ctx, logs)
	if err != nil {
		return out, err
	}
	window := rec.To.Sub(rec.From)
	base := newHealthAcc(rec.From.Add(-window), rec.From)
	if _, err := readWindow(ctx, logs, base, base.from, rec.From); err != nil {
		return out, err
	}
	cur := newHealthAcc(rec.From, rec.To)
	if _, err := readWindow(ctx, logs, cur, rec.From, rec.To); err != nil {
		return out, err
	}
	out.Polls += 3
	for {
		now := time.Now()
		rep := HealthReport{Current: cur.health(now), Baseline: base.health(now)}
		if !rec.To.After(now) {
			rep.Current.To = rec.To.UTC()
		}
		out.Observed = &rep
		if paths, reason := c.verdict(rep); len(paths) > 0 {
			out.Verdict, out.Breached, out.Reason, out.DecidedAt = VerdictBreach, paths, reason, now.UTC()
		} else if !rec.To.After(now) {
			out.Verdict, out.DecidedAt = VerdictHealthy, now.UTC()
		}
		if once && out.Verdict == VerdictHealthy {
			out.Verdict = VerdictWatching // a look, not the verdict of the window
		}
		if c.OnPoll != nil && !once {
			c.OnPoll(out)
		}
		if out.Verdict != VerdictWatching || once {
			return out, nil
		}
		wait := time.NewTimer(max(0, min(c.PollInterval, time.Until(rec.To)+time.Millisecond)))
		select {
		case <-ctx.Done():
			wait.Stop()
			return out, ctx.Err()
		case <-wait.C:
		}
		evs, err := follow.Next(ctx)
		if err != nil {
			return out, err
		}
		out.Polls++
		for _, e := range evs {
			cur.add(e)
		}
	}
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
