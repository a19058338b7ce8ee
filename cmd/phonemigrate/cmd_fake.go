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

// runFake serves a fake tenant until ctx is done or the process gets
// SIGINT/SIGTERM. Once it serves (--make changes made first), it prints the
// three environment lines on stdout, so a person (or a script reading the
// first three lines, or the --env-file) can point plan/apply at it.
func runFake(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet("fake")
	var (
		listen      string
		allowRemote bool
		scen        scenarioFlag
		from        string
		makeList    string
		envFile     string
		useTLS      bool
		caFile      string
		changes     []phonemigratetest.Change
		log         logging
	)
	fs.StringVar(&listen, "listen", "127.0.0.1:0", "address to listen on, `ADDR` as host:port (port 0 picks a free one); a loopback host unless --allow-remote")
	fs.BoolVar(&allowRemote, "allow-remote", false, "allow a --listen address other machines can reach (the fake's token is not a secret; its control API then needs the control token printed at start)")
	scen.register(fs)
	fs.StringVar(&from, "from", "", "serve the tenant of a snapshot `FILE` ('phonemigrate snapshot') instead of a scenario")
	fs.StringVar(&makeList, "make", "", "before serving, make `CHANGES` (comma-separated) to the tenant as someone would by hand, for a half-migrated or drifted one: "+changeNames())
	fs.StringVar(&envFile, "env-file", "", "once the fake serves, also write the environment lines to `FILE` (it appears whole, so a script can wait for it; with --listen 127.0.0.1:0 that is how it learns the address)")
	fs.BoolVar(&useTLS, "tls", false, "serve HTTPS with a certificate made for localhost and 127.0.0.1 (node-auth0, auth0-deploy-cli and Terraform need it); prints NODE_EXTRA_CA_CERTS and SSL_CERT_FILE lines naming the CA to trust")
	fs.StringVar(&caFile, "ca-file", "", "with --tls, write the CA certificate to `FILE` (default: a new file in a temporary directory, removed on exit)")
	log.register(fs)
	checkTLS := func() error {
		if caFile != "" && !useTLS {
			return usageErrorf("--ca-file needs --tls")
		}
		return nil
	}
	checkMake := func() error {
		if makeList == "" {
			return nil
		}
		for _, name := range strings.Split(makeList, ",") {
			ch, err := phonemigratetest.ParseChange(name)
			if err != nil {
				return usageErrorf("--make: %q is not one of %s", strings.TrimSpace(name), changeNames())
			}
			changes = append(changes, ch)
		}
		return nil
	}
	checkFrom := func() error {
		scenarioSet := false
		fs.Visit(func(f *flag.Flag) { scenarioSet = scenarioSet || f.Name == "scenario" })
		if from != "" && scenarioSet {
			return usageErrorf("--from and --scenario cannot be used together")
		}
		return nil
	}
	checkListen := func() error {
		if local, err := loopbackListen(listen); err != nil {
			return err
		} else if !local && !allowRemote {
			return usageErrorf("--listen %s would let other machines reach the fake tenant, its well-known token and its unauthenticated control API; use a loopback address such as 127.0.0.1:0, or add --allow-remote", listen)
		}
		return nil
	}
	if err := c.parseFlags(fs, "fake", args, log.check, scen.check, checkFrom, checkListen, checkMake, checkTLS); err != nil {
		return err
	}
	sc := scen.sc
	var opts []phonemigratetest.Option
	// Reachable from other machines, the control API (which shows every
	// credential applied to the fake and changes it at will) requires a
	// token printed once below; the loopback-Host check alone stops no one
	// who sends "Host: 127.0.0.1".
	var controlToken string
	if local, _ := loopbackListen(listen); !local {
		var b [24]byte
		if _, err := rand.Read(b[:]); err != nil {
			return fmt.Errorf("the fake tenant: control token: %w", err)
		}
		controlToken = hex.EncodeToString(b[:])
		opts = append(opts, phonemigratetest.WithControlToken(controlToken))
	}
	if log.verbose {
		opts = append(opts, phonemigratetest.WithLogger(log.logger(c.stderr)))
	}
	var srv *phonemigratetest.Server
	if from != "" {
		snap, err := readSnapshot("--from", from)
		if err != nil {
			return err
		}
		if srv, err = phonemigratetest.NewUnstartedServerFrom(snap, opts...); err != nil {
			return usageErrorf("--from %s: %v", from, err)
		}
	} else {
		srv = phonemigratetest.NewUnstartedServer(sc, opts...)
	}
	defer srv.Close()
	// The changes are made before the fake listens: its first answer is
	// already the made tenant.
	if err := srv.Make(ctx, changes...); err != nil {
		return fmt.Errorf("the fake tenant: --make: %w", err)
	}
	if useTLS {
		caPEM, err := srv.StartTLSAt(listen)
		if err != nil {
			return fmt.Errorf("the fake tenant cannot listen: %w", err)
		}
		if caFile == "" {
			dir, err := os.MkdirTemp("", "phonemigrate-fake-ca-")
			if err != nil {
				return fmt.Errorf("the fake tenant: CA file: %w", err)
			}
			defer os.RemoveAll(dir)
			caFile = filepath.Join(dir, "ca.pem")
		}
		if err := os.WriteFile(caFile, caPEM, 0o644); err != nil {
			return fmt.Errorf("the fake tenant: CA file: %w", err)
		}
		if abs, err := filepath.Abs(caFile); err == nil {
			caFile = abs
		}
	} else if err := srv.StartAt(listen); err != nil {
		return fmt.Errorf("the fake tenant cannot listen: %w", err)
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	env := fmt.Sprintf("PHONEMIGRATE_BASE_URL=%s\nAUTH0_TOKEN=%s\n", srv.BaseURL, srv.Token)
	if useTLS {
		// AUTH0_DOMAIN rather than PHONEMIGRATE_BASE_URL (phonemigrate
		// refuses both): https://{domain}/api/v2 is the fake, for
		// phonemigrate and for auth0-deploy-cli and node-auth0 alike.
		env = fmt.Sprintf("AUTH0_DOMAIN=%s\nAUTH0_TOKEN=%s\n", srv.Domain(), srv.Token)
	}
	// plan and apply read it as the default of --twilio-api-url, so a
	// Twilio target inside a generated Action reaches the fake Twilio.
	env += fmt.Sprintf("%s=%s\n", envTwilioAPIURL, srv.Twilio().URL)
	if useTLS {
		// auth0-deploy-cli's name for the token, and the CA to trust:
		// Node.js reads NODE_EXTRA_CA_CERTS, Go programs (phonemigrate,
		// Terraform, go-auth0) SSL_CERT_FILE.
		env += fmt.Sprintf("AUTH0_ACCESS_TOKEN=%s\nNODE_EXTRA_CA_CERTS=%s\nSSL_CERT_FILE=%s\n", srv.Token, caFile, caFile)
	}
	fmt.Fprint(c.stdout, env)
	if envFile != "" {
		if err := writeFileAtomic(envFile, []byte(env)); err != nil {
			return fmt.Errorf("the fake tenant: --env-file: %w", err)
		}
	}
	if local, _ := loopbackListen(listen); !local {
		// Said even with --quiet: the fake is reachable from other machines.
		fmt.Fprintf(c.stderr, "Warning: the fake tenant listens on %s, reachable from other machines; its Management API token is not a secret and anyone who can reach it can change the tenant. Its control API (/__fake/) answers only requests carrying this control token (shown once) in the %s header: %s\n", srv.URL, phonemigratetest.ControlTokenHeader, controlToken)
	}
	if !log.quiet {
		what := "scenario " + string(sc)
		if from != "" {
			what = "from snapshot " + printable(from)
		}
		if len(changes) > 0 {
			what += ", then " + makeList
		}
		fmt.Fprintf(c.stderr, "Fake Auth0 tenant (%s) at %s; its state is at %s/__fake/state. Press Ctrl-C to stop.\n", what, srv.BaseURL, srv.URL)
		for _, r := range srv.GatewayRedirects() {
			fmt.Fprintf(c.stderr, "Connection %s: its gateway %s is served by the fake gateway at %s (messages at %s/__fake/gateway/messages).\n", printable(r.Connection), printable(redact.URL(r.Original)), r.Local, srv.URL)
		}
		if from != "" {
			fmt.Fprintf(c.stderr, "In another shell, export the lines above (run it as 'phonemigrate fake > fake.env', then 'set -a; . ./fake.env; set +a'); its fake Twilio API accepts the snapshot's placeholder tokens, and its fake gateway the placeholder secrets.\n")
		} else {
			fmt.Fprintf(c.stderr, "In another shell, export the lines above (run it as 'phonemigrate fake > fake.env', then 'set -a; . ./fake.env; set +a'); its fake Twilio API accepts TWILIO_AUTH_TOKEN=%s (a fake value).\n", phonemigratetest.TwilioAuthToken)
		}
	}
	<-ctx.Done()
	return nil
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
