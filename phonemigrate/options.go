package phonemigrate

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/unifiedphone/unifiedphone/phonemigrate/redact"
	"github.com/unifiedphone/unifiedphone/phonemigrate/watch"

	"github.com/unifiedphone/unifiedphone/delivery"
)

// ProviderKind selects the tenant-level phone provider the migration
// configures. "" (or "auto") lets the planner decide: Twilio when every
// legacy path (Passwordless connections and the MFA selected provider) uses
// the same Twilio account; custom (a generated custom-phone-provider
// Action) as soon as a custom SMS gateway is involved or Passwordless and
// MFA use different providers. Either way a Twilio auth token is required
// when Twilio is used.
type ProviderKind string

// Provider kinds.
const (
	// providerAuto (or "") lets the planner decide (see [ProviderKind]).
	providerAuto ProviderKind = "auto"
	// ProviderKindTwilio configures a Twilio provider. It fails with
	// [errCustomProviderRequired] when a gateway is involved.
	ProviderKindTwilio ProviderKind = "twilio"
	// ProviderKindCustom configures a custom provider backed by a generated
	// custom-phone-provider Action, whatever the legacy paths are.
	ProviderKindCustom ProviderKind = "custom"
)

// parseProviderKind reads a provider kind as a person writes it: "auto"
// (or empty), "twilio" or "custom", case and surrounding space ignored.
// Anything else is an [*InputError] for Field "Provider".
func parseProviderKind(s string) (ProviderKind, error) {
	switch k := ProviderKind(strings.ToLower(strings.TrimSpace(s))); k {
	case "", providerAuto:
		return providerAuto, nil
	case ProviderKindTwilio, ProviderKindCustom:
		return k, nil
	}
	return "", &InputError{Field: "Provider", Problem: `must be "auto", "twilio" or "custom", not ` + quote(s)}
}

