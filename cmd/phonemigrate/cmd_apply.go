package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/unifiedphone/unifiedphone/phonemigrate"
	deliverywatch "github.com/unifiedphone/unifiedphone/phonemigrate/watch"
)

// applyOutput is the --json output of apply and rollback.
type applyOutput struct {
	Tenant      string             `json:"tenant"`
	State       string             `json:"state"`
	AlreadyDone bool               `json:"already_done"`
	Checkpoint  string             `json:"checkpoint"`
	Steps       []jsonTransition   `json:"steps"`
	Plan        *phonemigrate.Plan `json:"plan,omitempty"`
	// Tests are this run's test messages: Twilio's status, a person's
	// confirmation, or assumed_received (no delivery evidence).
	Tests []phonemigrate.TestOutcome `json:"tests,omitempty"`
	// Watch is the delivery canary's window, verdict and observation.
	Watch *deliverywatch.Record `json:"watch,omitempty"`
	// Repair is set (exit 3) when the tenant is switched and leaves users
	// without codes: what 'phonemigrate repair' would write.
	Repair *phonemigrate.Plan `json:"repair,omitempty"`
	// Rehearsal is what the pre-write rehearsal found (apply refuses
	// while a difference is not accepted).
	Rehearsal *rehearsal `json:"rehearsal,omitempty"`
	Error     string     `json:"error,omitempty"`
}

