package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/unifiedphone/unifiedphone/phonemigrate/phonemigratetest"
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
// SIGINT/SIGTERM. It prints the two environment lines on stdout first, so
// a person (or a script reading the first two lines) can point plan/apply
// at it.
func runFake(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet("fake")
	var (
		listen string
		scen   scenarioFlag
		log    logging
	)
	fs.StringVar(&listen, "listen", "127.0.0.1:0", "address to listen on, `ADDR` as host:port (port 0 picks a free one)")
	scen.register(fs)
	log.register(fs)
	if err := c.parseFlags(fs, "fake", args, log.check, scen.check); err != nil {
		return err
	}
	sc := scen.sc
	var opts []phonemigratetest.Option
	if log.verbose {
		opts = append(opts, phonemigratetest.WithLogger(log.logger(c.stderr)))
	}
	srv := phonemigratetest.NewUnstartedServer(sc, opts...)
	defer srv.Close()
	if err := srv.StartAt(listen); err != nil {
		return fmt.Errorf("the fake tenant cannot listen: %w", err)
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	fmt.Fprintf(c.stdout, "PHONEMIGRATE_BASE_URL=%s\n", srv.BaseURL)
	fmt.Fprintf(c.stdout, "AUTH0_TOKEN=%s\n", srv.Token)
	// plan and apply read it as the default of --twilio-api-url, so a
	// Twilio target inside a generated Action reaches the fake Twilio.
	fmt.Fprintf(c.stdout, "%s=%s\n", envTwilioAPIURL, srv.Twilio().URL)
	if !log.quiet {
		fmt.Fprintf(c.stderr, "Fake Auth0 tenant (scenario %s) at %s; its state is at %s/__fake/state. Press Ctrl-C to stop.\n", sc, srv.BaseURL, srv.URL)
		fmt.Fprintf(c.stderr, "Export the lines above (e.g. export $(phonemigrate fake ... | head -3)); its fake Twilio API accepts TWILIO_AUTH_TOKEN=%s (a fake value).\n", phonemigratetest.TwilioAuthToken)
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