// Options are the caller's choices for [Migrator.Plan] and
// [Migrator.Apply]. They are validated before anything is written; bad
// values give an [*InputError] or [*invalidRecipientError].
//
// When Apply resumes a failed migration, the plan recorded in the
// checkpoint is followed; only TwilioAuthToken, SkipTwilioCheck,
// EvidenceTimeout, TwilioAPIBaseURL, TestRecipients, SkipTest and Confirm
// are taken from the new Options (the others are fixed by the plan; without
// TwilioAuthToken the legacy token is re-read from where the plan found
// it).
type Options struct {
	// Provider is the provider kind; "" (or "auto") lets the planner
	// decide (see [ProviderKind]).
	Provider ProviderKind

	// Delivery is the set of delivery methods of the new provider. Zero
	// derives it from what is in use: text when a Passwordless SMS
	// connection exists, plus the MFA message types (sms → text, voice →
	// voice) when MFA is enabled, plus the methods of an existing provider.
	Delivery delivery.Set

	// TwilioAuthToken is the Twilio auth token for a Twilio provider or a
	// Twilio target inside a custom Action. Empty carries over the legacy
	// token Auth0 returns with the legacy settings (Guardian's Twilio
	// setting, a connection's options.twilio_token); set, it overrides it
	// (for example after rotating the token in Twilio). The plan says which
	// is used. It is sent only to Twilio (the credential check and delivery
	// evidence) and as provider credentials or an Action secret, and never
	// appears in plans, checkpoints, logs or errors.
	TwilioAuthToken Secret

	// SkipTwilioCheck skips verifying the Twilio credentials with Twilio
	// (GET /2010-04-01/Accounts/{sid}.json) before the first write that
	// sends them, and the delivery evidence of test messages, for networks
	// that cannot reach Twilio. The plan then warns.
	SkipTwilioCheck bool

	// EvidenceTimeout bounds how long Apply looks for each test message of
	// a Twilio provider in the Twilio account (its status) after the try;
	// zero means DefaultEvidenceTimeout.
	EvidenceTimeout time.Duration

	// TestRecipients are E.164 phone numbers. Once the provider is
	// configured, Apply sends one test message per delivery method to each.
	TestRecipients []string

	// SkipTest skips the provider test. It must be set explicitly when
	// TestRecipients is empty, and must not be set together with
	// TestRecipients.
	SkipTest bool

	// Confirm, when set, is asked after each test message whether it
	// arrived (Auth0 gives no delivery feedback; for a Twilio provider the
	// message's Twilio status is looked up first, see [TestOutcome]). An
	// answer of false stops the migration with [errTestNotConfirmed] before
	// the tenant switch. Leave it nil when no person answers: a message
	// without delivery evidence is then recorded as assumed received
	// ([TestOutcome.AssumedReceived]), never as confirmed.
	Confirm func(ctx context.Context, t TestMessage) (bool, error)

	// AllowReplace permits replacing (PATCHing) a tenant-level phone
	// provider this migration did not create. It does not cover an existing
	// custom-phone-provider Action: Auth0 allows one Action for that trigger
	// and its secrets cannot be read back for a rollback, so the user must
	// delete it first ([ExistingResourceError.CannotReplace]).
	AllowReplace bool

	// UsePhoneProvider is the value written to each SMS connection's
	// options.use_phone_provider (an undocumented switch, see the package
	// documentation). nil means true. It must be a bool or a string.
	UsePhoneProvider any

	// TwilioAPIBaseURL overrides the Twilio API base URL (default
	// https://api.twilio.com) of the credential check, the delivery
	// evidence and a generated Action; tests point it at a fake. It must be
	// https, or http to a loopback host.
	TwilioAPIBaseURL string

	// Canary watches phone delivery in the tenant logs after the switch,
	// before completing (off unless Canary.Window is set); see [watch.Canary].
	Canary watch.Canary

	// Planned is the plan the caller just made with [Migrator.Plan] on this
	// Migrator, to show it. When nothing stands between that plan and Apply
	// (no prompt, no wait: less than a second passed), a migration that
	// starts afresh plans again, with these Options, from the reads that
	// plan made instead of reading the tenant again — every call counts
	// against the tenant's rate limit. Otherwise (a person was asked, or a
	// migration is under way) Apply reads the tenant itself, so that what it
	// writes starts from reads made after the wait. The plan's reads are
	// used once.
	Planned *Plan

	// ActionSecret returns the value of the secret name of the
	// send-phone-message Action a migration copies (MFA through
	// phone-message-hook), and whether there is one. Auth0 never returns
	// Action secret values: Apply fails with an [*ActionSecretError] before
	// any write when one is missing (nil: all are missing). The values are
	// sent only as secrets of the copy, and never appear in plans,
	// checkpoints, logs or errors. The CLI reads them from
	// PHONEMIGRATE_ACTION_SECRET_<NAME> ([ActionSecretEnvPrefix]).
	ActionSecret func(name string) (Secret, bool)

	// NodeModules are node_modules directories holding the npm packages
	// the send-phone-message Action depends on, so that the proof (see
	// [hookProof]) can run it. Without them an Action with dependencies is
	// carried unproven, and the plan says so.
	NodeModules []string

	// AcceptActionDifferences lets Apply go on when the proof found the
	// copy of the send-phone-message Action making other requests than the
	// original ([hookProof.Differences]); without it Apply refuses with a
	// [*proofError].
	AcceptActionDifferences bool

	// AcceptedDifferences are findings of [Migrator.Check] a person
	// accepted before the migration was written: a consumer that will read
	// other words, or whose gateway will receive another request, than
	// before. The CLI takes them from its pre-write rehearsal — what Check
	// reports on the migrated copy for each consumer accepted with
	// --accept-difference. Apply records them in the checkpoint (adding to
	// those recorded before), and Check, on a Migrator whose store holds
	// that checkpoint, lists a finding equal to one of them (same
	// invariant, consumer and problem) under [Health.Accepted] instead of
	// counting it. Only a difference can be accepted, never a consumer
	// without a code: each must be a finding of [InvariantSameWords] or
	// [InvariantSameRequest] with its Consumer set and Broken false.
	AcceptedDifferences []Finding
}

// TestMessage describes one test message sent through the new provider.
type TestMessage struct {
	Recipient  string
	Method     delivery.Method
	ProviderID string
	// TwilioStatus is the message's status in the Twilio account (see
	// [TestOutcome.Status]) for a Twilio provider; "" when there is no
	// delivery evidence.
	TwilioStatus string
}

var e164 = regexp.MustCompile(`^\+[1-9]\d{6,14}$`)

// isE164 is the one rule for a phone number: + then 7 to 15 digits, the
// first not 0.
func isE164(s string) bool { return e164.MatchString(s) }