func runApply(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet("apply")
	var (
		tf      tenantFlags
		of      optionFlags
		cf      checkpointFlag
		log     logging
		yes     bool
		jsonOut bool
		poll    time.Duration
		askTok  bool
		watch   canaryFlags
		pf      proveFlags
	)
	tf.register(fs)
	of.register(fs)
	pf.register(fs)
	cf.register(fs)
	log.register(fs)
	watch.register(fs)
	fs.BoolVar(&yes, "yes", false, "do not ask for confirmation before writing (without a terminal, test messages without delivery evidence are reported as assumed received)")
	fs.BoolVar(&askTok, "ask-twilio-token", false, "ask for the Twilio auth token on the terminal (no echo) instead of carrying the tenant's legacy token over")
	fs.DurationVar(&poll, "poll-interval", 2*time.Second, "the longest wait between two reads of the new Action while it is built and deployed (the first is 100ms, each next doubles): a duration `D` such as 500ms")
	fs.BoolVar(&jsonOut, "json", false, "print the result as JSON (schema in docs/cli.md)")
	fleetPath := fs.String("fleet", "", "migrate every tenant of this YAML or JSON fleet `FILE` instead of one tenant (credentials only as names of environment variables)")
	anyCheckpoint := fs.Bool("allow-any-checkpoint", false, "with --fleet: allow checkpoint paths outside the fleet file's directory (absolute, or with ..)")
	if err := c.parseFlags(fs, "apply", args, log.check); err != nil {
		return err
	}
	if *fleetPath != "" && watch.set(fs) {
		return usageErrorf("the delivery watch flags apply to one tenant, not to --fleet (fleet migrations do not watch)")
	}
	if *fleetPath != "" {
		return c.applyFleet(ctx, fs, fleetRun{path: *fleetPath, anyCheckpoint: *anyCheckpoint, tf: tf}, yes, jsonOut, poll, log)
	}
	if *anyCheckpoint {
		return usageErrorf("--allow-any-checkpoint applies only to --fleet")
	}
	opts, err := of.options(c.getenv)
	if err != nil {
		return err
	}
	if poll <= 0 {
		return usageErrorf("--poll-interval must be positive")
	}
	if opts.Canary, err = watch.canary(fs, c.getenv); err != nil {
		return err
	}
	if !yes && !c.stdinTTY {
		return usageErrorf("apply needs --yes when stdin is not a terminal (nothing was written)")
	}
	tenant, err := tf.resolve(c.getenv)
	if err != nil {
		return err
	}
	opts.TwilioAuthToken = phonemigrate.Secret(c.getenv(envTwilioToken))
	c.secrets.AddSecret(opts.TwilioAuthToken)
	if askTok {
		if !c.stdinTTY {
			return usageErrorf("--ask-twilio-token needs a terminal; set TWILIO_AUTH_TOKEN instead (nothing was written)")
		}
		if opts.TwilioAuthToken, err = c.promptTwilioToken(); err != nil {
			return err
		}
	}
	opts.Confirm = c.confirmTest()
	path := cf.resolve(tenant)
	s, err := c.newSession(ctx, tenant, path, log, phonemigrate.WithPollInterval(poll))
	if err != nil {
		return err
	}

	// The delivery watch needs the tenant logs: find out before any write.
	if err := canReadLogs(ctx, s.client, opts.Canary); err != nil {
		return err
	}

	// Show what will happen and ask, unless a checkpoint says we resume.
	cp, err := s.migrator.Status(ctx)
	if err != nil && !errors.Is(err, phonemigrate.ErrNoCheckpoint) {
		return err
	}
	// What comes next is the checkpoint's to say (as for the engine and
	// fleet): a migration under way resumes, a completed one is a no-op,
	// an unfinished rollback must be finished first; else start over.
	next := cp.Next()
	if next == phonemigrate.NextRollback {
		return usageErrorf("a rollback of %s did not finish (checkpoint %s, state %s): run 'phonemigrate rollback' to finish it (nothing was written)", tenant.Name(), path, cp.State)
	}
	resuming := next == phonemigrate.NextApply || next == phonemigrate.NextNone
	var plan *phonemigrate.Plan
	if !resuming {
		plan, err = s.migrator.Plan(ctx, opts)
		if errors.Is(err, phonemigrate.ErrTwilioTokenRequired) && opts.TwilioAuthToken == "" && c.stdinTTY {
			if opts.TwilioAuthToken, err = c.promptTwilioToken(); err != nil {
				return err
			}
			plan, err = s.migrator.Plan(ctx, opts)
		}
		if errors.Is(err, phonemigrate.ErrAlreadyUnified) {
			return c.applyNothing(tenant, path, jsonOut)
		}
		if repair := showRepair(c.stderr, err, jsonOut); repair != nil && jsonOut {
			if werr := c.writeJSON(applyOutput{Tenant: tenant.Name(), Checkpoint: path, Steps: []jsonTransition{}, Repair: repair, Error: err.Error()}); werr != nil {
				return werr
			}
		}
		if err != nil {
			return err
		}
		if !jsonOut && !log.quiet {
			fmt.Fprint(c.stderr, printable(plan.Text()))
		}
		if err := c.actionSecrets(&of, opts, plan); err != nil {
			return err
		}
		// Prove the outcome before the first write.
		rh, err := c.rehearse(ctx, s.client, tenant.Name(), opts, pf, log.logger(c.stderr), plan.Hook)
		if err != nil {
			return err
		}
		if !jsonOut && (!log.quiet || len(rh.unaccepted()) > 0) {
			fmt.Fprint(c.stderr, printable(rehearsalText(rh)))
		}
		if err := proveOrRefuse(rh); err != nil {
			if jsonOut {
				_ = c.writeJSON(applyOutput{Tenant: tenant.Name(), Checkpoint: path, Steps: []jsonTransition{}, Plan: plan, Rehearsal: rh, Error: err.Error()})
			}
			return err
		}
		// What was accepted is recorded, so that check does not count it.
		opts.AcceptedDifferences = rh.accepted
		opts.AcceptActionDifferences = opts.AcceptActionDifferences || pf.acceptsProof(plan)
	} else if cp.State != phonemigrate.StateCompleted && !log.quiet {
		fmt.Fprintf(c.stderr, "Resuming the migration of %s from %s (checkpoint %s).\n", tenant.Name(), cp.ResumePoint(), path)
	}
	if !yes && !(resuming && cp.State == phonemigrate.StateCompleted) {
		q := fmt.Sprintf("Apply these changes to %s?", tenant.Name())
		if resuming {
			q = fmt.Sprintf("Resume the migration of %s?", tenant.Name())
		}
		ok, err := c.ask(q)
		if err != nil {
			return err
		}
		if !ok {
			fmt.Fprintln(c.stderr, "Nothing was written.")
			return nil
		}
	}
	if !(resuming && cp.State == phonemigrate.StateCompleted) {
		s.progress.note("Migrating %s (checkpoint %s):", tenant.Name(), path)
	}
	if yes {
		// Nothing stood between the plan and the migration: it starts from
		// the plan's reads. After a question Apply reads the tenant again,
		// so a colleague's edit made meanwhile is migrated, not reverted.
		opts.Planned = plan
	}
	res, applyErr := s.migrator.Apply(ctx, opts)
	if errors.Is(applyErr, phonemigrate.ErrAlreadyUnified) {
		return c.applyNothing(tenant, path, jsonOut)
	}
	out := applyOutput{Tenant: tenant.Name(), Checkpoint: path, Steps: jsonSteps(s.progress.steps), Plan: plan}
	if res != nil {
		out.State = string(res.State)
		out.AlreadyDone = res.AlreadyDone
		if res.Plan != nil {
			out.Plan = res.Plan
		}
		if res.Checkpoint != nil && !res.AlreadyDone {
			out.Tests = res.Checkpoint.Tests
			for _, t := range out.Tests {
				// A message counted without evidence is said even with
				// --quiet: nothing else tells the user.
				if !jsonOut && (!log.quiet || t.AssumedReceived) {
					fmt.Fprintf(c.stderr, "  test  %s\n", t.Summary())
				}
			}
			out.Watch = res.Checkpoint.Watch
		}
	}
	if out.Watch != nil && !jsonOut && (!log.quiet || out.Watch.Verdict == deliverywatch.VerdictBreach) {
		fmt.Fprint(c.stderr, printable(canaryText(tenant.Name(), out.Watch)))
	}
	var breach *phonemigrate.CanaryBreachError
	if errors.As(applyErr, &breach) {
		out.Error = applyErr.Error()
		if jsonOut {
			_ = c.writeJSON(out)
		}
		if breach.RolledBack {
			return fmt.Errorf("%w (state %s; checkpoint %s)", applyErr, out.State, path)
		}
		if breach.RollbackErr != nil {
			return fmt.Errorf("%w (checkpoint %s; 'phonemigrate rollback' finishes it)", applyErr, path)
		}
		return fmt.Errorf("%w (checkpoint %s; 'phonemigrate rollback' undoes the migration, 'phonemigrate apply' watches again)", applyErr, path)
	}
	if applyErr != nil {
		out.Error = applyErr.Error()
		out.Repair = showRepair(c.stderr, applyErr, jsonOut)
		if out.State == "" {
			out.State = string(phonemigrate.StateFailed)
			if cp, err := s.migrator.Status(ctx); err == nil && cp != nil {
				out.State = string(cp.State)
			} else {
				out.State = ""
			}
		}
		if jsonOut && out.State != "" {
			_ = c.writeJSON(out)
		}
		if phonemigrate.ExitCode(applyErr) == exitFailed && out.State != "" {
			return fmt.Errorf("%w (checkpoint %s; 'phonemigrate status' explains, 'phonemigrate apply' resumes)", applyErr, path)
		}
		return applyErr
	}
	if jsonOut {
		return c.writeJSON(out)
	}
	if out.AlreadyDone {
		fmt.Fprintf(c.stdout, "Nothing to do: the migration of %s is already completed (checkpoint %s).\n", tenant.Name(), path)
		return nil
	}
	fmt.Fprintf(c.stdout, "Migration of %s %s; checkpoint %s.\n", tenant.Name(), out.State, path)
	if out.State == string(phonemigrate.StateCompleted) {
		// The plan said what would revert, once; here only the next step.
		fmt.Fprintln(c.stdout, "Next, if Terraform or auth0-deploy-cli manages this tenant: 'phonemigrate export --format terraform' (or deploy-cli), then follow its EDITS.md.")
	}
	return nil
}

