package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/unifiedphone/unifiedphone/internal/loopback"
	"github.com/unifiedphone/unifiedphone/phonemigrate/phonemigratetest"
	"github.com/unifiedphone/unifiedphone/phonemigrate/redact"
)

// scenarioFlag is --scenario of demo and fake: a fake tenant scenario,
// parsed by its check (a parseFlags check) with
// phonemigratetest.ParseScenario.
type scenarioFlag struct {
	name string
	sc   phonemigratetest.Scenario
}

func (f *scenarioFlag) register(fs *flag.FlagSet) {
	fs.StringVar(&f.name, "scenario", string(phonemigratetest.LegacyGateway), "fake tenant scenario `NAME`: "+scenarioNames())
}

func (f *scenarioFlag) check() error {
	sc, err := phonemigratetest.ParseScenario(f.name)
	if err != nil {
		return usageErrorf("--scenario %q is not one of %s", f.name, scenarioNames())
	}
	f.sc = sc
	return nil
}

// fakeFlags are the flags of fake.
type fakeFlags struct {
	listen      string
	allowRemote bool
	scen        scenarioFlag
	from        string
	makeList    string
	envFile     string
	useTLS      bool
	caFile      string
	log         logging
	changes     []phonemigratetest.Change // --make, parsed by checkMake
}

func (f *fakeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.listen, "listen", "127.0.0.1:0", "address to listen on, `ADDR` as host:port (port 0 picks a free one); a loopback host unless --allow-remote")
	fs.BoolVar(&f.allowRemote, "allow-remote", false, "allow a --listen address other machines can reach (the fake's token is not a secret; its control API then needs the control token printed at start)")
	f.scen.register(fs)
	fs.StringVar(&f.from, "from", "", "serve the tenant of a snapshot `FILE` ('phonemigrate snapshot') instead of a scenario")
	fs.StringVar(&f.makeList, "make", "", "before serving, make `CHANGES` (comma-separated) to the tenant as someone would by hand, for a half-migrated or drifted one: "+changeNames())
	fs.StringVar(&f.envFile, "env-file", "", "once the fake serves, also write the environment lines to `FILE` (it appears whole, so a script can wait for it; with --listen 127.0.0.1:0 that is how it learns the address)")
	fs.BoolVar(&f.useTLS, "tls", false, "serve HTTPS with a certificate made for localhost and 127.0.0.1 (node-auth0, auth0-deploy-cli and Terraform need it); prints NODE_EXTRA_CA_CERTS and SSL_CERT_FILE lines naming the CA to trust")
	fs.StringVar(&f.caFile, "ca-file", "", "with --tls, write the CA certificate to `FILE` (default: a new file in a temporary directory, removed on exit)")
	f.log.register(fs)
}

func (f *fakeFlags) checkTLS() error {
	if f.caFile != "" && !f.useTLS {
		return usageErrorf("--ca-file needs --tls")
	}
	return nil
}

func (f *fakeFlags) checkMake() error {
	if f.makeList == "" {
		return nil
	}
	for _, name := range strings.Split(f.makeList, ",") {
		ch, err := phonemigratetest.ParseChange(name)
		if err != nil {
			return usageErrorf("--make: %q is not one of %s", strings.TrimSpace(name), changeNames())
		}
		f.changes = append(f.changes, ch)
	}
	return nil
}

func (f *fakeFlags) checkFrom(fs *flag.FlagSet) func() error {
	return func() error {
		scenarioSet := false
		fs.Visit(func(fl *flag.Flag) { scenarioSet = scenarioSet || fl.Name == "scenario" })
		if f.from != "" && scenarioSet {
			return usageErrorf("--from and --scenario cannot be used together")
		}
		return nil
	}
}

func (f *fakeFlags) checkListen() error {
	if local, err := loopbackListen(f.listen); err != nil {
		return err
	} else if !local && !f.allowRemote {
		return usageErrorf("--listen %s would let other machines reach the fake tenant, its well-known token and its unauthenticated control API; use a loopback address such as 127.0.0.1:0, or add --allow-remote", f.listen)
	}
	return nil
}

// remote reports whether the fake listens where other machines reach it.
func (f *fakeFlags) remote() bool {
	local, _ := loopbackListen(f.listen)
	return !local
}

