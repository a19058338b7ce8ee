package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/unifiedphone/unifiedphone/phonemigrate"
	"github.com/unifiedphone/unifiedphone/phonemigrate/auth0api"
	"github.com/unifiedphone/unifiedphone/phonemigrate/fleet"
)

// fleetConflicts are the apply flags a fleet file replaces: the tenant,
// its checkpoint and its options come from the file.
var fleetConflicts = []string{"base-url", "checkpoint", "provider", "delivery", "test-to", "skip-test", "allow-replace", "twilio-api-url", "accept-difference"}

// applyFleet is 'apply --fleet FILE': every tenant of the file, with
// bounded concurrency, then a summary table (or the JSON report with
// --json) on stdout. It returns an error (exit 1) when any tenant failed;
// a bad fleet file is a usage error (exit 2) and nothing is contacted.
//
// On a terminal stderr shows a progress bar; otherwise one line per
// finished tenant (nothing with --quiet).
// fleetRun is what apply --fleet takes besides the shared flags.
type fleetRun struct {
	path          string
	anyCheckpoint bool        // --allow-any-checkpoint
	tf            tenantFlags // --request-timeout and --header-timeout apply to every tenant
	pf            proveFlags  // --no-rehearse applies to every tenant; each accepts its own differences
}

func (c *cli) applyFleet(ctx context.Context, fs *flag.FlagSet, fr fleetRun, yes, jsonOut bool, poll time.Duration, log logging) error {
	path := fr.path
	var conflict string
	fs.Visit(func(f *flag.Flag) {
		for _, n := range fleetConflicts {
			if f.Name == n && conflict == "" {
				conflict = n
			}
		}
	})
	if conflict != "" {
		return usageErrorf("--fleet and --%s cannot be used together: the fleet file sets each tenant's %s", conflict, strings.TrimPrefix(conflict, "--"))
	}
	if poll <= 0 {
		return usageErrorf("--poll-interval must be positive")
	}
	if !yes && !c.stdinTTY {
		return usageErrorf("apply --fleet needs --yes when stdin is not a terminal (nothing was written)")
	}
	if fr.tf.requestTimeout <= 0 || fr.tf.headerTimeout <= 0 {
		return usageErrorf("--request-timeout and --header-timeout must be positive durations such as 25s")
	}
	var loadOpts []fleet.LoadOption
	if fr.anyCheckpoint {
		loadOpts = append(loadOpts, fleet.AllowCheckpointsAnywhere())
	}
	cfg, err := fleet.Load(path, loadOpts...)
	var ce *fleet.ConfigError
	if errors.As(err, &ce) {
		return usageErrorf("%s", ce.Error())
	}
	if err != nil {
		return err
	}
	if !yes {
		ok, err := c.ask(fmt.Sprintf("Migrate the %d tenants of %s?", len(cfg.Tenants), path))
		if err != nil {
			return err
		}
		if !ok {
			fmt.Fprintln(c.stderr, "Nothing was written.")
			return nil
		}
	}
	pr := newFleetProgress(c.stderr, c.stderrTTY, log.quiet, len(cfg.Tenants))
	r := &fleet.Runner{
		Getenv:                c.getenv,
		DefaultTwilioTokenEnv: envTwilioToken,
		Progress:              pr.event,
		Logger:                log.logger(c.stderr),
		MigratorOptions: func(fleet.Tenant) []phonemigrate.Option {
			return []phonemigrate.Option{phonemigrate.WithPollInterval(poll)}
		},
		ClientConfig: func(_ fleet.Tenant, cc *auth0api.Config) {
			cc.RequestTimeout, cc.ResponseHeaderTimeout = fr.tf.requestTimeout, fr.tf.headerTimeout
		},
	}
	if fr.pf.enabled(c.getenv) {
		r.Review = c.fleetReview(log.logger(c.stderr))
	}
	rep, runErr := r.Run(ctx, cfg)
	pr.finish()
	if rep == nil {
		return runErr
	}
	if jsonOut {
		if err := c.writeJSON(rep); err != nil {
			return err
		}
	} else {
		fmt.Fprint(c.stdout, rep.Table())
	}
	if runErr != nil {
		return runErr
	}
	if n := rep.Failed(); n > 0 {
		return fmt.Errorf("%d of %d tenants failed; rerun 'phonemigrate apply --fleet %s' to resume them from their checkpoints", n, len(rep.Tenants), path)
	}
	return nil
}

// fleetReview proves each tenant's outcome before its first write, as
// apply does for one tenant: the rehearsal on a fake copy, refusing (that
// tenant only, nothing written to it) a consumer that would receive
// something else unless the tenant's options.accept_differences name it;
// what is accepted is recorded in the tenant's checkpoint.
func (c *cli) fleetReview(logger *slog.Logger) func(context.Context, fleet.Tenant, phonemigrate.Client, *phonemigrate.Options, *phonemigrate.Plan) error {
	return func(ctx context.Context, t fleet.Tenant, client phonemigrate.Client, o *phonemigrate.Options, p *phonemigrate.Plan) error {
		pf := proveFlags{accept: t.Options.AcceptDifferences}
		rh, err := c.rehearse(ctx, client, t.Name, *o, pf, logger, p.Hook)
		if err != nil {
			return err
		}
		if err := proveOrRefuse(rh); err != nil {
			if e := (*errOutcomeDiffers)(nil); errors.As(err, &e) {
				e.fleet = true
			}
			return err
		}
		o.AcceptedDifferences = rh.accepted
		o.AcceptActionDifferences = o.AcceptActionDifferences || pf.acceptsProof(p)
		return nil
	}
}

// fleetProgress shows a fleet's progress on stderr: on a terminal a bar
// redrawn in place,
//
//	[##########..........]  37/200 tenants  2 failed  12s
//
// otherwise one line per finished tenant ("acme-eu: completed (2.31s)").
type fleetProgress struct {
	mu     sync.Mutex
	w      io.Writer
	tty    bool
	quiet  bool
	total  int
	done   int
	failed int
	start  time.Time
	drawn  bool
}

func newFleetProgress(w io.Writer, tty, quiet bool, total int) *fleetProgress {
	return &fleetProgress{w: w, tty: tty, quiet: quiet, total: total, start: time.Now()}
}

// event is a fleet.Runner Progress callback.
func (p *fleetProgress) event(ev fleet.Event) {
	if ev.Kind != fleet.EventFinished || p.quiet {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done = ev.Done
	if !ev.Result.Outcome.OK() {
		p.failed++
	}
	if !p.tty {
		line := fmt.Sprintf("%s: %s (%s)", ev.Tenant, ev.Result.Outcome, formatDuration(ev.Result.Duration))
		if ev.Result.Error != "" {
			line += ": " + sentence(ev.Result.Error)
		}
		fmt.Fprintln(p.w, line)
		return
	}
	fmt.Fprint(p.w, "\r"+p.bar())
	p.drawn = true
}

// bar renders the progress bar line.
func (p *fleetProgress) bar() string {
	const width = 20
	filled := 0
	if p.total > 0 {
		filled = p.done * width / p.total
	}
	s := fmt.Sprintf("[%s%s] %*d/%d tenants", strings.Repeat("#", filled), strings.Repeat(".", width-filled), len(fmt.Sprint(p.total)), p.done, p.total)
	if p.failed > 0 {
		s += fmt.Sprintf("  %d failed", p.failed)
	}
	return s + "  " + time.Since(p.start).Round(time.Second).String()
}

// finish ends the bar's line.
func (p *fleetProgress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn {
		fmt.Fprintln(p.w)
	}
}
