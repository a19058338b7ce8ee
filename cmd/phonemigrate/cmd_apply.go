package main

import (
	"context"
	"errors"
	"flag"
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

// applyFlags are apply's flags.
type applyFlags struct {
	tf            tenantFlags
	of            optionFlags
	cf            checkpointFlag
	log           logging
	pf            proveFlags
	watch         canaryFlags
	yes           bool
	jsonOut       bool
	askTok        bool
	poll          time.Duration
	fleet         string
	anyCheckpoint bool
}

func (f *applyFlags) register(fs *flag.FlagSet) {
	f.tf.register(fs)
	f.of.register(fs)
	f.pf.register(fs)
	f.cf.register(fs)
	f.log.register(fs)
	f.watch.register(fs)
	fs.BoolVar(&f.yes, "yes", false, "do not ask for confirmation before writing (without a terminal, test messages without delivery evidence are reported as assumed received)")
	fs.BoolVar(&f.askTok, "ask-twilio-token", false, "ask for the Twilio auth token on the terminal (no echo) instead of carrying the tenant's legacy token over")
	fs.DurationVar(&f.poll, "poll-interval", 2*time.Second, "the longest wait between two reads of the new Action while it is built and deployed (the first is 100ms, each next doubles): a duration `D` such as 500ms")
	fs.BoolVar(&f.jsonOut, "json", false, "print the result as JSON (schema in docs/cli.md)")
	fs.StringVar(&f.fleet, "fleet", "", "migrate every tenant of this YAML or JSON fleet `FILE` instead of one tenant (credentials only as names of environment variables)")
	fs.BoolVar(&f.anyCheckpoint, "allow-any-checkpoint", false, "with --fleet: allow checkpoint paths outside the fleet file's directory (absolute, or with ..)")
}

func runApply(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet("apply")
	var f applyFlags
	f.register(fs)
	if err := c.parseFlags(fs, "apply", args, f.log.check); err != nil {
		return err
	}
	if err := f.pf.check(); err != nil {
		return err
	}
	if f.fleet != "" {
		if f.watch.set(fs) {
			return usageErrorf("the delivery watch flags apply to one tenant, not to --fleet (fleet migrations do not watch)")
		}
		return c.applyFleet(ctx, fs, fleetRun{path: f.fleet, anyCheckpoint: f.anyCheckpoint, tf: f.tf, pf: f.pf}, f.yes, f.jsonOut, f.poll, f.log)
	}
	a, err := c.newApplyRun(ctx, fs, &f)
	if err != nil {
		return err
	}
	res, err := a.s.migrator.Run(ctx, a.session())
	return a.report(res, err)
}

// applyRun is one tenant's apply: what the flags asked, and the
// library's session hooks that show the plan, rehearse it and ask.
type applyRun struct {
	c      *cli
	f      *applyFlags
	opts   phonemigrate.Options
	tenant tenantConfig
	path   string // the checkpoint file
	s      *session
}

// newApplyRun checks apply's flags and what they need, connects to the
// tenant and makes sure the delivery watch can read its logs: all before
// anything is written.
func (c *cli) newApplyRun(ctx context.Context, fs *flag.FlagSet, f *applyFlags) (*applyRun, error) {
	if f.anyCheckpoint {
		return nil, usageErrorf("--allow-any-checkpoint applies only to --fleet")
	}
	opts, err := f.of.options(c.getenv)
	if err != nil {
		return nil, err
	}
	if f.poll <= 0 {
		return nil, usageErrorf("--poll-interval must be positive")
	}
	if opts.Canary, err = f.watch.canary(fs, c.getenv); err != nil {
		return nil, err
	}
	if !f.yes && !c.stdinTTY {
		return nil, usageErrorf("apply needs --yes when stdin is not a terminal (nothing was written)")
	}
	tenant, err := f.tf.resolve(c.getenv)
	if err != nil {
		return nil, err
	}
	if opts.TwilioAuthToken, err = c.twilioToken(f.askTok); err != nil {
		return nil, err
	}
	opts.Confirm = c.confirmTest()
	a := &applyRun{c: c, f: f, opts: opts, tenant: tenant, path: f.cf.resolve(tenant)}
	if a.s, err = c.newSession(ctx, tenant, a.path, f.log, phonemigrate.WithPollInterval(f.poll)); err != nil {
		return nil, err
	}
	// The delivery watch needs the tenant logs: find out before any write.
	if err := canReadLogs(ctx, a.s.client, opts.Canary); err != nil {
		return nil, err
	}
	return a, nil
}

// twilioToken is the Twilio auth token apply starts with: from
// TWILIO_AUTH_TOKEN, or typed on the terminal with --ask-twilio-token.
func (c *cli) twilioToken(ask bool) (phonemigrate.Secret, error) {
	tok := phonemigrate.Secret(c.getenv(envTwilioToken))
	c.secrets.AddSecret(tok)
	if !ask {
		return tok, nil
	}
	if !c.stdinTTY {
		return "", usageErrorf("--ask-twilio-token needs a terminal; set TWILIO_AUTH_TOKEN instead (nothing was written)")
	}
	return c.promptTwilioToken()
}

// session is the library session apply runs: it shows the plan (or where
// a migration resumes), rehearses it, and asks unless --yes; on a terminal
// it asks for a Twilio token the plan needs.
func (a *applyRun) session() phonemigrate.Session {
	ps := phonemigrate.Session{Options: a.opts, Review: a.review}
	if a.c.stdinTTY {
		ps.TwilioToken = func(context.Context) (phonemigrate.Secret, error) { return a.c.promptTwilioToken() }
	}
	if !a.f.yes {
		ps.Approve = a.approve
	}
	return ps
}

// quiet reports whether apply prints only what must be said.
func (a *applyRun) quiet() bool { return a.f.log.quiet }

// review shows what is about to happen: the plan, the Action secrets it
// needs and the rehearsal of a migration about to start, or where one
// resumes.
func (a *applyRun) review(ctx context.Context, o *phonemigrate.Options, p *phonemigrate.Plan, resume *phonemigrate.Checkpoint) error {
	if resume != nil {
		if !a.quiet() {
			fmt.Fprintf(a.c.stderr, "Resuming the migration of %s from %s (checkpoint %s).\n", a.tenant.Name(), resume.ResumePoint(), a.path)
		}
	} else if err := a.reviewPlan(ctx, o, p); err != nil {
		return err
	}
	if a.f.yes {
		a.migrating()
	}
	return nil
}

// reviewPlan shows the plan, gets the values of the Action secrets it
// copies, and proves the outcome on a fake copy of the tenant: a
// difference not accepted refuses the migration; the accepted ones are
// recorded (o).
func (a *applyRun) reviewPlan(ctx context.Context, o *phonemigrate.Options, plan *phonemigrate.Plan) error {
	c := a.c
	if !a.f.jsonOut && !a.quiet() {
		fmt.Fprint(c.stderr, printable(plan.Text()))
	}
	if err := c.actionSecrets(&a.f.of, a.opts, plan); err != nil {
		return err
	}
	rh, err := c.rehearse(ctx, a.s.client, a.tenant.Name(), a.opts, a.f.pf, a.f.log.logger(c.stderr), plan.Hook)
	if err != nil {
		return err
	}
	if !a.f.jsonOut && (!a.quiet() || len(rh.unaccepted()) > 0) {
		fmt.Fprint(c.stderr, printable(rehearsalText(rh)))
	}
	if err := proveOrRefuse(rh); err != nil {
		if a.f.jsonOut {
			_ = c.writeJSON(applyOutput{Tenant: a.tenant.Name(), Checkpoint: a.path, Steps: []jsonTransition{}, Plan: plan, Rehearsal: rh, Error: err.Error()})
		}
		return err
	}
	// What was accepted is recorded, so that check does not count it.
	o.AcceptedDifferences = rh.accepted
	o.AcceptActionDifferences = o.AcceptActionDifferences || a.f.pf.acceptsProof(plan)
	return nil
}

// approve asks whether to apply the plan, or to resume.
func (a *applyRun) approve(_ context.Context, _ *phonemigrate.Plan, resume *phonemigrate.Checkpoint) (bool, error) {
	q := fmt.Sprintf("Apply these changes to %s?", a.tenant.Name())
	if resume != nil {
		q = fmt.Sprintf("Resume the migration of %s?", a.tenant.Name())
	}
	ok, err := a.c.ask(q)
	if ok && err == nil {
		a.migrating()
	}
	return ok, err
}

// migrating heads the progress lines of the run.
func (a *applyRun) migrating() {
	a.s.progress.note("Migrating %s (checkpoint %s):", a.tenant.Name(), a.path)
}

// report says what the session did: its output, and the error (with what
// to do next) that sets the exit code.
func (a *applyRun) report(res *phonemigrate.Result, err error) error {
	c, tenant, path := a.c, a.tenant, a.path
	var mu *phonemigrate.MigrationUnderwayError
	switch {
	case errors.Is(err, phonemigrate.ErrAlreadyUnified):
		return c.applyNothing(tenant, path, a.f.jsonOut)
	case errors.As(err, &mu) && mu.Next == phonemigrate.NextRollback:
		return usageErrorf("a rollback of %s did not finish (checkpoint %s, state %s): run 'phonemigrate rollback' to finish it (nothing was written)", tenant.Name(), path, mu.State)
	case res.Declined:
		fmt.Fprintln(c.stderr, "Nothing was written.")
		return nil
	}
	out := a.output(res)
	var breach *phonemigrate.CanaryBreachError
	switch {
	case errors.As(err, &breach):
		return a.breached(out, breach, err)
	case err != nil:
		return a.failed(out, err)
	}
	if a.f.jsonOut {
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

// output is apply's --json output for res; it prints this run's test
// messages and the delivery watch's verdict.
func (a *applyRun) output(res *phonemigrate.Result) applyOutput {
	c, jsonOut := a.c, a.f.jsonOut
	out := applyOutput{Tenant: a.tenant.Name(), Checkpoint: a.path, Steps: jsonSteps(a.s.progress.steps), Plan: res.Plan,
		State: string(res.State), AlreadyDone: res.AlreadyDone}
	if res.Checkpoint != nil && !res.AlreadyDone {
		out.Tests = res.Checkpoint.Tests
		for _, t := range out.Tests {
			// A message counted without evidence is said even with
			// --quiet: nothing else tells the user.
			if !jsonOut && (!a.quiet() || t.AssumedReceived) {
				fmt.Fprintf(c.stderr, "  test  %s\n", t.Summary())
			}
		}
		out.Watch = res.Checkpoint.Watch
	}
	if out.Watch != nil && !jsonOut && (!a.quiet() || out.Watch.Verdict == deliverywatch.VerdictBreach) {
		fmt.Fprint(c.stderr, printable(canaryText(a.tenant.Name(), out.Watch)))
	}
	return out
}

// breached reports a delivery watch that saw a path break after the
// switch: rolled back, or what finishes the rollback or undoes the
// migration.
func (a *applyRun) breached(out applyOutput, breach *phonemigrate.CanaryBreachError, err error) error {
	out.Error = err.Error()
	if a.f.jsonOut {
		_ = a.c.writeJSON(out)
	}
	if breach.RolledBack {
		return fmt.Errorf("%w (state %s; checkpoint %s)", err, out.State, a.path)
	}
	if breach.RollbackErr != nil {
		return fmt.Errorf("%w (checkpoint %s; 'phonemigrate rollback' finishes it)", err, a.path)
	}
	return fmt.Errorf("%w (checkpoint %s; 'phonemigrate rollback' undoes the migration, 'phonemigrate apply' watches again)", err, a.path)
}

// failed reports a session that failed: the repair that would let users
// get codes again, and, once the migration ran, its state and how to go
// on from its checkpoint.
func (a *applyRun) failed(out applyOutput, err error) error {
	out.Error = err.Error()
	out.Repair = showRepair(a.c.stderr, err, a.f.jsonOut)
	if a.f.jsonOut && (out.State != "" || out.Repair != nil) {
		_ = a.c.writeJSON(out)
	}
	if phonemigrate.ExitCode(err) == exitFailed && out.State != "" {
		return fmt.Errorf("%w (checkpoint %s; 'phonemigrate status' explains, 'phonemigrate apply' resumes)", err, a.path)
	}
	return err
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
