package main

import (
	"errors"
	"flag"
	"strings"
	"time"

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
	nodeModules  stringList
	acceptDiffs  bool
	// prompted holds Action secret values typed on the terminal.
	prompted map[string]phonemigrate.Secret
}

func (o *optionFlags) register(fs *flag.FlagSet) {
	o.registerOffline(fs)
	fs.Var(&o.nodeModules, "node-modules", "a node_modules `DIR` holding the npm packages of the send-phone-message Action, so that the proof can run it (repeatable)")
	fs.BoolVar(&o.acceptDiffs, "accept-action-differences", false, "accept every difference the proof found between the send-phone-message Action and its copy (older form of --accept-difference ID for each consumer the proof lists)")
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

// options validates the flags and returns the engine options (without the
// Twilio token and Confirm, which apply adds). The checks are the library's
// (phonemigrate.Settings), the same a fleet file gets.
func (o *optionFlags) options(getenv func(string) string) (phonemigrate.Options, error) {
	if o.evidence <= 0 {
		return phonemigrate.Options{}, usageErrorf("--evidence-timeout must be positive")
	}
	opts, err := phonemigrate.Settings{
		Provider: o.provider, Delivery: o.delivery, TestTo: o.testTo, SkipTest: o.skipTest,
		AllowReplace: o.allowReplace, SkipTwilioCheck: o.skipCheck, EvidenceTimeout: o.evidence,
	}.Options(flagName)
	if se := (*phonemigrate.SettingError)(nil); errors.As(err, &se) {
		return opts, usageErrorf("%s %s", flagName(se.Setting), se.Problem)
	} else if err != nil {
		return opts, usageErrorf("%v", err)
	}
	opts.NodeModules = append([]string(nil), o.nodeModules...)
	opts.AcceptActionDifferences = o.acceptDiffs
	// The send-phone-message Action's secrets: PHONEMIGRATE_ACTION_SECRET_<NAME>,
	// else what was typed on the terminal.
	opts.ActionSecret = func(name string) (phonemigrate.Secret, bool) {
		if v := getenv(phonemigrate.ActionSecretEnvPrefix + name); v != "" {
			return phonemigrate.Secret(v), true
		}
		v, ok := o.prompted[name]
		return v, ok
	}
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

// flagName spells a phonemigrate.Settings key as its flag: test_to is
// --test-to.
func flagName(key string) string { return "--" + strings.ReplaceAll(key, "_", "-") }
