package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/unifiedphone/unifiedphone/phonemigrate"
	"github.com/unifiedphone/unifiedphone/phonemigrate/filestore"
	"github.com/unifiedphone/unifiedphone/phonemigrate/watch"
)

// defaultWatch is the canary window `apply` watches delivery for after the
// switch (docs/cli.md states it).
const defaultWatch = 2 * time.Minute

// canaryClock, when set, is the canary's clock (watch.Canary.Now). Nothing
// in the command sets it: only the test binary, re-executed as phonemigrate
// by the end-to-end scripts, holds it still (script_test.go), so that a
// script can interrupt a watch whose window cannot end first.
var canaryClock func() time.Time

// canaryFlags are apply's delivery-canary flags.
type canaryFlags struct {
	window         time.Duration
	threshold      float64
	minFailures    int
	poll           time.Duration
	noAutoRollback bool
}

func (f *canaryFlags) register(fs *flag.FlagSet) {
	fs.DurationVar(&f.window, "watch", defaultWatch, "watch phone delivery in the tenant logs for `D` after the switch before completing, rolling back when it breaks (0 disables; default $PHONEMIGRATE_WATCH when set)")
	fs.Float64Var(&f.threshold, "watch-threshold", 0.2, "failure `RATE` (0-1) above the rate before the switch that counts as broken")
	fs.IntVar(&f.minFailures, "watch-min-failures", 5, "least `N` failed messages on a path before it counts as broken")
	fs.DurationVar(&f.poll, "watch-poll", 10*time.Second, "read the tenant logs every `D` while watching (one page a read)")
	fs.BoolVar(&f.noAutoRollback, "no-auto-rollback", false, "when delivery breaks, stop (exit 1) without rolling back")
}

// set reports whether any canary flag was given.
func (f *canaryFlags) set(fs *flag.FlagSet) bool {
	given := false
	fs.Visit(func(fl *flag.Flag) {
		switch fl.Name {
		case "watch", "watch-threshold", "watch-min-failures", "watch-poll", "no-auto-rollback":
			given = true
		}
	})
	return given
}

// canary returns the engine's canary options; without --watch the window
// is $PHONEMIGRATE_WATCH when set.
func (f *canaryFlags) canary(fs *flag.FlagSet, getenv func(string) string) (watch.Canary, error) {
	explicit := false
	fs.Visit(func(fl *flag.Flag) { explicit = explicit || fl.Name == "watch" })
	if v := getenv(envWatch); v != "" && !explicit {
		d, err := time.ParseDuration(v)
		if err != nil {
			return watch.Canary{}, usageErrorf("%s %q is not a duration such as 2m (0 disables the watch)", envWatch, v)
		}
		f.window = d
	}
	switch {
	case f.window < 0:
		return watch.Canary{}, usageErrorf("--watch must not be negative (0 disables the watch)")
	case f.threshold <= 0 || f.threshold > 1:
		return watch.Canary{}, usageErrorf("--watch-threshold must be a rate above 0 and at most 1, such as 0.2")
	case f.minFailures < 1:
		return watch.Canary{}, usageErrorf("--watch-min-failures must be at least 1")
	case f.poll <= 0:
		return watch.Canary{}, usageErrorf("--watch-poll must be positive")
	}
	return watch.Canary{Window: f.window, Threshold: f.threshold, MinFailures: f.minFailures,
		PollInterval: f.poll, AutoRollback: !f.noAutoRollback, Now: canaryClock}, nil
}

// watchOutput is `watch --json` (one object; with --follow one line per
// read).
type watchOutput struct {
	Tenant string `json:"tenant"`
	watch.Report
}

