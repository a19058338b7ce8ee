package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"

	"golang.org/x/term"

	"github.com/unifiedphone/unifiedphone/phonemigrate"
	"github.com/unifiedphone/unifiedphone/phonemigrate/auth0api"
	"github.com/unifiedphone/unifiedphone/phonemigrate/iacexport"
	"github.com/unifiedphone/unifiedphone/phonemigrate/redact"
)

// Exit codes. They are part of the CLI's contract (docs/cli.md "Exit codes").
const (
	exitOK       = 0 // success, or nothing to do
	exitFailed   = 1 // the migration failed; the checkpoint is saved and apply resumes
	exitUsage    = 2 // bad usage or input; nothing was written
	exitUserWork = 3 // the tenant is not eligible or a person must act first; nothing was written
)

// cli holds what one invocation of run works with, so that tests run the
// command in-process with their own streams and environment.
type cli struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string

	// stdinTTY and stderrTTY report whether the streams are terminals;
	// prompts need stdinTTY, colour needs stderrTTY.
	stdinTTY  bool
	stderrTTY bool
	// readSecret reads a line from the terminal without echo. Tests
	// replace it.
	readSecret func() (string, error)
	// secrets is the run's one set of secret values: every secret the
	// command reads (environment, prompt, tenant) is added to it at once;
	// the Management API client and the Migrator share it, and every error
	// is redacted with it before it is printed.
	secrets *redact.Set
}

// command is one subcommand.
type command struct {
	name    string
	summary string
	// usage is the synopsis after "phonemigrate NAME": every flag of the
	// command but --quiet and --verbose (common to all). A command with
	// two forms separates them with "\n". Help prints it, and the
	// docs/cli.md is tested to say exactly the same.
	usage string
	run   func(ctx context.Context, c *cli, args []string) error
}

// tenantUsage is the synopsis of the flags every tenant command takes.
const tenantUsage = "[--base-url URL] [--tenant-name NAME] [--request-timeout TIME] [--header-timeout TIME]"

func commands() []command {
	return []command{
		{"demo", "run the whole migration offline against an embedded fake tenant", "[--scenario NAME] [--json]", runDemo},
		{"plan", "show what apply would write to the tenant, writing nothing",
			tenantUsage + " [--provider KIND] [--delivery METHODS] (--test-to +E164... | --skip-test) [--allow-replace] [--twilio-api-url URL] [--skip-twilio-check] [--evidence-timeout D] [--node-modules DIR...] [--accept-action-differences] [--no-rehearse] [--accept-difference ID...] [--checkpoint FILE] [--json]", runPlan},
		{"apply", "migrate the tenant (resumes from the checkpoint after a failure)",
			tenantUsage + " [--provider KIND] [--delivery METHODS] (--test-to +E164... | --skip-test) [--allow-replace] [--twilio-api-url URL] [--skip-twilio-check] [--evidence-timeout D] [--node-modules DIR...] [--accept-action-differences] [--no-rehearse] [--accept-difference ID...] [--ask-twilio-token] [--yes] [--checkpoint FILE] [--poll-interval D] [--watch D] [--watch-threshold RATE] [--watch-min-failures N] [--watch-poll D] [--no-auto-rollback] [--json]\n" +
				"--fleet FILE [--allow-any-checkpoint] [--request-timeout TIME] [--header-timeout TIME] [--yes] [--poll-interval D] [--json]", runApply},
		{"status", "show the migration's checkpoint", tenantUsage + " [--checkpoint FILE] [--json]", runStatus},
		{"rollback", "restore what the migration changed, from its checkpoint", tenantUsage + " [--yes] [--force] [--plan] [--checkpoint FILE] [--json]", runRollback},
		{"check", "check a tenant on the Unified Phone Experience for what leaves users without codes, writing nothing", tenantUsage + " [--checkpoint FILE] [--json]", runCheck},
		{"repair", "switch a tenant that leaves users without codes back to its legacy phone settings (one write), so codes flow again", tenantUsage + " [--yes] [--checkpoint FILE] [--json]", runRepair},
		{"watch", "report phone delivery health from the tenant logs (read-only)", tenantUsage + " [--since D|TIME] [--follow] [--poll-interval D] [--checkpoint FILE] [--json]", runWatch},
		{"export", "write the migrated tenant's phone setup as Terraform or auth0-deploy-cli code", tenantUsage + " --format terraform|deploy-cli [--out DIR] [--layout directory]", runExport},
		{"action", "print the custom-phone-provider Action generated from a legacy connection's options", "--options FILE [--name NAME] [--json]", runAction},
		{"diagram", "print the migration's state machine as a Mermaid diagram", "", runDiagram},
		{"snapshot", "save what the migration depends on in the tenant to a JSON file, secrets replaced", tenantUsage + " [--out FILE]", runSnapshot},
		{"rehearse", "migrate and roll back a fake copy of a snapshot, comparing every message path",
			"FILE [--provider KIND] [--delivery METHODS] (--test-to +E164... | --skip-test) [--allow-replace] [--skip-twilio-check] [--evidence-timeout D] [--json]", runRehearse},
		{"fake", "serve a fake Auth0 tenant until interrupted", "[--listen ADDR] [--allow-remote] [--scenario NAME | --from FILE] [--make CHANGES] [--env-file FILE] [--tls [--ca-file FILE]]", runFake},
		{"version", "print the version", "", runVersion},
		{"help", "show help for a command", "[COMMAND]", runHelp},
	}
}