// runFake serves a fake tenant until ctx is done or the process gets
// SIGINT/SIGTERM. Once it serves (--make changes made first), it prints the
// three environment lines on stdout, so a person (or a script reading the
// first three lines, or the --env-file) can point plan/apply at it.
func runFake(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet("fake")
	var f fakeFlags
	f.register(fs)
	if err := c.parseFlags(fs, "fake", args, f.log.check, f.scen.check, f.checkFrom(fs), f.checkListen, f.checkMake, f.checkTLS); err != nil {
		return err
	}
	srv, controlToken, err := f.newServer(c)
	if err != nil {
		return err
	}
	defer srv.Close()
	// The changes are made before the fake listens: its first answer is
	// already the made tenant.
	if err := srv.Make(ctx, f.changes...); err != nil {
		return fmt.Errorf("the fake tenant: --make: %w", err)
	}
	cleanup, err := f.start(srv)
	defer cleanup()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	env := f.env(srv)
	fmt.Fprint(c.stdout, env)
	if f.envFile != "" {
		if err := writeFileAtomic(f.envFile, []byte(env)); err != nil {
			return fmt.Errorf("the fake tenant: --env-file: %w", err)
		}
	}
	f.announce(c, srv, controlToken)
	<-ctx.Done()
	return nil
}

// newServer makes the fake tenant, not listening yet: of the snapshot of
// --from, else of the scenario. Reachable from other machines, the control
// API (which shows every credential applied to the fake and changes it at
// will) requires a token, returned to be printed once; the loopback-Host
// check alone stops no one who sends "Host: 127.0.0.1".
func (f *fakeFlags) newServer(c *cli) (*phonemigratetest.Server, string, error) {
	var opts []phonemigratetest.Option
	var controlToken string
	if f.remote() {
		var b [24]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, "", fmt.Errorf("the fake tenant: control token: %w", err)
		}
		controlToken = hex.EncodeToString(b[:])
		opts = append(opts, phonemigratetest.WithControlToken(controlToken))
	}
	if f.log.verbose {
		opts = append(opts, phonemigratetest.WithLogger(f.log.logger(c.stderr)))
	}
	if f.from == "" {
		return phonemigratetest.NewUnstartedServer(f.scen.sc, opts...), controlToken, nil
	}
	snap, err := readSnapshot("--from", f.from)
	if err != nil {
		return nil, "", err
	}
	srv, err := phonemigratetest.NewUnstartedServerFrom(snap, opts...)
	if err != nil {
		return nil, "", usageErrorf("--from %s: %v", f.from, err)
	}
	return srv, controlToken, nil
}

// start makes srv listen at --listen, with --tls over HTTPS, writing the
// CA certificate to --ca-file (default: a temporary file, which cleanup
// removes).
func (f *fakeFlags) start(srv *phonemigratetest.Server) (cleanup func(), err error) {
	cleanup = func() {}
	if !f.useTLS {
		if err := srv.StartAt(f.listen); err != nil {
			return cleanup, fmt.Errorf("the fake tenant cannot listen: %w", err)
		}
		return cleanup, nil
	}
	caPEM, err := srv.StartTLSAt(f.listen)
	if err != nil {
		return cleanup, fmt.Errorf("the fake tenant cannot listen: %w", err)
	}
	if f.caFile == "" {
		dir, err := os.MkdirTemp("", "phonemigrate-fake-ca-")
		if err != nil {
			return cleanup, fmt.Errorf("the fake tenant: CA file: %w", err)
		}
		cleanup = func() { os.RemoveAll(dir) }
		f.caFile = filepath.Join(dir, "ca.pem")
	}
	if err := os.WriteFile(f.caFile, caPEM, 0o644); err != nil {
		return cleanup, fmt.Errorf("the fake tenant: CA file: %w", err)
	}
	if abs, err := filepath.Abs(f.caFile); err == nil {
		f.caFile = abs
	}
	return cleanup, nil
}