// validate checks o without any I/O.
func (o *Options) validate() error {
	if err := validateCanary(o.Canary); err != nil {
		return err
	}
	for _, f := range o.AcceptedDifferences {
		if !f.acceptable() {
			return &InputError{Field: "AcceptedDifferences", Problem: fmt.Sprintf("%q cannot be accepted: only a difference in the words (%s) or the gateway request (%s) of one consumer, with its Consumer set, is; a consumer without a code never is", f.Problem, InvariantSameWords, InvariantSameRequest)}
		}
	}
	switch o.Provider {
	case "", providerAuto, ProviderKindTwilio, ProviderKindCustom:
	default:
		return &InputError{Field: "Provider", Problem: `must be "auto", "twilio" or "custom", not ` + quote(string(o.Provider))}
	}
	for _, r := range o.TestRecipients {
		if !isE164(r) {
			return &invalidRecipientError{Recipient: r}
		}
	}
	switch {
	case len(o.TestRecipients) == 0 && !o.SkipTest:
		return &InputError{Field: "TestRecipients", Problem: "no test recipients; give at least one E.164 number, or set SkipTest to skip the provider test explicitly"}
	case len(o.TestRecipients) > 0 && o.SkipTest:
		return &InputError{Field: "SkipTest", Problem: "SkipTest is set together with TestRecipients; choose one"}
	}
	if o.EvidenceTimeout < 0 {
		return &InputError{Field: "EvidenceTimeout", Problem: "must not be negative"}
	}
	if err := validateTwilioURL(o.TwilioAPIBaseURL); err != nil {
		return err
	}
	switch v := o.UsePhoneProvider.(type) {
	case nil, bool:
	case string:
		if v == "" {
			return &InputError{Field: "UsePhoneProvider", Problem: "must not be the empty string"}
		}
	default:
		return &InputError{Field: "UsePhoneProvider", Problem: "must be a bool or a string"}
	}
	return nil
}

func (o *Options) usePhoneProvider() any {
	if o.UsePhoneProvider == nil {
		return true
	}
	return o.UsePhoneProvider
}

// Option configures a [Migrator]; see [WithStore], [WithLogger],
// [WithObserver], [WithPollInterval] and [WithTenant].
type Option interface {
	apply(*Migrator)
}

type optionFunc func(*Migrator)

func (f optionFunc) apply(m *Migrator) { f(m) }

// WithStore sets where checkpoints are kept (package phonemigrate/filestore
// keeps them in a file). The default keeps them in memory, for as long as
// the Migrator lasts.
func WithStore(s Store) Option {
	return optionFunc(func(m *Migrator) { m.store = s })
}

// WithLogger sets the structured logger; every transition is logged at
// Info (failures at Error) with its duration. The default discards.
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(m *Migrator) { m.log = l })
}

// WithObserver registers f to be called synchronously after every state
// transition (including failures), after the checkpoint is saved.
func WithObserver(f func(Transition)) Option {
	return optionFunc(func(m *Migrator) { m.observer = f })
}

// WithPollInterval sets the longest wait between two reads while Apply
// polls a new Action until it is built and then deployed (and a test
// message's status at Twilio). The first wait is 100ms (or d, if shorter)
// and each next one doubles up to d, so an Action built at once costs one
// short wait and a slow build on a real tenant is polled every d. The
// default is two seconds; tests use milliseconds.
func WithPollInterval(d time.Duration) Option {
	return optionFunc(func(m *Migrator) { m.poll = d })
}

// WithSecrets shares the run's set of secret values with the Migrator: it
// redacts everything the set holds from its errors, checkpoints and logs,
// and adds to it every secret it reads (Twilio tokens, connection option
// secrets; see [redact.Set]). Give the same set to the Client
// (auth0api.Config.Secrets) and add to it any other secret the caller
// reads — an Action secret value, a token typed at a prompt — the moment
// it is read. Without it the Migrator keeps a set of its own.
func WithSecrets(s *redact.Set) Option {
	return optionFunc(func(m *Migrator) {
		if s != nil {
			m.secrets = s
		}
	})
}

// WithTenant names the tenant (for example its domain). The name is
// recorded in plans and checkpoints, and a checkpoint recorded for another
// tenant is refused with a [*CheckpointError].
func WithTenant(name string) Option {
	return optionFunc(func(m *Migrator) { m.tenant = name })
}

// withStaleAfter sets how long reads stay fresh across a wait (default
// confirmStaleAfter); tests set zero to make every answer a person's.
func withStaleAfter(d time.Duration) Option {
	return optionFunc(func(m *Migrator) { m.staleAfter = d })
}

// withTwilioTransport makes the Migrator's Twilio API client use rt (nil:
// the default transport). It is unexported: tests use it to answer the
// calls to https://api.twilio.com without a network.
func withTwilioTransport(rt http.RoundTripper) Option {
	return optionFunc(func(m *Migrator) { m.twilioTransport = rt })
}
