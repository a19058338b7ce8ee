package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"github.com/unifiedphone/unifiedphone/delivery"
	"github.com/unifiedphone/unifiedphone/phonemigrate"
)

// optionFlags are the flags that become phonemigrate.Options (plan, apply).
type optionFlags struct {
	provider     string
	delivery     string
	testTo       stringList
	skipTest     bool
	allowReplace bool
	twilioAPI    string
	skipCheck    bool
	evidence     time.Duration
}

func (o *optionFlags) register(fs *flag.FlagSet) {
	o.registerOffline(fs)
	fs.StringVar(&o.twilioAPI, "twilio-api-url", "", "Twilio API base `URL` for the credential check, test-message evidence and a generated Action (default $PHONEMIGRATE_TWILIO_API_URL, else https://api.twilio.com; 'phonemigrate fake' prints its own)")
}

// registerOffline registers the option flags but --twilio-api-url
// (rehearse always uses its own fake Twilio).
func (o *optionFlags) registerOffline(fs *flag.FlagSet) {
	fs.StringVar(&o.provider, "provider", "auto", "tenant-level phone provider `KIND`: auto, twilio or custom")
	fs.StringVar(&o.delivery, "delivery", "", "provider delivery `METHODS`: text, voice or text,voice (default: what the tenant uses)")
	fs.Var(&o.testTo, "test-to", "send a test message to this `+E164` number per delivery method (repeatable)")
	fs.BoolVar(&o.skipTest, "skip-test", false, "do not send test messages through the new provider")
	fs.BoolVar(&o.allowReplace, "allow-replace", false, "replace a phone provider this tool did not create (never an existing custom-phone-provider Action)")
	fs.BoolVar(&o.skipCheck, "skip-twilio-check", false, "do not check the Twilio credentials with Twilio before writing them, nor look up test messages there (networks that cannot reach Twilio)")
	fs.DurationVar(&o.evidence, "evidence-timeout", phonemigrate.DefaultEvidenceTimeout, "how long to follow each test message's status in the Twilio account: a duration `D` such as 20s")
}

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// options validates the flags and returns the engine options (without the
// Twilio token and Confirm, which apply adds).
func (o *optionFlags) options(getenv func(string) string) (phonemigrate.Options, error) {
	var opts phonemigrate.Options
	kind, err := phonemigrate.ParseProviderKind(o.provider)
	if err != nil {
		return opts, usageErrorf("--provider %q is not one of auto, twilio, custom", o.provider)
	}
	opts.Provider = kind
	if o.delivery != "" {
		set, err := delivery.Parse(o.delivery)
		if err != nil || set.Empty() {
			return opts, usageErrorf("--delivery %q is not one of text, voice, text,voice", o.delivery)
		}
		opts.Delivery = set
	}
	for _, r := range o.testTo {
		if !e164.MatchString(r) {
			return opts, usageErrorf("--test-to %q is not a phone number in E.164 form such as +15551234567", r)
		}
	}
	if o.skipTest && len(o.testTo) > 0 {
		return opts, usageErrorf("--skip-test and --test-to cannot be used together")
	}
	if !o.skipTest && len(o.testTo) == 0 {
		return opts, usageErrorf("give --test-to +E164 (repeatable) to test the new provider, or --skip-test to skip the test explicitly")
	}
	opts.TestRecipients = append([]string(nil), o.testTo...)
	opts.SkipTest = o.skipTest
	opts.AllowReplace = o.allowReplace
	opts.SkipTwilioCheck = o.skipCheck
	if o.evidence <= 0 {
		return opts, usageErrorf("--evidence-timeout must be positive")
	}
	opts.EvidenceTimeout = o.evidence
	twilioAPI, from := o.twilioAPI, "--twilio-api-url"
	if twilioAPI == "" {
		// What 'phonemigrate fake' prints, for the scenarios with Twilio.
		twilioAPI, from = getenv(envTwilioAPIURL), envTwilioAPIURL
	}
	if twilioAPI != "" {
		if err := checkURL(from, twilioAPI); err != nil {
			return opts, err
		}
		opts.TwilioAPIBaseURL = twilioAPI
	}
	return opts, nil
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error {
	*s = append(*s, v)
	return nil
}

// session is what plan, apply, status and rollback share: the tenant, the
// checkpoint file, progress and the migrator.
type session struct {
	tenant     tenantConfig
	checkpoint string
	progress   *progress
	migrator   *phonemigrate.Migrator
	client     phonemigrate.Client
}

// newSession connects to the tenant and builds a migrator. With a
// checkpoint path the migrator keeps its checkpoint in that file;
// otherwise (plan) in memory.
func (c *cli) newSession(ctx context.Context, tenant tenantConfig, checkpoint string, log logging, extra ...phonemigrate.Option) (*session, error) {
	logger := log.logger(c.stderr)
	client, err := connect(ctx, tenant, logger)
	if err != nil {
		return nil, err
	}
	s := &session{tenant: tenant, checkpoint: checkpoint, progress: newProgress(c.stderr, log.quiet, c.stderrTTY), client: client}
	opts := []phonemigrate.Option{
		phonemigrate.WithTenant(tenant.Name()),
		phonemigrate.WithLogger(logger),
		phonemigrate.WithObserver(s.progress.observe),
	}
	if checkpoint != "" {
		opts = append(opts, phonemigrate.WithStore(phonemigrate.NewFileStore(checkpoint)))
	}
	opts = append(opts, extra...)
	s.migrator, err = phonemigrate.New(client, opts...)
	if err != nil {
		return nil, err
	}
	return s, nil
}

func (c *cli) writeJSON(v any) error {
	enc := json.NewEncoder(c.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// ask prints question on stderr and reads a yes/no answer from stdin; only
// "y" and "yes" (any case) mean yes.
func (c *cli) ask(question string) (bool, error) {
	fmt.Fprintf(c.stderr, "%s [y/N] ", question)
	line, err := bufio.NewReader(c.stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return false, err
	}
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return true, nil
	}
	return false, nil
}

// ---- plan ----------------------------------------------------------------

// planOutput is the --json output of plan (and part of apply's and demo's).
type planOutput struct {
	Tenant string             `json:"tenant"`
	Plan   *phonemigrate.Plan `json:"plan"`
	// Migration is set when a checkpoint shows a migration under way (or
	// completed): plan then shows what apply (or rollback) would do next
	// rather than planning afresh.
	Migration *migrationInProgress `json:"migration,omitempty"`
}

// migrationInProgress is plan's summary of an existing checkpoint.
type migrationInProgress struct {
	Checkpoint string             `json:"checkpoint"`
	State      phonemigrate.State `json:"state"`
	LastGood   phonemigrate.State `json:"last_good,omitempty"`
	Error      string             `json:"error,omitempty"`
	// Next is the command that continues from here: "apply" (resumes the
	// migration), "rollback" (finishes an interrupted rollback) or "none"
	// (completed).
	Next string `json:"next"`
}

func runPlan(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet("plan")
	var (
		tf      tenantFlags
		of      optionFlags
		cf      checkpointFlag
		log     logging
		jsonOut bool
	)
	tf.register(fs)
	of.register(fs)
	cf.register(fs)
	log.register(fs)
	fs.BoolVar(&jsonOut, "json", false, "print the plan as JSON (schema in README)")
	if err := c.parseFlags(fs, "plan", args, log.check); err != nil {
		return err
	}
	opts, err := of.options(c.getenv)
	if err != nil {
		return err
	}
	tenant, err := tf.resolve(c.getenv)
	if err != nil {
		return err
	}
	// A checkpoint of a migration under way decides what apply does next:
	// show that instead of a fresh plan, which would see a half-migrated
	// tenant (e.g. "already unified" once the tenant switch is done).
	path := cf.resolve(tenant)
	if done, err := c.planFromCheckpoint(ctx, tenant, path, jsonOut); done || err != nil {
		return err
	}
	opts.TwilioAuthToken = phonemigrate.Secret(c.getenv(envTwilioToken))
	s, err := c.newSession(ctx, tenant, "", log)
	if err != nil {
		return err
	}
	plan, err := s.migrator.Plan(ctx, opts)
	if errors.Is(err, phonemigrate.ErrAlreadyUnified) {
		if jsonOut {
			return c.writeJSON(planOutput{Tenant: tenant.Name(), Plan: &phonemigrate.Plan{Tenant: tenant.Name(), Steps: []phonemigrate.Step{}}})
		}
		fmt.Fprintf(c.stdout, "Nothing to do: %s is already on the Unified Phone Experience.\n", tenant.Name())
		return nil
	}
	if err != nil {
		return err
	}
	if jsonOut {
		return c.writeJSON(planOutput{Tenant: tenant.Name(), Plan: plan})
	}
	fmt.Fprint(c.stdout, printable(plan.Text()))
	return nil
}

// planFromCheckpoint reads the checkpoint at path. When it records a
// migration that apply would resume, or one that is completed or being
// rolled back, it prints what comes next and returns true; plan then
// exits 0 without connecting to the tenant. No checkpoint, or one that is
// new, rolled back or already unified (apply starts over), returns false.
// A corrupt, unreadable or foreign checkpoint is a *CheckpointError
// (exit 2), as for apply.
func (c *cli) planFromCheckpoint(ctx context.Context, tenant tenantConfig, path string, jsonOut bool) (bool, error) {
	cp, err := phonemigrate.NewFileStore(path).Load(ctx)
	if errors.Is(err, phonemigrate.ErrNoCheckpoint) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if cp.Tenant != "" && cp.Tenant != tenant.Name() {
		return false, &phonemigrate.CheckpointError{Path: path, Problem: fmt.Sprintf("belongs to tenant %q, not %q", cp.Tenant, tenant.Name())}
	}
	next := cp.Next()
	if next == phonemigrate.NextStart {
		return false, nil
	}
	mig := &migrationInProgress{Checkpoint: path, State: cp.State, LastGood: cp.LastGood, Error: cp.Error, Next: string(next)}
	rest := &phonemigrate.Plan{Tenant: tenant.Name(), Steps: []phonemigrate.Step{}}
	var text string
	switch next {
	case phonemigrate.NextNone:
		text = fmt.Sprintf("Nothing to do: the migration of %s is completed (checkpoint %s); 'phonemigrate rollback' would restore the legacy setup.\n", tenant.Name(), path)
	case phonemigrate.NextRollback:
		text = fmt.Sprintf("A rollback of %s did not finish (checkpoint %s, state %s); 'phonemigrate rollback' finishes it.\n", tenant.Name(), path, cp.State)
	default:
		from := cp.ResumePoint()
		if cp.Plan != nil {
			rest = remainingPlan(cp.Plan, from)
		}
		var b strings.Builder
		if cp.State == phonemigrate.StateFailed {
			fmt.Fprintf(&b, "The migration of %s is in progress: it failed after %s (checkpoint %s): %s\n", tenant.Name(), from, path, cp.Error)
		} else {
			fmt.Fprintf(&b, "The migration of %s is in progress: it stopped after %s (checkpoint %s).\n", tenant.Name(), from, path)
		}
		fmt.Fprintf(&b, "'phonemigrate apply' resumes from %s with the steps below; 'phonemigrate rollback' undoes what was changed.\n\n", from)
		b.WriteString(rest.Text())
		text = b.String()
	}
	if jsonOut {
		return true, c.writeJSON(planOutput{Tenant: tenant.Name(), Plan: rest, Migration: mig})
	}
	fmt.Fprint(c.stdout, printable(text))
	return true, nil
}

// remainingPlan returns the steps of p that come after the state from,
// which apply resumes from; all of them when from precedes every step.
func remainingPlan(p *phonemigrate.Plan, from phonemigrate.State) *phonemigrate.Plan {
	rest := *p
	rest.Steps = []phonemigrate.Step{}
	for i, s := range p.Steps {
		if s.State == from {
			rest.Steps = append(rest.Steps, p.Steps[i+1:]...)
			return &rest
		}
	}
	rest.Steps = append(rest.Steps, p.Steps...)
	return &rest
}

// ---- apply ---------------------------------------------------------------

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
	Watch *phonemigrate.CanaryRecord `json:"watch,omitempty"`
	Error string                     `json:"error,omitempty"`
}

type checkpointFlag struct{ path string }

func (f *checkpointFlag) register(fs *flag.FlagSet) {
	fs.StringVar(&f.path, "checkpoint", "", "checkpoint `FILE` (default ./phonemigrate-<tenant>.checkpoint.json)")
}

func (f *checkpointFlag) resolve(t tenantConfig) string {
	if f.path != "" {
		return f.path
	}
	return t.defaultCheckpoint()
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
	)
	tf.register(fs)
	of.register(fs)
	cf.register(fs)
	log.register(fs)
	watch.register(fs)
	fs.BoolVar(&yes, "yes", false, "do not ask for confirmation before writing (without a terminal, test messages without delivery evidence are reported as assumed received)")
	fs.BoolVar(&askTok, "ask-twilio-token", false, "ask for the Twilio auth token on the terminal (no echo) instead of carrying the tenant's legacy token over")
	fs.DurationVar(&poll, "poll-interval", time.Second, "how often to check whether the new Action is built: a duration `D` such as 500ms")
	fs.BoolVar(&jsonOut, "json", false, "print the result as JSON (schema in README)")
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
		if err != nil {
			return err
		}
		if !jsonOut && !log.quiet {
			fmt.Fprint(c.stderr, printable(plan.Text()))
		}
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
	if out.Watch != nil && !jsonOut && (!log.quiet || out.Watch.Verdict == phonemigrate.VerdictBreach) {
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
		fmt.Fprintln(c.stdout, "If Terraform or auth0-deploy-cli manages this tenant, its next run with a configuration written before the migration reverts it (tenant switch, SMS connections, MFA message types, phone provider and Action): run 'phonemigrate export --format terraform' (or deploy-cli) and follow its EDITS.md.")
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
	return phonemigrate.Secret(strings.TrimSpace(tok)), nil
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

// statusOutput is the --json output of status when there is a
// checkpoint: the checkpoint file's path, checkpoint_exists true, and the
// checkpoint's content (no secrets are ever in it).
type statusOutput struct {
	CheckpointFile   string `json:"checkpoint_file"`
	CheckpointExists bool   `json:"checkpoint_exists"`
	*phonemigrate.Checkpoint
}

// noCheckpointOutput is the --json output of status when there is no
// checkpoint: no migration has started, so there is nothing but the path
// looked at and the state "new" (no zero-valued checkpoint fields).
type noCheckpointOutput struct {
	CheckpointFile   string             `json:"checkpoint_file"`
	CheckpointExists bool               `json:"checkpoint_exists"`
	State            phonemigrate.State `json:"state"`
}

func runStatus(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet("status")
	var (
		tf      tenantFlags
		cf      checkpointFlag
		log     logging
		jsonOut bool
	)
	tf.register(fs)
	cf.register(fs)
	log.register(fs)
	fs.BoolVar(&jsonOut, "json", false, "print the checkpoint as JSON (schema in README)")
	if err := c.parseFlags(fs, "status", args, log.check); err != nil {
		return err
	}
	path := cf.path
	if path == "" {
		tenant, err := tf.resolve(c.getenv)
		if err != nil {
			return err
		}
		path = cf.resolve(tenant)
	}
	cp, err := phonemigrate.NewFileStore(path).Load(ctx)
	if errors.Is(err, phonemigrate.ErrNoCheckpoint) {
		if jsonOut {
			return c.writeJSON(noCheckpointOutput{CheckpointFile: path, State: phonemigrate.StateNew})
		}
		fmt.Fprintf(c.stdout, "No migration yet: there is no checkpoint at %s.\n", path)
		return nil
	}
	if err != nil {
		return err
	}
	if jsonOut {
		return c.writeJSON(statusOutput{CheckpointFile: path, CheckpointExists: true, Checkpoint: cp})
	}
	fmt.Fprint(c.stdout, printable(statusText(path, cp)))
	return nil
}

func statusText(path string, cp *phonemigrate.Checkpoint) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Tenant:     %s\n", cp.Tenant)
	fmt.Fprintf(&b, "Checkpoint: %s\n", path)
	fmt.Fprintf(&b, "State:      %s\n", cp.State)
	if !cp.UpdatedAt.IsZero() {
		fmt.Fprintf(&b, "Updated:    %s\n", cp.UpdatedAt.UTC().Format("2006-01-02 15:04:05 UTC"))
	}
	if cp.Created.ActionID != "" {
		fmt.Fprintf(&b, "Created Action:   %s\n", cp.Created.ActionID)
	}
	if cp.Created.ProviderID != "" {
		fmt.Fprintf(&b, "Created provider: %s\n", cp.Created.ProviderID)
	}
	if w := cp.Watch; w != nil && !w.From.IsZero() {
		fmt.Fprintf(&b, "Watch:      %s, %s to %s", w.Verdict, w.From.UTC().Format("15:04:05"), w.To.UTC().Format("15:04:05 UTC"))
		if w.Reason != "" {
			fmt.Fprintf(&b, ": %s", w.Reason)
		}
		b.WriteString("\n")
	}
	if cp.Error != "" && cp.State == phonemigrate.StateFailed {
		fmt.Fprintf(&b, "Error:      %s\n", cp.Error)
	}
	switch cp.Next() {
	case phonemigrate.NextRollback:
		b.WriteString("Next: 'phonemigrate rollback' finishes the rollback that did not finish ('phonemigrate apply' refuses until then).\n")
	case phonemigrate.NextApply:
		if cp.State == phonemigrate.StateFailed {
			fmt.Fprintf(&b, "Next: 'phonemigrate apply' resumes after %s; 'phonemigrate rollback' restores what was changed.\n", cp.ResumePoint())
		} else {
			fmt.Fprintf(&b, "Next: 'phonemigrate apply' continues from %s; 'phonemigrate rollback' restores what was changed.\n", cp.ResumePoint())
		}
	case phonemigrate.NextNone:
		b.WriteString("Next: nothing; 'phonemigrate rollback' would restore the legacy setup.\n")
	default:
		if cp.State == phonemigrate.StateRolledBack {
			b.WriteString("Next: nothing; the legacy setup was restored ('phonemigrate apply' would start over).\n")
		} else {
			b.WriteString("Next: 'phonemigrate apply' starts a new migration.\n")
		}
	}
	return b.String()
}

// ---- rollback ------------------------------------------------------------

func runRollback(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet("rollback")
	var (
		tf      tenantFlags
		cf      checkpointFlag
		log     logging
		yes     bool
		force   bool
		jsonOut bool
	)
	tf.register(fs)
	cf.register(fs)
	log.register(fs)
	fs.BoolVar(&yes, "yes", false, "do not ask for confirmation")
	fs.BoolVar(&force, "force", false, "roll back even what changed on the tenant since the migration (otherwise such changes are listed and nothing is written, exit 3)")
	planOnly := fs.Bool("plan", false, "print the writes the rollback would make now, in order, writing nothing (GET requests only)")
	fs.BoolVar(&jsonOut, "json", false, "print the result as JSON (schema in README)")
	if err := c.parseFlags(fs, "rollback", args, log.check); err != nil {
		return err
	}
	if !yes && !c.stdinTTY && !*planOnly {
		return usageErrorf("rollback needs --yes when stdin is not a terminal (nothing was written)")
	}
	tenant, err := tf.resolve(c.getenv)
	if err != nil {
		return err
	}
	path := cf.resolve(tenant)
	s, err := c.newSession(ctx, tenant, path, log)
	if err != nil {
		return err
	}
	cp, err := s.migrator.Status(ctx)
	if errors.Is(err, phonemigrate.ErrNoCheckpoint) {
		return usageErrorf("there is no checkpoint at %s, and rollback restores only what a checkpointed apply changed (nothing was written)", path)
	}
	if err != nil {
		return err
	}
	if *planOnly {
		p, err := s.migrator.RollbackPlan(ctx)
		if err != nil {
			return err
		}
		if jsonOut {
			return c.writeJSON(planOutput{Tenant: tenant.Name(), Plan: p})
		}
		fmt.Fprintf(c.stdout, "Rollback plan for %s (checkpoint %s, state %s); nothing was written.\n", tenant.Name(), path, cp.State)
		fmt.Fprint(c.stdout, printable(p.Text()))
		return nil
	}
	if !yes {
		ok, err := c.ask(fmt.Sprintf("Roll %s back from %s to its legacy phone setup?", tenant.Name(), cp.State))
		if err != nil {
			return err
		}
		if !ok {
			fmt.Fprintln(c.stderr, "Nothing was written.")
			return nil
		}
	}
	s.progress.note("Rolling back %s (checkpoint %s):", tenant.Name(), path)
	res, rbErr := s.migrator.Rollback(ctx, phonemigrate.RollbackOptions{Force: force})
	out := applyOutput{Tenant: tenant.Name(), Checkpoint: path, Steps: jsonSteps(s.progress.steps)}
	if res != nil {
		out.State = string(res.State)
		out.AlreadyDone = res.AlreadyDone
	}
	if rbErr != nil {
		out.Error = rbErr.Error()
		if jsonOut && out.State != "" {
			_ = c.writeJSON(out)
		}
		return rbErr
	}
	if jsonOut {
		return c.writeJSON(out)
	}
	if out.AlreadyDone {
		fmt.Fprintf(c.stdout, "Nothing to do: %s was already rolled back (checkpoint %s).\n", tenant.Name(), path)
		return nil
	}
	fmt.Fprintf(c.stdout, "Rollback of %s %s; checkpoint %s.\n", tenant.Name(), out.State, path)
	return nil
}
