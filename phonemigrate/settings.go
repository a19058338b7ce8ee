package phonemigrate

import (
	"fmt"
	"time"

	"github.com/unifiedphone/unifiedphone/delivery"
)

// Settings are the migration choices as a person writes them — the flags of
// the phonemigrate CLI, the options of a fleet file — before they are
// parsed. [Settings.Options] is the one place they are checked, so the CLI,
// a fleet file and a program calling the library accept and refuse the same
// values with the same words.
type Settings struct {
	Provider        string        // "auto" (or ""), "twilio" or "custom"
	Delivery        string        // [delivery.Parse] form; "" means what the tenant uses
	TestTo          []string      // E.164 numbers for the provider test
	SkipTest        bool          // skip the provider test; required when TestTo is empty
	AllowReplace    bool          // see [Options.AllowReplace]
	SkipTwilioCheck bool          // see [Options.SkipTwilioCheck]
	EvidenceTimeout time.Duration // 0: the default; otherwise positive
}

// SettingError says which of the [Settings] is wrong. Setting is its key
// ("provider", "delivery", "test_to", "skip_test", "evidence_timeout");
// Problem is the rest of the sentence, naming other settings the way the
// caller of [Settings.Options] spells them.
type SettingError struct {
	Setting string
	Problem string
}

func (e *SettingError) Error() string { return e.Setting + " " + e.Problem }

// Options checks s and returns the engine options it stands for (without the
// Twilio token, URL or Confirm, which the caller adds). name spells a setting
// key in the caller's terms in problems that mention another setting (the
// CLI's "--skip-test", a fleet file's "skip_test"); nil keeps the key.
// Problems are [*SettingError].
func (s Settings) Options(name func(key string) string) (Options, error) {
	if name == nil {
		name = func(k string) string { return k }
	}
	var o Options
	bad := func(key, format string, a ...any) error {
		return &SettingError{Setting: key, Problem: fmt.Sprintf(format, a...)}
	}
	kind, err := parseProviderKind(s.Provider)
	if err != nil {
		return o, bad("provider", "%q is not one of auto, twilio, custom", s.Provider)
	}
	o.Provider = kind
	if s.Delivery != "" {
		set, err := delivery.Parse(s.Delivery)
		if err != nil || set.Empty() {
			return o, bad("delivery", "%q is not one of text, voice, text,voice", s.Delivery)
		}
		o.Delivery = set
	}
	for _, r := range s.TestTo {
		if !isE164(r) {
			return o, bad("test_to", "%q is not a phone number in E.164 form such as +15551234567", r)
		}
	}
	switch {
	case s.SkipTest && len(s.TestTo) > 0:
		return o, bad("skip_test", "cannot be used together with %s", name("test_to"))
	case !s.SkipTest && len(s.TestTo) == 0:
		return o, bad("test_to", "is required: give E.164 numbers to test the new provider, or %s to skip the test explicitly", name("skip_test"))
	}
	if s.EvidenceTimeout < 0 {
		return o, bad("evidence_timeout", "must be a positive duration such as 20s")
	}
	o.TestRecipients = append([]string(nil), s.TestTo...)
	o.SkipTest = s.SkipTest
	o.AllowReplace = s.AllowReplace
	o.SkipTwilioCheck = s.SkipTwilioCheck
	o.EvidenceTimeout = s.EvidenceTimeout
	return o, o.validate()
}