// synopsis returns the command's usage lines, "phonemigrate NAME ...".
func (cmd command) synopsis() []string {
	var out []string
	for _, form := range strings.Split(cmd.usage, "\n") {
		out = append(out, strings.TrimSpace("phonemigrate "+cmd.name+" "+form))
	}
	return out
}

func findCommand(name string) (command, bool) {
	for _, c := range commands() {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

// run is the whole CLI: it parses args, runs one command and returns the
// process exit code. Errors are written to stderr as one sentence.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, env func(string) string) int {
	c := &cli{
		stdin:     stdin,
		stdout:    stdout,
		stderr:    stderr,
		getenv:    env,
		stdinTTY:  isTerminal(stdin),
		stderrTTY: isTerminal(stderr),
	}
	c.readSecret = func() (string, error) {
		f := stdin.(*os.File) // only called when stdinTTY, which implies *os.File
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		return string(b), err
	}
	if env == nil {
		c.getenv = func(string) string { return "" }
	}
	return c.main(ctx, args)
}

// main runs one command line with c's streams; run sets c up from the
// process, tests set it up by hand (to pretend stdin is a terminal).
func (c *cli) main(ctx context.Context, args []string) int {
	if c.secrets == nil {
		c.secrets = redact.NewSet()
	}
	stdout, stderr := c.stdout, c.stderr
	if len(args) == 0 {
		fmt.Fprint(stderr, mainUsage())
		return exitUsage
	}
	name := args[0]
	switch name {
	case "-h", "-help", "--help":
		fmt.Fprint(stdout, mainUsage())
		return exitOK
	case "-version", "--version":
		name = "version"
	}
	cmd, ok := findCommand(name)
	if !ok {
		return c.fail("", usageErrorf("unknown command %q; run 'phonemigrate help' for the list of commands", name))
	}
	err := cmd.run(ctx, c, args[1:])
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	return c.fail(cmd.name, err)
}

// fail prints err as one sentence on stderr and returns its exit code.
func (c *cli) fail(cmd string, err error) int {
	if err == nil {
		return exitOK
	}
	code := exitCode(err)
	if code == exitOK {
		return code
	}
	prefix := "phonemigrate"
	if cmd != "" {
		prefix += " " + cmd
	}
	fmt.Fprintf(c.stderr, "%s: %s\n", prefix, sentence(c.secrets.Redact(message(timeoutHint(err)))))
	return code
}

// message is err's text for the command line: the library's own prefix
// dropped, and library field names replaced by the flags that set them.
func message(err error) string {
	var ee *phonemigrate.ExistingResourceError
	if errors.As(err, &ee) && !ee.CannotReplace {
		return fmt.Sprintf("the tenant already has a %s %q (%s) that this tool did not create; pass --allow-replace to replace it", ee.Kind, ee.Name, ee.ID)
	}
	msg := err.Error()
	for {
		trimmed := strings.TrimPrefix(msg, "phonemigrate: ")
		if trimmed == msg {
			break
		}
		msg = trimmed
	}
	if phonemigrate.RepairOf(err) != nil {
		msg += "; 'phonemigrate repair' performs that repair (nothing else), then 'phonemigrate apply' migrates"
	}
	if errors.Is(err, phonemigrate.ErrTwilioTokenRequired) {
		// Only where the tenant holds no legacy token to carry over.
		msg += "; set " + envTwilioToken + " to the account's auth token (or, on a terminal, pass --ask-twilio-token to type it)"
	}
	return msg
}

// sentence makes msg read as one sentence: a single line ending in a full
// stop.
func sentence(msg string) string {
	msg = strings.Join(strings.Fields(redact.StripControl(msg)), " ")
	if msg == "" {
		return "unknown error."
	}
	if !strings.HasSuffix(msg, ".") && !strings.HasSuffix(msg, "?") && !strings.HasSuffix(msg, "!") {
		msg += "."
	}
	return msg
}

// printable removes from text built from tenant or server data (plans,
// statuses) every control character but newline and tab, so that a
// connection name or a server message holding escape sequences prints as
// plain text.
func printable(text string) string {
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		parts := strings.Split(l, "\t")
		for j, p := range parts {
			parts[j] = redact.StripControl(p)
		}
		lines[i] = strings.Join(parts, "\t")
	}
	return strings.Join(lines, "\n")
}