func runWatch(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet("watch")
	var (
		tf      tenantFlags
		cf      checkpointFlag
		log     logging
		since   string
		follow  bool
		jsonOut bool
		poll    time.Duration
	)
	tf.register(fs)
	cf.register(fs)
	log.register(fs)
	fs.StringVar(&since, "since", "", "watch from `D|TIME` ago (a duration such as 30m) or since an RFC 3339 time (default: since the migration's switch in the checkpoint, else 1h)")
	fs.BoolVar(&follow, "follow", false, "keep reading the logs and print what changes until interrupted")
	fs.DurationVar(&poll, "poll-interval", 10*time.Second, "with --follow: read the logs every `D` (one page a read)")
	fs.BoolVar(&jsonOut, "json", false, "print the report as JSON (with --follow: one JSON object a line)")
	if err := c.parseFlags(fs, "watch", args, log.check); err != nil {
		return err
	}
	if poll <= 0 {
		return usageErrorf("--poll-interval must be positive")
	}
	tenant, err := tf.resolve(c.getenv)
	if err != nil {
		return err
	}
	now := time.Now()
	from, err := parseSince(since, now)
	if err != nil {
		return err
	}
	if since == "" {
		from = now.Add(-time.Hour)
		if cp, err := filestore.New(cf.resolve(tenant)).Load(ctx); err == nil && cp.Watch != nil && !cp.Watch.SwitchedAt.IsZero() && cp.Watch.SwitchedAt.Before(now) {
			from = cp.Watch.SwitchedAt
		} else if err != nil && !errors.Is(err, phonemigrate.ErrNoCheckpoint) {
			return err
		}
	}
	client, err := c.connect(ctx, tenant, log.logger(c.stderr))
	if err != nil {
		return err
	}
	// The connections' secrets (a gateway URL's credentials, its signing
	// key) are learnt first, so that log entries quoting them are redacted.
	if _, err := client.ListSMSConnections(ctx); err != nil {
		return err
	}
	rep, err := watch.Delivery(ctx, client, from, time.Time{})
	if err != nil {
		return err
	}
	if jsonOut {
		if err := c.writeJSON(watchOutput{Tenant: tenant.Name(), Report: rep}); err != nil {
			return err
		}
	} else {
		fmt.Fprint(c.stdout, printable(healthText(tenant.Name(), rep, isTerminal(c.stdout))))
	}
	if !follow {
		return nil
	}
	return c.follow(ctx, client, tenant.Name(), from, rep, poll, jsonOut)
}

// follow polls the logs (one checkpoint page a read) and prints the
// changes until ctx ends (Ctrl-C), which is a normal end (exit 0).
func (c *cli) follow(ctx context.Context, logs watch.TenantLogs, tenant string, from time.Time, rep watch.Report, poll time.Duration, jsonOut bool) error {
	f, err := watch.NewFollower(ctx, logs)
	if err != nil {
		return err
	}
	acc := watch.NewCounter(from)
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		evs, err := f.Next(ctx)
		if errors.Is(err, context.Canceled) {
			return nil
		}
		if err != nil {
			return err
		}
		delta := watch.NewCounter(from)
		for _, e := range evs {
			acc.Add(e)
			delta.Add(e)
		}
		now := time.Now()
		if jsonOut {
			cur := acc.Health(now)
			mergeHealth(&cur, rep.Current)
			if err := c.writeJSONLine(watchOutput{Tenant: tenant, Report: watch.Report{Current: cur, Baseline: rep.Baseline}}); err != nil {
				return err
			}
			continue
		}
		if line := deltaLine(now, delta.Health(now)); line != "" {
			fmt.Fprint(c.stdout, printable(line))
		}
	}
}

func (c *cli) writeJSONLine(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = c.stdout.Write(append(escapeUnsafe(b), '\n'))
	return err
}

// mergeHealth adds the counts of base (the report printed first) to h.
func mergeHealth(h *watch.Health, base watch.Health) {
	for i, p := range h.Paths {
		b := base.Path(p.Path)
		p.Sent += b.Sent
		p.Failed += b.Failed
		p.FailureRate = 0
		if n := p.Sent + p.Failed; n > 0 {
			p.FailureRate = float64(p.Failed) / float64(n)
		}
		if len(p.TopErrors) == 0 {
			p.TopErrors = b.TopErrors
		}
		h.Paths[i] = p
	}
	h.ActionFailures += base.ActionFailures
	h.PhoneLimited += base.PhoneLimited
	h.TestFailures += base.TestFailures
	h.From = base.From
}

// deltaLine is one --follow line: what the last read added, per path.
func deltaLine(now time.Time, h watch.Health) string {
	var parts []string
	for _, p := range h.Paths {
		if p.Sent+p.Failed == 0 {
			continue
		}
		s := fmt.Sprintf("%s +%d sent +%d failed", p.Path, p.Sent, p.Failed)
		if len(p.TopErrors) > 0 {
			s += " (" + p.TopErrors[0].Reason + ")"
		}
		parts = append(parts, s)
	}
	if h.ActionFailures > 0 {
		parts = append(parts, fmt.Sprintf("+%d Action failures", h.ActionFailures))
	}
	if h.PhoneLimited > 0 {
		parts = append(parts, fmt.Sprintf("+%d blocked by the phone limit", h.PhoneLimited))
	}
	if len(parts) == 0 {
		return ""
	}
	return now.UTC().Format("15:04:05") + " " + strings.Join(parts, "; ") + "\n"
}

