package main

import (
	"flag"
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