// exitCode maps an error to the CLI's exit codes: usage errors give 2,
// everything else follows phonemigrate.ExitCode.
func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	var ue *usageError
	if errors.As(err, &ue) {
		return exitUsage
	}
	if errors.Is(err, context.Canceled) {
		return exitFailed
	}
	if errors.Is(err, iacexport.ErrNotUnified) {
		return exitUserWork // export: apply first
	}
	var od *errOutcomeDiffers
	if errors.As(err, &od) {
		return exitUserWork // apply: the rehearsal found differences
	}
	var snc *stillNoCodeError
	if errors.As(err, &snc) {
		return exitUserWork // repair: switched back, but a person must act
	}
	// Credentials the tenant refuses are bad input: every run starts with
	// reads, so a wrong token or client secret fails before any write.
	var te *auth0api.TokenError
	if errors.Is(err, phonemigrate.ErrUnauthorized) || errors.As(err, &te) && (te.StatusCode == 401 || te.StatusCode == 403) {
		return exitUsage
	}
	return phonemigrate.ExitCode(err)
}

// usageError is bad usage of the CLI: exit code 2, nothing written.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usageErrorf(format string, a ...any) error {
	return &usageError{msg: fmt.Sprintf(format, a...)}
}

func isTerminal(v any) bool {
	f, ok := v.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func mainUsage() string {
	var b strings.Builder
	b.WriteString(`phonemigrate moves an Auth0 tenant onto the Unified Phone Experience (one
tenant-level phone provider for Passwordless SMS and MFA) without breaking
anyone's codes.

Usage:
  phonemigrate COMMAND [flags]

Commands:
`)
	cmds := commands()
	width := 0
	for _, c := range cmds {
		width = max(width, len(c.name))
	}
	for _, c := range cmds {
		fmt.Fprintf(&b, "  %-*s  %s\n", width, c.name, c.summary)
	}
	b.WriteString(`
Tenant (plan, apply, status, rollback, check, repair, watch, snapshot, export):
  AUTH0_DOMAIN with AUTH0_TOKEN, or with AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET;
  or --base-url / PHONEMIGRATE_BASE_URL (plain http only to loopback).

Exit codes:
  0 success   1 migration failed (checkpoint saved; apply resumes)
  2 bad usage or input (nothing written)
  3 tenant not eligible or a user action is required first (nothing written)

Run 'phonemigrate help COMMAND' for a command's flags.
`)
	return b.String()
}

// newFlagSet returns a FlagSet that reports errors through run (one
// sentence, exit 2) rather than printing its own.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("phonemigrate "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parseFlags parses args into fs. -h prints the command's help on stdout
// and returns flag.ErrHelp; any other problem is a usage error. Positional
// arguments are refused. Then each check runs in order (e.g.
// logging.check for --quiet with --verbose); the first error is returned.
func (c *cli) parseFlags(fs *flag.FlagSet, name string, args []string, checks ...func() error) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			c.printCommandHelp(c.stdout, name, fs)
			return flag.ErrHelp
		}
		return usageErrorf("%v; run 'phonemigrate help %s' for usage", err, name)
	}
	if fs.NArg() > 0 {
		if fs.Lookup("base-url") != nil {
			// The tenant is the likeliest thing a user types here.
			return usageErrorf("unexpected argument %q: the tenant is not an argument; set AUTH0_DOMAIN (with AUTH0_TOKEN or client credentials) or --base-url; run 'phonemigrate help %s' for usage", fs.Arg(0), name)
		}
		return usageErrorf("unexpected argument %q; run 'phonemigrate help %s' for usage", fs.Arg(0), name)
	}
	for _, check := range checks {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

func (c *cli) printCommandHelp(w io.Writer, name string, fs *flag.FlagSet) {
	cmd, _ := findCommand(name)
	fmt.Fprintf(w, "Usage: %s\n\n%s.\n", strings.Join(cmd.synopsis(), "\n       "), upperFirst(cmd.summary))
	if extra := commandNotes[name]; extra != "" {
		fmt.Fprintf(w, "\n%s", extra)
	}
	if fs == nil {
		return
	}
	var names []string
	fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	if len(names) == 0 {
		return
	}
	sort.Strings(names)
	fmt.Fprint(w, "\nFlags:\n")
	for _, n := range names {
		f := fs.Lookup(n)
		arg, usage := flag.UnquoteUsage(f)
		left := "--" + n
		if arg != "" {
			left += " " + arg
		}
		fmt.Fprintf(w, "  %-24s %s", left, usage)
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "[]" {
			fmt.Fprintf(w, " (default %s)", f.DefValue)
		}
		fmt.Fprintln(w)
	}
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// commandNotes are extra help paragraphs per command.
var commandNotes = map[string]string{
	"plan": tenantNotes + `When the checkpoint file records a migration under way (say, a failed apply
that already switched the tenant), plan reads no tenant: it says where the
migration stopped and lists the steps 'phonemigrate apply' would still run
('phonemigrate rollback' undoes what was changed), and exits 0. A completed
checkpoint means nothing to do (exit 0), unless the tenant, read as check
reads it, leaves users without codes now: plan then shows the repair
('phonemigrate repair') and exits 3. A corrupt or foreign one exits 2.
On a switched tenant where users get no code, plan shows the repair
instead of a migration plan and exits 3.
`,
	"apply": tenantNotes + `The Twilio auth token is carried over from the tenant's legacy settings;
TWILIO_AUTH_TOKEN (or, on a terminal, --ask-twilio-token) overrides it. It
is checked with Twilio before it is written (--skip-twilio-check skips), and
each test message's Twilio status is followed (--evidence-timeout).
apply asks for confirmation before writing unless --yes; when
stdin is not a terminal it refuses (exit 2) without --yes. After a failure
the checkpoint file lets apply resume where it stopped.
With --fleet FILE apply migrates every tenant of a YAML or JSON fleet file
instead (tenants, options and checkpoints come from the file; exit 1 when
any tenant failed; rerun to resume them).
`,
	"snapshot": tenantNotes + `snapshot only reads, through the same calls the migration reads with: tenant
settings, Passwordless SMS connections (whole options), Guardian factors,
message types and legacy settings, phone providers, customised phone
templates, custom-phone-provider Actions and bindings. Secrets (gateway
secrets, Twilio tokens, Action secret values) are replaced by stable
placeholders listed under "placeholders"; the file is safe to share.
`,
	"rehearse": `Serves the snapshot FILE as a fake tenant (as 'phonemigrate fake --from FILE'),
sends one message per path (each Passwordless connection, each MFA message
type, otp_verify and otp_enroll) the legacy way, migrates (plan, apply),
sends them again, rolls back and checks the tenant equals the snapshot. It
prints, per path, the route, sender, recipient, text and gateway JWT claims
before and after, same or different and why. Nothing leaves the machine:
gateways are replaced by a local fake gateway and Twilio by a fake Twilio.
A custom-phone-provider Action already in the snapshot is never run.
Exit 0 when every path delivers the same message and the rollback restores
the snapshot; 1 when one does not (other failures exit as apply's would).
`,
	"repair": tenantNotes + `On a tenant switched to the Unified Phone Experience where users get no
code now (no provider, a disabled one, one that misses a factor in use, a
custom provider without a bound Action: what 'check' marks with ✗), repair
makes one write, PATCH /tenants/settings phone_consolidated_experience
false, so that codes flow through the legacy settings again; it asks first
unless --yes (without a terminal --yes is required, exit 2). It re-reads the
tenant right before writing and writes nothing when someone repaired it
meanwhile; then it reads the tenant again and prints where each factor's
codes go and its health. Nothing broken: nothing is written, exit 0. Exit 0
when repaired; 3 when a consumer still gets no code after it (named), when
switching back cannot help, or when the checkpoint records a migration or
rollback under way (use apply or rollback); 1 on API failures. Then
'phonemigrate apply' migrates properly.
`,
	"status":   tenantNotes,
	"rollback": tenantNotes,
	"watch": tenantNotes + `Counts, per path (passwordless/text, passwordless/voice, mfa/text,
mfa/voice), the messages the tenant logs say were sent (cs, cls, gd_send_sms,
gd_send_voice) and not delivered (fn, gd_send_*_failure), with the most
frequent reasons (phone numbers masked), Action failures
(actions_execution_failed) and phone limit blocks (limit_phone), in the
window and in the same-length window before it. It only reads; it works on
any tenant. On a terminal it adds a per-minute sparkline of failures.
`,
	"export": tenantNotes + `export reads the tenant (GET requests only) after 'phonemigrate apply' and
writes code that keeps Terraform or auth0-deploy-cli from reverting the
migration: the phone provider, customised phone templates, the
custom-phone-provider Action and its binding (Terraform: with import blocks;
deploy-cli: also the switched SMS connections' options and the MFA message
types), and EDITS.md, the changes to make to what you already manage. Secrets
are never written: Terraform variables declared sensitive, deploy-cli
##KEYWORD## placeholders listed in config.snippet.json. A tenant not yet on
the Unified Phone Experience exits 3.
`,
	"fake": `Prints PHONEMIGRATE_BASE_URL=<url>, AUTH0_TOKEN=<token> and
PHONEMIGRATE_TWILIO_API_URL=<its fake Twilio> on stdout, then
serves until interrupted (Ctrl-C). With --tls it serves HTTPS (a
certificate made for localhost and 127.0.0.1) and prints AUTH0_DOMAIN=<host:port>
instead of the URL, AUTH0_ACCESS_TOKEN (auth0-deploy-cli's name for the token),
and NODE_EXTRA_CA_CERTS and SSL_CERT_FILE naming the CA file for Node.js and Go
clients (auth0-deploy-cli, node-auth0, Terraform). It listens on a loopback address unless
--allow-remote. Its control API (/__fake/) answers only requests addressed to a
loopback host; with --allow-remote, only requests carrying the control token it
prints once at start (X-Fake-Control-Token header).
`,
}

const tenantNotes = `The tenant is AUTH0_DOMAIN with AUTH0_TOKEN (or AUTH0_CLIENT_ID and
AUTH0_CLIENT_SECRET), or --base-url / PHONEMIGRATE_BASE_URL, e.g. the URL
'phonemigrate fake' prints. Plain http is allowed only to loopback hosts.
`

// logging holds --quiet and --verbose.
type logging struct {
	quiet, verbose bool
}

func (l *logging) register(fs *flag.FlagSet) {
	fs.BoolVar(&l.quiet, "quiet", false, "print no progress on stderr")
	fs.BoolVar(&l.verbose, "verbose", false, "log debug detail (slog) on stderr")
}

func (l *logging) check() error {
	if l.quiet && l.verbose {
		return usageErrorf("--quiet and --verbose cannot be used together")
	}
	return nil
}

// logger returns the slog logger for --verbose (debug, text, stderr) or a
// logger that discards everything.
func (l *logging) logger(w io.Writer) *slog.Logger {
	if !l.verbose {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