func (c *cli) applyNothing(tenant tenantConfig, path string, jsonOut bool) error {
	if jsonOut {
		return c.writeJSON(applyOutput{Tenant: tenant.Name(), State: string(phonemigrate.StateAlreadyUnified), AlreadyDone: true, Checkpoint: path, Steps: []jsonTransition{}})
	}
	fmt.Fprintf(c.stdout, "Nothing to do: %s is already on the Unified Phone Experience.\n", tenant.Name())
	return nil
}

// promptTwilioToken asks for the Twilio auth token on the terminal without
// echo.
func (c *cli) promptTwilioToken() (phonemigrate.Secret, error) {
	fmt.Fprint(c.stderr, "Twilio auth token (input hidden; or set TWILIO_AUTH_TOKEN): ")
	tok, err := c.readSecret()
	if err != nil {
		return "", fmt.Errorf("reading the Twilio auth token: %w", err)
	}
	c.secrets.Add(strings.TrimSpace(tok))
	return phonemigrate.Secret(strings.TrimSpace(tok)), nil
}

// actionSecrets makes sure every secret of the send-phone-message Action
// the plan copies has a value, before anything is written: from
// PHONEMIGRATE_ACTION_SECRET_<NAME>, else typed on a terminal (no echo);
// without a terminal a missing one is a usage error (exit 2) naming it.
func (c *cli) actionSecrets(of *optionFlags, opts phonemigrate.Options, plan *phonemigrate.Plan) error {
	var missing []string
	for _, n := range plan.ActionSecrets {
		v, ok := opts.ActionSecret(n)
		if !ok {
			missing = append(missing, n)
		}
		// A secret from the moment it is read (redacted from every error).
		c.secrets.AddSecret(v)
	}
	if len(missing) == 0 {
		return nil
	}
	if !c.stdinTTY {
		return &phonemigrate.ActionSecretError{Action: planHookName(plan), Missing: missing}
	}
	if of.prompted == nil {
		of.prompted = map[string]phonemigrate.Secret{}
	}
	for _, n := range missing {
		fmt.Fprintf(c.stderr, "Value of the Action secret %s (input hidden; or set %s%s): ", n, phonemigrate.ActionSecretEnvPrefix, n)
		v, err := c.readSecret()
		if err != nil {
			return fmt.Errorf("reading the Action secret %s: %w", n, err)
		}
		if v = strings.TrimSpace(v); v == "" {
			return &phonemigrate.ActionSecretError{Action: planHookName(plan), Missing: []string{n}}
		}
		c.secrets.Add(v)
		of.prompted[n] = phonemigrate.Secret(v)
	}
	return nil
}

// planHookName is the name of the send-phone-message Action a plan copies.
func planHookName(p *phonemigrate.Plan) string {
	if p.Hook != "" {
		return p.Hook
	}
	return "send-phone-message"
}

// confirmTest is Options.Confirm: on a terminal it asks whether the test
// message arrived (showing Twilio's status when there is one). Without a
// terminal (only reachable with --yes) no one can answer, so it is nil: a
// message without delivery evidence is then reported as assumed received,
// never as confirmed.
func (c *cli) confirmTest() func(context.Context, phonemigrate.TestMessage) (bool, error) {
	if !c.stdinTTY {
		return nil
	}
	return func(ctx context.Context, t phonemigrate.TestMessage) (bool, error) {
		q := fmt.Sprintf("Auth0 gives no delivery feedback: did the %s test message to %s arrive?", t.Method, t.Recipient)
		if t.TwilioStatus != "" {
			q = fmt.Sprintf("Twilio reports the %s test message to %s as %s: did it arrive?", t.Method, t.Recipient, t.TwilioStatus)
		}
		return c.ask(q)
	}
}

// ---- status --------------------------------------------------------------