// env are the environment lines that point phonemigrate (and, with
// --tls, node-auth0, auth0-deploy-cli and Terraform) at the fake.
func (f *fakeFlags) env(srv *phonemigratetest.Server) string {
	env := fmt.Sprintf("PHONEMIGRATE_BASE_URL=%s\nAUTH0_TOKEN=%s\n", srv.BaseURL, srv.Token)
	if f.useTLS {
		// AUTH0_DOMAIN rather than PHONEMIGRATE_BASE_URL (phonemigrate
		// refuses both): https://{domain}/api/v2 is the fake, for
		// phonemigrate and for auth0-deploy-cli and node-auth0 alike.
		env = fmt.Sprintf("AUTH0_DOMAIN=%s\nAUTH0_TOKEN=%s\n", srv.Domain(), srv.Token)
	}
	// plan and apply read it as the default of --twilio-api-url, so a
	// Twilio target inside a generated Action reaches the fake Twilio.
	env += fmt.Sprintf("%s=%s\n", envTwilioAPIURL, srv.Twilio().URL)
	if f.useTLS {
		// auth0-deploy-cli's name for the token, and the CA to trust:
		// Node.js reads NODE_EXTRA_CA_CERTS, Go programs (phonemigrate,
		// Terraform, go-auth0) SSL_CERT_FILE.
		env += fmt.Sprintf("AUTH0_ACCESS_TOKEN=%s\nNODE_EXTRA_CA_CERTS=%s\nSSL_CERT_FILE=%s\n", srv.Token, f.caFile, f.caFile)
	}
	return env
}

// announce says on stderr what is served and how to use it, and, even
// with --quiet, warns when other machines can reach it.
func (f *fakeFlags) announce(c *cli, srv *phonemigratetest.Server, controlToken string) {
	if f.remote() {
		// Said even with --quiet: the fake is reachable from other machines.
		fmt.Fprintf(c.stderr, "Warning: the fake tenant listens on %s, reachable from other machines; its Management API token is not a secret and anyone who can reach it can change the tenant. Its control API (/__fake/) answers only requests carrying this control token (shown once) in the %s header: %s\n", srv.URL, phonemigratetest.ControlTokenHeader, controlToken)
	}
	if f.log.quiet {
		return
	}
	what := "scenario " + string(f.scen.sc)
	if f.from != "" {
		what = "from snapshot " + printable(f.from)
	}
	if len(f.changes) > 0 {
		what += ", then " + f.makeList
	}
	fmt.Fprintf(c.stderr, "Fake Auth0 tenant (%s) at %s; its state is at %s/__fake/state. Press Ctrl-C to stop.\n", what, srv.BaseURL, srv.URL)
	for _, r := range srv.GatewayRedirects() {
		fmt.Fprintf(c.stderr, "Connection %s: its gateway %s is served by the fake gateway at %s (messages at %s/__fake/gateway/messages).\n", printable(r.Connection), printable(redact.URL(r.Original)), r.Local, srv.URL)
	}
	if f.from != "" {
		fmt.Fprintf(c.stderr, "In another shell, export the lines above (run it as 'phonemigrate fake > fake.env', then 'set -a; . ./fake.env; set +a'); its fake Twilio API accepts the snapshot's placeholder tokens, and its fake gateway the placeholder secrets.\n")
	} else {
		fmt.Fprintf(c.stderr, "In another shell, export the lines above (run it as 'phonemigrate fake > fake.env', then 'set -a; . ./fake.env; set +a'); its fake Twilio API accepts TWILIO_AUTH_TOKEN=%s (a fake value).\n", phonemigratetest.TwilioAuthToken)
	}
}

func scenarioNames() string {
	s := ""
	for i, sc := range phonemigratetest.Scenarios() {
		if i > 0 {
			s += ", "
		}
		s += string(sc)
	}
	return s
}

// loopbackListen reports whether the --listen address addr binds only a
// loopback interface: its host is "localhost" or a loopback IP. An empty
// host or an unspecified address (0.0.0.0, ::) binds every interface.
func loopbackListen(addr string) (bool, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false, usageErrorf("--listen %q is not host:port", addr)
	}
	return loopback.Host(host), nil
}

// changeNames lists the changes --make accepts.
func changeNames() string {
	var names []string
	for _, c := range phonemigratetest.Changes() {
		names = append(names, string(c))
	}
	return strings.Join(names, ", ")
}

// writeFileAtomic writes b to path through a temporary file in the same
// directory and a rename, so that a reader sees no file or the whole one.
func writeFileAtomic(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after a successful rename, there is nothing to remove
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
