package watch

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Canary configures the delivery watch phonemigrate's Apply runs before
// it completes (phonemigrate.Options.Canary): it reads the tenant logs from the moment the tenant
// switched to the Unified Phone Experience for Window, and fails the
// migration (phonemigrate.CanaryBreachError) when a delivery path breaks.
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
	// AutoRollback makes Apply run Migrator.Rollback at once after a
	// breach; the error then says whether it succeeded.
	AutoRollback bool
	// OnPoll, when set, is called after every read of the logs with what
	// the canary saw so far.
	OnPoll func(Record)
	// Now, when set, is the clock the window is measured on: the switch
	// time Apply records, and whether the window has ended (default
	// time.Now; PollInterval stays real time). It exists for tests, which
	// hold it to keep a window open until they interrupt the watch, or
	// move it to end a window at once.
	Now func() time.Time
}

// Time is the time on c's clock (Now, or time.Now when unset).
func (c Canary) Time() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// WithDefaults is c with its defaults filled in: PollInterval 10s,
// Threshold 0.2, MinFailures 5.
func (c Canary) WithDefaults() Canary {
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

// Canary verdicts ([Record.Verdict]).
const (
	VerdictWatching = "watching" // the window has not ended
	VerdictHealthy  = "healthy"  // the window ended without a breach
	VerdictBreach   = "breach"   // a path broke: the migration failed
	VerdictSkipped  = "skipped"  // a resumed Apply ran without the canary before the window ended
)

// Record is the canary's observation, kept in the checkpoint (phonemigrate.Checkpoint.Watch) so
// that a resumed Apply continues the same window.
type Record struct {
	// SwitchedAt is when the tenant switched; the window is [From, To).
	SwitchedAt  time.Time `json:"switched_at"`
	From        time.Time `json:"from"`
	To          time.Time `json:"to"`
	Threshold   float64   `json:"threshold"`
	MinFailures int       `json:"min_failures"`
	Verdict     string    `json:"verdict,omitempty"`
	// Breached lists the paths that broke, Reason says how.
	Breached []Path `json:"breached,omitempty"`
	Reason   string `json:"reason,omitempty"`
	// Observed is the health seen (current and baseline window).
	Observed *Report `json:"observed,omitempty"`
	// Polls counts log reads, DecidedAt when the verdict was reached.
	Polls     int       `json:"polls"`
	DecidedAt time.Time `json:"decided_at,omitzero"`
}

// verdict decides on rep: a path breaches when it has at least
// MinFailures failures and a failure rate at least Threshold above its
// baseline, over the whole window or over its last messages (the recent
// counts, so that healthy messages early in the window do not hide a
// break); so do Action failures (which Auth0 may log without a
// per-message failure) at least MinFailures above the baseline.
func (c Canary) verdict(rep Report) (paths []Path, reason string) {
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

// Observe watches rec's window [rec.From, rec.To): it reads the baseline
// (the same-length window before From) and what is already logged since
// From, then follows the logs one page per PollInterval until a path
// breaks or the window ends, calling OnPoll after every read. The record
// it returns carries the verdict ([VerdictBreach] or [VerdictHealthy]), or
// [VerdictWatching] with the error that stopped it.
func (c Canary) Observe(ctx context.Context, logs TenantLogs, rec Record) (Record, error) {
	return c.WithDefaults().observe(ctx, logs, &rec, false)
}

// Look decides on what is logged in rec's window so far and returns at
// once: [VerdictBreach] when a path already broke, [VerdictWatching]
// otherwise. OnPoll is not called.
func (c Canary) Look(ctx context.Context, logs TenantLogs, rec Record) (Record, error) {
	return c.WithDefaults().observe(ctx, logs, &rec, true)
}

// observe observes [rec.From, rec.To): it reads the baseline and what
// is already logged since From, then follows the logs one page per poll
// until a breach or the end of the window. With once it decides on what is
// logged so far and returns (verdict watching unless a breach).
func (c Canary) observe(ctx context.Context, logs TenantLogs, rec *Record, once bool) (Record, error) {
	out := *rec
	out.Verdict, out.Breached, out.Reason = VerdictWatching, nil, ""
	follow, err := NewFollower(ctx, logs)
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
		now := c.Time()
		rep := Report{Current: cur.health(now), Baseline: base.health(now)}
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
		wait := time.NewTimer(max(0, min(c.PollInterval, rec.To.Sub(now)+time.Millisecond)))
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