// parseSince reads --since: a duration before now or an RFC 3339 time.
func parseSince(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		if d <= 0 {
			return time.Time{}, usageErrorf("--since %q must be a positive duration", s)
		}
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			if !t.Before(now) {
				return time.Time{}, usageErrorf("--since %q is not in the past", s)
			}
			return t, nil
		}
	}
	return time.Time{}, usageErrorf("--since %q is neither a duration (30m, 2h) nor an RFC 3339 time (2026-01-02T15:04:05Z)", s)
}

// healthText is the watch report; spark adds a per-minute sparkline of
// failures (terminals only).
func healthText(tenant string, rep watch.Report, spark bool) string {
	var b strings.Builder
	cur, base := rep.Current, rep.Baseline
	fmt.Fprintf(&b, "Phone delivery of %s from %s to %s (%s), compared with the %s before:\n",
		tenant, cur.From.Format(time.RFC3339), cur.To.Format(time.RFC3339), roundDur(cur.To.Sub(cur.From)), roundDur(cur.To.Sub(cur.From)))
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  path\tsent\tfailed\tfailure rate\tbefore\t")
	for _, p := range cur.Paths {
		bp := base.Path(p.Path)
		fmt.Fprintf(tw, "  %s\t%d\t%d\t%s\t%s\t\n", p.Path, p.Sent, p.Failed, pct(p), pct(bp))
	}
	_ = tw.Flush()
	for _, p := range cur.Paths {
		for _, r := range p.TopErrors {
			fmt.Fprintf(&b, "  %s: %d× %s\n", p.Path, r.Count, r.Reason)
		}
	}
	fmt.Fprintf(&b, "  Action failures: %d (before %d); blocked by the phone limit: %d; failed test messages: %d\n",
		cur.ActionFailures, base.ActionFailures, cur.PhoneLimited, cur.TestFailures)
	for _, r := range cur.ActionErrors {
		fmt.Fprintf(&b, "  Action: %d× %s\n", r.Count, r.Reason)
	}
	if cur.Truncated || base.Truncated {
		b.WriteString("  More events than Auth0 lets a query reach (1,000): the counts cover the newest part only.\n")
	}
	if spark && len(cur.Minutes) > 1 {
		fmt.Fprintf(&b, "  failures per minute: %s\n", sparkline(cur.Minutes))
	}
	return b.String()
}

func pct(p watch.PathHealth) string {
	if p.Sent+p.Failed == 0 {
		return "-"
	}
	return strconv.FormatFloat(100*p.FailureRate, 'f', 1, 64) + "%"
}

func roundDur(d time.Duration) time.Duration {
	if d > time.Minute {
		return d.Round(time.Second)
	}
	return d.Round(time.Millisecond)
}

// sparkline draws failed messages per minute.
func sparkline(ms []watch.Minute) string {
	const bars = "▁▂▃▄▅▆▇█"
	runes := []rune(bars)
	peak := 0
	for _, m := range ms {
		peak = max(peak, m.Failed)
	}
	var b strings.Builder
	for _, m := range ms {
		i := 0
		if peak > 0 {
			i = m.Failed * (len(runes) - 1) / peak
		}
		b.WriteRune(runes[i])
	}
	return b.String()
}

// canaryText is what apply prints about its delivery watch.
func canaryText(tenant string, w *watch.Record) string {
	var b strings.Builder
	switch w.Verdict {
	case watch.VerdictBreach:
		fmt.Fprintf(&b, "Delivery broke after the switch: %s.\n", w.Reason)
	case watch.VerdictHealthy:
		fmt.Fprintf(&b, "Delivery stayed healthy for %s after the switch (%d log reads).\n", roundDur(w.To.Sub(w.From)), w.Polls)
	case watch.VerdictSkipped:
		fmt.Fprintf(&b, "Delivery watch not finished: %s.\n", w.Reason)
	default:
		fmt.Fprintf(&b, "Delivery watch interrupted (%d log reads); 'phonemigrate apply' continues it.\n", w.Polls)
	}
	if w.Observed != nil {
		b.WriteString(healthText(tenant, *w.Observed, false))
	}
	return b.String()
}

// canReadLogs checks, before apply writes anything, that the token may
// read the tenant logs when the delivery watch is on (one GET /logs).
func canReadLogs(ctx context.Context, logs watch.TenantLogs, c watch.Canary) error {
	if c.Window <= 0 {
		return nil
	}
	_, err := logs.Logs(ctx, watch.LogQuery{Sort: "date:-1", PerPage: 1})
	if errors.Is(err, phonemigrate.ErrForbidden) || errors.Is(err, phonemigrate.ErrUnauthorized) {
		return usageErrorf("the delivery watch cannot read the tenant logs (%v); grant the read:logs scope, or pass --watch 0 to migrate without watching (nothing was written)", err)
	}
	return err
}
